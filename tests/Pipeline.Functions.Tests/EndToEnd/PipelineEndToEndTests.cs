using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Snapshots;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>The real functions, through the host, on the embedded providers.</summary>
public sealed class PipelineEndToEndTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly SnapshotOptions Options = new() { ScrubProperties = ["ingested_at"] };

    [Fact]
    public async Task Run_BundledSamples_WarehouseFormsAndQuarantineMatchSnapshotsAndReconcile()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);

        var summary = await harness.SummaryAsync(Ct);
        Assert.True(summary.Reconciled, RunCommand.ToJson(summary, 0, 0));
        Assert.Equal(summary.Records, summary.Loaded + summary.Quarantined + summary.DeadLettered);
        Assert.Equal(0, summary.DeadLettered);

        var warehouse = await harness.DumpWarehouseAsync(Ct);
        await Snapshot.VerifyJsonAsync(warehouse["transactions"], Options, "transactions");
        await Snapshot.VerifyJsonAsync(warehouse["confirmations"], Options, "confirmations");
        await Snapshot.VerifyJsonAsync(warehouse["regulatory_reports"], Options, "regulatory_reports");
        await Snapshot.VerifyJsonAsync(warehouse["transaction_versions"], Options, "transaction_versions");
        await Snapshot.VerifyJsonAsync(warehouse["transaction_contents"], Options, "transaction_contents");
        await Snapshot.VerifyJsonAsync(await harness.DumpQuarantineAsync(Ct), Options, "quarantine");
        await Snapshot.VerifyJsonAsync(JsonNode.Parse(RunCommand.ToJson(summary, 0, 0)), Options, "summary");
    }

    [Fact]
    public async Task Run_AmendmentsOutOfOrderAndCancel_HighestVersionWins()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        var rows = (await harness.DumpWarehouseAsync(Ct))["transactions"]!.AsArray();
        JsonObject Row(string id) => rows.Single(r => (string?)r!["transaction_id"] == id)!.AsObject();

        // v1, v3, v2 arrived in that order (and v1 again from a later gzip file): v3 stays.
        Assert.Equal(3, (long)Row("TX-2026-000101")["version"]!);
        Assert.Equal("75", (string?)Row("TX-2026-000101")["quantity"]);
        // CANCEL v2 arrived before NEW v1: the trade is cancelled.
        Assert.Equal("CANCEL", (string?)Row("TX-2026-000102")["status"]);
        Assert.True((bool)Row("TX-2026-000102")["cancelled"]!);
    }

    [Fact]
    public async Task Run_SameFilesTwice_SameWarehouse()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        var first = Snapshot.ToSnapshotText(await harness.DumpWarehouseAsync(Ct), Options);

        // Put every object again (new events, same bytes): re-enriched, re-sent, re-merged.
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        var second = Snapshot.ToSnapshotText(await harness.DumpWarehouseAsync(Ct), Options);
        Assert.Equal(first, second);
        Assert.True((await harness.SummaryAsync(Ct)).Reconciled);
    }

    [Fact]
    public async Task Run_TamperedMessage_DeadLetteredAloneAndStillReconciled()
    {
        await using var harness = new PipelineHarness();
        await using (var enrichOnly = await harness.BuildAsync(["EnrichTransactions"]))
        {
            await PipelineHarness.UploadReferenceAsync(enrichOnly, Ct);
            await PipelineHarness.PutAsync(enrichOnly, "transactions/a.json", await File.ReadAllBytesAsync(Path.Combine(RepoPaths.Samples, "trades-2026-11-20.json"), Ct), Ct);
            await enrichOnly.Services.GetRequiredService<IMessageQueue>().EnsureQueueAsync(
                new QueueDefinition("transactions-enriched.fifo", enrichOnly.DeadLetterQueueFor("transactions-enriched.fifo"), 2), Ct);
            await enrichOnly.StartAsync(Ct);
            await enrichOnly.WaitUntilIdleAsync(TimeSpan.FromSeconds(30), Ct);
            await enrichOnly.StopAsync(Ct);

            // Corrupt one message in flight: its notional no longer equals quantity × price.
            var queue = enrichOnly.Services.GetRequiredService<IMessageQueue>();
            var received = await queue.ReceiveAsync("transactions-enriched.fifo", new ReceiveOptions { MaxMessages = 10 }, Ct);
            Assert.NotEmpty(received);
            var victim = received[0];
            var body = JsonNode.Parse(victim.Body)!;
            body["records"]![0]!["notional"] = 1m;
            await queue.SendBatchAsync("transactions-enriched.fifo", [new OutgoingMessage(body.ToJsonString(), victim.GroupId, "tampered-" + victim.DeduplicationId)], Ct);
            await queue.DeleteBatchAsync("transactions-enriched.fifo", [victim.ReceiptHandle], Ct);
            await queue.ChangeVisibilityBatchAsync("transactions-enriched.fifo", received.Skip(1).Select(m => new VisibilityChange(m.ReceiptHandle, TimeSpan.Zero)).ToList(), Ct);
        }

        await using (var loadOnly = await harness.BuildAsync(["LoadTransactions"]))
        {
            await loadOnly.StartAsync(Ct);
            await loadOnly.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
            await loadOnly.StopAsync(Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.True(summary.DeadLettered > 0);
        Assert.True(summary.Loaded > 0);
        Assert.True(summary.Reconciled, RunCommand.ToJson(summary, 0, 0));
        Assert.Equal(summary.Records, summary.Loaded + summary.Quarantined + summary.DeadLettered);
    }

    [Fact]
    public async Task LoadTransactions_BadMessageInBatch_FailsAloneOthersMerged()
    {
        await using var harness = new PipelineHarness();
        await using var host = await harness.BuildAsync();
        var good = Message("1", Records(("TX-A", 1, "NEW")));
        var bad = good with { MessageId = "2", Body = good.Body.Replace("\"notional\":", "\"notional\":9", StringComparison.Ordinal) };
        var junk = good with { MessageId = "3", Body = "{not json" };
        var result = await host.InvokeAsync("LoadTransactions", new List<ReceivedMessage> { good, bad, junk }, Ct);
        Assert.Equal(["2", "3"], result.Failures.Select(f => f.MessageId));
        Assert.Contains("notional must equal quantity × price", result.Failures[0].Reason, StringComparison.Ordinal);
        var rows = (await harness.DumpWarehouseAsync(Ct))["transactions"]!.AsArray();
        Assert.Equal("TX-A", (string?)Assert.Single(rows)!["transaction_id"]);
    }

    /// <summary>Property: whatever the order, batching and duplication of versions, the highest version wins.</summary>
    [Fact]
    public async Task LoadTransactions_AnyArrivalOrderOfVersions_HighestVersionWins()
    {
        var cases = FsCheck.Fluent.Gen.Sample(
            FsCheck.Fluent.Gen.Choose(0, int.MaxValue),
            15).ToList();
        foreach (var seed in cases)
        {
            var random = new Random(seed);
            var versions = Enumerable.Range(1, random.Next(1, 6)).ToList();
            var reportable = versions.ToDictionary(v => v, _ => random.Next(2) == 0);
            var arrivals = versions.Concat(versions.Where(_ => random.Next(3) == 0)).OrderBy(_ => random.Next()).ToList();
            await using var harness = new PipelineHarness();
            await using var host = await harness.BuildAsync();
            var position = 0;
            while (position < arrivals.Count)
            {
                var take = random.Next(1, 4);
                var batch = arrivals.Skip(position).Take(take)
                    .Select((v, i) => Message($"{position + i}", Records(reportable[v], ("TX-P", v, v == versions.Max() && random.Next(2) == 0 ? "CANCEL" : v == 1 ? "NEW" : "AMEND"))))
                    .ToList();
                position += take;
                Assert.Empty((await host.InvokeAsync("LoadTransactions", batch, Ct)).Failures);
            }

            var dump = await harness.DumpWarehouseAsync(Ct);
            var row = Assert.Single(dump["transactions"]!.AsArray())!;
            Assert.Equal(versions.Max(), (long)row["version"]!);
            Assert.Equal(versions.Count, dump["transaction_versions"]!.AsArray().Count);
            Assert.Equal((long)row["version"]!, (long)Assert.Single(dump["confirmations"]!.AsArray())!["version"]!);

            // regulatory_reports = the reportable projection of the highest version, or nothing.
            var reports = dump["regulatory_reports"]!.AsArray();
            if (reportable[versions.Max()])
            {
                Assert.Equal(versions.Max(), (long)Assert.Single(reports)!["version"]!);
            }
            else
            {
                Assert.Empty(reports);
            }
        }
    }

    [Fact]
    public async Task LoadTransactions_LaterVersionNotReportable_ReportDroppedWhateverTheOrder()
    {
        await using var harness = new PipelineHarness();
        await using var host = await harness.BuildAsync();
        async Task<JsonArray> LoadAsync(string id, bool reportable, int version)
        {
            Assert.Empty((await host.InvokeAsync("LoadTransactions", new List<ReceivedMessage> { Message(id, Records(reportable, ("TX-R", version, version == 1 ? "NEW" : "AMEND"))) }, Ct)).Failures);
            return (await harness.DumpWarehouseAsync(Ct))["regulatory_reports"]!.AsArray();
        }

        Assert.Single(await LoadAsync("1", reportable: true, 1));
        Assert.Empty(await LoadAsync("2", reportable: false, 2));
        Assert.Empty(await LoadAsync("3", reportable: true, 1)); // v1 redelivered after v2
        Assert.Equal(3, (long)Assert.Single(await LoadAsync("4", reportable: true, 3))!["version"]!);
        Assert.Equal(3, (long)Assert.Single(await LoadAsync("5", reportable: false, 2))!["version"]!); // stale v2 changes nothing
        Assert.Equal(3, (long)Assert.Single((await harness.DumpWarehouseAsync(Ct))["transactions"]!.AsArray())!["version"]!);
    }

    /// <summary>Records that are reportable (EEA venue, DE counterparty) or not (US venue, US counterparty).</summary>
    internal static IReadOnlyList<EnrichedTransaction> Records(bool reportable, params (string Id, int Version, string Status)[] items)
    {
        var enricher = new Enricher(TestData.Reference, new EnrichmentOptions());
        var records = items.Select(item => enricher.Enrich(
            new ValidTransaction(item.Id, item.Version, item.Status, new DateOnly(2026, 11, 20), new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero),
                "ACC-1", "t-1", reportable ? TestData.Lei : "549300GKFG0RYRRQ1L91", "US0378331005", "EQUITY", "BUY", item.Version * 10m, 1.5m, "EUR", reportable ? "XETR" : "XNAS", item.Version * 15.0m, 1.0842m),
            new Lineage("transactions/p.json", "e", item.Version, DateTimeOffset.UnixEpoch))).ToList();
        Assert.All(records, r => Assert.Equal(reportable, r.Reportable));
        return records;
    }

    internal static IReadOnlyList<EnrichedTransaction> Records(params (string Id, int Version, string Status)[] items)
    {
        var enricher = new Enricher(TestData.Reference, new EnrichmentOptions());
        return items.Select(item => enricher.Enrich(
            new ValidTransaction(item.Id, item.Version, item.Status, new DateOnly(2026, 11, 20), new DateTimeOffset(2026, 11, 20, 10, 0, 0, TimeSpan.Zero),
                "ACC-1", "t-1", TestData.Lei, "US0378331005", "EQUITY", "BUY", item.Version * 10m, 1.5m, "EUR", "XETR", item.Version * 15.0m, 1.0842m),
            new Lineage("transactions/p.json", "e", item.Version, DateTimeOffset.UnixEpoch))).ToList();
    }

    internal static ReceivedMessage Message(string id, IReadOnlyList<EnrichedTransaction> records)
    {
        var body = JsonSerializer.Serialize(
            new EnrichedBatchMessage { Schema = EnrichedBatchMessage.CurrentSchema, SourceKey = "transactions/p.json", SourceEtag = "e", Chunk = 0, Records = records },
            TransactionJsonContext.Default.EnrichedBatchMessage);
        return new ReceivedMessage(id, "r-" + id, body, 1, MessageGroups.ForAccount("ACC-1"), MessagePacker.MessageDedupId(records.Select(r => r.DedupId)), new Dictionary<string, string>(), DateTimeOffset.UnixEpoch);
    }
}
