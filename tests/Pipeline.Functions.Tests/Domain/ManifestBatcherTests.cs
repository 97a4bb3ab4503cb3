using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>
/// Bookkeeping per batch: the manifests of enrichment invocations running at once go into one batch manifest (one PUT),
/// nobody returns before the batch holding its manifest is written, and an object whose effects were not written is
/// never in a batch manifest. On the real filesystem store and embedded queue.
/// </summary>
public sealed class ManifestBatcherTests : IDisposable
{
    private const string Queue = "enriched.fifo";
    private readonly string root = Path.Combine(Path.GetTempPath(), "pipeline-batcher-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly FileSystemObjectStore store;
    private readonly SqliteMessageQueue queue;
    private readonly PipelineSettings settings = new("raw", "quarantine", "reference", "prepare", Queue);

    public ManifestBatcherTests()
    {
        store = new FileSystemObjectStore(new EmbeddedOptions { DataRoot = root });
        queue = new SqliteMessageQueue(new EmbeddedOptions { DataRoot = root });
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AddAsync_TwentyInvocationsAtOnce_OneBatchManifestListsAll()
    {
        var batcher = new ManifestBatcher(store, settings);
        var scopes = Enumerable.Range(0, 20).Select(_ => batcher.Enter()).ToList();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var scope = scopes[i];
            await scope.AddAsync(Manifest($"transactions/t{i:D2}.json"), Ct);
        }));

        var batches = await BatchesAsync();
        var batch = Assert.Single(batches);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"transactions/t{i:D2}.json"), batch.Objects.Select(m => m.SourceKey).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task AddAsync_OneInvocationAlone_WritesAtOnce()
    {
        // With an hour's linger, a manifest that waited for company would not be written within the test's minute.
        var batcher = new ManifestBatcher(store, settings) { Linger = TimeSpan.FromHours(1) };
        using (var scope = batcher.Enter())
        {
            var add = scope.AddAsync(Manifest("transactions/alone.json"), Ct);
            Assert.True(await Task.WhenAny(add, Task.Delay(TimeSpan.FromMinutes(1), Ct)) == add, "a lone invocation must not wait for company");
            await add;
        }

        Assert.Equal(["transactions/alone.json"], (await BatchesAsync()).SelectMany(b => b.Objects).Select(m => m.SourceKey));
    }

    [Fact]
    public async Task AddAsync_SameBatchWrittenTwice_SameObject()
    {
        var batcher = new ManifestBatcher(store, settings);
        for (var round = 0; round < 2; round++)
        {
            var scopes = Enumerable.Range(0, 3).Select(_ => batcher.Enter()).ToList();
            await Task.WhenAll(Enumerable.Range(0, 3).Select(async i =>
            {
                using var scope = scopes[i];
                await scope.AddAsync(Manifest($"transactions/r{i}.json"), Ct);
            }));
        }

        // A redelivered batch rewrites its own key (deterministic from the object versions), not a second object.
        Assert.Single(await BatchesAsync());
    }

    [Fact]
    public async Task RunAsync_OneObjectsMessageRefused_BatchManifestListsOnlyTheObjectsWhoseMessagesAreOnTheQueue()
    {
        await queue.EnsureQueueAsync(new QueueDefinition(Queue), Ct);
        foreach (var key in ReferenceData.Keys)
        {
            await using var file = File.OpenRead(Path.Combine(RepoPaths.Reference, key));
            await store.PutAsync("reference", key, file, null, Ct);
        }

        var events = new List<ObjectCreatedEvent>();
        foreach (var id in new[] { "TX-2026-100001", "TX-2026-POISON", "TX-2026-100003" })
        {
            var record = TestData.Valid();
            record["transaction_id"] = id;
            using var body = new MemoryStream(Encoding.UTF8.GetBytes(record.ToJsonString()));
            var info = await store.PutAsync("raw", $"transactions/{id}.json", body, null, Ct);
            events.Add(new ObjectCreatedEvent("raw", info.Key, info.Size, info.ETag, null, DateTimeOffset.UtcNow));
        }

        var options = Options.Create(new EnrichmentOptions());
        var sender = new EnrichedQueueSender(new RefusingQueue(queue, "TX-2026-POISON"), settings);
        var enrich = new EnrichTransactions(
            store,
            sender,
            new ManifestBatcher(store, settings),
            new ReferenceDataCache(store, settings, options),
            settings,
            options,
            NullLogger<EnrichTransactions>.Instance);

        var runs = events.Select(e => enrich.RunAsync(e, Ct)).ToList();
        await runs[0];
        await Assert.ThrowsAsync<QueueException>(() => runs[1]);
        await runs[2];

        // The refused object's effects are not on the queue: no manifest may claim it (it stays pending, is retried).
        var claimed = (await BatchesAsync()).SelectMany(b => b.Objects).Select(m => m.SourceKey).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(["transactions/TX-2026-100001.json", "transactions/TX-2026-100003.json"], claimed);
        Assert.Equal(2, (await queue.GetDepthAsync(Queue, Ct)).Visible);
    }

    public void Dispose()
    {
        queue.Dispose();
        store.Dispose();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static Manifest Manifest(string key) => new()
    {
        SourceKey = key,
        SourceEtag = "etag-" + key,
        Records = 1,
        Valid = 1,
        Quarantined = 0,
        Messages = 1,
        Versions = [$"{key}\u001f1"],
    };

    private async Task<List<BatchManifest>> BatchesAsync()
    {
        var batches = new List<BatchManifest>();
        await foreach (var info in store.ListAsync("prepare", Pipeline.Functions.Functions.Manifest.BatchPrefix, Ct))
        {
            await using var stream = await store.OpenReadAsync("prepare", info.Key, Ct);
            batches.Add((await JsonSerializer.DeserializeAsync(stream, ManifestJsonContext.Default.BatchManifest, Ct))!);
        }

        return batches;
    }

    /// <summary>The real queue, refusing (as SQS refuses an entry) every message whose body contains <paramref name="marker"/>.</summary>
    private sealed class RefusingQueue(IMessageQueue inner, string marker) : IMessageQueue
    {
        public QueueCapabilities Capabilities => inner.Capabilities;

        public Task EnsureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default) => inner.EnsureQueueAsync(definition, cancellationToken);

        public async Task<SendBatchResult> SendBatchAsync(string queue, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
        {
            var refused = messages.Where(m => m.Body.Contains(marker, StringComparison.Ordinal)).ToList();
            var passed = messages.Except(refused).ToList();
            var sent = passed.Count > 0 ? await inner.SendBatchAsync(queue, passed, cancellationToken) : new SendBatchResult([], []);
            return new SendBatchResult(sent.Sent, [.. sent.Failed, .. refused.Select(m => new FailedEntry(m.EntryId!, "InternalError", "refused by the test", SenderFault: false))]);
        }

        public Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, ReceiveOptions options, CancellationToken cancellationToken = default) => inner.ReceiveAsync(queue, options, cancellationToken);

        public Task<IReadOnlyList<string>> DeleteBatchAsync(string queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken = default) => inner.DeleteBatchAsync(queue, receiptHandles, cancellationToken);

        public Task ChangeVisibilityBatchAsync(string queue, IReadOnlyList<VisibilityChange> changes, CancellationToken cancellationToken = default) => inner.ChangeVisibilityBatchAsync(queue, changes, cancellationToken);

        public Task<QueueDepth> GetDepthAsync(string queue, CancellationToken cancellationToken = default) => inner.GetDepthAsync(queue, cancellationToken);
    }
}
