using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pipeline.Host;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.RuntimeApi;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Lambda.Dispatch;

/// <summary>
/// Turns one Lambda event into calls of the function named by <c>_HANDLER</c> and builds the answer:
/// a partial batch response for SQS events (ReportBatchItemFailures), <c>{}</c> for schedules.
/// An exception escapes only when the whole event failed (Lambda then retries the whole batch).
/// </summary>
public sealed class LambdaEventDispatcher
{
    private const string SkippedTestEventLog = "Skipping the S3 test event for bucket {Bucket} (message {MessageId})";
    private const string SkippedNotCreatedLog = "Skipping S3 event {EventName} for {Bucket}/{Key}: only ObjectCreated events trigger {Function}";
    private const string SkippedNoMatchLog = "Skipping {Bucket}/{Key}: {Function} is bound to zone {Zone} with prefix '{Prefix}'";
    private const string ObjectFailedLog = "{Function} failed for {Bucket}/{Key} (message {MessageId}); the message stays on the queue";
    private const string UnreadableMessageLog = "Message {MessageId} is not an S3 event notification; it stays on the queue until it is dead-lettered";
    private const string UnknownFailureLog = "{Function} reported a failure for message {MessageId}, which is not in this batch; ignored";
    private const string GroupFailedLog = "Message {MessageId} of group {GroupId} is reported failed because an earlier message of its group failed (FIFO order)";

    private static readonly byte[] EmptyObject = "{}"u8.ToArray();

    private readonly ILambdaFunction _function;
    private readonly ILogger _logger;
    private readonly TimeProvider _clock;

