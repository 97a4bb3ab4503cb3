using System.Globalization;
using System.Net;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Aws.S3;

/// <summary>
/// <see cref="IObjectEventSource"/> on S3 event notifications delivered to a STANDARD SQS queue per zone
/// (Aws:EventQueues). Test events and non-create events are acknowledged and skipped; a message that is not
/// an S3 notification is left alone so the queue's redrive policy dead-letters it. Duplicates and
/// out-of-order deliveries pass through: handlers are idempotent (deterministic keys, versioned merges).
/// S3 writes one record per message; when a message holds several, they share its receipt handle.
/// Dead letters go to the zone's event dead-letter queue (Aws:EventDeadLetterQueues, default "&lt;event queue&gt;-dlq")
/// as an S3 notification with the error in the "error" message attribute.
/// </summary>
internal sealed partial class S3ObjectEventSource : IObjectEventSource, IObjectEventDeadLetters
{
    private readonly IMessageQueue _queue;
    private readonly AwsOptions _options;
    private readonly ILogger<S3ObjectEventSource> _logger;

    private const string ErrorAttribute = "error";
    private const string ReceiveCountAttribute = "receive-count";
    private const int MaxErrorLength = 8192;

    public S3ObjectEventSource(IMessageQueue queue, AwsOptions options, ILogger<S3ObjectEventSource> logger)
    {
        _queue = queue;
        _options = options;
        _logger = logger;
    }

    public async Task<IReadOnlyList<ObjectEventDelivery>> ReceiveAsync(string zone, int maxEvents, TimeSpan waitTime, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        var queue = _options.EventQueueFor(zone);
        var bucket = _options.BucketFor(zone);
        var messages = await _queue.ReceiveAsync(queue, new ReceiveOptions { MaxMessages = Math.Clamp(maxEvents, 1, QueueLimits.MaxBatchSize), WaitTime = waitTime, VisibilityTimeout = visibilityTimeout }, cancellationToken).ConfigureAwait(false);
        var deliveries = new List<ObjectEventDelivery>();
        var skip = new List<string>();
        foreach (var message in messages)
        {
            var (kind, records) = S3EventParser.Parse(message.Body);
            switch (kind)
            {
                case S3MessageKind.Ignorable:
                    skip.Add(message.ReceiptHandle);
                    break;
                case S3MessageKind.Unrecognized:
                    LogUnrecognized(_logger, message.MessageId, queue, message.ReceiveCount);
                    break;
                default:
                    foreach (var r in records)
                    {
                        if (!string.Equals(r.Bucket, bucket, StringComparison.Ordinal))
                        {
                            LogOtherBucket(_logger, r.Bucket, queue, bucket);
                        }

                        deliveries.Add(new ObjectEventDelivery(new ObjectCreatedEvent(zone, r.Key, r.Size, r.ETag, r.VersionId, r.EventTime), message.ReceiptHandle, message.ReceiveCount));
                    }

                    break;
            }
        }

        if (skip.Count > 0)
        {
            await _queue.DeleteBatchAsync(queue, skip, cancellationToken).ConfigureAwait(false);
        }

        return deliveries;
    }

    public async Task AcknowledgeAsync(string zone, IReadOnlyList<ObjectEventDelivery> deliveries, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(deliveries);
        var handles = deliveries.Select(d => d.ReceiptHandle).Distinct(StringComparer.Ordinal).ToList();
        var failed = await _queue.DeleteBatchAsync(_options.EventQueueFor(zone), handles, cancellationToken).ConfigureAwait(false);
        if (failed.Count > 0)
        {
            // An expired receipt: the event comes again and the idempotent handler absorbs it.
            LogAckFailed(_logger, failed.Count, zone);
        }
    }

    public Task ChangeVisibilityAsync(string zone, ObjectEventDelivery delivery, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        return _queue.ChangeVisibilityBatchAsync(_options.EventQueueFor(zone), [new VisibilityChange(delivery.ReceiptHandle, visibilityTimeout)], cancellationToken);
    }

