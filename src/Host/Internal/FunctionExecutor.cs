using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Pipeline.Host.Internal;

/// <summary>Runs one invocation: a DI scope, the function timeout, optional retries, Azure-style logs.</summary>
internal sealed class FunctionExecutor
{
    private const string ExecutingTemplate = "Executing 'Functions.{FunctionName}' (Reason='{Reason}', Id={InvocationId})";
    private const string ExecutedTemplate = "Executed 'Functions.{FunctionName}' (Succeeded, Id={InvocationId}, Duration={DurationMs}ms)";
    private const string FailedTemplate = "Executed 'Functions.{FunctionName}' (Failed, Id={InvocationId}, Duration={DurationMs}ms)";
    private const string RetryTemplate = "Function '{FunctionName}' failed (attempt {Attempt}); retrying in {Delay}";

    private readonly IServiceProvider _services;
    private readonly HostSettings _settings;
    private readonly ILoggerFactory _loggers;
    private readonly ActivityTracker _tracker;
    private readonly ConcurrentDictionary<string, ResiliencePipeline> _retries = new(StringComparer.Ordinal);

    public FunctionExecutor(IServiceProvider services, HostSettings settings, ILoggerFactory loggers, ActivityTracker tracker)
    {
        _services = services;
        _settings = settings;
        _loggers = loggers;
        _tracker = tracker;
    }

    /// <summary>
    /// Runs the function once (no retry). Exceptions propagate; a timeout surfaces as
    /// <see cref="FunctionTimeoutException"/>; cancellation of <paramref name="cancellationToken"/> as OperationCanceledException.
    /// </summary>
    public async Task<QueueBatchResult> ExecuteAsync(
        FunctionDescriptor function,
        object trigger,
        string reason,
        IReadOnlyDictionary<string, string>? metadata,
        CancellationToken cancellationToken)
    {
        using var busy = _tracker.Begin();
        var invocationId = Guid.NewGuid().ToString();
        var logger = _loggers.CreateLogger("Function." + function.Name);
        var started = Stopwatch.GetTimestamp();
        logger.LogInformation(ExecutingTemplate, function.Name, reason, invocationId);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (_settings.FunctionTimeout is { } limit)
        {
            timeout.CancelAfter(limit);
        }

        var scope = _services.CreateAsyncScope();
        var context = new FunctionContext
        {
            FunctionName = function.Name,
            InvocationId = invocationId,
            Services = scope.ServiceProvider,
            TriggerMetadata = metadata ?? new Dictionary<string, string>(),
            Logger = logger,
            Trigger = function.Trigger,
        };

        Task<QueueBatchResult> task;
        try
        {
            task = function.Handler(context, trigger, timeout.Token);
        }
        catch (Exception ex)
        {
            await scope.DisposeAsync();
            logger.LogError(ex, FailedTemplate, function.Name, invocationId, Elapsed(started));
            throw;
        }

        try
        {
            var result = await task.WaitAsync(timeout.Token);
            await scope.DisposeAsync();
            logger.LogInformation(ExecutedTemplate, function.Name, invocationId, Elapsed(started));
            return result;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Timed out: the function got the cancellation; it may still run, so dispose its scope only when it ends.
            _ = task.ContinueWith(async _ => await scope.DisposeAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            var error = new FunctionTimeoutException(function.Name, _settings.FunctionTimeout!.Value);
            logger.LogError(error, FailedTemplate, function.Name, invocationId, Elapsed(started));
            throw error;
        }
        catch (Exception ex)
        {
            if (task.IsCompleted)
            {
                await scope.DisposeAsync();
            }
            else
            {
                _ = task.ContinueWith(async _ => await scope.DisposeAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            }

            logger.LogError(ex, FailedTemplate, function.Name, invocationId, Elapsed(started));
            throw;
        }
    }

    /// <summary>Runs the function with the host.json retry policy (object and timer triggers).</summary>
    public async Task ExecuteWithRetryAsync(
        FunctionDescriptor function,
        object trigger,
        string reason,
        IReadOnlyDictionary<string, string>? metadata,
        CancellationToken cancellationToken)
    {
        var retry = _retries.GetOrAdd(function.Name, name => BuildRetry(_settings.Retry, _loggers.CreateLogger("Function." + name), name));
        await retry.ExecuteAsync(
            async ct => await ExecuteAsync(function, trigger, reason, metadata, ct),
            cancellationToken);
    }

    private static ResiliencePipeline BuildRetry(RetrySettings? retry, ILogger logger, string functionName)
    {
        if (retry is null || retry.MaxRetryCount == 0)
        {
            return ResiliencePipeline.Empty;
        }

        return new ResiliencePipelineBuilder()
            .AddRetry(new RetryStrategyOptions
            {
                MaxRetryAttempts = retry.MaxRetryCount < 0 ? int.MaxValue : retry.MaxRetryCount,
                ShouldHandle = new PredicateBuilder().Handle<Exception>(ex => ex is not OperationCanceledException),
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(retry.GetDelay(args.AttemptNumber + 1)),
                OnRetry = args =>
                {
                    logger.LogWarning(args.Outcome.Exception, RetryTemplate, functionName, args.AttemptNumber + 1, args.RetryDelay);
                    return ValueTask.CompletedTask;
                },
            })
            .Build();
    }

    private static long Elapsed(long started) => (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds;
}
