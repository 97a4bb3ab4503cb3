namespace Pipeline.Providers.Abstractions;

/// <summary>
/// Object-created notifications for one zone, delivered at least once and possibly out of order
/// (S3 notifications through a standard SQS queue on AWS; a durable table on disk when embedded).
/// A delivery not acknowledged before its visibility timeout is delivered again.
/// </summary>
public interface IObjectEventSource
{
    Task<IReadOnlyList<ObjectEventDelivery>> ReceiveAsync(
        string zone,
        int maxEvents,
        TimeSpan waitTime,
        TimeSpan visibilityTimeout,
        CancellationToken cancellationToken = default);

    /// <summary>Marks the deliveries as handled; they are not delivered again.</summary>
    Task AcknowledgeAsync(string zone, IReadOnlyList<ObjectEventDelivery> deliveries, CancellationToken cancellationToken = default);

    /// <summary>Extends (heartbeat) or shortens (release with a delay) the invisibility of a delivery.</summary>
    Task ChangeVisibilityAsync(string zone, ObjectEventDelivery delivery, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default);
}

/// <summary>One object-created event.</summary>
/// <param name="Zone">The zone (bucket) the object is in.</param>
/// <param name="ETag">The ETag (or version id when the store is versioned) the event is about.</param>
public sealed record ObjectCreatedEvent(
    string Zone,
    string Key,
    long Size,
    string ETag,
    string? VersionId,
    DateTimeOffset EventTime);

/// <summary>An event as delivered: the receipt that acknowledges it, and how often it was delivered.</summary>
public sealed record ObjectEventDelivery(ObjectCreatedEvent Event, string ReceiptHandle, int ReceiveCount);
