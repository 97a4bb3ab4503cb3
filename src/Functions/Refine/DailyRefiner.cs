using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Refine;

/// <summary>
/// Refines days [from, to]: reads the live trades from the warehouse's <c>transactions</c> table in keyset pages
/// (portable SQL: SQLite, PostgreSQL, Redshift), aggregates them exactly in C# (<see cref="RefineAggregator"/>),
/// then per day writes the two datasets to the refine zone (Parquet, <see cref="RefineParquet"/>) and replaces that day's rows in the warehouse tables
/// in one merge transaction. Idempotent: the same warehouse gives the same objects and rows.
/// </summary>
/// <remarks>
/// Live trade = the row of <c>transactions</c> (which holds only the highest version of each transaction_id) whose
/// <c>cancelled</c> is false, i.e. its current status is NEW or AMEND. A CANCEL (a higher version with status CANCEL)
/// removes the trade from every result; an AMEND counts with its amended values, on its amended trade date.
/// The SQL aggregates nothing: SQLite keeps decimals as text and would sum them as binary floating point.
/// </remarks>
public sealed class DailyRefiner(IWarehouse warehouse, IObjectStore store, PipelineSettings settings, IOptions<RefineOptions> options, ILogger<DailyRefiner> logger)
{
    public const string ExposurePrefix = "daily_counterparty_exposure/trade_date=";
    public const string PositionsPrefix = "positions/as_of_date=";
    public const string PartName = "part-0.parquet";

    private const string ReadTemplate = "Refine {From}..{To}: read {Trades} live trades (trade_date up to the last day) in {Pages} pages";
    private const string DayTemplate = "Refined {Day}: {Exposures} counterparty rows, {Positions} position rows";

    // The first page has no "after" condition: Redshift Data API parameter values must not be empty.
    private const string FirstPageSql =
        "SELECT transaction_id, trade_date, counterparty_lei, counterparty_name, account_id, isin, side, quantity, notional_usd "
        + "FROM transactions WHERE cancelled = @cancelled AND trade_date <= @to "
        + "ORDER BY transaction_id LIMIT ";

    private const string NextPageSql =
        "SELECT transaction_id, trade_date, counterparty_lei, counterparty_name, account_id, isin, side, quantity, notional_usd "
        + "FROM transactions WHERE cancelled = @cancelled AND trade_date <= @to AND transaction_id > @after "
        + "ORDER BY transaction_id LIMIT ";

    private readonly SemaphoreSlim tablesGate = new(1, 1);
    private bool tablesEnsured;

    /// <summary>Object key of a day's counterparty exposure in the refine zone.</summary>
    public static string ExposureKey(DateOnly day) => $"{ExposurePrefix}{day:yyyy-MM-dd}/{PartName}";

    /// <summary>Object key of a day's positions in the refine zone.</summary>
    public static string PositionsKey(DateOnly day) => $"{PositionsPrefix}{day:yyyy-MM-dd}/{PartName}";

    /// <summary>The days the timer refreshes for a scheduled time: the <c>LookbackDays</c> days ending yesterday (UTC).</summary>
    public static (DateOnly From, DateOnly To) ScheduledDays(DateTimeOffset scheduledTime, int lookbackDays)
    {
        var yesterday = DateOnly.FromDateTime(scheduledTime.UtcDateTime).AddDays(-1);
        return (yesterday.AddDays(1 - Math.Max(1, lookbackDays)), yesterday);
    }

