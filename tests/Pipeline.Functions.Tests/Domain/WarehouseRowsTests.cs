using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class WarehouseRowsTests
{
    private static async Task<EnrichedTransaction> EnrichAsync(string id, int version, string status, DateTimeOffset ingested)
    {
        var json = TestData.Valid();
        json["transaction_id"] = id;
        json["version"] = version;
        json["status"] = status;
        var record = await TestData.OneRecordAsync(json);
        var valid = TransactionValidator.Validate(record, TestData.Reference, []);
        Assert.NotNull(valid);
        return new Enricher(TestData.Reference, new EnrichmentOptions()).Enrich(valid, new Lineage("transactions/t.json", "etag-1", version, ingested));
    }

    private static void AssertSameRows(IReadOnlyList<Providers.Abstractions.MergeBatch> expected, IReadOnlyList<Providers.Abstractions.MergeBatch> actual)
    {
        Assert.Equal(expected.Select(b => b.Table), actual.Select(b => b.Table));
        for (var i = 0; i < expected.Count; i++)
        {
            Assert.Equal(expected[i].Rows.Count, actual[i].Rows.Count);
            Assert.Equal(expected[i].Rows, actual[i].Rows.ToList());
        }
    }

    [Fact]
    public async Task Fill_ArraysReusedAcrossFills_SameRowsAsBatchesEveryTime()
    {
        var ingested = new DateTimeOffset(2026, 11, 21, 8, 0, 0, TimeSpan.Zero);
        // Only the rows are compared here, so the reportable flag is set by hand (the test counterparty is in the EEA).
        var first = (await EnrichAsync("TX-1", 1, "NEW", ingested)) with { Reportable = false, ReportableReason = string.Empty };
        var reportable = await EnrichAsync("TX-2", 2, "AMEND", ingested);
        var cancel = (await EnrichAsync("TX-3", 3, "CANCEL", ingested.AddHours(1))) with { Reportable = false, ReportableReason = string.Empty };
        var rows = new WarehouseRows();

        var filled = rows.Fill([[first, reportable], [cancel]]);
        AssertSameRows(WarehouseSchema.Batches([first, reportable, cancel]), filled);
        Assert.Single(filled[2].Rows);

        // The second fill reuses the first one's arrays: fewer rows, no report, nothing left over from before.
        filled = rows.Fill([[cancel]]);
        AssertSameRows(WarehouseSchema.Batches([cancel]), filled);
        Assert.Empty(filled[2].Rows);
        Assert.Equal(["TX-3"], filled[0].Rows.Select(r => r[0]));
    }

    [Fact]
    public async Task Clear_AfterFill_NoRowsAndNoReferencesToTheRecords()
    {
        var record = await EnrichAsync("TX-1", 1, "NEW", DateTimeOffset.UnixEpoch);
        var rows = new WarehouseRows();
        var filled = rows.Fill([[record]]);
        var array = filled[0].Rows[0];

        rows.Clear();

        Assert.All(filled, b => Assert.Empty(b.Rows));
        Assert.All(array, Assert.Null);
        Assert.Throws<ArgumentOutOfRangeException>(() => filled[0].Rows[0]);
    }
}
