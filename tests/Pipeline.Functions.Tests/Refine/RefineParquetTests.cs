using Pipeline.Functions.Refine;
using Pipeline.Functions.Tests.Parquet;

namespace Pipeline.Functions.Tests.Refine;

/// <summary>The refine (gold) partitions as Parquet, read back by DuckDB: exact types and values, one file per partition.</summary>
public sealed class RefineParquetTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Refine_ScenarioReadByDuckDb_ExactTypesAndValues()
    {
        await using var bed = new RefineTestBed();
        await RefineScenario.LoadAsync(bed);

        await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct);

        var exposure = await bed.ReadZoneBytesAsync(DailyRefiner.ExposureKey(RefineScenario.From));
        Assert.Equal(
            [("trade_date", "DATE"), ("counterparty_lei", "VARCHAR"), ("counterparty_name", "VARCHAR"), ("trade_count", "BIGINT"), ("buy_count", "BIGINT"),
             ("sell_count", "BIGINT"), ("gross_notional_usd", "DECIMAL(38,10)"), ("net_notional_usd", "DECIMAL(38,10)")],
            DuckDbParquet.Describe(exposure));
        // Typed, not text: DuckDB compares the DATE and sums the DECIMALs exactly (0.1 + 0.2 of TX-6/TX-7 included).
        var contoso = DuckDbParquet.Query(exposure,
            $"SELECT trade_date = DATE '2026-11-20', trade_count, gross_notional_usd::VARCHAR, net_notional_usd::VARCHAR, (gross_notional_usd + net_notional_usd)::VARCHAR FROM read_parquet($path) WHERE counterparty_lei = '{RefineTestBed.Contoso}'").Single();
        Assert.Equal(new[] { "True", "3", "5716.7400000000", "-5716.7400000000", "0.0000000000" }, contoso.Select(v => v ?? "(null)"));

        var positions = await bed.ReadZoneBytesAsync(DailyRefiner.PositionsKey(RefineScenario.From));
        Assert.Equal(
            [("as_of_date", "DATE"), ("account_id", "VARCHAR"), ("isin", "VARCHAR"), ("net_quantity", "DECIMAL(38,10)"), ("day_net_quantity", "DECIMAL(38,10)"), ("day_trade_count", "BIGINT")],
            DuckDbParquet.Describe(positions));
        var small = DuckDbParquet.Query(positions, $"SELECT net_quantity::VARCHAR, day_trade_count FROM read_parquet($path) WHERE account_id = 'ACC-1' AND isin = '{RefineScenario.Bp}'").Single();
        Assert.Equal(new[] { "-0.3000000000", "2" }, small.Select(v => v ?? "(null)"));

        // The empty day is a valid Parquet file with the same columns and no rows.
        var empty = await bed.ReadZoneBytesAsync(DailyRefiner.ExposureKey(RefineScenario.To));
        Assert.Equal(DuckDbParquet.Describe(exposure), DuckDbParquet.Describe(empty));
        Assert.Empty(DuckDbParquet.Rows(empty));
    }

    /// <summary>The query README shows, on the files as the embedded store lays them out: a glob over the day partitions.</summary>
    [Fact]
    public async Task Refine_ReadmeDuckDbGlob_ReadsEveryDay()
    {
        await using var bed = new RefineTestBed();
        await RefineScenario.LoadAsync(bed);
        await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct);
        var glob = Path.Combine(bed.DataRoot, "objects", "refine", "daily_counterparty_exposure", "*", "*.parquet");

        using var connection = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT trade_date::VARCHAR, count(*), sum(trade_count), sum(gross_notional_usd)::VARCHAR FROM read_parquet($glob) GROUP BY trade_date ORDER BY trade_date";
        command.Parameters.Add(new DuckDB.NET.Data.DuckDBParameter("glob", glob));
        using var reader = command.ExecuteReader();
        var days = new List<string>();
        while (reader.Read())
        {
            days.Add($"{reader.GetString(0)} {reader.GetInt64(1)} {reader.GetValue(2)} {reader.GetString(3)}");
        }

        Assert.Equal(["2026-11-20 3 6 138146.0300000000", "2026-11-21 1 1 22920.0000000000"], days);
    }

    [Fact]
    public async Task Refine_Rerun_OneFilePerPartitionReplacedNotDuplicated()
    {
        await using var bed = new RefineTestBed();
        await RefineScenario.LoadAsync(bed);
        await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct);
        var first = await ListAsync(bed);

        await bed.Refiner.RefineAsync(RefineScenario.From, RefineScenario.To, Ct);
        var second = await ListAsync(bed);

        Assert.Equal(6, second.Count); // 3 days × 2 datasets
        Assert.All(second, k => Assert.EndsWith("/" + DailyRefiner.PartName, k.Key, StringComparison.Ordinal));
        Assert.Equal(first.Select(f => f.Key), second.Select(s => s.Key));
        // Byte for byte the same file: the Parquet writer is deterministic.
        Assert.Equal(first.Select(f => f.Bytes), second.Select(s => s.Bytes));
    }

    private static async Task<List<(string Key, byte[] Bytes)>> ListAsync(RefineTestBed bed)
    {
        var result = new List<(string, byte[])>();
        await foreach (var info in bed.Store.ListAsync("refine", string.Empty, Ct))
        {
            result.Add((info.Key, await bed.ReadZoneBytesAsync(info.Key)));
        }

        return result;
    }
}
