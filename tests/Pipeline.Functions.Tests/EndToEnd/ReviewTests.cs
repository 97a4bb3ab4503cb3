using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Cli.Review;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>The bundled samples loaded once by the real pipeline (embedded providers); the review tests only read it.</summary>
public sealed class LoadedSamples : IAsyncLifetime
{
    internal PipelineHarness Harness { get; } = new();

    public async ValueTask InitializeAsync() => await Harness.RunAsync(PipelineHarness.SampleFiles(), TestContext.Current.CancellationToken);

    public ValueTask DisposeAsync() => Harness.DisposeAsync();
}

/// <summary>
/// <c>review</c> against a warehouse the real pipeline loaded: the unchanged code reproduces it (exit 0); a changed rule
/// (configuration) shows exactly the columns and row counts it changes (exit 1); it writes nothing anywhere.
/// </summary>
public sealed class ReviewTests(LoadedSamples loaded) : IClassFixture<LoadedSamples>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Dictionary<string, string?> LowThreshold = new() { ["Enrichment:LargeNotionalUsd"] = "1" };

    private async Task<(int Exit, string Output, string Error)> ReviewAsync(ReviewRequest request, bool json = false, IReadOnlyDictionary<string, string?>? settings = null, PipelineHarness? harness = null)
    {
        var over = new PipelineHarness(settings, (harness ?? loaded.Harness).DataRoot);
        await using var _ = over;
        await using var host = await over.BuildAsync();
        var output = new StringWriter();
        var error = new StringWriter();
        var exit = await ReviewCommand.RunAsync(host.Services, request, json, output, error, Ct);
        return (exit, output.ToString(), error.ToString());
    }

    private static ReviewRequest All => new([]);

    /// <summary>Transactions rows (key, source key) whose flag the 1 USD threshold turns on: notional_usd ≥ 1 and not flagged yet.</summary>
    private async Task<List<(string Id, string SourceKey)>> NewlyLargeAsync()
    {
        await using var host = await loaded.Harness.BuildAsync();
        var rows = await host.Services.GetRequiredService<IWarehouse>().QueryAsync(
            "SELECT transaction_id, source_key, notional_usd, flag_large_notional FROM transactions ORDER BY transaction_id", null, Ct);
        return [.. rows.Rows.Where(r => (decimal)r[2]! >= 1m && !(bool)r[3]!).Select(r => ((string)r[0]!, (string)r[1]!))];
    }

    [Fact]
    public async Task Review_CodeUnchanged_NoDifferencesExitZero()
    {
        var (exit, output, error) = await ReviewAsync(All);

        Assert.True(exit == 0, output + error);
        Assert.Contains("No differences", output, StringComparison.Ordinal);
        Assert.Contains("transactions: no differences (18 rows)", output, StringComparison.Ordinal);
        Assert.Contains("regulatory_reports: no differences", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Review_LargeNotionalThresholdLowered_ExactlyTheRiskFlagColumnsChangeExitOne()
    {
        var expected = (await NewlyLargeAsync()).Count;
        Assert.True(expected > 0, "the samples have no trade between 1 USD and the default threshold");

        var (exit, output, error) = await ReviewAsync(All, json: true, settings: LowThreshold);

        Assert.True(exit == 1, output + error);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.True(root.GetProperty("differences").GetBoolean());
        var transactions = root.GetProperty("tables").GetProperty("transactions");
        Assert.Equal(expected, transactions.GetProperty("changed").GetInt64());
        Assert.Equal(0, transactions.GetProperty("added").GetInt64());
        Assert.Equal(0, transactions.GetProperty("removed").GetInt64());
        Assert.Equal(
            [("flag_large_notional", expected), ("risk_flags", expected)],
            transactions.GetProperty("columns").EnumerateObject().Select(p => (p.Name, p.Value.GetInt32())));
        foreach (var other in new[] { "confirmations", "regulatory_reports" })
        {
            var table = root.GetProperty("tables").GetProperty(other);
            Assert.Equal(0, table.GetProperty("added").GetInt64() + table.GetProperty("removed").GetInt64() + table.GetProperty("changed").GetInt64());
            Assert.Empty(table.GetProperty("columns").EnumerateObject());
        }
    }

    [Fact]
    public async Task Review_ThresholdLoweredText_ReadableDiffBeforeAfter()
    {
        var first = (await NewlyLargeAsync())[0].Id;

        var (exit, output, _) = await ReviewAsync(All, settings: LowThreshold);

        Assert.Equal(1, exit);
        Assert.Contains($"~ {first} v", output, StringComparison.Ordinal);
        Assert.Contains("flag_large_notional: false → true", output, StringComparison.Ordinal);
        Assert.Contains("risk_flags: \"\" → \"LARGE_NOTIONAL\"", output, StringComparison.Ordinal);
        Assert.Contains("confirmations: no differences", output, StringComparison.Ordinal);
        Assert.Contains("Differences found", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Review_Json_ShapeForMachines()
    {
        var (exit, output, _) = await ReviewAsync(All with { Examples = 2 }, json: true, settings: LowThreshold);

        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(output);
        var root = doc.RootElement;
        Assert.Equal(
            ["differences", "objects", "records", "valid", "quarantined", "unreadable_objects", "not_compared", "tables"],
            root.EnumerateObject().Select(p => p.Name));
        Assert.Equal(Directory.GetFiles(RepoPaths.Samples).Length, root.GetProperty("objects").GetInt32());
        Assert.Equal(["transactions", "confirmations", "regulatory_reports"], root.GetProperty("tables").EnumerateObject().Select(p => p.Name));
        var transactions = root.GetProperty("tables").GetProperty("transactions");
        Assert.Equal(["before", "after", "added", "removed", "changed", "columns", "examples"], transactions.EnumerateObject().Select(p => p.Name));
        var examples = transactions.GetProperty("examples").EnumerateArray().ToList();
        Assert.Equal(2, examples.Count);
        Assert.Equal("changed", examples[0].GetProperty("change").GetString());
        Assert.StartsWith("TX-", examples[0].GetProperty("transaction_id").GetString(), StringComparison.Ordinal);
        Assert.True(examples[0].GetProperty("version").GetInt64() >= 1);
        var flag = examples[0].GetProperty("columns").GetProperty("flag_large_notional");
        Assert.False(flag.GetProperty("before").GetBoolean());
        Assert.True(flag.GetProperty("after").GetBoolean());
    }

    [Fact]
    public async Task Review_OneObjectByKey_ComparesOnlyRowsFromThatObject()
    {
        var newlyLarge = await NewlyLargeAsync();
        var key = newlyLarge.GroupBy(r => r.SourceKey).OrderByDescending(g => g.Count()).First().Key;
        var expected = newlyLarge.Count(r => r.SourceKey == key);
        Assert.True(expected < newlyLarge.Count, "pick a sample file that does not hold every changed row");

        var (exit, output, error) = await ReviewAsync(new ReviewRequest([key["transactions/".Length..]]), json: true, settings: LowThreshold);

        Assert.True(exit == 1, output + error);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(1, doc.RootElement.GetProperty("objects").GetInt32());
        Assert.Equal(expected, doc.RootElement.GetProperty("tables").GetProperty("transactions").GetProperty("changed").GetInt64());
        Assert.Equal(0, doc.RootElement.GetProperty("tables").GetProperty("transactions").GetProperty("removed").GetInt64());
    }

    [Fact]
    public async Task Review_SinceTomorrow_NothingReviewedExitZero()
    {
        var tomorrow = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(1);

        var (exit, output, _) = await ReviewAsync(new ReviewRequest([], tomorrow), json: true, settings: LowThreshold);

        Assert.Equal(0, exit);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(0, doc.RootElement.GetProperty("objects").GetInt32());
        Assert.False(doc.RootElement.GetProperty("differences").GetBoolean());
    }

    [Fact]
    public async Task Review_KeyMatchingNoObject_ExitTwoWithReason()
    {
        var (exit, _, error) = await ReviewAsync(new ReviewRequest(["no-such-file.json"]));

        Assert.Equal(2, exit);
        Assert.Contains("transactions/no-such-file.json", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Review_ObjectNotYetLoaded_ItsRowsAreAdded()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        var late = TestData.Valid();
        late["transaction_id"] = "TX-LATE-1";
        await using (var host = await harness.BuildAsync())
        {
            // Uploaded while no host runs: in the raw zone, not in the warehouse.
            await PipelineHarness.PutAsync(host, "transactions/late.json", Encoding.UTF8.GetBytes(late.ToJsonString()), Ct);
        }

        var (exit, output, _) = await ReviewAsync(All, json: true, harness: harness);

        Assert.Equal(1, exit);
        using var doc = JsonDocument.Parse(output);
        var transactions = doc.RootElement.GetProperty("tables").GetProperty("transactions");
        Assert.Equal(1, transactions.GetProperty("added").GetInt64());
        Assert.Equal(0, transactions.GetProperty("changed").GetInt64());
        var example = Assert.Single(transactions.GetProperty("examples").EnumerateArray());
        Assert.Equal("added", example.GetProperty("change").GetString());
        Assert.Equal("TX-LATE-1", example.GetProperty("transaction_id").GetString());
        Assert.Equal(1, doc.RootElement.GetProperty("tables").GetProperty("confirmations").GetProperty("added").GetInt64());
    }

    [Fact]
    public async Task Review_ConflictsAndCopiesAcrossFiles_ScratchMergePicksTheWarehousesRowsExitZero()
    {
        // Two contents of one version, an exact copy in a file that sorts first, an amendment in a file that sorts first:
        // the recomputed rows must follow the same tie-break (smaller content_hash, then smallest lineage) and version rules.
        static string Trade(string id, int version, string status, string price)
        {
            var t = TestData.Valid();
            t["transaction_id"] = id;
            t["version"] = version;
            t["status"] = status;
            t["price"] = price;
            return t.ToJsonString();
        }

        await using var harness = new PipelineHarness();
        await harness.RunAsync(
            [
                ("transactions/a.json", Encoding.UTF8.GetBytes($"[{Trade("TX-C", 1, "NEW", "100")}]")),
                ("transactions/b.json", Encoding.UTF8.GetBytes($"[{Trade("TX-C", 1, "NEW", "101")}, {Trade("TX-A", 1, "NEW", "5")}]")),
                ("transactions/0-copy.ndjson", Encoding.UTF8.GetBytes(Trade("TX-C", 1, "NEW", "100.00") + "\n" + Trade("TX-A", 2, "AMEND", "6") + "\n")),
            ],
            Ct);

        var (exit, output, error) = await ReviewAsync(All, json: true, harness: harness);

        Assert.True(exit == 0, output + error);
        using var doc = JsonDocument.Parse(output);
        Assert.Equal(2, doc.RootElement.GetProperty("tables").GetProperty("transactions").GetProperty("before").GetInt64());
    }

    [Fact]
    public async Task Review_WithDifferences_WritesNothingToWarehouseZonesOrQueue()
    {
        var before = await StateAsync();
        var scratchBefore = ScratchFolders();

        var (exit, _, _) = await ReviewAsync(All, settings: LowThreshold);

        Assert.Equal(1, exit);
        Assert.Equal(before, await StateAsync());
        Assert.Empty(ScratchFolders().Except(scratchBefore));
    }

    private static HashSet<string> ScratchFolders() => [.. Directory.GetDirectories(Path.GetTempPath(), "pipeline-review-*")];

    /// <summary>Every warehouse table, every object (key and ETag) of every zone, the queue's and its dead letter's depth.</summary>
    private async Task<string> StateAsync()
    {
        var state = new StringBuilder((await loaded.Harness.DumpWarehouseAsync(Ct)).ToJsonString());
        await using var host = await loaded.Harness.BuildAsync();
        var store = host.Services.GetRequiredService<IObjectStore>();
        foreach (var zone in new[] { "raw", "prepare", "quarantine", "reference" })
        {
            await foreach (var info in store.ListAsync(zone, "", Ct))
            {
                state.Append(zone).Append('/').Append(info.Key).Append(' ').Append(info.ETag).Append('\n');
            }
        }

        var queue = host.Services.GetRequiredService<IMessageQueue>();
        foreach (var name in new[] { "transactions-enriched.fifo", host.DeadLetterQueueFor("transactions-enriched.fifo") })
        {
            var depth = await queue.GetDepthAsync(name, Ct);
            state.Append(name).Append(' ').Append(depth).Append('\n');
        }

        return state.ToString();
    }
}
