using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Host.Telemetry;
using Pipeline.Providers.Abstractions;
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
        using var activity = StartInvocation(function, trigger, invocationId);
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
            Spans.Failed(activity, ex);
            logger.LogError(ex, FailedTemplate, function.Name, invocationId, Elapsed(started));
            throw;
        }

        try
        {
            var result = await task.WaitAsync(timeout.Token);
            await scope.DisposeAsync();
            if (activity is not null && result.Failures.Count > 0)
            {
                activity.SetTag("pipeline.failed_messages", result.Failures.Count);
                activity.SetStatus(ActivityStatusCode.Error, $"{result.Failures.Count} message(s) failed");
            }

            logger.LogInformation(ExecutedTemplate, function.Name, invocationId, Elapsed(started));
            return result;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            // Timed out: the function got the cancellation; it may still run, so dispose its scope only when it ends.
            _ = task.ContinueWith(async _ => await scope.DisposeAsync(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
            var error = new FunctionTimeoutException(function.Name, _settings.FunctionTimeout!.Value);
            Spans.Failed(activity, error);
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

            Spans.Failed(activity, ex);
            logger.LogError(ex, FailedTemplate, function.Name, invocationId, Elapsed(started));
            throw;
        }
    }

    /// <summary>
    /// The invocation span (FaaS conventions). A queue batch's span links to every message's producer
    /// context (messaging conventions for batch processing) and is the child of that context when all the
    /// messages come from one trace, so a record's trace runs from the object event to the load.
    /// </summary>
    private static Activity? StartInvocation(FunctionDescriptor function, object trigger, string invocationId)
    {
        if (!PipelineTelemetry.Source.HasListeners())
        {
            return null;
        }

        var kind = ActivityKind.Server;
        ActivityContext parent = default;
        List<ActivityLink>? links = null;
        if (trigger is IReadOnlyList<ReceivedMessage> messages)
        {
            kind = ActivityKind.Consumer;
            foreach (var message in messages)
            {
                if (PipelineTelemetry.TryExtract(message.Attributes, out var context) && !(links?.Exists(l => l.Context == context) ?? false))
                {
                    (links ??= []).Add(new ActivityLink(context));
                }
            }

            if (links is { Count: > 0 } && links.TrueForAll(l => l.Context.TraceId == links[0].Context.TraceId))
            {
                parent = links[0].Context;
            }
        }

        var activity = PipelineTelemetry.Source.StartActivity(kind, parent, links: links, name: function.Name);
        if (activity is not { IsAllDataRequested: true })
        {
            return activity;
        }

        activity.SetTag("faas.name", function.Name);
        activity.SetTag("faas.invocation_id", invocationId);
        switch (function.Trigger)
        {
            case QueueTriggerBinding queue:
                activity.SetTag("faas.trigger", "pubsub");
                activity.SetTag("messaging.destination.name", queue.QueueName);
                activity.SetTag("messaging.operation.type", "process");
                if (trigger is IReadOnlyList<ReceivedMessage> batch)
                {
                    activity.SetTag("messaging.batch.message_count", batch.Count);
                    if (batch.Count == 1)
                    {
                        activity.SetTag("messaging.message.id", batch[0].MessageId);
                    }
                }

                break;
            case ObjectTriggerBinding objects:
                activity.SetTag("faas.trigger", "datasource");
                activity.SetTag("faas.document.collection", objects.Zone);
                activity.SetTag("faas.document.operation", "insert");
                if (trigger is ObjectCreatedEvent created)
                {
                    activity.SetTag("faas.document.name", created.Key);
                }

                break;
            case TimerTriggerBinding:
                activity.SetTag("faas.trigger", "timer");
                break;
            default:
                activity.SetTag("faas.trigger", "other");
                break;
        }

        return activity;
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
