using Microsoft.Extensions.Options;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>
/// Reference data is kept between invocations: one GET per document to load (the GET tells the ETag, no HEAD), no
/// request inside the refresh interval, one listing of the zone after it, a reload only when a document changed.
/// Counted on the real filesystem store (a read-with-info counts as the one GET it is on S3).
/// </summary>
public sealed class ReferenceDataCacheTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "pipeline-ref-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly FileSystemObjectStore inner;
    private readonly CountingStore store;
    private readonly ManualClock clock = new();
    private readonly PipelineSettings settings = new("raw", "quarantine", "reference", "prepare", "q.fifo");

    public ReferenceDataCacheTests()
    {
        inner = new FileSystemObjectStore(new EmbeddedOptions { DataRoot = root });
        store = new CountingStore(inner);
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetAsync_WithinInterval_NoRequestsAfterTheFirstLoad()
    {
        await UploadAsync();
        var cache = Cache(TimeSpan.FromMinutes(1));

        var first = await cache.GetAsync(Ct);
        Assert.Equal((0, 0, ReferenceData.Keys.Count), (store.Heads, store.Lists, store.Reads));

        clock.Advance(TimeSpan.FromSeconds(59));
        for (var i = 0; i < 100; i++)
        {
            Assert.Same(first, await cache.GetAsync(Ct));
        }

        Assert.Equal((0, 0, ReferenceData.Keys.Count), (store.Heads, store.Lists, store.Reads));
    }

    [Fact]
    public async Task GetAsync_AfterIntervalUnchanged_OneListingNoReload()
    {
        await UploadAsync();
        var cache = Cache(TimeSpan.FromMinutes(1));
        var first = await cache.GetAsync(Ct);

        clock.Advance(TimeSpan.FromMinutes(1));
        Assert.Same(first, await cache.GetAsync(Ct));
        Assert.Equal((0, 1, ReferenceData.Keys.Count), (store.Heads, store.Lists, store.Reads));
    }

    [Fact]
    public async Task GetAsync_DocumentChanged_ReloadedAfterTheIntervalNotBefore()
    {
        await UploadAsync();
        var cache = Cache(TimeSpan.FromMinutes(1));
        var first = await cache.GetAsync(Ct);
        await using (var changed = new MemoryStream("""{"calendar":"settlement","dates":["2026-12-25"]}"""u8.ToArray()))
        {
            await inner.PutAsync("reference", ReferenceData.HolidaysKey, changed, cancellationToken: Ct);
        }

        Assert.Same(first, await cache.GetAsync(Ct)); // inside the interval: not asked
        clock.Advance(TimeSpan.FromMinutes(2));
        var second = await cache.GetAsync(Ct);
        Assert.NotSame(first, second);
        Assert.Equal(2 * ReferenceData.Keys.Count, store.Reads);
    }

    [Fact]
    public async Task GetAsync_ZeroInterval_ChecksEveryCall()
    {
        await UploadAsync();
        var cache = Cache(TimeSpan.Zero);
        await cache.GetAsync(Ct);
        await cache.GetAsync(Ct);
        Assert.Equal((0, 1), (store.Heads, store.Lists));
    }

    public void Dispose()
    {
        inner.Dispose();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private ReferenceDataCache Cache(TimeSpan interval) =>
        new(store, settings, Options.Create(new EnrichmentOptions { ReferenceRefreshInterval = interval })) { Clock = clock };

    private async Task UploadAsync()
    {
        foreach (var key in ReferenceData.Keys)
        {
            await using var file = File.OpenRead(Path.Combine(RepoPaths.Reference, key));
            await inner.PutAsync("reference", key, file, cancellationToken: Ct);
        }
    }

    private sealed class ManualClock : TimeProvider
    {
        private long ticks = 1;

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => ticks;

        public void Advance(TimeSpan by) => ticks += by.Ticks;
    }

    /// <summary>Counts the requests a caller makes of the real store.</summary>
    private sealed class CountingStore(IObjectStore inner) : IObjectStore, IObjectReadWithInfo
    {
        public int Heads { get; private set; }

        public int Lists { get; private set; }

        public int Reads { get; private set; }

        public Task<ObjectInfo> PutAsync(string zone, string key, Stream content, PutOptions? options = null, CancellationToken cancellationToken = default) =>
            inner.PutAsync(zone, key, content, options, cancellationToken);

        public Task<Stream> OpenReadAsync(string zone, string key, CancellationToken cancellationToken = default)
        {
            Reads++;
            return inner.OpenReadAsync(zone, key, cancellationToken);
        }

        public Task<ObjectInfo?> HeadAsync(string zone, string key, CancellationToken cancellationToken = default)
        {
            Heads++;
            return inner.HeadAsync(zone, key, cancellationToken);
        }

        public Task<ObjectRead?> OpenReadWithInfoAsync(string zone, string key, CancellationToken cancellationToken = default)
        {
            Reads++;
            return inner.OpenReadWithInfoAsync(zone, key, cancellationToken);
        }

        public IAsyncEnumerable<ObjectInfo> ListAsync(string zone, string prefix = "", CancellationToken cancellationToken = default)
        {
            Lists++;
            return inner.ListAsync(zone, prefix, cancellationToken);
        }

        public Task<bool> DeleteAsync(string zone, string key, CancellationToken cancellationToken = default) =>
            inner.DeleteAsync(zone, key, cancellationToken);
    }
}
