using Pipeline.TestKit.Emulators;
using Pipeline.TestKit.Snapshots;
using static Pipeline.Functions.Tests.Refine.RefineTestBed;

namespace Pipeline.Functions.Tests.Refine;

/// <summary>The refine SQL (keyset page reads) and day replaces on a real PostgreSQL (the Redshift stand-in).</summary>
public sealed class RefinePostgresTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Refine_ScenarioOnPostgres_SameResultsAsEmbedded()
    {
        postgres.RequireAvailable();
        var results = new List<string>();
        foreach (var connection in new[] { null, postgres.ConnectionString })
        {
            await using var bed = new RefineTestBed(connection, pageSize: 100);
            await RefineScenario.LoadAsync(bed);
            var report = await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct);
            results.Add(Snapshot.ToSnapshotText(await RefineScenario.ResultsAsync(bed, report), new SnapshotOptions()));
        }

        Assert.Equal(results[0], results[1]);
    }

    [Fact]
    public async Task Refine_CancelThenRerunOnPostgres_CounterpartyRowDisappears()
    {
        postgres.RequireAvailable();
        await using var bed = new RefineTestBed(postgres.ConnectionString);
        var day = new DateOnly(2026, 11, 20);
        await bed.LoadAsync(
            Trade("TX-1", "2026-11-20", "ACC-1", Northwind, RefineScenario.Apple, "BUY", 10m, 100m),
            Trade("TX-2", "2026-11-20", "ACC-2", Contoso, RefineScenario.Siemens, "SELL", 5m, 50m));
        await bed.Refiner.RefineAsync(day, day, Ct);

        await bed.LoadAsync(Trade("TX-2", "2026-11-20", "ACC-2", Contoso, RefineScenario.Siemens, "SELL", 5m, 50m, version: 2, status: "CANCEL"));
        await bed.Refiner.RefineAsync(day, day, Ct);

        var exposure = Assert.Single(await bed.RowsAsync("SELECT counterparty_lei, net_notional_usd FROM daily_counterparty_exposure"));
        Assert.Equal(Northwind, exposure["counterparty_lei"]);
        Assert.Equal(1000m, exposure["net_notional_usd"]);
        Assert.Equal("ACC-1", Assert.Single(await bed.RowsAsync("SELECT account_id FROM positions"))["account_id"]);
    }
}
