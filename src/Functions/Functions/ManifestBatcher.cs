using System.Text.Json;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// Writes the manifests of the enrichment invocations running at once as ONE batch manifest (one PUT for up to
/// <see cref="MaxObjects"/> objects instead of one each). An invocation adds its manifest only after its own effects
/// are durable and returns only once the batch holding it is written: an object is never claimed processed before
/// its messages and quarantine entries are, and never finished before it is claimed. A failed PUT fails every
/// invocation of that batch (their objects are retried; a rewrite of the same batch is the same object). A batch goes
/// out when it is full, when every running invocation is waiting for it (nobody else can add), or after
/// <see cref="Linger"/>.
/// </summary>
public sealed class ManifestBatcher(IObjectStore store, PipelineSettings settings)
{
    /// <summary>Most objects in one batch manifest (one invocation of a Lambda gets at most 10 events; the host, 16 at once).</summary>
    public const int MaxObjects = 100;

    /// <summary>Longest a manifest waits for company while other invocations are still running.</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromMilliseconds(20);

    /// <summary>Settable for tests.</summary>
    internal TimeSpan Linger { get; init; } = DefaultLinger;

    private readonly object gate = new();
    private readonly List<(Manifest Manifest, Scope Caller, TaskCompletionSource Done)> waiting = [];
    private int running;
    private bool flushing;
    private bool lingering;

    /// <summary>
    /// Marks an invocation that may add a manifest (<see cref="Scope.AddAsync"/>); dispose when it will not (finished,
    /// or writes a manifest of its own), so a batch does not wait for it.
    /// </summary>
    public Scope Enter()
    {
        lock (gate)
        {
            running++;
        }

        return new Scope(this);
    }

    private async Task AddAsync(Scope caller, Manifest manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (gate)
        {
            waiting.Add((manifest, caller, done));
        }

        Kick();
        await done.Task.WaitAsync(cancellationToken);
    }

    private void Leave()
    {
        lock (gate)
        {
            running--;
        }

        Kick();
    }

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

    /// <summary>Under the lock: a full batch waits, or every running invocation has added its manifest.</summary>
    private bool Due() => waiting.Count >= MaxObjects || waiting.Count >= running;

    private async Task FlushAsync()
    {
        while (true)
        {
            List<(Manifest Manifest, Scope Caller, TaskCompletionSource Done)> batch;
            lock (gate)
            {
                if (waiting.Count == 0)
                {
                    flushing = false;
                    return;
                }

                batch = waiting.Take(MaxObjects).ToList();
                waiting.RemoveRange(0, batch.Count);
            }

            try
            {
                var manifest = new BatchManifest { Objects = batch.Select(b => b.Manifest).ToList() };
                using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJsonContext.Default.BatchManifest), writable: false);
                await store.PutAsync(settings.PrepareZone, BatchManifest.KeyFor(manifest.Objects), body, new PutOptions { ContentType = "application/json" }, CancellationToken.None);
                foreach (var (_, caller, done) in batch)
                {
                    // Settled: it adds nothing more, so the next batch need not wait for it.
                    caller.Dispose();
                    done.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                foreach (var (_, caller, done) in batch)
                {
                    caller.Dispose();
                    done.TrySetException(new ObjectStoreException($"Writing the batch manifest of {batch.Count} object(s) to zone '{settings.PrepareZone}' failed: {ex.Message}; the objects will be retried.", ex));
                }
            }

            lock (gate)
            {
                if (waiting.Count == 0 || !Due())
                {
                    flushing = false;
                    break;
                }
            }
        }

        Kick();
    }

    /// <summary>One invocation's part in the batches.</summary>
    public sealed class Scope(ManifestBatcher owner) : IDisposable
    {
        private int disposed;

        /// <summary>Adds <paramref name="manifest"/> (with its versions) and returns once the batch holding it is written.</summary>
        /// <exception cref="ObjectStoreException">When that batch could not be written.</exception>
        public Task AddAsync(Manifest manifest, CancellationToken cancellationToken = default) => owner.AddAsync(this, manifest, cancellationToken);

        public void Dispose()
        {
            if (Interlocked.Exchange(ref disposed, 1) == 0)
            {
                owner.Leave();
            }
        }
    }
}
