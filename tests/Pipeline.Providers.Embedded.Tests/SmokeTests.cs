using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Tests;

public sealed class SmokeTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "pipeline-smoke-" + Guid.NewGuid().ToString("N"));

    public void Dispose() => Directory.Delete(root, recursive: true);

    [Fact]
    public async Task AddEmbeddedProviders_AllContracts_WorkEndToEnd()
    {
        var ct = TestContext.Current.CancellationToken;
        var config = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["Embedded:DataRoot"] = root }).Build();
        using var sp = new ServiceCollection().AddEmbeddedProviders(config).BuildServiceProvider();
        var store = sp.GetRequiredService<IObjectStore>();
        var events = sp.GetRequiredService<IObjectEventSource>();
        var queue = sp.GetRequiredService<IMessageQueue>();
        var warehouse = sp.GetRequiredService<IWarehouse>();

        await store.PutAsync("raw", "a/b.json", new MemoryStream(Encoding.UTF8.GetBytes("{}")), cancellationToken: ct);
        var got = await events.ReceiveAsync("raw", 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5), ct);
        Assert.Equal("a/b.json", Assert.Single(got).Event.Key);

        await queue.EnsureQueueAsync(new QueueDefinition("q.fifo", "q-dlq.fifo"), ct);
        var sent = await queue.SendBatchAsync("q.fifo", [new OutgoingMessage("hello", "g", "d1")], ct);
        Assert.True(sent.AllSucceeded);
        var received = await queue.ReceiveAsync("q.fifo", new ReceiveOptions(), ct);
        Assert.Equal("hello", Assert.Single(received).Body);
        Assert.Empty(await queue.DeleteBatchAsync("q.fifo", [received[0].ReceiptHandle], ct));

        var table = new TableDefinition("t", [new ColumnDefinition("id", ColumnType.Text), new ColumnDefinition("v", ColumnType.Integer), new ColumnDefinition("amount", ColumnType.Decimal)], ["id"], "v");
        await warehouse.EnsureTableAsync(table, ct);
        await warehouse.MergeAsync([new MergeBatch(table, [["x", 2L, 1.50m], ["x", 1L, 9m]])], ct);
        var rows = await warehouse.QueryAsync("SELECT id, v, amount FROM t WHERE id = @id", new Dictionary<string, object?> { ["id"] = "x" }, ct);
        Assert.Equal(1.5m, Assert.Single(rows.Rows)[2]);
    }
}
