using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// Sends to the enriched queue in batches that span the invocations running at once: a single-trade object has one
/// message, and ten of them in flight share one SendMessageBatch instead of ten. A batch goes out when it is full,
/// when every running invocation is waiting for its send (nobody else can add), or after <see cref="Linger"/>.
/// A caller returns only once all its messages are accepted, so an object is never finished before its messages are
/// on the queue; a failed entry fails only the invocation that added it (that object is retried, dedup ids make the
/// resend harmless). One batch at a time, in arrival order: a FIFO group's messages keep their order.
/// </summary>
public sealed class EnrichedQueueSender
{
    /// <summary>Longest a message waits for company while other invocations are still running.</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromMilliseconds(20);

    private readonly PipelineSettings settings;
    private readonly InvocationBatcher<OutgoingMessage, FailedEntry> batcher;

    public EnrichedQueueSender(IMessageQueue queue, PipelineSettings settings)
    {
        this.settings = settings;
        batcher = new(QueueLimits.MaxBatchSize, DefaultLinger, (batch, cancellationToken) => SendBatchAsync(queue, settings.EnrichedQueue, batch, cancellationToken));
    }

    /// <summary>Settable for tests, which tell "sent at once" from "sent after the linger" without timing.</summary>
    internal TimeSpan Linger { get => batcher.Linger; init => batcher.Linger = value; }

    /// <summary>Marks an invocation that may send; dispose when it has finished sending.</summary>
    public IDisposable Enter() => batcher.Enter();

    /// <summary>Sends <paramref name="messages"/> (with other invocations' messages) and returns once all are accepted.</summary>
    /// <exception cref="QueueException">When any of them was not accepted.</exception>
    public async Task SendAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            return;
        }

        var failures = await batcher.AddAsync(messages, cancellationToken: cancellationToken);
        if (failures.Count > 0)
        {
            var first = failures[0];
            throw new QueueException($"Sending to '{settings.EnrichedQueue}' failed for {failures.Count} of {messages.Count} messages (first: {first.Code}: {first.Message}); the object will be retried.");
        }
    }

    /// <summary>One SendMessageBatch; entry ids are the index within the batch, a failed request fails every entry.</summary>
    private static async Task<IReadOnlyList<(int Index, FailedEntry Failure)>> SendBatchAsync(IMessageQueue queue, string queueName, IReadOnlyList<OutgoingMessage> batch, CancellationToken cancellationToken)
    {
        var messages = batch.Select((m, i) => m with { EntryId = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToList();
        IReadOnlyList<FailedEntry> failed;
        try
        {
            failed = (await queue.SendBatchAsync(queueName, messages, cancellationToken)).Failed;
        }
        catch (Exception ex)
        {
            failed = messages.Select(m => new FailedEntry(m.EntryId!, ex.GetType().Name, ex.Message, SenderFault: false)).ToList();
        }

        return failed.Select(f => (int.Parse(f.EntryId, System.Globalization.CultureInfo.InvariantCulture), f)).ToList();
    }
}