    public LambdaEventDispatcher(ILambdaFunction function, ILogger<LambdaEventDispatcher> logger, TimeProvider? clock = null)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(logger);
        _function = function;
        _logger = logger;
        _clock = clock ?? TimeProvider.System;
    }

    public LambdaFunctionBinding Binding => _function.Binding;

    /// <summary>Runs the invocation and returns the JSON document to post as its response.</summary>
    public async Task<byte[]> DispatchAsync(LambdaInvocation invocation, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(invocation);
        var context = new LambdaInvocationContext(invocation.RequestId, invocation.InvokedFunctionArn, invocation.TraceId);
        switch (_function.Binding.Trigger)
        {
            case LambdaTriggerKind.ObjectCreated:
                {
                    var response = await DispatchObjectEventsAsync(ReadSqsEvent(invocation.Payload), context, cancellationToken);
                    return JsonSerializer.SerializeToUtf8Bytes(response, LambdaEventsJsonContext.Default.SqsBatchResponse);
                }

            case LambdaTriggerKind.Queue:
                {
                    var response = await DispatchQueueBatchAsync(ReadSqsEvent(invocation.Payload), context, cancellationToken);
                    return JsonSerializer.SerializeToUtf8Bytes(response, LambdaEventsJsonContext.Default.SqsBatchResponse);
                }

            case LambdaTriggerKind.Timer:
                await DispatchTimerAsync(ReadScheduledEvent(invocation.Payload), context, cancellationToken);
                return EmptyObject;

            default:
                throw new InvalidOperationException($"Trigger kind {_function.Binding.Trigger} is not supported by the Lambda adapter.");
        }
    }

    /// <summary>Messages of one object-event batch handled at once (their objects overlap their I/O, and their sends share batches).</summary>
    internal const int ObjectConcurrency = 16;

    /// <summary>
    /// One function call per created object, up to <see cref="ObjectConcurrency"/> messages at once (a message's own
    /// objects in order); a message with any failed object is reported failed.
    /// </summary>
    internal async Task<SqsBatchResponse> DispatchObjectEventsAsync(SqsEvent sqsEvent, LambdaInvocationContext context, CancellationToken cancellationToken)
    {
        var records = sqsEvent.Records.ToList();
        var failed = new bool[records.Count];
        await Parallel.ForAsync(0, records.Count, new ParallelOptions { MaxDegreeOfParallelism = ObjectConcurrency, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            failed[i] = !await DispatchObjectMessageAsync(records[i], context, ct);
        });

        return new SqsBatchResponse { BatchItemFailures = [.. records.Where((_, i) => failed[i]).Select(r => new SqsBatchItemFailure { ItemIdentifier = r.MessageId })] };
    }

    /// <summary>False when the message is to be reported failed.</summary>
    private async Task<bool> DispatchObjectMessageAsync(SqsRecord record, LambdaInvocationContext context, CancellationToken cancellationToken)
    {
        var binding = _function.Binding;
        cancellationToken.ThrowIfCancellationRequested();
        S3EventNotification? notification;
        try
        {
            notification = JsonSerializer.Deserialize(record.Body, LambdaEventsJsonContext.Default.S3EventNotification);
        }
        catch (JsonException ex)
        {
            _logger.LogError(ex, UnreadableMessageLog, record.MessageId);
            return false;
        }

        if (notification is null || (notification.Records is null && !notification.IsTestEvent))
        {
            _logger.LogError(UnreadableMessageLog, record.MessageId);
            return false;
        }

        if (notification.IsTestEvent)
        {
            _logger.LogInformation(SkippedTestEventLog, notification.Bucket, record.MessageId);
            return true;
        }

        foreach (var s3 in notification.Records!)
        {
            var bucket = s3.S3.Bucket.Name;
            var key = s3.S3.Object.DecodedKey;
            if (!s3.IsObjectCreated)
            {
                _logger.LogInformation(SkippedNotCreatedLog, s3.EventName, bucket, key, binding.Name);
                continue;
            }

            if (!Matches(binding, bucket, key))
            {
                _logger.LogWarning(SkippedNoMatchLog, bucket, key, binding.Name, binding.Zone, binding.Prefix);
                continue;
            }

            var objectCreated = new ObjectCreatedEvent(
                binding.Zone ?? bucket,
                key,
                s3.S3.Object.Size,
                (s3.S3.Object.ETag ?? string.Empty).Trim('"'),
                s3.S3.Object.VersionId,
                s3.EventTime);
            try
            {
                await _function.InvokeObjectCreatedAsync(objectCreated, context, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                _logger.LogError(ex, ObjectFailedLog, binding.Name, bucket, key, record.MessageId);
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// Runs the function on the whole batch. Reports exactly the messages it failed, plus (FIFO)
    /// every later message of a group that has a failed message, so the group's order holds when
    /// Lambda redelivers: AWS asks FIFO consumers to return failed and unprocessed messages.
    /// </summary>
    internal async Task<SqsBatchResponse> DispatchQueueBatchAsync(SqsEvent sqsEvent, LambdaInvocationContext context, CancellationToken cancellationToken)
    {
        var messages = sqsEvent.Records.Select(ToReceivedMessage).ToList();
        var result = await _function.InvokeQueueBatchAsync(messages, context, cancellationToken);

        var failed = new HashSet<string>(StringComparer.Ordinal);
        var inBatch = messages.Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);
        foreach (var failure in result.Failures)
        {
            if (!inBatch.Contains(failure.MessageId))
            {
                _logger.LogWarning(UnknownFailureLog, _function.Binding.Name, failure.MessageId);
                continue;
            }

            failed.Add(failure.MessageId);
        }

        // The group rule the host applies too (FifoGroups); only records from a FIFO queue have a group to keep in order.
        var grouped = sqsEvent.Records.Zip(messages, (record, message) => record.IsFromFifoQueue ? message : message with { GroupId = null }).ToList();
        var held = FifoGroups.HeldBack(grouped, failed).Select(m => m.MessageId).ToHashSet(StringComparer.Ordinal);
        var answer = new List<SqsBatchItemFailure>();
        foreach (var message in grouped.Where(m => failed.Contains(m.MessageId) || held.Contains(m.MessageId)).DistinctBy(m => m.MessageId))
        {
            if (held.Contains(message.MessageId))
            {
                _logger.LogInformation(GroupFailedLog, message.MessageId, message.GroupId);
            }

            answer.Add(new SqsBatchItemFailure { ItemIdentifier = message.MessageId });
        }

        return new SqsBatchResponse { BatchItemFailures = answer };
    }

    internal async Task DispatchTimerAsync(ScheduledEvent scheduled, LambdaInvocationContext context, CancellationToken cancellationToken)
    {
        // A manual invoke ('{}') has no time: it runs as now.
        var scheduledTime = scheduled.Time == default ? _clock.GetUtcNow() : scheduled.Time;
        var timer = new TimerInfo(scheduledTime, Next: null, IsPastDue: false, IsStartupRun: false);
        await _function.InvokeTimerAsync(timer, context, cancellationToken);
    }

    internal static ReceivedMessage ToReceivedMessage(SqsRecord record)
    {
        ArgumentNullException.ThrowIfNull(record);
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (name, value) in record.MessageAttributes)
        {
            if (value.StringValue is not null)
            {
                attributes[name] = value.StringValue;
            }
        }

        return new ReceivedMessage(
            record.MessageId,
            record.ReceiptHandle,
            record.Body,
            ReceiveCount: ParseInt(record.Attributes.GetValueOrDefault(SqsAttributeNames.ApproximateReceiveCount), 1),
            GroupId: record.Attributes.GetValueOrDefault(SqsAttributeNames.MessageGroupId),
            DeduplicationId: record.Attributes.GetValueOrDefault(SqsAttributeNames.MessageDeduplicationId),
            attributes,
            SentAt: long.TryParse(record.Attributes.GetValueOrDefault(SqsAttributeNames.SentTimestamp), NumberStyles.None, CultureInfo.InvariantCulture, out var sentMs)
                ? DateTimeOffset.FromUnixTimeMilliseconds(sentMs)
                : DateTimeOffset.UnixEpoch);
    }

    private static bool Matches(LambdaFunctionBinding binding, string bucket, string key)
    {
        var expected = binding.Bucket ?? binding.Zone;
        var bucketMatches = string.IsNullOrEmpty(expected) || string.Equals(expected, bucket, StringComparison.Ordinal);
        return bucketMatches && key.StartsWith(binding.Prefix ?? string.Empty, StringComparison.Ordinal);
    }

    private static int ParseInt(string? text, int fallback)
        => int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) ? value : fallback;

    private SqsEvent ReadSqsEvent(ReadOnlyMemory<byte> payload)
    {
        SqsEvent? sqsEvent;
        try
        {
            sqsEvent = JsonSerializer.Deserialize(payload.Span, LambdaEventsJsonContext.Default.SqsEvent);
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException(
                $"{_function.Binding.Name} has a {_function.Binding.Trigger} trigger and expects an SQS event; the payload is not one: {ex.Message}", ex);
        }

        if (sqsEvent is null || sqsEvent.Records.Any(r => !string.Equals(r.EventSource, "aws:sqs", StringComparison.Ordinal)))
        {
            throw new InvalidOperationException(
                $"{_function.Binding.Name} has a {_function.Binding.Trigger} trigger and expects an SQS event (Records with eventSource 'aws:sqs'). "
                + "Wire the function to its queue with an SQS event source mapping (deploy/template.yaml does).");
        }

        return sqsEvent;
    }

    private ScheduledEvent ReadScheduledEvent(ReadOnlyMemory<byte> payload)
    {
        try
        {
            return JsonSerializer.Deserialize(payload.Span, LambdaEventsJsonContext.Default.ScheduledEvent) ?? new ScheduledEvent();
        }
        catch (JsonException ex)
        {
            throw new InvalidOperationException(
                $"{_function.Binding.Name} has a timer trigger and expects an EventBridge scheduled event (or '{{}}' for a manual run): {ex.Message}", ex);
        }
    }
}
