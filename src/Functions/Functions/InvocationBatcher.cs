namespace Pipeline.Functions.Functions;

/// <summary>
/// Coalesces the items of the invocations running at once into batches of at most <c>maxBatchSize</c>, written by
/// <c>flush</c> one batch at a time in arrival order. A batch goes out when it is full, when every running invocation
/// (<see cref="Enter"/>) is waiting for its items (nobody else can add), or after <see cref="Linger"/>.
/// </summary>
/// <remarks>
/// <c>flush</c> gets a batch and returns the failures in it as (index within the batch, failure); it should report
/// failures rather than throw (a throw fails every caller of that batch with the exception).
/// </remarks>
internal sealed class InvocationBatcher<TItem, TFailure>(
    int maxBatchSize,
    TimeSpan linger,
    Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<(int Index, TFailure Failure)>>> flush)
    where TFailure : class
{
    private readonly object gate = new();
    private readonly List<(TItem Item, Call Call)> waiting = [];
    private int running;
    private int waitingCallers;
    private bool flushing;
    private bool lingering;

    /// <summary>Longest an item waits for company while other invocations are still running.</summary>
    public TimeSpan Linger { get; set; } = linger;

    /// <summary>Marks an invocation that may add; dispose when it will not, so a batch does not wait for it.</summary>
    public IDisposable Enter()
    {
        lock (gate)
        {
            running++;
        }

        return new Scope(this);
    }

    /// <summary>
    /// Adds <paramref name="items"/> and returns the failures among them once all are settled (written or failed).
    /// <paramref name="leaveWhenSettled"/> is disposed when they are, before the flush decides on the next batch, so a
    /// settled caller does not hold it back.
    /// </summary>
    public async Task<IReadOnlyList<TFailure>> AddAsync(IReadOnlyList<TItem> items, IDisposable? leaveWhenSettled = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        if (items.Count == 0)
        {
            return [];
        }

        var call = new Call(items.Count, leaveWhenSettled);
        lock (gate)
        {
            foreach (var item in items)
            {
                waiting.Add((item, call));
            }

            waitingCallers++;
        }

        Kick();
        return await call.Done.Task.WaitAsync(cancellationToken);
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
    private bool Due() => waiting.Count >= maxBatchSize || waitingCallers >= running;

    private async Task FlushAsync()
    {
        while (true)
        {
            List<(TItem Item, Call Call)> batch;
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    flushing = false;
                    return;
                }

                batch = waiting.Take(maxBatchSize).ToList();
                waiting.RemoveRange(0, batch.Count);
            }

            try
            {
                var failures = await flush(batch.Select(b => b.Item).ToList(), CancellationToken.None);
                var failedAt = failures.ToDictionary(f => f.Index, f => f.Failure);
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Call.Settle(failedAt.GetValueOrDefault(i), AllSettled);
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, call) in batch)
                {
                    call.Fail(ex, AllSettled);
                }
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

    private void AllSettled()
    {
        lock (gate)
        {
            waitingCallers--;
        }
    }

    private sealed class Call(int count, IDisposable? leaveWhenSettled)
    {
        private readonly List<TFailure> failures = [];
        private int left = count;

        public TaskCompletionSource<IReadOnlyList<TFailure>> Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public void Settle(TFailure? failure, Action whenAllSettled)
        {
            lock (failures)
            {
                if (left <= 0)
                {
                    return;
                }

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
            leaveWhenSettled?.Dispose();
            Done.TrySetResult(failures);
        }

        public void Fail(Exception exception, Action whenAllSettled)
        {
            lock (failures)
            {
                if (left <= 0)
                {
                    return;
                }

                left = 0;
            }

            whenAllSettled();
            leaveWhenSettled?.Dispose();
            Done.TrySetException(exception);
        }
    }

    private sealed class Scope(InvocationBatcher<TItem, TFailure> owner) : IDisposable
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
