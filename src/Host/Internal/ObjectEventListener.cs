using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Internal;

/// <summary>
/// Polls one zone's object-created events and dispatches each to every function whose zone and prefix
/// match; the event is acknowledged only when all of them succeeded, otherwise delivered again later.
/// </summary>
internal sealed class ObjectEventListener
{
    private const string BatchFailedTemplate = "Handling object events of zone '{Zone}' failed; they are delivered again after their visibility timeout";
    private const string PollFailedTemplate = "Polling object events of zone '{Zone}' failed; retrying";
    private const string FailedTemplate = "Object event {Key} in zone '{Zone}' failed (delivery {ReceiveCount}); delivered again in {Delay}";
    private const string ReleasedTemplate = "Released {Count} unfinished object event(s) of zone '{Zone}' on shutdown";
    private const string DeadLetteredTemplate = "Object event {Key} in zone '{Zone}' dead-lettered after {ReceiveCount} deliveries: {Error}";
    private const string NoDeadLetterTemplate = "Object event {Key} in zone '{Zone}' failed {ReceiveCount} times and its event source has no dead letter; it keeps being delivered";
    private const string HeartbeatFailedTemplate = "Visibility heartbeat on object events of zone '{Zone}' failed";

    /// <summary>How long the listener waits for more free slots before polling for fewer than half a batch.</summary>
    private static readonly TimeSpan GatherSlots = TimeSpan.FromMilliseconds(50);

    private readonly string _zone;
    private readonly IReadOnlyList<FunctionDescriptor> _functions;
    private readonly IObjectEventSource _events;
    private readonly FunctionExecutor _executor;
    private readonly HostSettings _settings;
    private readonly ILogger _logger;
    private readonly ActivityTracker _tracker;
    private long _lastEmptyPollStarted;

    public ObjectEventListener(
        string zone,
        IReadOnlyList<FunctionDescriptor> functions,
        IObjectEventSource events,
        FunctionExecutor executor,
        HostSettings settings,
        ILogger logger,
        ActivityTracker tracker,
        TimeSpan minPollingInterval)
    {
        _zone = zone;
        _functions = functions;
        _events = events;
        _executor = executor;
        _settings = settings;
        _logger = logger;
        _tracker = tracker;
        Backoff = new PollingBackoff(minPollingInterval, settings.Queues.MaxPollingInterval);
    }

    public string Zone => _zone;

    public PollingBackoff Backoff { get; }

    /// <summary>Stopwatch timestamp at which the last poll that found nothing started.</summary>
    public long LastEmptyPollStarted => Interlocked.Read(ref _lastEmptyPollStarted);

