using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Internal;

/// <summary>
/// Polls one trigger queue for one function: batches, per-message outcome, visibility heartbeat,
/// retry delay for failures, host-side dead-lettering after maxDequeueCount, release on shutdown.
/// </summary>
internal sealed class QueueListener
{
    public const string ErrorAttribute = "pipeline-error";
    public const string ErrorTypeAttribute = "pipeline-error-type";
    public const string FunctionAttribute = "pipeline-function";
    public const string SourceQueueAttribute = "pipeline-source-queue";
    public const string ReceiveCountAttribute = "pipeline-receive-count";
    public const string OriginalMessageIdAttribute = "pipeline-original-message-id";

    private const string BatchFailedTemplate = "Handling a batch from queue '{Queue}' failed; its messages return to the queue after their visibility timeout";
    private const string PollFailedTemplate = "Polling queue '{Queue}' for function '{FunctionName}' failed; retrying";
    private const string DeadLetteredTemplate = "Message {MessageId} from queue '{Queue}' moved to dead-letter queue '{DeadLetterQueue}' after {ReceiveCount} deliveries: {Error}";
    private const string ReturnedTemplate = "Message {MessageId} from queue '{Queue}' failed (delivery {ReceiveCount} of {MaxDequeueCount}); visible again in {Delay}: {Error}";
    private const string HeldBackTemplate = "Message {MessageId} of group {GroupId} from queue '{Queue}' returns unacknowledged behind a failed message of its group (FIFO order); visible again in {Delay}";
    private const string ReleasedTemplate = "Released {Count} unfinished message(s) to queue '{Queue}' on shutdown";
    private const string HeartbeatFailedTemplate = "Visibility heartbeat on queue '{Queue}' failed";
    private const string UnknownFailureTemplate = "Function '{FunctionName}' reported a failure for message id '{MessageId}', which is not in the batch; ignored";

    private readonly FunctionDescriptor _function;
    private readonly string _queue;
    private readonly string _deadLetterQueue;
    private readonly IMessageQueue _queues;
    private readonly FunctionExecutor _executor;
    private readonly HostSettings _settings;
    private readonly ILogger _logger;
    private readonly ActivityTracker _tracker;

    public QueueListener(
        FunctionDescriptor function,
        string deadLetterQueue,
        IMessageQueue queues,
        FunctionExecutor executor,
        HostSettings settings,
        ILogger logger,
        ActivityTracker tracker,
        TimeSpan minPollingInterval)
    {
        _function = function;
        _queue = ((QueueTriggerBinding)function.Trigger).QueueName;
        _deadLetterQueue = deadLetterQueue;
        _queues = queues;
        _executor = executor;
        _settings = settings;
        _logger = logger;
        _tracker = tracker;
        Backoff = new PollingBackoff(minPollingInterval, settings.Queues.MaxPollingInterval);
    }

    public string Queue => _queue;

    public PollingBackoff Backoff { get; }

    /// <param name="stopping">Stops polling; the current batch continues.</param>
    /// <param name="abort">Cancels the running batch; its unfinished messages are released.</param>
    public async Task RunAsync(CancellationToken stopping, CancellationToken abort)
    {
        var options = new ReceiveOptions
        {
            MaxMessages = _settings.Queues.BatchSize,
            VisibilityTimeout = _settings.Queues.VisibilityTimeout,
            WaitTime = TimeSpan.Zero,
        };
        // As Azure's newBatchThreshold: another batch is fetched once the messages in flight drop to the threshold
        // (0 = one batch at a time).
        var threshold = _settings.Queues.NewBatchThreshold;
        var running = new List<Task>();
        var inFlight = 0;
        while (!stopping.IsCancellationRequested)
        {
            while (running.Count > 0 && Volatile.Read(ref inFlight) > threshold)
            {
                await Task.WhenAny(running);
                running.RemoveAll(t => t.IsCompleted);
            }

            if (stopping.IsCancellationRequested)
            {
                break;
            }

            IReadOnlyList<ReceivedMessage> batch;
            try
            {
                batch = await _queues.ReceiveAsync(_queue, options, stopping);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                _logger.LogError(ex, PollFailedTemplate, _queue, _function.Name);
                await Backoff.WaitQuietlyAsync(stopping);
                continue;
            }

            if (batch.Count == 0)
            {
                await Backoff.WaitQuietlyAsync(stopping);
                continue;
            }

            Backoff.Reset();
            Interlocked.Add(ref inFlight, batch.Count);
            running.Add(RunBatchAsync(batch, abort, () => Interlocked.Add(ref inFlight, -batch.Count)));
        }

        await Task.WhenAll(running);
    }