    public Task<RefineReport> RefineAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken = default) =>
        RefineAsync(from, to, null, cancellationToken);

    /// <summary>As above, counting trades read and days written into <paramref name="progress"/> for a live progress line.</summary>
    public async Task<RefineReport> RefineAsync(DateOnly from, DateOnly to, RefineProgress? progress, CancellationToken cancellationToken = default)
    {
        var problem = options.Value.Validate();
        if (problem is not null)
        {
            throw new InvalidOperationException(problem);
        }

        settings.RequireRefineZone();
        var aggregator = new RefineAggregator(from, to);
        await EnsureTablesAsync(cancellationToken);
        var pages = await ReadAsync(aggregator, progress, cancellationToken);
        logger.LogInformation(ReadTemplate, from, to, aggregator.TradesSeen, pages);

        var days = new List<RefinedDay>();
        foreach (var day in aggregator.Days())
        {
            await WriteAsync(ExposureKey(day.Day), RefineParquet.ExposuresAsync(day.Exposures, cancellationToken), cancellationToken);
            await WriteAsync(PositionsKey(day.Day), RefineParquet.PositionsAsync(day.Positions, cancellationToken), cancellationToken);
            await warehouse.MergeAsync(RefineSchema.DayBatches(day.Day, day.Exposures, day.Positions), cancellationToken);
            logger.LogInformation(DayTemplate, day.Day, day.Exposures.Count, day.Positions.Count);
            days.Add(new RefinedDay(day.Day, day.Exposures.Count, day.Exposures.Sum(e => e.TradeCount), day.Positions.Count));
            progress?.DayWritten();
        }

        return new RefineReport(from, to, aggregator.TradesSeen, pages, days);
    }

    private async Task EnsureTablesAsync(CancellationToken cancellationToken)
    {
        if (tablesEnsured)
        {
            return;
        }

        await tablesGate.WaitAsync(cancellationToken);
        try
        {
            // transactions too: refining an empty warehouse gives empty days, not a "no such table" error.
            foreach (var table in WarehouseSchema.All.Concat(RefineSchema.All))
            {
                await warehouse.EnsureTableAsync(table, cancellationToken);
            }

            tablesEnsured = true;
        }
        finally
        {
            tablesGate.Release();
        }
    }

    private async Task<int> ReadAsync(RefineAggregator aggregator, RefineProgress? progress, CancellationToken cancellationToken)
    {
        var pageSize = options.Value.PageSize;
        var limit = pageSize.ToString(CultureInfo.InvariantCulture);
        string? after = null;
        var pages = 0;
        while (true)
        {
            var parameters = new Dictionary<string, object?> { ["cancelled"] = false, ["to"] = aggregator.To };
            if (after is not null)
            {
                parameters["after"] = after;
            }

            var page = await warehouse.QueryAsync(after is null ? FirstPageSql + limit : NextPageSql + limit, parameters, cancellationToken);
            pages++;
            foreach (var row in page.Rows)
            {
                aggregator.Add(new RefineTrade(
                    Text(row[0]), Date(row[1]), Text(row[2]), Text(row[3]), Text(row[4]), Text(row[5]), Text(row[6]), Dec(row[7]), Dec(row[8])));
            }

            progress?.TradesRead(page.Rows.Count);
            if (page.Rows.Count < pageSize)
            {
                return pages;
            }

            after = Text(page.Rows[^1][0]);
        }
    }

    private async Task WriteAsync(string key, Task<byte[]> content, CancellationToken cancellationToken)
    {
        // One Parquet file per partition under a fixed name: a re-run replaces it. A day's file is small (one row per
        // counterparty or position), so it is built in memory.
        using var body = new MemoryStream(await content, writable: false);
        await store.PutAsync(settings.RequireRefineZone(), key, body, new PutOptions { ContentType = RefineParquet.ContentType }, cancellationToken);
    }

    private static string Text(object? value) => value as string ?? Convert.ToString(value, CultureInfo.InvariantCulture) ?? string.Empty;

    private static DateOnly Date(object? value) => value switch
    {
        DateOnly d => d,
        DateTime t => DateOnly.FromDateTime(t),
        string s => DateOnly.ParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"transactions.trade_date came back as {value?.GetType().Name ?? "null"}; expected a date."),
    };

    private static decimal Dec(object? value) => value switch
    {
        decimal d => d,
        long l => l,
        string s => decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture),
        _ => throw new InvalidOperationException($"A decimal column of transactions came back as {value?.GetType().Name ?? "null"}; expected an exact decimal (never floating point)."),
    };
}

public sealed record RefinedDay(DateOnly Day, int CounterpartyRows, long Trades, int PositionRows);

public sealed record RefineReport(DateOnly From, DateOnly To, long TradesRead, int Pages, IReadOnlyList<RefinedDay> Days);
