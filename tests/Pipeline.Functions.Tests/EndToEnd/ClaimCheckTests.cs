using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>Large files travel as claim checks: chunk objects in the prepare zone + one small message per chunk.</summary>
public sealed class ClaimCheckTests
{
    private const int Records = 450;
    private const int ChunkRecords = 200;
    private const string Queue = "transactions-enriched.fifo";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly IReadOnlyDictionary<string, string?> Overrides = new Dictionary<string, string?>
    {
        ["Enrichment:ClaimCheckMinRecords"] = "100",
        ["Enrichment:ChunkRecords"] = ChunkRecords.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    private static byte[] LargeFile()
    {
        var path = Path.GetTempFileName();
        try
        {
            BenchCommand.Generate(path, 0, Records, TestData.Reference.Leis.Keys.Order(StringComparer.Ordinal).ToArray(), TestData.Reference.UsdPerUnit.Keys.Order().ToArray());
            return File.ReadAllBytes(path);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task<List<string>> ChunkKeysAsync(IObjectStore store)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync("prepare", "chunks/", Ct))
        {
            keys.Add(info.Key);
        }

        return keys;
    }

    [Fact]
    public async Task Run_LargeFile_ChunksInPrepareZoneAllLoadedAndReconciled()
    {
        await using var harness = new PipelineHarness(Overrides);
        await harness.RunAsync([("transactions/big.ndjson", LargeFile())], Ct);

        await using (var host = await harness.BuildAsync())
        {
            var keys = await ChunkKeysAsync(host.Services.GetRequiredService<IObjectStore>());
            Assert.Equal(3, keys.Count);
            Assert.All(keys, k => Assert.StartsWith("chunks/transactions/big.ndjson/", k, StringComparison.Ordinal));
            Assert.All(keys, k => Assert.EndsWith(".parquet", k, StringComparison.Ordinal));
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.True(summary.Reconciled, RunCommand.ToJson(summary, 0, 0));
        Assert.Equal(Records, summary.Records);
        Assert.Equal(Records, summary.Loaded);
        Assert.Equal(0, summary.DeadLettered);
        Assert.Equal(Records - (Records / 10), summary.Tables["transactions"]);
    }

    [Fact]
    public async Task Run_LargeFileTwice_SameChunksAndSameWarehouse()
    {
        await using var harness = new PipelineHarness(Overrides);
        var file = LargeFile();
        await harness.RunAsync([("transactions/big.ndjson", file)], Ct);
        var first = Snapshot(await harness.DumpWarehouseAsync(Ct));
        List<(string Key, string ETag)> before;
        await using (var host = await harness.BuildAsync())
        {
            before = await ChunkEtagsAsync(host.Services.GetRequiredService<IObjectStore>());
        }

        // The same object again (a new event, same bytes): the same chunks are rewritten and re-merged.
        await harness.RunAsync([("transactions/big.ndjson", file)], Ct);
        Assert.Equal(first, Snapshot(await harness.DumpWarehouseAsync(Ct)));
        await using (var host = await harness.BuildAsync())
        {
            // Same keys (rewritten in place); the bytes differ only by ingested_at (the object's new last-modified time).
            Assert.Equal(before.Select(c => c.Key), (await ChunkEtagsAsync(host.Services.GetRequiredService<IObjectStore>())).Select(c => c.Key));
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.True(summary.Reconciled, RunCommand.ToJson(summary, 0, 0));
        Assert.Equal(Records, summary.Loaded);
    }

    [Theory]
    [InlineData("missing")]
    [InlineData("corrupt")]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("other-records")]
    public async Task Run_ChunkDamaged_ThatMessageDeadLetteredOthersLoadedAndReconciled(string damage)
    {
        await using var harness = new PipelineHarness(Overrides);
        await using (var enrichOnly = await harness.BuildAsync(["EnrichTransactions"]))
        {
            await PipelineHarness.UploadReferenceAsync(enrichOnly, Ct);
            await enrichOnly.Services.GetRequiredService<IMessageQueue>().EnsureQueueAsync(new QueueDefinition(Queue, enrichOnly.DeadLetterQueueFor(Queue), 2), Ct);
            await PipelineHarness.PutAsync(enrichOnly, "transactions/big.ndjson", LargeFile(), Ct);
            await enrichOnly.StartAsync(Ct);
            await enrichOnly.WaitUntilIdleAsync(TimeSpan.FromSeconds(30), Ct);
            await enrichOnly.StopAsync(Ct);

            var store = enrichOnly.Services.GetRequiredService<IObjectStore>();
            var keys = await ChunkKeysAsync(store);
            Assert.Equal(3, keys.Count);
            var victim = keys[1];
            byte[] original;
            await using (var stream = await store.OpenReadAsync("prepare", victim, Ct))
            {
                using var copy = new MemoryStream();
                await stream.CopyToAsync(copy, Ct);
                original = copy.ToArray();
            }

            async Task PutAsync(byte[] bytes)
            {
                using var body = new MemoryStream(bytes);
                await store.PutAsync("prepare", victim, body, null, Ct);
            }

            switch (damage)
            {
                case "missing":
                    Assert.True(await store.DeleteAsync("prepare", victim, Ct));
                    break;
                case "corrupt":
                    await PutAsync(Encoding.UTF8.GetBytes("this is not Parquet"));
                    break;
                case "truncated":
                    await PutAsync(original[..(original.Length / 2)]);
                    break;
                case "flipped":
                    // One flipped byte that the records depend on (not, say, a column statistic): the first from a third in.
                    for (var i = original.Length / 3; ; i++)
                    {
                        var flipped = (byte[])original.Clone();
                        flipped[i] ^= 0xFF;
                        try
                        {
                            await ParquetChunkFormat.ReadAsync(new MemoryStream(flipped), Ct);
                        }
                        catch (InvalidDataException)
                        {
                            await PutAsync(flipped);
                            break;
                        }
                    }

                    break;
                default:
                    // A readable chunk with valid records, but not the ones the claim check names.
                    using (var other = new MemoryStream())
                    {
                        await using (var first = await store.OpenReadAsync("prepare", keys[0], Ct))
                        {
                            await first.CopyToAsync(other, Ct);
                        }

                        await PutAsync(other.ToArray());
                    }

                    break;
            }
        }

        await using (var loadOnly = await harness.BuildAsync(["LoadTransactions"]))
        {
            await loadOnly.StartAsync(Ct);
            await loadOnly.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
            await loadOnly.StopAsync(Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.Equal(ChunkRecords, summary.DeadLettered);
        Assert.Equal(Records - ChunkRecords, summary.Loaded);
        Assert.True(summary.Reconciled, RunCommand.ToJson(summary, 0, 0));
        Assert.Equal(summary.Records, summary.Loaded + summary.Quarantined + summary.DeadLettered);
    }

    [Fact]
    public async Task Run_SmallFile_RecordsInlineGroupedByAccount()
    {
        await using var harness = new PipelineHarness(new Dictionary<string, string?> { ["Enrichment:ClaimCheckMinRecords"] = "1000" });
        await using var enrichOnly = await harness.BuildAsync(["EnrichTransactions"]);
        await PipelineHarness.UploadReferenceAsync(enrichOnly, Ct);
        await enrichOnly.Services.GetRequiredService<IMessageQueue>().EnsureQueueAsync(new QueueDefinition(Queue, enrichOnly.DeadLetterQueueFor(Queue), 2), Ct);
        await PipelineHarness.PutAsync(enrichOnly, "transactions/big.ndjson", LargeFile(), Ct);
        await enrichOnly.StartAsync(Ct);
        await enrichOnly.WaitUntilIdleAsync(TimeSpan.FromSeconds(30), Ct);
        await enrichOnly.StopAsync(Ct);

        Assert.Empty(await ChunkKeysAsync(enrichOnly.Services.GetRequiredService<IObjectStore>()));
        var queue = enrichOnly.Services.GetRequiredService<IMessageQueue>();
        var total = 0;
        while (await queue.ReceiveAsync(Queue, new ReceiveOptions { MaxMessages = 10, VisibilityTimeout = TimeSpan.FromMinutes(5) }, Ct) is { Count: > 0 } batch)
        {
            foreach (var message in batch)
            {
                Assert.False(EnrichedMessageKind.IsChunk(message.Body));
                var records = System.Text.Json.JsonSerializer.Deserialize(message.Body, TransactionJsonContext.Default.EnrichedBatchMessage)!.Records;
                Assert.All(records, r => Assert.Equal(r.AccountId, message.GroupId));
                total += records.Count;
            }
        }

        Assert.Equal(Records, total);
    }

    private static async Task<List<(string Key, string ETag)>> ChunkEtagsAsync(IObjectStore store)
    {
        var result = new List<(string, string)>();
        await foreach (var info in store.ListAsync("prepare", "chunks/", Ct))
        {
            result.Add((info.Key, info.ETag));
        }

        return result;
    }

    private static string Snapshot(System.Text.Json.Nodes.JsonObject dump)
    {
        foreach (var (_, rows) in dump)
        {
            foreach (var row in rows!.AsArray())
            {
                row!.AsObject().Remove("ingested_at");
            }
        }

        return dump.ToJsonString();
    }
}
