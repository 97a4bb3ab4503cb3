namespace Pipeline.Providers.Abstractions;

/// <summary>
/// Standard and FIFO queues with SQS semantics: at-least-once delivery, visibility timeouts,
/// receive counts, dead-lettering after a maximum receive count, FIFO order per message group
/// and deduplication by id inside a window.
/// </summary>
public interface IMessageQueue
{
    /// <summary>Creates the queue (and its dead-letter queue) when missing; idempotent for the same definition.</summary>
    Task EnsureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default);

    /// <summary>Sends up to <see cref="QueueLimits.MaxBatchSize"/> messages; per-entry failures are reported, not thrown.</summary>
    Task<SendBatchResult> SendBatchAsync(string queue, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default);

    /// <summary>Receives up to <see cref="ReceiveOptions.MaxMessages"/> messages, waiting up to <see cref="ReceiveOptions.WaitTime"/> for the first.</summary>
    Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, ReceiveOptions options, CancellationToken cancellationToken = default);

    /// <summary>Acknowledges messages; returns the receipt handles that could not be deleted (e.g. expired).</summary>
    Task<IReadOnlyList<string>> DeleteBatchAsync(string queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken = default);

    /// <summary>Heartbeat (extend) or release (shorten, zero = now) the visibility of received messages.</summary>
    Task ChangeVisibilityBatchAsync(string queue, IReadOnlyList<VisibilityChange> changes, CancellationToken cancellationToken = default);

    Task<QueueDepth> GetDepthAsync(string queue, CancellationToken cancellationToken = default);

    /// <summary>What this provider does and does not guarantee; conformance cases skip by name what is absent.</summary>
    QueueCapabilities Capabilities { get; }
}

public static class QueueLimits
{
    public const int MaxBatchSize = 10;
    public const int MaxMessageBytes = 262_144;
    public const int MaxBatchBytes = 1_048_576;
}

/// <param name="Name">Queue name; FIFO queue names end in ".fifo" (as on SQS).</param>
/// <param name="DeadLetterQueue">Name of the dead-letter queue, or null for none.</param>
/// <param name="MaxReceiveCount">Receives after which the message moves to the dead-letter queue.</param>
public sealed record QueueDefinition(
    string Name,
    string? DeadLetterQueue = null,
    int MaxReceiveCount = 5,
    TimeSpan? DefaultVisibilityTimeout = null,
    TimeSpan? DeduplicationWindow = null)
{
    public bool IsFifo => Name.EndsWith(".fifo", StringComparison.Ordinal);
}

/// <param name="GroupId">FIFO message group (order is kept within a group); required on FIFO queues.</param>
/// <param name="DeduplicationId">FIFO deduplication id; required on FIFO queues (no content-based dedup).</param>
public sealed record OutgoingMessage(
    string Body,
    string? GroupId = null,
    string? DeduplicationId = null,
    IReadOnlyDictionary<string, string>? Attributes = null)
{
    /// <summary>Caller's id for the entry, echoed in <see cref="SendBatchResult"/>; defaults to the index.</summary>
    public string? EntryId { get; init; }
}

public sealed record SendBatchResult(IReadOnlyList<SentMessage> Sent, IReadOnlyList<FailedEntry> Failed)
{
    public bool AllSucceeded => Failed.Count == 0;
}

public sealed record SentMessage(string EntryId, string MessageId);

/// <param name="SenderFault">True when resending the same entry cannot succeed.</param>
public sealed record FailedEntry(string EntryId, string Code, string Message, bool SenderFault);

public sealed record ReceiveOptions
{
    public int MaxMessages { get; init; } = QueueLimits.MaxBatchSize;

    public TimeSpan WaitTime { get; init; } = TimeSpan.Zero;

    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(30);
}

public sealed record ReceivedMessage(
    string MessageId,
    string ReceiptHandle,
    string Body,
    int ReceiveCount,
    string? GroupId,
    string? DeduplicationId,
    IReadOnlyDictionary<string, string> Attributes,
    DateTimeOffset SentAt);

public sealed record VisibilityChange(string ReceiptHandle, TimeSpan VisibilityTimeout);

/// <param name="Visible">Messages available to receive now.</param>
/// <param name="InFlight">Received and not yet deleted or expired.</param>
/// <param name="Delayed">Sent or released with a delay not yet elapsed.</param>
public sealed record QueueDepth(long Visible, long InFlight, long Delayed)
{
    public long Total => Visible + InFlight + Delayed;
}

public sealed record QueueCapabilities
{
    /// <summary>Dedup ids are remembered for the whole window even after the message is deleted (SQS does; moto does not).</summary>
    public bool DeduplicationAfterDelete { get; init; } = true;

    /// <summary>Provider moves messages to the dead-letter queue itself after the maximum receive count.</summary>
    public bool DeadLetterAfterMaxReceives { get; init; } = true;
}
