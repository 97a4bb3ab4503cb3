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
public sealed class EnrichedQueueSender(IMessageQueue queue, PipelineSettings settings)
{
    /// <summary>Longest a message waits for company while other invocations are still running.</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromMilliseconds(20);

    /// <summary>Settable for tests, which tell "sent at once" from "sent after the linger" without timing.</summary>
    internal TimeSpan Linger { get; init; } = DefaultLinger;

    private readonly object gate = new();
    private readonly List<Entry> waiting = [];
    private int running;
    private int waitingCallers;
    private bool flushing;
    private bool lingering;

    /// <summary>Marks an invocation that may send; dispose when it has finished sending.</summary>
    public IDisposable Enter()
    {
        lock (gate)
        {
            running++;
        }

        return new Scope(this);
    }

    /// <summary>Sends <paramref name="messages"/> (with other invocations' messages) and returns once all are accepted.</summary>
    /// <exception cref="QueueException">When any of them was not accepted.</exception>
    public async Task SendAsync(IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count == 0)
        {
            return;
        }

        var call = new Call(messages.Count);
        lock (gate)
        {
            foreach (var message in messages)
            {
                waiting.Add(new Entry(message, call));
            }

            waitingCallers++;
        }

        Kick();
        var failures = await call.Done.Task.WaitAsync(cancellationToken);
        if (failures.Count > 0)
        {
            var first = failures[0];
            throw new QueueException($"Sending to '{settings.EnrichedQueue}' failed for {failures.Count} of {messages.Count} messages (first: {first.Code}: {first.Message}); the object will be retried.");
        }
    }

    private void Leave()
    {
        lock (gate)
        {
            running--;
        }

        Kick();
    }

    /// <summary>Starts a flush when one is due, else arms the linger timer (once: a trickle cannot postpone it).</summary>
    private void Kick()
    {
        lock (gate)
        {
            if (flushing || waiting.Count == 0)
            {
                return;
            }

            if (!Due())
            {
                if (!lingering)
                {
                    lingering = true;
                    _ = Task.Delay(Linger).ContinueWith(_ => LingerElapsed(), TaskScheduler.Default);
                }

                return;
            }

            flushing = true;
        }

        _ = Task.Run(FlushAsync);
    }

    private void LingerElapsed()
    {
        lock (gate)
        {
            lingering = false;
            if (flushing || waiting.Count == 0)
            {
                return;
            }

            flushing = true;
        }

        _ = Task.Run(FlushAsync);
    }

    /// <summary>Under the lock: a full batch waits, or nobody who is running can add more.</summary>
    private bool Due() => waiting.Count >= QueueLimits.MaxBatchSize || waitingCallers >= running;

    private async Task FlushAsync()
    {
        while (true)
        {
            List<Entry> batch;
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    flushing = false;
                    return;
                }

                batch = waiting.Take(QueueLimits.MaxBatchSize).ToList();
                waiting.RemoveRange(0, batch.Count);
            }

            var messages = batch.Select((e, i) => e.Message with { EntryId = i.ToString(System.Globalization.CultureInfo.InvariantCulture) }).ToList();
            IReadOnlyList<FailedEntry> failed;
            try
            {
                failed = (await queue.SendBatchAsync(settings.EnrichedQueue, messages, CancellationToken.None)).Failed;
            }
            catch (Exception ex)
            {
                failed = messages.Select(m => new FailedEntry(m.EntryId!, ex.GetType().Name, ex.Message, SenderFault: false)).ToList();
            }

            var failedAt = failed.ToDictionary(f => int.Parse(f.EntryId, System.Globalization.CultureInfo.InvariantCulture));
            for (var i = 0; i < batch.Count; i++)
            {
                batch[i].Call.Settle(failedAt.GetValueOrDefault(i), () =>
                {
                    lock (gate)
                    {
                        waitingCallers--;
                    }
                });
            }

            lock (gate)
            {
                // Keep going while a batch is due; otherwise the rest waits for company (or the linger timer).
                if (waiting.Count == 0 || !Due())
                {
                    flushing = false;
                    break;
                }
            }
        }

        Kick();
    }

    private sealed record Entry(OutgoingMessage Message, Call Call);

    private sealed class Call(int count)
    {
        private readonly List<FailedEntry> failures = [];
        private int left = count;

        public TaskCompletionSource<IReadOnlyList<FailedEntry>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Settle(FailedEntry? failure, Action whenAllSettled)
        {
            lock (failures)
            {
                if (failure is not null)
                {
                    failures.Add(failure);
                }

                if (--left > 0)
                {
                    return;
                }
            }

            whenAllSettled();
            Done.TrySetResult(failures);
        }
    }

    private sealed class Scope(EnrichedQueueSender owner) : IDisposable
    {
        private int disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Leave();
            }
        }
    }
}
