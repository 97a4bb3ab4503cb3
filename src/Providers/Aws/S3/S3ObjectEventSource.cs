using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Aws.S3;

/// <summary>
/// <see cref="IObjectEventSource"/> on S3 event notifications delivered to a STANDARD SQS queue per zone
/// (Aws:EventQueues). Test events and non-create events are acknowledged and skipped; a message that is not
/// an S3 notification is left alone so the queue's redrive policy dead-letters it. Duplicates and
/// out-of-order deliveries pass through: handlers are idempotent (deterministic keys, versioned merges).
/// S3 writes one record per message; when a message holds several, they share its receipt handle.
/// </summary>
internal sealed partial class S3ObjectEventSource : IObjectEventSource
{
    private readonly IMessageQueue _queue;
    private readonly AwsOptions _options;
    private readonly ILogger<S3ObjectEventSource> _logger;

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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Message {MessageId} on queue {Queue} is not an S3 event notification; left for the redrive policy (receive count {ReceiveCount})")]
    private static partial void LogUnrecognized(ILogger logger, string messageId, string queue, int receiveCount);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event for bucket {Bucket} arrived on queue {Queue}, which is configured for bucket {ExpectedBucket}")]
    private static partial void LogOtherBucket(ILogger logger, string bucket, string queue, string expectedBucket);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} event deliveries of zone {Zone} could not be acknowledged (receipt expired); they will be delivered again")]
    private static partial void LogAckFailed(ILogger logger, int count, string zone);
}
