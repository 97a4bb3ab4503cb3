using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Tests;

/// <summary>Embedded-only behaviour: restarts, files dropped by hand, on-disk layout, options.</summary>
public sealed class DurabilityTests : IDisposable
{
    private readonly TempDataRoot root = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => root.Dispose();

    [Fact]
    public async Task Events_ObjectsDroppedWhileStopped_AnnouncedOnceAfterRestart()
    {
        using (var store = new FileSystemObjectStore(root.Options()))
        {
            var events = new FileSystemObjectEventSource(store);
            await store.PutAsync("raw", "seen.json", Text("{}"), cancellationToken: Ct);
            var first = await events.ReceiveAsync("raw", 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), Ct);
            Assert.Equal("seen.json", Assert.Single(first).Event.Key);
            await events.AcknowledgeAsync("raw", first, Ct);
        }

        // While "stopped": a file copied in by hand, in a sub-folder.
        var dropped = Path.Combine(root.Path, "objects", "raw", "incoming", "dropped.csv");
        Directory.CreateDirectory(Path.GetDirectoryName(dropped)!);
        await File.WriteAllTextAsync(dropped, "id,amount\n1,2.5\n", Ct);

        using (var store = new FileSystemObjectStore(root.Options()))
        {
            var events = new FileSystemObjectEventSource(store);
            var got = await events.ReceiveAsync("raw", 10, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), Ct);
            var e = Assert.Single(got).Event;
            Assert.Equal("incoming/dropped.csv", e.Key);
            Assert.Equal(new FileInfo(dropped).Length, e.Size);
            Assert.Equal(Md5Hex(await File.ReadAllBytesAsync(dropped, Ct)), e.ETag);
            Assert.Equal(e.ETag, (await store.HeadAsync("raw", "incoming/dropped.csv", Ct))!.ETag);
            await events.AcknowledgeAsync("raw", got, Ct);
        }

        using (var store = new FileSystemObjectStore(root.Options()))
        {
            var events = new FileSystemObjectEventSource(store);
            Assert.Empty(await events.ReceiveAsync("raw", 10, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), Ct));
        }
    }

    [Fact]
    public async Task Events_UnacknowledgedBeforeRestart_DeliveredAgainAfterIt()
    {
        using (var store = new FileSystemObjectStore(root.Options()))
        {
            await store.PutAsync("raw", "a.json", Text("{}"), cancellationToken: Ct);
            Assert.Single(await new FileSystemObjectEventSource(store).ReceiveAsync("raw", 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), Ct));
        }

        await Task.Delay(TimeSpan.FromSeconds(1.2), Ct);
        using (var store = new FileSystemObjectStore(root.Options()))
        {
            var again = Assert.Single(await new FileSystemObjectEventSource(store).ReceiveAsync("raw", 10, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30), Ct));
            Assert.Equal("a.json", again.Event.Key);
            Assert.Equal(2, again.ReceiveCount);
        }
    }

    [Fact]
    public async Task Events_FileCopiedInOrChangedWhileRunning_AnnouncedByRescan()
    {
        using var store = new FileSystemObjectStore(root.Options(o => o.EventRescanInterval = TimeSpan.FromMilliseconds(200)));
        var events = new FileSystemObjectEventSource(store);
        Assert.Empty(await events.ReceiveAsync("raw", 10, TimeSpan.Zero, TimeSpan.FromSeconds(30), Ct));

        var path = Path.Combine(root.Path, "objects", "raw", "hand.txt");
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.WriteAllTextAsync(path, "one", Ct);
        var got = Assert.Single(await events.ReceiveAsync("raw", 10, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30), Ct));
        await events.AcknowledgeAsync("raw", [got], Ct);

        await File.WriteAllTextAsync(path, "changed by hand", Ct);
        var changed = Assert.Single(await events.ReceiveAsync("raw", 10, TimeSpan.FromSeconds(3), TimeSpan.FromSeconds(30), Ct));
        Assert.Equal("hand.txt", changed.Event.Key);
        Assert.Equal(15, changed.Event.Size);
        Assert.NotEqual(got.Event.ETag, changed.Event.ETag);
    }

    [Fact]
    public async Task Put_Object_UsesTempOutsideZonesAndLeavesNothingBehind()
    {
        using var store = new FileSystemObjectStore(root.Options());
        await store.PutAsync("raw", "x/y.bin", Text("content"), cancellationToken: Ct);
        Assert.True(File.Exists(Path.Combine(root.Path, "objects", "raw", "x", "y.bin")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root.Path, "tmp")));

        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.PutAsync("raw", "x/cancelled.bin", Text("never"), cancellationToken: cts.Token));
        Assert.Null(await store.HeadAsync("raw", "x/cancelled.bin", Ct));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(root.Path, "tmp")));
    }

    [Theory]
    [InlineData("..")]
    [InlineData("../raw")]
    [InlineData("a/b")]
    [InlineData("")]
    [InlineData(".hidden")]
    public async Task Put_InvalidZone_Rejected(string zone)
    {
        using var store = new FileSystemObjectStore(root.Options());
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.PutAsync(zone, "k", Text("x"), cancellationToken: Ct));
    }

    [Fact]
    public async Task OpenRead_KeyThroughSymlinkLeavingTheZone_Rejected()
    {
        using var store = new FileSystemObjectStore(root.Options());
        await store.PutAsync("raw", "inside.txt", Text("x"), cancellationToken: Ct);
        var outside = Path.Combine(root.Path, "outside");
        Directory.CreateDirectory(outside);
        await File.WriteAllTextAsync(Path.Combine(outside, "secret.txt"), "secret", Ct);
        Directory.CreateSymbolicLink(Path.Combine(root.Path, "objects", "raw", "link"), outside);

        await Assert.ThrowsAsync<InvalidObjectKeyException>(() => store.OpenReadAsync("raw", "link/secret.txt", Ct));
        await Assert.ThrowsAsync<InvalidObjectKeyException>(() => store.PutAsync("raw", "link/new.txt", Text("x"), cancellationToken: Ct));
    }

    [Fact]
    public async Task Queue_MessagesAndInFlightState_SurviveRestart()
    {
        string id;
        using (var queue = new SqliteMessageQueue(root.Options()))
        {
            await queue.EnsureQueueAsync(new QueueDefinition("q"), Ct);
            id = (await queue.SendBatchAsync("q", [new OutgoingMessage("persisted")], Ct)).Sent[0].MessageId;
            Assert.Single(await queue.ReceiveAsync("q", new ReceiveOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) }, Ct));
        }

        using (var queue = new SqliteMessageQueue(root.Options()))
        {
            var m = Assert.Single(await queue.ReceiveAsync("q", new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(3) }, Ct));
            Assert.Equal(id, m.MessageId);
            Assert.Equal(2, m.ReceiveCount);
        }
    }

    [Fact]
    public async Task Queue_ShortDeduplicationWindow_AcceptsSameIdAfterItEnds()
    {
        using var queue = new SqliteMessageQueue(root.Options());
        await queue.EnsureQueueAsync(new QueueDefinition("d.fifo", DeduplicationWindow: TimeSpan.FromSeconds(1)), Ct);
        var first = await queue.SendBatchAsync("d.fifo", [new OutgoingMessage("a", "g", "same")], Ct);
        var duplicate = await queue.SendBatchAsync("d.fifo", [new OutgoingMessage("b", "g", "same")], Ct);
        Assert.Equal(first.Sent[0].MessageId, duplicate.Sent[0].MessageId);

        await Task.Delay(TimeSpan.FromSeconds(1.2), Ct);
        var later = await queue.SendBatchAsync("d.fifo", [new OutgoingMessage("c", "g", "same")], Ct);
        Assert.NotEqual(first.Sent[0].MessageId, later.Sent[0].MessageId);
        Assert.Equal(2, (await queue.GetDepthAsync("d.fifo", Ct)).Visible);
    }

    [Fact]
    public async Task Queue_TwoInstancesOnOneDatabase_ShareMessagesSafely()
    {
        using var a = new SqliteMessageQueue(root.Options());
        using var b = new SqliteMessageQueue(root.Options());
        await a.EnsureQueueAsync(new QueueDefinition("shared"), Ct);
        for (var i = 0; i < 10; i++)
        {
            await a.SendBatchAsync("shared", Enumerable.Range(0, 10).Select(k => new OutgoingMessage($"m{i}-{k}")).ToList(), Ct);
        }

        async Task<List<string>> DrainAsync(SqliteMessageQueue q)
        {
            var ids = new List<string>();
            while (true)
            {
                var got = await q.ReceiveAsync("shared", new ReceiveOptions { WaitTime = TimeSpan.FromMilliseconds(300), VisibilityTimeout = TimeSpan.FromSeconds(60) }, Ct);
                if (got.Count == 0)
                {
                    return ids;
                }

                ids.AddRange(got.Select(m => m.MessageId));
                Assert.Empty(await q.DeleteBatchAsync("shared", got.Select(m => m.ReceiptHandle).ToList(), Ct));
            }
        }

        var results = await Task.WhenAll(DrainAsync(a), DrainAsync(b));
        var all = results.SelectMany(r => r).ToList();
        Assert.Equal(100, all.Count);
        Assert.Equal(100, all.Distinct().Count());
    }

    [Fact]
    public async Task Warehouse_Decimals_StoredAsCanonicalTextNeverReal()
    {
        using var warehouse = new SqliteWarehouse(root.Options());
        var t = new TableDefinition("amounts", [new ColumnDefinition("id", ColumnType.Integer), new ColumnDefinition("amount", ColumnType.Decimal)], ["id"]);
        await warehouse.EnsureTableAsync(t, Ct);
        // The widest values of the domain (numeric(38,10)): 28 integer digits; the largest mantissa at scale 10.
        await warehouse.MergeAsync([new MergeBatch(t, [[1L, 1.50m], [2L, 0.1m], [3L, 9999999999999999999999999999m], [4L, 7922816251426433759.3543950335m]])], Ct);
        var result = await warehouse.QueryAsync("SELECT typeof(amount), CAST(amount AS TEXT) AS raw FROM amounts ORDER BY id", null, Ct);
        Assert.All(result.Rows, r => Assert.Equal("text", r[0]));
        Assert.Equal(["1.5", "0.1", "9999999999999999999999999999", "7922816251426433759.3543950335"], result.Rows.Select(r => (string)r[1]!));
    }

    [Fact]
    public async Task Warehouse_EnsureTableWithChangedDefinition_ThrowsNamingTheColumn()
    {
        using var warehouse = new SqliteWarehouse(root.Options());
        await warehouse.EnsureTableAsync(new TableDefinition("t", [new ColumnDefinition("id", ColumnType.Integer)], ["id"]), Ct);
        var ex = await Assert.ThrowsAsync<WarehouseException>(() => warehouse.EnsureTableAsync(new TableDefinition("t", [new ColumnDefinition("id", ColumnType.Integer), new ColumnDefinition("extra", ColumnType.Text)], ["id"]), Ct));
        Assert.Contains("extra", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("t; DROP TABLE x")]
    [InlineData("t\"")]
    [InlineData("1t")]
    public async Task Warehouse_HostileIdentifier_Rejected(string name)
    {
        using var warehouse = new SqliteWarehouse(root.Options());
        await Assert.ThrowsAsync<WarehouseException>(() => warehouse.EnsureTableAsync(new TableDefinition(name, [new ColumnDefinition("id", ColumnType.Integer)], ["id"]), Ct));
    }

    [Theory]
    [InlineData("Embedded:DataRoot", "", "Embedded:DataRoot")]
    [InlineData("Embedded:DeduplicationWindow", "-00:00:01", "Embedded:DeduplicationWindow")]
    [InlineData("Embedded:EventRescanInterval", "00:00:00", "Embedded:EventRescanInterval")]
    public void AddEmbeddedProviders_InvalidSetting_FailsNamingIt(string setting, string value, string named)
    {
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [setting] = value }).Build();
        using var sp = new ServiceCollection().AddEmbeddedProviders(config).BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => sp.GetRequiredService<IMessageQueue>());
        Assert.Contains(named, ex.Message, StringComparison.Ordinal);
    }

    private static MemoryStream Text(string text) => new(Encoding.UTF8.GetBytes(text));

#pragma warning disable CA5351 // MD5 only mirrors the store's ETag definition
    private static string Md5Hex(byte[] content) => Convert.ToHexStringLower(MD5.HashData(content));
#pragma warning restore CA5351
}
