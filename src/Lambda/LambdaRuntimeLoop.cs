using Microsoft.Extensions.Logging;
using Pipeline.Lambda.Dispatch;
using Pipeline.Lambda.RuntimeApi;

namespace Pipeline.Lambda;

/// <summary>
/// The custom runtime's processing loop: next invocation → dispatch → response or error, until the
/// Runtime API fails (then the process exits and Lambda starts a fresh environment).
/// </summary>
public sealed class LambdaRuntimeLoop
{
    private const string InvocationStartLog = "Invocation {RequestId} of {Function}: {RemainingMs} ms left";
    private const string InvocationFailedLog = "Invocation {RequestId} of {Function} failed";
    private const string DeadlineLog = "Invocation {RequestId} of {Function} was cancelled {MarginMs} ms before its deadline";

    private static readonly TimeSpan MaxDeadlineMargin = TimeSpan.FromSeconds(1);

    private readonly RuntimeApiClient _client;
    private readonly LambdaEventDispatcher _dispatcher;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;

    public LambdaRuntimeLoop(RuntimeApiClient client, LambdaEventDispatcher dispatcher, ILogger<LambdaRuntimeLoop> logger, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentNullException.ThrowIfNull(dispatcher);
        ArgumentNullException.ThrowIfNull(logger);
        _client = client;
        _dispatcher = dispatcher;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
    }

    /// <summary>
    /// Time kept back before the deadline so the function can stop and the error is still posted:
    /// a tenth of the remaining time, at most one second.
    /// </summary>
    public static TimeSpan DeadlineMargin(TimeSpan remaining)
        => remaining <= TimeSpan.Zero ? TimeSpan.Zero : TimeSpan.FromTicks(Math.Min(MaxDeadlineMargin.Ticks, remaining.Ticks / 10));

    public async Task RunAsync(CancellationToken stoppingToken = default)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var invocation = await _client.GetNextInvocationAsync(stoppingToken);
            await HandleAsync(invocation, stoppingToken);
        }
    }

    /// <summary>Handles one invocation; only a Runtime API failure escapes.</summary>
    public async Task HandleAsync(LambdaInvocation invocation, CancellationToken stoppingToken = default)
    {
        ArgumentNullException.ThrowIfNull(invocation);

        // The X-Ray SDK and OpenTelemetry's AWS propagator read the trace header from here.
        Environment.SetEnvironmentVariable(RuntimeApiClient.TraceIdVariable, invocation.TraceId);

        var function = _dispatcher.Binding.Name;
        var remaining = invocation.RemainingTime(_clock);
        var margin = DeadlineMargin(remaining);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        deadline.CancelAfter(remaining - margin);

        using var scope = _logger.BeginScope(invocation.RequestId);
        _logger.LogDebug(InvocationStartLog, invocation.RequestId, function, (long)remaining.TotalMilliseconds);
        byte[] response;
        try
        {
            response = await _dispatcher.DispatchAsync(invocation, deadline.Token);
        }
        catch (OperationCanceledException ex) when (deadline.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
        {
            _logger.LogError(ex, DeadlineLog, invocation.RequestId, function, (long)margin.TotalMilliseconds);
            var error = new LambdaError(
                $"{function} did not finish before the invocation deadline ({invocation.Deadline:O}); it was cancelled {(long)margin.TotalMilliseconds} ms early. "
                + "Raise the function timeout or lower the batch size.",
                "Pipeline.DeadlineExceeded",
                LambdaError.From(ex).StackTrace);
            await _client.PostInvocationErrorAsync(invocation.RequestId, error, RuntimeApiClient.TimeoutErrorCategory, stoppingToken);
            return;
        }
        catch (Exception ex) when (ex is not RuntimeApiException)
        {
            _logger.LogError(ex, InvocationFailedLog, invocation.RequestId, function);
            await _client.PostInvocationErrorAsync(invocation.RequestId, LambdaError.From(ex), RuntimeApiClient.UnhandledErrorCategory, stoppingToken);
            return;
        }

        await _client.PostResponseAsync(invocation.RequestId, response, stoppingToken);
    }
}
