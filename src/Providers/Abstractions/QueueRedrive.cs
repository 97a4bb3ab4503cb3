namespace Pipeline.Providers.Abstractions;

/// <summary>
/// The one redrive loop: moves every message of a dead-letter queue back to its queue, a receive at a time (up to 10),
/// deleting from the dead letter only what the send accepted. Used for dead-lettered messages (<c>redrive</c>) and by
/// event sources whose object events travel on a queue (S3 notifications).
/// </summary>
public static class QueueRedrive
{
    /// <param name="resend">The message to send for a dead-lettered one (body, group, deduplication id, attributes).</param>
    /// <returns>How many messages moved; 0 when the dead-letter queue does not exist.</returns>
    /// <exception cref="QueueException">When a send is refused; what moved stays moved, the rest stays dead-lettered.</exception>
    public static async Task<int> MoveAllAsync(IMessageQueue queues, string deadLetterQueue, string queue, Func<ReceivedMessage, OutgoingMessage> resend, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(queues);
        ArgumentNullException.ThrowIfNull(resend);
        var moved = 0;
        try
        {
            while (await queues.ReceiveAsync(deadLetterQueue, new ReceiveOptions { VisibilityTimeout = TimeSpan.FromMinutes(2) }, cancellationToken).ConfigureAwait(false) is { Count: > 0 } batch)
            {
                var outgoing = batch.Select(m => resend(m) with { EntryId = m.MessageId }).ToList();
                var sent = await queues.SendBatchAsync(queue, outgoing, cancellationToken).ConfigureAwait(false);
                var failed = sent.Failed.Select(f => f.EntryId).ToHashSet(StringComparer.Ordinal);
                var done = batch.Where(m => !failed.Contains(m.MessageId)).Select(m => m.ReceiptHandle).ToList();
                if (done.Count > 0)
                {
                    await queues.DeleteBatchAsync(deadLetterQueue, done, cancellationToken).ConfigureAwait(false);
                }

                moved += done.Count;
                if (failed.Count > 0)
                {
                    throw new QueueException($"Redriving {failed.Count} message(s) from '{deadLetterQueue}' to '{queue}' failed ({sent.Failed[0].Code}: {sent.Failed[0].Message}); they stay in '{deadLetterQueue}'. Run redrive again.");
                }
            }
        }
        catch (QueueNotFoundException)
        {
            return moved;
        }

        return moved;
    }
}