    public async Task DeadLetterAsync(string zone, ObjectEventDelivery delivery, string error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentException.ThrowIfNullOrEmpty(error);
        var attributes = new Dictionary<string, string>
        {
            [ErrorAttribute] = error.Length > MaxErrorLength ? error[..MaxErrorLength] : error,
            [ReceiveCountAttribute] = delivery.ReceiveCount.ToString(CultureInfo.InvariantCulture),
        };
        var sent = await _queue.SendBatchAsync(_options.EventDeadLetterQueueFor(zone), [new OutgoingMessage(NotificationBody(_options.BucketFor(zone), delivery.Event), Attributes: attributes)], cancellationToken).ConfigureAwait(false);
        if (!sent.AllSucceeded)
        {
            throw new ObjectStoreException($"Dead-lettering the event for '{delivery.Event.Key}' to queue '{_options.EventDeadLetterQueueFor(zone)}' failed: {sent.Failed[0].Code} {sent.Failed[0].Message}. The event stays on '{_options.EventQueueFor(zone)}' and is delivered again.");
        }

        await _queue.DeleteBatchAsync(_options.EventQueueFor(zone), [delivery.ReceiptHandle], cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DeadLetteredObjectEvent>> ListDeadLettersAsync(string zone, CancellationToken cancellationToken = default)
    {
        var dlq = _options.EventDeadLetterQueueFor(zone);
        var result = new List<DeadLetteredObjectEvent>();
        var handles = new List<VisibilityChange>();
        try
        {
            // Peek: hold each message while reading the whole queue, then make them all visible again.
            while (await _queue.ReceiveAsync(dlq, new ReceiveOptions { VisibilityTimeout = TimeSpan.FromMinutes(2) }, cancellationToken).ConfigureAwait(false) is { Count: > 0 } batch)
            {
                foreach (var message in batch)
                {
                    handles.Add(new VisibilityChange(message.ReceiptHandle, TimeSpan.Zero));
                    result.AddRange(ToDeadLetters(zone, message));
                }
            }
        }
        catch (QueueNotFoundException)
        {
            return result;
        }

        for (var i = 0; i < handles.Count; i += QueueLimits.MaxBatchSize)
        {
            await _queue.ChangeVisibilityBatchAsync(dlq, handles.Skip(i).Take(QueueLimits.MaxBatchSize).ToList(), cancellationToken).ConfigureAwait(false);
        }

        return result.OrderBy(d => d.DeadLetteredAt).ToList();
    }

    public Task<int> RedriveAsync(string zone, CancellationToken cancellationToken = default) =>
        QueueRedrive.MoveAllAsync(_queue, _options.EventDeadLetterQueueFor(zone), _options.EventQueueFor(zone), m => new OutgoingMessage(m.Body), cancellationToken);

    /// <summary>An S3 notification for one event, as S3 writes it (key form-URL-encoded).</summary>
    internal static string NotificationBody(string bucket, ObjectCreatedEvent e)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteStartArray("Records");
            w.WriteStartObject();
            w.WriteString("eventVersion", "2.1");
            w.WriteString("eventSource", "aws:s3");
            w.WriteString("eventTime", e.EventTime.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
            w.WriteString("eventName", "ObjectCreated:Put");
            w.WriteStartObject("s3");
            w.WriteStartObject("bucket");
            w.WriteString("name", bucket);
            w.WriteEndObject();
            w.WriteStartObject("object");
            w.WriteString("key", WebUtility.UrlEncode(e.Key));
            w.WriteNumber("size", e.Size);
            w.WriteString("eTag", e.ETag);
            if (e.VersionId is not null)
            {
                w.WriteString("versionId", e.VersionId);
            }

            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndObject();
            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static IEnumerable<DeadLetteredObjectEvent> ToDeadLetters(string zone, ReceivedMessage message)
    {
        var error = message.Attributes.GetValueOrDefault(ErrorAttribute) ?? "dead-lettered by the queue's redrive policy (no error recorded)";
        var count = int.TryParse(message.Attributes.GetValueOrDefault(ReceiveCountAttribute), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : message.ReceiveCount;
        var (kind, records) = S3EventParser.Parse(message.Body);
        if (kind != S3MessageKind.ObjectCreated)
        {
            yield return new DeadLetteredObjectEvent(new ObjectCreatedEvent(zone, $"(message {message.MessageId}: not an S3 notification)", 0, string.Empty, null, message.SentAt), count, error, message.SentAt);
            yield break;
        }

        foreach (var r in records)
        {
            yield return new DeadLetteredObjectEvent(new ObjectCreatedEvent(zone, r.Key, r.Size, r.ETag, r.VersionId, r.EventTime), count, error, message.SentAt);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} on queue {Queue} is not an S3 event notification; left for the redrive policy (receive count {ReceiveCount})")]
    private static partial void LogUnrecognized(ILogger logger, string messageId, string queue, int receiveCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event for bucket {Bucket} arrived on queue {Queue}, which is configured for bucket {ExpectedBucket}")]
    private static partial void LogOtherBucket(ILogger logger, string bucket, string queue, string expectedBucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} event deliveries of zone {Zone} could not be acknowledged (receipt expired); they will be delivered again")]
    private static partial void LogAckFailed(ILogger logger, int count, string zone);
}
