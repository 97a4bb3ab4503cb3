using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Ingestion;
using Pipeline.Functions.SampleApi;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Ingestion.Tests;

/// <summary>
/// Versions published after a run: AMEND/CANCEL of old trades (original executed_at, later updated_at) and
/// trades tied exactly at the cursor. Each must land in the raw zone once, over several incremental runs.
/// </summary>
public sealed class LateChangesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(PaginationStyle.PageNumber)]
    [InlineData(PaginationStyle.OffsetLimit)]
    [InlineData(PaginationStyle.Cursor)]
    [InlineData(PaginationStyle.LinkHeader)]
    public async Task RunAsync_LateAmendCancelAndTiesAtCursor_EachVersionLandsOnceAcrossRuns(PaginationStyle style)
    {
        await using var h = new IngestionHarness();
        await using var host = h.Build(h.Settings(style, pageSize: 4));

        // Run 1: everything generated so far.
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        var afterRun1 = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);
        Assert.Equal(h.ServedVersions(), await IngestionHarness.StoredVersionsAsync(host, Ct));
        var cursor = h.Trades.MaxUpdatedAt;

        // The API gains: three trades reported at exactly the cursor, and later versions of old trades that keep
        // their executed_at (days before the cursor) with an updated_at after it.
        var late = new List<SampleVersion>
        {
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddVersion(2, "AMEND", IngestionHarness.AfterAll.AddHours(1)),
            h.Trades.AddVersion(5, "CANCEL", IngestionHarness.AfterAll.AddHours(1)),
            h.Trades.AddVersion(8, "AMEND", IngestionHarness.AfterAll.AddHours(2)), // already at version 2: this is 3
            h.Trades.AddVersion(41, "CANCEL", IngestionHarness.AfterAll.AddHours(2)),
        };
        Assert.Contains(late, v => v.TransactionId.EndsWith("-0000008", StringComparison.Ordinal) && v.Version == 3);
        Assert.All(late.Skip(3), v => Assert.True(v.ExecutedAt < cursor));

        // Run 2 stores exactly the late versions; run 3 stores nothing.
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(1), Ct);
        var afterRun2 = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);
        var added = afterRun2.ExceptBy(afterRun1.Select(o => o.Key), o => o.Key).ToList();
        Assert.Equal(late.Select(Key).Order(), (await VersionsInAsync(host, added)).Order());

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(2), Ct);
        var afterRun3 = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);
        Assert.Equal(afterRun2.Select(o => (o.Key, o.ETag)), afterRun3.Select(o => (o.Key, o.ETag)));

        // Every version the API serves is in the raw zone exactly once.
        var stored = await IngestionHarness.StoredVersionsAsync(host, Ct);
        Assert.Equal(h.ServedVersions().Order(), stored.Order());
        Assert.Equal(stored.Count, stored.Distinct().Count());

        var audits = (await IngestionHarness.AuditsAsync(host, Ct)).OrderBy(a => a.StartedAt).ToList();
        Assert.Equal(3, audits.Count);
        Assert.Equal(late.Count, audits[1].RecordsNew);
        Assert.Equal(0, audits[2].RecordsNew);
        Assert.All(audits, a => Assert.Equal("succeeded", a.Status));
        var state = await IngestionHarness.StateAsync(host, Ct);
        Assert.Equal(IngestionHarness.AfterAll.AddHours(2), state!.Cursor);
    }

    [Fact]
    public async Task RunAsync_TiesAtCursorAcrossPageBoundaries_EachLandsOnce()
    {
        await using var h = new IngestionHarness();
        await using var host = h.Build(h.Settings(PaginationStyle.PageNumber, pageSize: 3));
        var cursor = h.Trades.MaxUpdatedAt;

        // Run 1 ends on five records tied at the cursor, across a page boundary (120 + 4 records, pages of 3).
        for (var i = 0; i < 4; i++)
        {
            h.Trades.AddTrade(cursor, cursor);
        }

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        var afterRun1 = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);
        Assert.Equal(h.ServedVersions(), await IngestionHarness.StoredVersionsAsync(host, Ct));

        // Four more at the same instant (one an amendment of an old trade): run 2 is served nine records at the
        // cursor in pages of 3 — one page of known ones, one mixed, one of new ones.
        var late = new List<SampleVersion>
        {
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddVersion(0, "AMEND", cursor),
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddTrade(cursor, cursor),
        };

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(1), Ct);
        var afterRun2 = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);
        var added = afterRun2.ExceptBy(afterRun1.Select(o => o.Key), o => o.Key).ToList();
        Assert.Equal(late.Select(Key).Order(), (await VersionsInAsync(host, added)).Order());

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(2), Ct);
        Assert.Equal(afterRun2.Select(o => (o.Key, o.ETag)), (await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct)).Select(o => (o.Key, o.ETag)));

        var stored = await IngestionHarness.StoredVersionsAsync(host, Ct);
        Assert.Equal(h.ServedVersions().Order(), stored.Order());
        Assert.Equal(stored.Count, stored.Distinct().Count());
        var state = await IngestionHarness.StateAsync(host, Ct);
        Assert.Equal(cursor, state!.Cursor);
    }

    private static string Key(SampleVersion v) => v.TransactionId + "#" + v.Version;

    private static async Task<List<string>> VersionsInAsync(FunctionsHost host, IEnumerable<ObjectInfo> pages)
    {
        var versions = new List<string>();
        foreach (var page in pages)
        {
            using var doc = System.Text.Json.JsonDocument.Parse(await IngestionHarness.ReadAsync(host, page.Key, Ct));
            versions.AddRange(doc.RootElement.EnumerateArray().Select(r => r.GetProperty("transaction_id").GetString() + "#" + r.GetProperty("version").GetInt32()));
        }

        return versions;
    }
}
