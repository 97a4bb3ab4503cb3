using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Refine;
using Pipeline.Functions.Tests.Parquet;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded;
using Pipeline.Providers.Postgres;

namespace Pipeline.Functions.Tests.Refine;

/// <summary>
/// A warehouse + object store (embedded, optionally the PostgreSQL warehouse) with the pipeline's tables, trades merged
/// the way LoadTransactions merges them (WarehouseSchema.Batches: highest version wins), and a DailyRefiner over them.
/// </summary>
internal sealed class RefineTestBed : IAsyncDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "pipeline-refine-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly ServiceProvider services;

    public RefineTestBed(string? postgresConnectionString = null, int pageSize = 50_000)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Embedded:DataRoot"] = root,
            ["Zones:Raw"] = "raw",
            ["Zones:Prepare"] = "prepare",
            ["Zones:Refine"] = "refine",
            ["Zones:Quarantine"] = "quarantine",
            ["Zones:Reference"] = "reference",
            ["Queues:Enriched"] = "transactions-enriched.fifo",
            ["Refine:PageSize"] = pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        if (postgresConnectionString is not null)
        {
            settings["Postgres:ConnectionString"] = postgresConnectionString;
            settings["Postgres:Schema"] = "refine_" + Guid.NewGuid().ToString("N")[..12];
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var collection = new ServiceCollection();
        collection.AddSingleton<IConfiguration>(configuration);
        collection.AddLogging();
        collection.AddEmbeddedProviders(configuration);
        if (postgresConnectionString is not null)
        {
            collection.AddPostgresWarehouse(configuration);
        }

        PipelineServices.Add(collection, configuration);
        services = collection.BuildServiceProvider();
    }

    /// <summary>The embedded data root: objects live under <c>objects/&lt;zone&gt;/&lt;key&gt;</c>.</summary>
    public string DataRoot => root;

    public IWarehouse Warehouse => services.GetRequiredService<IWarehouse>();

    public IObjectStore Store => services.GetRequiredService<IObjectStore>();

    public DailyRefiner Refiner => services.GetRequiredService<DailyRefiner>();

    public async Task LoadAsync(params EnrichedTransaction[] trades)
    {
        foreach (var table in WarehouseSchema.All)
        {
            await Warehouse.EnsureTableAsync(table, TestContext.Current.CancellationToken);
        }

        await Warehouse.MergeAsync(WarehouseSchema.Batches(trades), TestContext.Current.CancellationToken);
    }

    /// <summary>The refine object's bytes (Parquet).</summary>
    public async Task<byte[]> ReadZoneBytesAsync(string key)
    {
        await using var stream = await Store.OpenReadAsync("refine", key, TestContext.Current.CancellationToken);
        using var copy = new MemoryStream();
        await stream.CopyToAsync(copy, TestContext.Current.CancellationToken);
        return copy.ToArray();
    }

    /// <summary>
    /// The refine object's rows as read by DuckDB, one line each: <c>column=value</c> pairs, every value as DuckDB's
    /// VARCHAR cast (exact decimal text at scale 10, ISO dates); empty for a partition without rows.
    /// </summary>
    public async Task<string> ReadZoneAsync(string key)
    {
        var bytes = await ReadZoneBytesAsync(key);
        var columns = DuckDbParquet.Describe(bytes).Select(c => c.Column).ToArray();
        return string.Concat(DuckDbParquet.Rows(bytes).Select(row => string.Join(", ", columns.Select((c, i) => $"{c}={row[i]}")) + "\n"));
    }

    public async Task<IReadOnlyList<Dictionary<string, object?>>> RowsAsync(string sql)
    {
        var result = await Warehouse.QueryAsync(sql, null, TestContext.Current.CancellationToken);
        return result.Rows.Select(r => result.Columns.Select((c, i) => (c, v: r[i])).ToDictionary(x => x.c, x => x.v)).ToList();
    }

    public async ValueTask DisposeAsync()
    {
        await services.DisposeAsync();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    /// <summary>An enriched trade with the fields refining reads set, the rest plausible constants.</summary>
    public static EnrichedTransaction Trade(
        string id,
        string date,
        string account,
        string lei,
        string isin,
        string side,
        decimal quantity,
        decimal price,
        string currency = "USD",
        decimal fxRateUsd = 1m,
        int version = 1,
        string? status = null)
    {
        var tradeDate = DateOnly.Parse(date, System.Globalization.CultureInfo.InvariantCulture);
        var notional = quantity * price;
        status ??= version == 1 ? "NEW" : "AMEND";
        return new EnrichedTransaction
        {
            TransactionId = id,
            Version = version,
            Status = status,
            TradeDate = tradeDate,
            ExecutedAt = new DateTimeOffset(tradeDate.ToDateTime(new TimeOnly(14, 0)), TimeSpan.Zero),
            AccountId = account,
            TraderId = "trader-1",
            CounterpartyLei = lei,
            CounterpartyName = Names.GetValueOrDefault(lei, "UNKNOWN"),
            CounterpartyCountry = "DE",
            Isin = isin,
            AssetClass = "EQUITY",
            Side = side,
            Quantity = quantity,
            Price = price,
            Currency = currency,
            VenueMic = "XETR",
            Notional = notional,
            FxRateUsd = fxRateUsd,
            NotionalUsd = Math.Round(notional * fxRateUsd, 2, MidpointRounding.ToEven),
            SettlementDate = tradeDate.AddDays(1),
            Cancelled = status == "CANCEL",
            FlagLargeNotional = false,
            FlagWatchlistCountry = false,
            FlagUnknownCounterparty = !Names.ContainsKey(lei),
            RiskFlags = string.Empty,
            Reportable = false,
            ReportableReason = "none",
            ContentHash = id + "-" + version,
            DedupId = id + "-" + version,
            GroupId = "g",
            SourceKey = "transactions/test.json",
            SourceEtag = "etag",
            RecordNumber = 1,
            IngestedAt = new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero),
            PipelineVersion = "test",
        };
    }

    public const string Northwind = "5493001KJTIIGC8Y1R12";
    public const string Contoso = "213800D1EI4B9WTWWD28";
    public const string Fabrikam = "529900T8BM49AURSDO55";

    private static readonly Dictionary<string, string> Names = new()
    {
        [Northwind] = "Northwind Securities AG",
        [Contoso] = "Contoso Bank plc",
        [Fabrikam] = "Fabrikam Capital SA",
    };
}
