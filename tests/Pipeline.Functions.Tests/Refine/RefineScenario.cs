using Pipeline.Functions.Refine;
using Pipeline.Functions.Tests.Parquet;
using static Pipeline.Functions.Tests.Refine.RefineTestBed;

namespace Pipeline.Functions.Tests.Refine;

/// <summary>
/// The pinned corpus: an opening trade the day before, BUYs and SELLs, three currencies (via notional_usd),
/// amendments loaded out of order (highest version wins), a cancelled trade, sub-unit decimals (0.1 + 0.2),
/// and a position that closes to zero on the next day.
/// </summary>
internal static class RefineScenario
{
    public static readonly DateOnly From = new(2026, 11, 20);
    public static readonly DateOnly To = new(2026, 11, 22);

    public const string Apple = "US0378331005";
    public const string Siemens = "DE0007164600";
    public const string Bp = "GB0002634946";

    /// <summary>Loaded in this order, in separate merges, as separate queue batches would be.</summary>
    public static IReadOnlyList<Pipeline.Functions.Transactions.EnrichedTransaction[]> Loads { get; } =
    [
        [
            Trade("TX-0", "2026-11-19", "ACC-1", Northwind, Apple, "BUY", 100m, 10m),
            Trade("TX-1", "2026-11-20", "ACC-1", Northwind, Apple, "BUY", 50m, 189.23m),
            Trade("TX-2", "2026-11-20", "ACC-1", Contoso, Apple, "SELL", 30m, 190.5m),
            Trade("TX-3", "2026-11-20", "ACC-2", Northwind, Siemens, "BUY", 1000m, 112.34m, "EUR", 1.0842m),
            Trade("TX-4", "2026-11-20", "ACC-2", Fabrikam, Bp, "SELL", 200.5m, 4.615m, "GBP", 1.2631m, version: 3),
            Trade("TX-5", "2026-11-20", "ACC-3", Fabrikam, Siemens, "BUY", 10m, 110m, "EUR", 1.0842m),
            Trade("TX-6", "2026-11-20", "ACC-1", Contoso, Bp, "SELL", 0.1m, 4.6m, "GBP", 1.2631m),
            Trade("TX-7", "2026-11-20", "ACC-1", Contoso, Bp, "SELL", 0.2m, 4.6m, "GBP", 1.2631m),
        ],
        [
            // Older versions of TX-4 arrive after v3: they change nothing.
            Trade("TX-4", "2026-11-20", "ACC-2", Fabrikam, Bp, "BUY", 100m, 4.6m, "GBP", 1.2631m, version: 1),
            Trade("TX-4", "2026-11-20", "ACC-2", Fabrikam, Bp, "SELL", 150m, 4.6m, "GBP", 1.2631m, version: 2),
            Trade("TX-5", "2026-11-20", "ACC-3", Fabrikam, Siemens, "BUY", 10m, 110m, "EUR", 1.0842m, version: 2, status: "CANCEL"),
            Trade("TX-8", "2026-11-21", "ACC-1", Contoso, Apple, "SELL", 120m, 191m),
        ],
    ];

    public static async Task LoadAsync(RefineTestBed bed)
    {
        foreach (var load in Loads)
        {
            await bed.LoadAsync(load);
        }
    }

    public static async Task<object> ResultsAsync(RefineTestBed bed, RefineReport report)
    {
        var zone = new SortedDictionary<string, string[]>(StringComparer.Ordinal);
        var zoneTypes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (var day = report.From; day <= report.To; day = day.AddDays(1))
        {
            foreach (var key in new[] { DailyRefiner.ExposureKey(day), DailyRefiner.PositionsKey(day) })
            {
                zone[key] = (await bed.ReadZoneAsync(key)).Split('\n', StringSplitOptions.RemoveEmptyEntries);
                zoneTypes[key[..key.IndexOf('/', StringComparison.Ordinal)]] =
                    string.Join(", ", DuckDbParquet.Describe(await bed.ReadZoneBytesAsync(key)).Select(c => $"{c.Column} {c.Type}"));
            }
        }

        return new
        {
            report,
            daily_counterparty_exposure = Normalize(await bed.RowsAsync("SELECT * FROM daily_counterparty_exposure ORDER BY trade_date, counterparty_lei")),
            positions = Normalize(await bed.RowsAsync("SELECT * FROM positions ORDER BY as_of_date, account_id, isin")),
            zone,
            zone_types = zoneTypes,
        };
    }

    /// <summary>Decimals without trailing zeros (PostgreSQL returns numeric(38,10) scale), so providers compare equal.</summary>
    public static IReadOnlyList<Dictionary<string, object?>> Normalize(IReadOnlyList<Dictionary<string, object?>> rows) =>
        rows.Select(r => r.ToDictionary(kv => kv.Key, kv => kv.Value is decimal d ? d / 1.0000000000000000000000000000m : kv.Value)).ToList();
}