    /// <summary>
    /// Keeps up to extensions.blobs.maxDegreeOfParallelism events in flight: a slot frees as soon as its event's
    /// functions finish (not when the whole received batch does), and the listener polls for more — at most batchSize,
    /// at most the free slots — once half a batch's worth of slots is free (or nothing runs), so the next events are
    /// running while the previous ones finish. Each received batch is acknowledged (one request) and heartbeats on its own.
    /// </summary>
    public async Task RunAsync(CancellationToken stopping, CancellationToken abort)
    {
        var visibility = _settings.Queues.VisibilityTimeout;
        var limit = Math.Max(1, _settings.Objects.MaxDegreeOfParallelism);
        var batchSize = Math.Clamp(_settings.Queues.BatchSize, 1, limit);

        // A poll for fewer than half a batch costs a request for little; wait for more free slots unless nothing runs.
        var threshold = Math.Max(1, batchSize / 2);
        var running = new List<Task>();
        var inFlight = 0;
        var freed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void Free(int count)
        {
            if (count > 0)
            {
                Interlocked.Add(ref inFlight, -count);
                Interlocked.Exchange(ref freed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }

        while (!stopping.IsCancellationRequested)
        {
            // Wait for a free slot; with fewer than half a batch free, wait a moment longer for more (one poll then
            // takes several events, not one request each) — bounded, so the last slots still fill.
            var waitedForMore = false;
            while (true)
            {
                var signal = Volatile.Read(ref freed).Task;
                var free = limit - Volatile.Read(ref inFlight);
                if (free >= threshold || (free > 0 && waitedForMore) || free == limit)
                {
                    break;
                }

                try
                {
                    if (free > 0)
                    {
                        waitedForMore = true;
                        await Task.WhenAny(signal, Task.Delay(GatherSlots, stopping));
                        stopping.ThrowIfCancellationRequested();
                    }
                    else
                    {
                        await signal.WaitAsync(stopping);
                    }
                }
                catch (OperationCanceledException) when (stopping.IsCancellationRequested)
                {
                    break;
                }
            }

            running.RemoveAll(t => t.IsCompleted);
            if (stopping.IsCancellationRequested)
            {
                break;
            }

            var pollStarted = Stopwatch.GetTimestamp();
            IReadOnlyList<ObjectEventDelivery> deliveries;
            try
            {
                var free = limit - Volatile.Read(ref inFlight);
                deliveries = await _events.ReceiveAsync(_zone, Math.Clamp(free, 1, batchSize), TimeSpan.Zero, visibility, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, PollFailedTemplate, _zone);
                await Backoff.WaitQuietlyAsync(stopping);
                continue;
            }

            if (deliveries.Count == 0)
            {
                running.RemoveAll(t => t.IsCompleted);
                if (running.Count == 0)
                {
                    Interlocked.Exchange(ref _lastEmptyPollStarted, pollStarted);
                    await Backoff.WaitQuietlyAsync(stopping);
                }
                else
                {
                    // Work still runs: poll again when an event finishes (its object may have successors) or after the back-off.
                    await Task.WhenAny(Volatile.Read(ref freed).Task, Task.WhenAny(running), Backoff.WaitQuietlyAsync(stopping));
                }

                continue;
            }

            Backoff.Reset();
            Interlocked.Add(ref inFlight, deliveries.Count);
            var busy = _tracker.Begin();
            var released = 0;
            running.Add(RunBatchAsync(
                deliveries,
                abort,
                () =>
                {
                    Interlocked.Increment(ref released);
                    Free(1);
                },
                () =>
                {
                    // Slots of events that never reached their functions (the batch failed early).
                    Free(deliveries.Count - Volatile.Read(ref released));
                    busy.Dispose();
                }));
        }

        await Task.WhenAll(running);
    }

    private async Task RunBatchAsync(IReadOnlyList<ObjectEventDelivery> deliveries, CancellationToken abort, Action eventDone, Action done)
    {
        // Off the polling loop: the listener fetches the next batch while this one runs.
        await Task.Yield();
        try
        {
            await ProcessAsync(deliveries, abort, eventDone);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
        {
            // A provider call failed (ack, release, dead-letter): keep listening; at-least-once redelivery covers it.
            _logger.LogError(ex, BatchFailedTemplate, _zone);
        }
        catch (OperationCanceledException)
        {
            // Aborted during shutdown.
        }
        finally
        {
            done();
        }
    }

    private async Task ProcessAsync(IReadOnlyList<ObjectEventDelivery> deliveries, CancellationToken abort, Action eventDone)
    {
        using var heartbeatStop = new CancellationTokenSource();
        var heartbeat = HeartbeatAsync(deliveries, heartbeatStop.Token);
        var outcomes = await Task.WhenAll(deliveries.Select(async d =>
        {
            try
            {
                return await DispatchAsync(d, abort);
            }
            finally
            {
                eventDone();
            }
        }));
        await heartbeatStop.CancelAsync();
        await heartbeat;

        var done = deliveries.Where((_, i) => outcomes[i].Outcome == Outcome.Succeeded).ToList();
        if (done.Count > 0)
        {
            await _events.AcknowledgeAsync(_zone, done, CancellationToken.None);
        }

        var releasedCount = 0;
        for (var i = 0; i < deliveries.Count; i++)
        {
            var d = deliveries[i];
            if (outcomes[i].Outcome == Outcome.Failed && d.ReceiveCount >= _settings.Queues.MaxDequeueCount)
            {
                if (_events is IObjectEventDeadLetters deadLetters)
                {
                    var error = outcomes[i].Error ?? "the function failed";
                    _logger.LogError(DeadLetteredTemplate, d.Event.Key, _zone, d.ReceiveCount, error);
                    await deadLetters.DeadLetterAsync(_zone, d, error, CancellationToken.None);
                    Telemetry.PipelineTelemetry.DeadLettered.Add(1, new KeyValuePair<string, object?>("pipeline.zone", _zone));
                    continue;
                }

                _logger.LogError(NoDeadLetterTemplate, d.Event.Key, _zone, d.ReceiveCount);
            }

            if (outcomes[i].Outcome == Outcome.Failed)
            {
                var delay = _settings.Retry?.GetDelay(d.ReceiveCount) ?? TimeSpan.Zero;
                _logger.LogWarning(FailedTemplate, d.Event.Key, _zone, d.ReceiveCount, delay);
                await _events.ChangeVisibilityAsync(_zone, d, delay, CancellationToken.None);
            }
            else if (outcomes[i].Outcome == Outcome.Released)
            {
                releasedCount++;
                await _events.ChangeVisibilityAsync(_zone, d, TimeSpan.Zero, CancellationToken.None);
            }
        }

        if (releasedCount > 0)
        {
            _logger.LogWarning(ReleasedTemplate, releasedCount, _zone);
        }
    }

    private async Task<(Outcome Outcome, string? Error)> DispatchAsync(ObjectEventDelivery delivery, CancellationToken abort)
    {
        var outcome = Outcome.Succeeded;
        string? error = null;
        var metadata = new Dictionary<string, string>
        {
            ["Zone"] = delivery.Event.Zone,
            ["Key"] = delivery.Event.Key,
            ["ETag"] = delivery.Event.ETag,
            ["DeliveryCount"] = delivery.ReceiveCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var function in _functions)
        {
            if (!((ObjectTriggerBinding)function.Trigger).Matches(delivery.Event.Zone, delivery.Event.Key))
            {
                continue;
            }

            try
            {
                await _executor.ExecuteWithRetryAsync(function, delivery.Event, $"New object detected: {delivery.Event.Key}", metadata, abort);
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                return (Outcome.Released, null);
            }
            catch (Exception ex)
            {
                // Logged by the executor; the other functions still run (each is idempotent).
                outcome = Outcome.Failed;
                error = $"{function.Name}: {ex.GetType().Name}: {ex.Message}";
            }
        }

        return (outcome, error);
    }

    private Task HeartbeatAsync(IReadOnlyList<ObjectEventDelivery> deliveries, CancellationToken cancellationToken) =>
        Heartbeat.RunAsync(
            _settings.Queues.VisibilityTimeout,
            async ct =>
            {
                // One delivery's failed beat must not stop the others'.
                foreach (var d in deliveries)
                {
                    try
                    {
                        await _events.ChangeVisibilityAsync(_zone, d, _settings.Queues.VisibilityTimeout, ct);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        _logger.LogWarning(ex, HeartbeatFailedTemplate, _zone);
                    }
                }
            },
            ex => _logger.LogWarning(ex, HeartbeatFailedTemplate, _zone),
            cancellationToken);

    private enum Outcome
    {
        Succeeded,
        Failed,
        Released,
    }
}
