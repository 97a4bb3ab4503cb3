using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Refine;

/// <summary>
/// The refine (gold) tables. Both are day-partitioned and written with <see cref="MergeBatch.ReplaceWhere"/> on the
/// day column, so refining a day again replaces that day's rows exactly (a counterparty or position that no longer
/// exists for the day disappears). No timestamps in the rows: the same warehouse gives the same rows.
/// </summary>
public static class RefineSchema
{
    /// <summary>Per trade date and counterparty: trades, gross (Σ|notional_usd|) and net (BUY +, SELL −) notional in USD.</summary>
    public static TableDefinition DailyCounterpartyExposure { get; } = new(
        "daily_counterparty_exposure",
        [
            new("trade_date", ColumnType.Date),
            new("counterparty_lei", ColumnType.Text),
            new("counterparty_name", ColumnType.Text),
            new("trade_count", ColumnType.Integer),
            new("buy_count", ColumnType.Integer),
            new("sell_count", ColumnType.Integer),
            new("gross_notional_usd", ColumnType.Decimal),
            new("net_notional_usd", ColumnType.Decimal),
        ],
        ["trade_date", "counterparty_lei"]);

    /// <summary>
    /// Per as-of date, account and ISIN: net_quantity = signed quantity (BUY +, SELL −) of every live trade with
    /// trade_date ≤ as_of_date (cumulative); day_net_quantity and day_trade_count = the trades of that date only.
    /// </summary>
    public static TableDefinition Positions { get; } = new(
        "positions",
        [
            new("as_of_date", ColumnType.Date),
            new("account_id", ColumnType.Text),
            new("isin", ColumnType.Text),
            new("net_quantity", ColumnType.Decimal),
            new("day_net_quantity", ColumnType.Decimal),
            new("day_trade_count", ColumnType.Integer),
        ],
        ["as_of_date", "account_id", "isin"]);

    public static IReadOnlyList<TableDefinition> All { get; } = [DailyCounterpartyExposure, Positions];

    public static object?[] Row(CounterpartyExposure e)
    {
        ArgumentNullException.ThrowIfNull(e);
        return [e.TradeDate, e.CounterpartyLei, e.CounterpartyName, e.TradeCount, e.BuyCount, e.SellCount, e.GrossNotionalUsd, e.NetNotionalUsd];
    }

    public static object?[] Row(Position p)
    {
        ArgumentNullException.ThrowIfNull(p);
        return [p.AsOfDate, p.AccountId, p.Isin, p.NetQuantity, p.DayNetQuantity, p.DayTradeCount];
    }

    /// <summary>The two merge batches that replace one day's results (empty lists clear the day).</summary>
    public static IReadOnlyList<MergeBatch> DayBatches(DateOnly day, IReadOnlyList<CounterpartyExposure> exposures, IReadOnlyList<Position> positions)
    {
        ArgumentNullException.ThrowIfNull(exposures);
        ArgumentNullException.ThrowIfNull(positions);
        return
        [
            new MergeBatch(DailyCounterpartyExposure, exposures.Select(Row).ToList()) { ReplaceWhere = new Dictionary<string, object?> { ["trade_date"] = day } },
            new MergeBatch(Positions, positions.Select(Row).ToList()) { ReplaceWhere = new Dictionary<string, object?> { ["as_of_date"] = day } },
        ];
    }
}

public sealed record CounterpartyExposure(
    DateOnly TradeDate,
    string CounterpartyLei,
    string CounterpartyName,
    long TradeCount,
    long BuyCount,
    long SellCount,
    decimal GrossNotionalUsd,
    decimal NetNotionalUsd);

public sealed record Position(DateOnly AsOfDate, string AccountId, string Isin, decimal NetQuantity, decimal DayNetQuantity, long DayTradeCount);

/// <summary>The fields of a current, live <c>transactions</c> row that refining needs.</summary>
public sealed record RefineTrade(
    string TransactionId,
    DateOnly TradeDate,
    string CounterpartyLei,
    string CounterpartyName,
    string AccountId,
    string Isin,
    string Side,
    decimal Quantity,
    decimal NotionalUsd);
