using Microsoft.Extensions.Options;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Refine;
using Pipeline.Host;
using Pipeline.TestKit.Snapshots;
using static Pipeline.Functions.Tests.Refine.RefineTestBed;

namespace Pipeline.Functions.Tests.Refine;

public sealed class RefineDailyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Refine_ScenarioDays_ExactResultsMatchSnapshot()
    {
        await using var bed = new RefineTestBed();
        await RefineScenario.LoadAsync(bed);

        var report = await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct);

        await Snapshot.VerifyJsonAsync(await RefineScenario.ResultsAsync(bed, report));
    }

    [Fact]
    public async Task Refine_SameDaysTwice_SameRowsAndObjects()
    {
        await using var bed = new RefineTestBed();
        await RefineScenario.LoadAsync(bed);
        var first = await RefineScenario.ResultsAsync(bed, await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct));

        var second = await RefineScenario.ResultsAsync(bed, await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct));

        Assert.Equal(Snapshot.ToSnapshotText(first, new SnapshotOptions()), Snapshot.ToSnapshotText(second, new SnapshotOptions()));
    }

    [Fact]
    public async Task Refine_TradeCancelledThenDayRerun_ItsContributionDisappears()
    {
        await using var bed = new RefineTestBed();
        var day = new DateOnly(2026, 11, 20);
        await bed.LoadAsync(
            Trade("TX-1", "2026-11-20", "ACC-1", Northwind, RefineScenario.Apple, "BUY", 10m, 100m),
            Trade("TX-2", "2026-11-20", "ACC-2", Contoso, RefineScenario.Siemens, "SELL", 5m, 50m),
            Trade("TX-3", "2026-11-21", "ACC-2", Contoso, RefineScenario.Siemens, "SELL", 1m, 50m));
        await bed.Refiner.RefineAsync(day, day.AddDays(1), Ct);
        Assert.Equal(2, (await bed.RowsAsync("SELECT * FROM daily_counterparty_exposure WHERE trade_date = '2026-11-20'")).Count);

        await bed.LoadAsync(Trade("TX-2", "2026-11-20", "ACC-2", Contoso, RefineScenario.Siemens, "SELL", 5m, 50m, version: 2, status: "CANCEL"));
        await bed.Refiner.RefineAsync(day, day, Ct);

        var exposure = await bed.RowsAsync("SELECT counterparty_lei, trade_count, gross_notional_usd FROM daily_counterparty_exposure ORDER BY trade_date, counterparty_lei");
        Assert.Equal([Northwind, Contoso], exposure.Select(r => r["counterparty_lei"]));
        Assert.Equal(1000m, exposure[0]["gross_notional_usd"]);
        Assert.Equal(50m, exposure[1]["gross_notional_usd"]); // 2026-11-21 was not rerun and is untouched
        var positions = await bed.RowsAsync("SELECT account_id, net_quantity FROM positions WHERE as_of_date = '2026-11-20' ORDER BY account_id");
        Assert.Equal(["ACC-1"], positions.Select(r => r["account_id"]));
        Assert.DoesNotContain(Contoso, await bed.ReadZoneAsync(DailyRefiner.ExposureKey(day)), StringComparison.Ordinal);
        Assert.DoesNotContain("ACC-2", await bed.ReadZoneAsync(DailyRefiner.PositionsKey(day)), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Refine_AmendmentMovesTradeDate_OldDayEmptiedNewDayCounts()
    {
        await using var bed = new RefineTestBed();
        await bed.LoadAsync(Trade("TX-1", "2026-11-20", "ACC-1", Northwind, RefineScenario.Apple, "BUY", 10m, 100m));
        await bed.Refiner.RefineAsync(new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 20), Ct);

        await bed.LoadAsync(Trade("TX-1", "2026-11-21", "ACC-1", Northwind, RefineScenario.Apple, "BUY", 12m, 100m, version: 2));
        var report = await bed.Refiner.RefineAsync(new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 21), Ct);

        Assert.Equal([0L, 1L], report.Days.Select(d => d.Trades));
        var exposure = Assert.Single(await bed.RowsAsync("SELECT trade_date, gross_notional_usd FROM daily_counterparty_exposure"));
        Assert.Equal(new DateOnly(2026, 11, 21), exposure["trade_date"]);
        Assert.Equal(1200m, exposure["gross_notional_usd"]);
        Assert.Equal(string.Empty, await bed.ReadZoneAsync(DailyRefiner.ExposureKey(new DateOnly(2026, 11, 20))));
    }

    [Fact]
    public async Task Refine_EmptyWarehouse_EmptyDayWithEmptyObjectsAndNoRows()
    {
        await using var bed = new RefineTestBed();
        var day = new DateOnly(2026, 11, 20);

        var report = await bed.Refiner.RefineAsync(day, day, Ct);

        Assert.Equal(0, report.TradesRead);
        Assert.Equal(new RefinedDay(day, 0, 0, 0), Assert.Single(report.Days));
        Assert.Equal(string.Empty, await bed.ReadZoneAsync(DailyRefiner.ExposureKey(day)));
        Assert.Equal(string.Empty, await bed.ReadZoneAsync(DailyRefiner.PositionsKey(day)));
        Assert.Empty(await bed.RowsAsync("SELECT * FROM daily_counterparty_exposure"));
        Assert.Empty(await bed.RowsAsync("SELECT * FROM positions"));
    }

    [Fact]
    public async Task Refine_SmallPages_SameResultsAsOnePage()
    {
        var trades = Enumerable.Range(0, 347).Select(i => Trade(
            $"TX-{i:D4}", i % 3 == 0 ? "2026-11-19" : "2026-11-20", $"ACC-{i % 7}", i % 2 == 0 ? Northwind : Contoso,
            i % 5 == 0 ? RefineScenario.Siemens : RefineScenario.Apple, i % 4 == 0 ? "SELL" : "BUY", 1m + (i * 0.01m), 10.5m + i)).ToArray();
        var results = new List<string>();
        foreach (var pageSize in new[] { 100, 50_000 })
        {
            await using var bed = new RefineTestBed(pageSize: pageSize);
            await bed.LoadAsync(trades);
            var report = await bed.Refiner.RefineAsync(new DateOnly(2026, 11, 20), new DateOnly(2026, 11, 20), Ct);
            Assert.Equal(347, report.TradesRead);
            results.Add(Snapshot.ToSnapshotText(await RefineScenario.ResultsAsync(bed, report with { Pages = 0 }), new SnapshotOptions()));
        }

        Assert.Equal(results[0], results[1]);
    }

    [Fact]
    public async Task RunAsync_TimerAtSevenThirty_RefinesYesterdayUtc()
    {
        await using var bed = new RefineTestBed();
        await bed.LoadAsync(Trade("TX-1", "2026-11-21", "ACC-1", Northwind, RefineScenario.Apple, "SELL", 3m, 7m));
        var function = new RefineDaily(bed.Refiner, Options.Create(new RefineOptions()));

        await function.RunAsync(new Microsoft.Azure.Functions.Worker.TimerInfo { ScheduleStatus = new Microsoft.Azure.Functions.Worker.ScheduleStatus { Last = new DateTime(2026, 11, 22, 7, 30, 0, DateTimeKind.Utc) } }, Ct);

        var row = Assert.Single(await bed.RowsAsync("SELECT trade_date, net_notional_usd FROM daily_counterparty_exposure"));
        Assert.Equal(new DateOnly(2026, 11, 21), row["trade_date"]);
        Assert.Equal(-21m, row["net_notional_usd"]);
    }

    [Theory]
    [InlineData("2026-11-22T07:30:00Z", 1, "2026-11-21", "2026-11-21")]
    [InlineData("2026-11-22T00:00:00Z", 3, "2026-11-19", "2026-11-21")]
    [InlineData("2026-11-22T23:30:00-05:00", 1, "2026-11-22", "2026-11-22")]
    public void ScheduledDays_ScheduledTime_EndsYesterdayUtc(string scheduled, int lookback, string from, string to)
    {
        var (f, t) = DailyRefiner.ScheduledDays(DateTimeOffset.Parse(scheduled, System.Globalization.CultureInfo.InvariantCulture), lookback);
        Assert.Equal((DateOnly.Parse(from, System.Globalization.CultureInfo.InvariantCulture), DateOnly.Parse(to, System.Globalization.CultureInfo.InvariantCulture)), (f, t));
    }
}