    private async Task RunBatchAsync(IReadOnlyList<ReceivedMessage> batch, CancellationToken abort, Action done)
    {
        using var busy = _tracker.Begin();
        try
        {
            await ProcessBatchAsync(batch, abort);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !abort.IsCancellationRequested)
        {
            // A provider call failed (ack, release, dead-letter): keep listening; at-least-once redelivery covers it.
            _logger.LogError(ex, BatchFailedTemplate, _queue);
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

    internal async Task ProcessBatchAsync(IReadOnlyList<ReceivedMessage> batch, CancellationToken abort)
    {
        var maxDequeue = _settings.Queues.MaxDequeueCount;

        // Delivered more often than allowed without completing (e.g. the process died mid-batch).
        var exhausted = batch.Where(m => m.ReceiveCount > maxDequeue).ToList();
        if (exhausted.Count > 0)
        {
            await DeadLetterAsync(exhausted.Select(m => (m, $"Delivered {m.ReceiveCount} times (maxDequeueCount {maxDequeue}) without completing; the consumer probably stopped or timed out mid-batch.", "Exhausted")).ToList(), CancellationToken.None);
        }

        var messages = batch.Where(m => m.ReceiveCount <= maxDequeue).ToList();
        if (messages.Count == 0)
        {
            return;
        }

        var failures = new Dictionary<string, (string Reason, string Type)>(StringComparer.Ordinal);
        var released = false;
        using (var heartbeatStop = new CancellationTokenSource())
        {
            var heartbeat = HeartbeatAsync(messages, heartbeatStop.Token);
            try
            {
                var result = await _executor.ExecuteAsync(_function, messages, "New queue message detected", Metadata(messages), abort);
                var ids = messages.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);
                foreach (var failure in result.Failures)
                {
                    if (ids.Contains(failure.MessageId))
                    {
                        failures[failure.MessageId] = (failure.Exception?.Message ?? failure.Reason, failure.Exception?.GetType().FullName ?? failure.ErrorType ?? "MessageFailure");
                    }
                    else
                    {
                        _logger.LogWarning(UnknownFailureTemplate, _function.Name, failure.MessageId);
                    }
                }
            }
            catch (OperationCanceledException) when (abort.IsCancellationRequested)
            {
                released = true;
            }
            catch (Exception ex)
            {
                foreach (var m in messages)
                {
                    failures[m.MessageId] = (ex.Message, ex.GetType().FullName ?? "Exception");
                }
            }
            finally
            {
                await heartbeatStop.CancelAsync();
                await heartbeat;
            }
        }

        if (released)
        {
            await _queues.ChangeVisibilityBatchAsync(_queue, messages.Select(m => new VisibilityChange(m.ReceiptHandle, TimeSpan.Zero)).ToList(), CancellationToken.None);
            _logger.LogWarning(ReleasedTemplate, messages.Count, _queue);
            return;
        }

        // FIFO: a message after a failed one of its group is not acknowledged (it would overtake the failed one), unless
        // that one is dead-lettered now and never comes back; then it is acknowledged once the move succeeded.
        var failed = messages.Where(m => failures.ContainsKey(m.MessageId)).ToList();
        var poison = failed.Where(m => m.ReceiveCount >= maxDequeue).Select(m => (m, failures[m.MessageId].Reason, failures[m.MessageId].Type)).ToList();
        var retry = failed.Where(m => m.ReceiveCount < maxDequeue).ToList();
        var fifo = _queue.EndsWith(".fifo", StringComparison.Ordinal);
        var failedIds = failures.Keys.ToHashSet(StringComparer.Ordinal);
        var held = fifo ? FifoGroups.HeldBack(messages, failedIds, poison.Select(p => p.m.MessageId).ToHashSet(StringComparer.Ordinal)) : [];
        var behind = fifo ? FifoGroups.HeldBack(messages, failedIds).Except(held).ToHashSet() : [];

        var succeeded = messages.Where(m => !failures.ContainsKey(m.MessageId) && !held.Contains(m) && !behind.Contains(m)).Select(m => m.ReceiptHandle).ToList();
        if (succeeded.Count > 0)
        {
            await _queues.DeleteBatchAsync(_queue, succeeded, CancellationToken.None);
        }

        if (poison.Count > 0)
        {
            await DeadLetterAsync(poison, CancellationToken.None);
        }

        if (behind.Count > 0)
        {
            await _queues.DeleteBatchAsync(_queue, behind.Select(m => m.ReceiptHandle).ToList(), CancellationToken.None);
        }

        if (retry.Count > 0 || held.Count > 0)
        {
            var changes = new List<VisibilityChange>(retry.Count + held.Count);
            var groupDelay = new Dictionary<string, TimeSpan>(StringComparer.Ordinal);
            foreach (var m in retry)
            {
                var delay = _settings.Retry?.GetDelay(m.ReceiveCount) ?? TimeSpan.Zero;
                changes.Add(new VisibilityChange(m.ReceiptHandle, delay));
                _logger.LogWarning(ReturnedTemplate, m.MessageId, _queue, m.ReceiveCount, maxDequeue, delay, failures[m.MessageId].Reason);
                if (m.GroupId is not null)
                {
                    groupDelay[m.GroupId] = groupDelay.TryGetValue(m.GroupId, out var d) && d > delay ? d : delay;
                }
            }

            // Visible again no earlier than the failed message of the group, so a redelivery starts with that one.
            // The release counts as a receive (SQS cannot undo one): see README "FIFO order after a failure".
            foreach (var m in held)
            {
                var delay = groupDelay.GetValueOrDefault(m.GroupId!);
                changes.Add(new VisibilityChange(m.ReceiptHandle, delay));
                _logger.LogInformation(HeldBackTemplate, m.MessageId, m.GroupId, _queue, delay);
            }

            await _queues.ChangeVisibilityBatchAsync(_queue, changes, CancellationToken.None);
        }
    }

    private async Task DeadLetterAsync(IReadOnlyList<(ReceivedMessage Message, string Reason, string Type)> items, CancellationToken cancellationToken)
    {
        var fifo = _deadLetterQueue.EndsWith(".fifo", StringComparison.Ordinal);
        foreach (var chunk in items.Chunk(QueueLimits.MaxBatchSize))
        {
            var outgoing = chunk.Select((item, i) =>
            {
                var m = item.Message;
                var attributes = new Dictionary<string, string>(m.Attributes, StringComparer.Ordinal)
                {
                    [ErrorAttribute] = Truncate(item.Reason, 1024),
                    [ErrorTypeAttribute] = item.Type,
                    [FunctionAttribute] = _function.Name,
                    [SourceQueueAttribute] = _queue,
                    [ReceiveCountAttribute] = m.ReceiveCount.ToString(System.Globalization.CultureInfo.InvariantCulture),
                    [OriginalMessageIdAttribute] = m.MessageId,
                };
                return new OutgoingMessage(m.Body, fifo ? m.GroupId ?? "dead-letter" : null, fifo ? m.MessageId : null, attributes)
                {
                    EntryId = i.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
            }).ToList();

            var sent = await _queues.SendBatchAsync(_deadLetterQueue, outgoing, cancellationToken);
            if (!sent.AllSucceeded)
            {
                // Keep the messages: they return to the queue and dead-lettering is tried again on the next delivery.
                throw new QueueException(
                    $"Could not move {sent.Failed.Count} message(s) from '{_queue}' to dead-letter queue '{_deadLetterQueue}': {sent.Failed[0].Code} {sent.Failed[0].Message}. Check that the dead-letter queue exists.");
            }

            await _queues.DeleteBatchAsync(_queue, chunk.Select(c => c.Message.ReceiptHandle).ToList(), cancellationToken);
            Telemetry.PipelineTelemetry.DeadLettered.Add(chunk.Length, new KeyValuePair<string, object?>("messaging.destination.name", _queue));
            foreach (var (m, reason, _) in chunk)
            {
                _logger.LogError(DeadLetteredTemplate, m.MessageId, _queue, _deadLetterQueue, m.ReceiveCount, reason);
            }
        }
    }

    private Task HeartbeatAsync(IReadOnlyList<ReceivedMessage> messages, CancellationToken cancellationToken) =>
        Heartbeat.RunAsync(
            _settings.Queues.VisibilityTimeout,
            ct => _queues.ChangeVisibilityBatchAsync(_queue, messages.Select(m => new VisibilityChange(m.ReceiptHandle, _settings.Queues.VisibilityTimeout)).ToList(), ct),
            ex => _logger.LogWarning(ex, HeartbeatFailedTemplate, _queue),
            cancellationToken);

    private static Dictionary<string, string> Metadata(IReadOnlyList<ReceivedMessage> messages) => new()
    {
        ["MessageCount"] = messages.Count.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["MessageIds"] = string.Join(",", messages.Select(m => m.MessageId)),
    };

    private static string Truncate(string value, int max) => value.Length <= max ? value : value[..max];
}
