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

/// <summary>
/// Optional capability of an event source: a dead letter for object events, like a queue's DLQ. The host moves an
/// event here (with the error of its last attempt) after its maximum delivery count; <c>redrive</c> sends it back.
/// </summary>
public interface IObjectEventDeadLetters
{
    /// <summary>Moves the delivery to the dead letter with <paramref name="error"/>; it is not delivered again.</summary>
    Task DeadLetterAsync(string zone, ObjectEventDelivery delivery, string error, CancellationToken cancellationToken = default);

    /// <summary>The zone's dead-lettered events, oldest first; reading changes nothing.</summary>
    Task<IReadOnlyList<DeadLetteredObjectEvent>> ListDeadLettersAsync(string zone, CancellationToken cancellationToken = default);

    /// <summary>Sends every dead-lettered event of the zone back for delivery (receive count reset); returns how many.</summary>
    Task<int> RedriveAsync(string zone, CancellationToken cancellationToken = default);
}

/// <summary>An object event that exhausted its deliveries: the event, how often it was delivered, and the last error.</summary>
public sealed record DeadLetteredObjectEvent(ObjectCreatedEvent Event, int ReceiveCount, string Error, DateTimeOffset DeadLetteredAt);
