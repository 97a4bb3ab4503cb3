using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Ingestion;
using Pipeline.Cli.SampleApi;
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
        await using var host = await h.BuildAsync(h.Settings(style, pageSize: 4));

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
        await using var host = await h.BuildAsync(h.Settings(PaginationStyle.PageNumber, pageSize: 3));
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

    [Fact]
    public async Task RunAsync_CrashWhileFetchingLateChangesThenRerun_EachVersionLandsOnce()
    {
        using var crash = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var h = new IngestionHarness();
        var settings = h.Settings(PaginationStyle.Cursor, pageSize: 2);
        await using (var first = await h.BuildAsync(settings))
        {
            await IngestionHarness.IngestAsync(first, IngestionHarness.AfterAll, Ct);
        }

        var cursor = h.Trades.MaxUpdatedAt;
        var late = new List<SampleVersion>
        {
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddTrade(cursor, cursor),
            h.Trades.AddVersion(2, "AMEND", IngestionHarness.AfterAll.AddHours(1)),
            h.Trades.AddVersion(5, "CANCEL", IngestionHarness.AfterAll.AddHours(1)),
        };

        // Run 2 is served 6 records in pages of 2 (the first page holds the version already stored at the cursor);
        // the process "dies" while its third request is in flight.
        var before = h.Server.Requests.Count;
        h.Server.Options.Inject = (n, _) =>
        {
            if (n == before + 3)
            {
                crash.Cancel();
            }

            return null;
        };
        await using (var dying = await h.BuildAsync(settings))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => IngestionHarness.IngestAsync(dying, IngestionHarness.AfterAll.AddDays(1), crash.Token));
            Assert.NotNull((await IngestionHarness.StateAsync(dying, Ct))!.Pending);
        }

        h.Server.Options.Inject = null;
        await using var host = await h.BuildAsync(settings);
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(2), Ct);
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(3), Ct);

        var stored = await IngestionHarness.StoredVersionsAsync(host, Ct);
        Assert.Equal(h.ServedVersions().Order(), stored.Order());
        Assert.Equal(stored.Count, stored.Distinct().Count());
        Assert.All(late, v => Assert.Single(stored, Key(v)));
        var audits = (await IngestionHarness.AuditsAsync(host, Ct)).OrderBy(a => a.StartedAt).ToList();
        var resumed = Assert.Single(audits, a => a.Resumed);
        Assert.Equal("run-20261120T000000Z", resumed.WindowId);
        Assert.Equal(1, resumed.RecordsSkipped);
        Assert.True(resumed.PagesUnchanged >= 1, "the page stored before the crash is found unchanged");
        Assert.Equal(0, audits[^1].RecordsNew);
    }

    [Fact]
    public async Task Start_LateChangesPublishedAfterLoad_EndLoadedOnceAsCurrentVersions()
    {
        await using var h = new IngestionHarness();
        var settings = h.Settings(PaginationStyle.Cursor, pageSize: 7);
        await using (var first = await h.BuildAsync(settings))
        {
            var store = first.Services.GetRequiredService<IObjectStore>();
            foreach (var key in Pipeline.Functions.Transactions.ReferenceData.Keys)
            {
                await Pipeline.Cli.RunCommand.UploadIfChangedAsync(store, "reference", key, Path.Combine(RepoPaths.Reference, key), Ct);
            }

            await IngestionHarness.IngestAsync(first, IngestionHarness.AfterAll, Ct);
            await RunPipelineAsync(first);
        }

        // Published through the API itself, as `serve-sample-api` users do: an AMEND and a CANCEL of old trades, three trades tied at the cursor.
        List<(string Id, int Version, string Status)> published;
        using (var http = new HttpClient())
        {
            using var response = await http.PostAsync(new Uri(h.Server.BaseUrl, "admin/late-changes?ties=3"), null, Ct);
            response.EnsureSuccessStatusCode();
            using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
            published = [.. doc.RootElement.GetProperty("published").EnumerateArray().Select(v => (v.GetProperty("transaction_id").GetString()!, v.GetProperty("version").GetInt32(), v.GetProperty("status").GetString()!))];
        }

        Assert.Equal(["NEW", "NEW", "NEW", "AMEND", "CANCEL"], published.Select(p => p.Status));

        await using var host = await h.BuildAsync(settings);
        await IngestionHarness.IngestAsync(host, DateTimeOffset.UtcNow.AddMinutes(1), Ct);
        await IngestionHarness.IngestAsync(host, DateTimeOffset.UtcNow.AddMinutes(2), Ct);
        await RunPipelineAsync(host);

        var warehouse = host.Services.GetRequiredService<IWarehouse>();
        var ids = string.Join(',', published.Select(p => "'" + p.Id + "'"));
        var rows = await warehouse.QueryAsync($"SELECT transaction_id, version, status FROM transactions WHERE transaction_id IN ({ids}) ORDER BY transaction_id", null, Ct);
        Assert.Equal(
            published.Select(p => (p.Id, (long)p.Version, p.Status)).OrderBy(p => p.Id, StringComparer.Ordinal),
            rows.Rows.Select(r => ((string)r[0]!, Convert.ToInt64(r[1], System.Globalization.CultureInfo.InvariantCulture), (string)r[2]!)));

        // Every version the API serves is loaded once: one row per version, one current row per trade.
        var served = h.ServedVersions();
        var versions = await warehouse.QueryAsync("SELECT COUNT(*), COUNT(DISTINCT transaction_id) FROM transaction_versions", null, Ct);
        Assert.Equal(served.Count, Convert.ToInt64(versions.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(served.Select(v => v.Split('#')[0]).Distinct().Count(), Convert.ToInt64(versions.Rows[0][1], System.Globalization.CultureInfo.InvariantCulture));
        var stored = await IngestionHarness.StoredVersionsAsync(host, Ct);
        Assert.Equal(served.Order(), stored.Order());
    }

    [Fact]
    public async Task RunAsync_VersionVisibleLateBelowCursorWithinOverlap_LandsOnce()
    {
        await using var h = new IngestionHarness();
        var settings = h.Settings(PaginationStyle.OffsetLimit, pageSize: 5);
        settings["Ingestion:Overlap"] = "01:00:00";
        await using var host = await h.BuildAsync(settings);
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        var cursor = h.Trades.MaxUpdatedAt;
        var state = await IngestionHarness.StateAsync(host, Ct);
        Assert.All(state!.Seen, v => Assert.InRange(v.UpdatedAt, cursor.AddHours(-1), cursor));
        Assert.Equal(5, state.Seen.Count); // 60 min / 13.5 min between records, the cursor's included

        // An API whose updated_at is set before commit: this version becomes visible after run 1 with an updated_at below its cursor.
        var late = h.Trades.AddVersion(3, "AMEND", cursor.AddMinutes(-30));
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(1), Ct);
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(2), Ct);

        var stored = await IngestionHarness.StoredVersionsAsync(host, Ct);
        Assert.Equal(h.ServedVersions().Order(), stored.Order());
        Assert.Single(stored, Key(late));
        var audits = (await IngestionHarness.AuditsAsync(host, Ct)).OrderBy(a => a.StartedAt).ToList();
        Assert.Equal([120, 1, 0], audits.Select(a => a.RecordsNew));
        Assert.Equal([0, 5, 6], audits.Select(a => a.RecordsSkipped));
    }

    [Fact]
    public async Task RunAsync_ApiWithoutUpdatedAtCursorOnExecutedAtWithOverlap_LateAmendmentLandsOnce()
    {
        await using var h = new IngestionHarness();
        var settings = h.Settings(PaginationStyle.PageNumber, pageSize: 10);
        settings["Ingestion:UpdatedAtField"] = "executed_at";
        settings["Ingestion:UpdatedSinceParameter"] = "executed_from";
        settings["Ingestion:UpdatedBeforeParameter"] = "executed_before";
        settings["Ingestion:Overlap"] = "3.00:00:00";
        await using var host = await h.BuildAsync(settings);
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);

        // Amendments keep executed_at: on executed_at alone only the overlap brings them back.
        var amend = h.Trades.AddVersion(12, "AMEND", IngestionHarness.AfterAll.AddHours(3));
        var cancel = h.Trades.AddVersion(100, "CANCEL", IngestionHarness.AfterAll.AddHours(3));
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(1), Ct);
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(2), Ct);

        var stored = await IngestionHarness.StoredVersionsAsync(host, Ct);
        Assert.Equal(h.ServedVersions().Order(), stored.Order());
        Assert.Single(stored, Key(amend));
        Assert.Single(stored, Key(cancel));
        Assert.All(h.Server.Requests, r => Assert.DoesNotContain("updated_", r.PathAndQuery, StringComparison.Ordinal));
    }

    [Fact]
    public async Task RunAsync_RecordsWithoutUpdatedAtField_FailsNamingTheSettingAndKeepsCursor()
    {
        await using var h = new IngestionHarness(tradesPerDay: 5);
        var settings = h.Settings(PaginationStyle.PageNumber, pageSize: 10);
        settings["Ingestion:UpdatedAtField"] = "modified_at";
        await using var host = await h.BuildAsync(settings);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct));

        Assert.Contains("'modified_at' (Ingestion:UpdatedAtField)", ex.ToString(), StringComparison.Ordinal);
        Assert.Empty(await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct));
        var state = await IngestionHarness.StateAsync(host, Ct);
        Assert.Null(state!.Cursor);
        Assert.NotNull(state.Pending);
    }

    private static async Task RunPipelineAsync(FunctionsHost host)
    {
        await host.StartAsync(Ct);
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
        await host.StopAsync(Ct);
        var quarantine = new List<string>();
        await foreach (var info in host.Services.GetRequiredService<IObjectStore>().ListAsync("quarantine", string.Empty, Ct))
        {
            quarantine.Add(info.Key);
        }

        Assert.Empty(quarantine);
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
