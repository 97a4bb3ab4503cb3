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
public sealed class ManifestBatcher
{
    /// <summary>Most objects in one batch manifest (one invocation of a Lambda gets at most 10 events; the host, 16 at once).</summary>
    public const int MaxObjects = 100;

    /// <summary>Longest a manifest waits for company while other invocations are still running.</summary>
    public static readonly TimeSpan DefaultLinger = TimeSpan.FromMilliseconds(20);

    private readonly InvocationBatcher<Manifest, ObjectStoreException> batcher;

    public ManifestBatcher(IObjectStore store, PipelineSettings settings)
    {
        batcher = new(MaxObjects, DefaultLinger, (batch, cancellationToken) => PutBatchAsync(store, settings.PrepareZone, batch, cancellationToken));
    }

    /// <summary>Settable for tests.</summary>
    internal TimeSpan Linger { get => batcher.Linger; init => batcher.Linger = value; }

    /// <summary>
    /// Marks an invocation that may add a manifest (<see cref="Scope.AddAsync"/>); dispose when it will not (finished,
    /// or writes a manifest of its own), so a batch does not wait for it.
    /// </summary>
    public Scope Enter() => new(this);

    private async Task AddAsync(Scope caller, Manifest manifest, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(manifest);

        // Settled: it adds nothing more, so the next batch need not wait for it.
        var failures = await batcher.AddAsync([manifest], leaveWhenSettled: caller, cancellationToken);
        if (failures.Count > 0)
        {
            throw failures[0];
        }
    }

    /// <summary>One PUT of the batch manifest; a failed PUT fails every object of the batch.</summary>
    private static async Task<IReadOnlyList<(int Index, ObjectStoreException Failure)>> PutBatchAsync(IObjectStore store, string zone, IReadOnlyList<Manifest> batch, CancellationToken cancellationToken)
    {
        try
        {
            var manifest = new BatchManifest { Objects = batch.ToList() };
            using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJsonContext.Default.BatchManifest), writable: false);
            await store.PutAsync(zone, BatchManifest.KeyFor(manifest.Objects), body, new PutOptions { ContentType = "application/json" }, cancellationToken);
            return [];
        }
        catch (Exception ex)
        {
            return batch.Select((_, i) => (i, new ObjectStoreException($"Writing the batch manifest of {batch.Count} object(s) to zone '{zone}' failed: {ex.Message}; the objects will be retried.", ex))).ToList();
        }
    }

    /// <summary>One invocation's part in the batches.</summary>
    public sealed class Scope(ManifestBatcher owner) : IDisposable
    {
        private readonly IDisposable entered = owner.batcher.Enter();

        /// <summary>Adds <paramref name="manifest"/> (with its versions) and returns once the batch holding it is written.</summary>
        /// <exception cref="ObjectStoreException">When that batch could not be written.</exception>
        public Task AddAsync(Manifest manifest, CancellationToken cancellationToken = default) => owner.AddAsync(this, manifest, cancellationToken);

        public void Dispose() => entered.Dispose();
    }
}
