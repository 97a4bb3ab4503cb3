using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Snapshots;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>
/// Conflicting duplicates (one transaction_id and version, different content) and exact duplicates from other files:
/// the warehouse must not depend on their arrival order, the FIFO dedup window or redeliveries.
/// </summary>
public sealed class ConflictTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>ingested_at is the raw object's upload time, so it differs between data roots (and only decides between copies of one object version).</summary>
    private static readonly SnapshotOptions Scrub = new() { ScrubProperties = ["ingested_at"] };

    private static JsonObject Trade(string price, string id = "TX-C", int version = 1, string status = "NEW")
    {
        var json = TestData.Valid();
        json["transaction_id"] = id;
        json["version"] = version;
        json["status"] = status;
        json["price"] = price;
        return json;
    }

    private static byte[] Json(params JsonObject[] trades) => Encoding.UTF8.GetBytes(new JsonArray(trades).ToJsonString());

    private static byte[] Ndjson(params JsonObject[] trades) => Encoding.UTF8.GetBytes(string.Concat(trades.Select(t => t.ToJsonString() + "\n")));

    /// <summary>Three contents of TX-C v1 in three files, and an exact copy of the first (written as 100.00) in a fourth.</summary>
    private static readonly (string Key, byte[] Content)[] Files =
    [
        ("transactions/a.json", Json(Trade("100"))),
        ("transactions/b.json", Json(Trade("101"))),
        ("transactions/c.ndjson", Ndjson(Trade("102"), Trade("5", id: "TX-OTHER"))),
        ("transactions/0-copy.ndjson", Ndjson(Trade("7", id: "TX-OTHER-2"), Trade("100.00"))),
    ];

    private static IEnumerable<int[]> Permutations(int[] items) =>
        items.Length <= 1 ? [items] : items.SelectMany((x, i) => Permutations([.. items[..i], .. items[(i + 1)..]]).Select(rest => (int[])[x, .. rest]));

    /// <summary>Runs the host once and puts the files one at a time in the given order, waiting for each to be loaded.</summary>
    private static async Task<string> RunInOrderAsync(int[] order)
    {
        await using var harness = new PipelineHarness();
        await using (var host = await harness.BuildAsync())
        {
            await PipelineHarness.UploadReferenceAsync(host, Ct);
            await host.StartAsync(Ct);
            foreach (var i in order)
            {
                await PipelineHarness.PutAsync(host, Files[i].Key, Files[i].Content, Ct);
                await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
            }

            // A redelivery of the first file (new object event, same bytes) inside the dedup window changes nothing either.
            await PipelineHarness.PutAsync(host, Files[order[0]].Key, Files[order[0]].Content, Ct);
            await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
            await host.StopAsync(Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.True(summary.Reconciled, RunCommand.ToJson(summary, 0, 0));
        Assert.Equal(1, summary.Conflicts);
        return Snapshot.ToSnapshotText(await harness.DumpWarehouseAsync(Ct), Scrub);
    }

    [Fact]
    public async Task Run_ConflictingAndExactDuplicatesInEveryFileOrder_IdenticalRowsLineageIncluded()
    {
        var orders = Permutations([0, 1, 2, 3]).ToList();
        Assert.Equal(24, orders.Count);
        // Separate data roots, a few at a time: each run mostly waits for its host to go idle between files.
        var results = new string[orders.Count];
        await Parallel.ForAsync(0, orders.Count, new ParallelOptions { MaxDegreeOfParallelism = 4, CancellationToken = Ct }, async (i, _) =>
            results[i] = await RunInOrderAsync(orders[i]));
        var first = results[0];
        for (var i = 1; i < orders.Count; i++)
        {
            Assert.True(first == results[i], $"order {string.Join(",", orders[i])} left other rows than order {string.Join(",", orders[0])}");
        }

        // The winner is the content with the smallest hash; for content "100" the smallest lineage (0-copy.ndjson record 2).
        var dump = JsonNode.Parse(first)!;
        var hashes = new[] { "100", "101", "102" }.ToDictionary(p => Enricher.ContentHash(Enrich(Trade(p))), p => p);
        var winner = hashes.Keys.Min(StringComparer.Ordinal)!;
        var row = dump["transactions"]!.AsArray().Single(r => (string?)r!["transaction_id"] == "TX-C")!;
        Assert.Equal(winner, (string?)row["content_hash"]);
        Assert.Equal(hashes[winner], (string?)row["price"]);
        if (hashes[winner] == "100")
        {
            Assert.Equal(("transactions/0-copy.ndjson", 2L), ((string?)row["source_key"], (long)row["record_number"]!));
        }

        foreach (var table in new[] { "confirmations", "transaction_versions" })
        {
            Assert.Equal(winner, (string?)dump[table]!.AsArray().Single(r => (string?)r!["transaction_id"] == "TX-C")!["content_hash"]);
        }

        // The conflict is recorded with every content, each with its smallest lineage.
        var contents = dump["transaction_contents"]!.AsArray().Where(r => (string?)r!["transaction_id"] == "TX-C").ToList();
        Assert.Equal(hashes.Keys.Order(StringComparer.Ordinal), contents.Select(r => (string?)r!["content_hash"]));
        Assert.Equal(hashes.Values.Order(StringComparer.Ordinal), contents.Select(r => (string?)r!["price"]).Order(StringComparer.Ordinal));
        Assert.Equal("transactions/0-copy.ndjson", (string?)contents.Single(r => (string?)r!["price"] == "100")!["source_key"]);
    }

    [Fact]
    public async Task Status_AfterConflict_CountsIt()
    {
        await using var harness = new PipelineHarness();
        await using var host = await harness.BuildAsync();
        await PipelineHarness.UploadReferenceAsync(host, Ct);
        await host.StartAsync(Ct);
        await PipelineHarness.PutAsync(host, Files[0].Key, Files[0].Content, Ct);
        await PipelineHarness.PutAsync(host, Files[1].Key, Files[1].Content, Ct);
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);

        var status = await PipelineStatus.CollectAsync(host, 0, Ct);
        Assert.Equal(1, status.Conflicts);
        Assert.Contains("\"conflicts\": 1", status.ToJson(), StringComparison.Ordinal);
        Assert.Contains("Conflicts: 1 ", status.ToText(), StringComparison.Ordinal);
        await host.StopAsync(Ct);
    }

    /// <summary>A CANCEL is not final: versions win by number, so a higher version after a CANCEL re-instates the trade.</summary>
    [Fact]
    public async Task LoadTransactions_HigherVersionAfterCancel_VersionsWinByNumberInEveryOrder()
    {
        (int Version, string Status)[] versions = [(1, "NEW"), (2, "CANCEL"), (3, "AMEND")];
        foreach (var order in Permutations([0, 1, 2]))
        {
            await using var harness = new PipelineHarness();
            await using var host = await harness.BuildAsync();
            foreach (var i in order)
            {
                var records = PipelineEndToEndTests.Records(reportable: true, ("TX-K", versions[i].Version, versions[i].Status));
                Assert.Empty((await host.InvokeAsync("LoadTransactions", new List<ReceivedMessage> { PipelineEndToEndTests.Message($"m{i}", records) }, Ct)).Failures);
            }

            var dump = await harness.DumpWarehouseAsync(Ct);
            var row = Assert.Single(dump["transactions"]!.AsArray())!;
            Assert.Equal((3L, "AMEND", false), ((long)row["version"]!, (string?)row["status"], (bool)row["cancelled"]!));
            Assert.Equal("AMENDED", (string?)Assert.Single(dump["confirmations"]!.AsArray())!["confirmation_status"]);
            Assert.Equal("MODI", (string?)Assert.Single(dump["regulatory_reports"]!.AsArray())!["report_action"]);
            Assert.Equal(3, dump["transaction_versions"]!.AsArray().Count);
        }
    }

    private static EnrichedTransaction Enrich(JsonObject json)
    {
        var record = TestData.OneRecordAsync(json).GetAwaiter().GetResult();
        var valid = TransactionValidator.Validate(record, TestData.Reference, [])!;
        return new Enricher(TestData.Reference, new EnrichmentOptions()).Enrich(valid, new Lineage("k", "e", 1, DateTimeOffset.UnixEpoch));
    }
}
