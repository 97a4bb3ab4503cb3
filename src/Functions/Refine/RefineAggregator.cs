namespace Pipeline.Functions.Refine;

/// <summary>
/// Exact (decimal) aggregation of live trades into the refine datasets for the days [From, To]. Feed every live
/// trade with trade_date ≤ To, in any order; trades before From only build the opening positions. Memory is
/// proportional to the distinct (account, ISIN) pairs and (day, counterparty) pairs, not to the trades.
/// </summary>
public sealed class RefineAggregator
{
    private readonly Dictionary<(string Account, string Isin), decimal> opening = new();
    private readonly Dictionary<DateOnly, Dictionary<string, ExposureSum>> exposures = new();
    private readonly Dictionary<DateOnly, Dictionary<(string Account, string Isin), (decimal Quantity, long Count)>> moves = new();

    public RefineAggregator(DateOnly from, DateOnly to)
    {
        if (to < from)
        {
            throw new ArgumentException($"The last day {to:yyyy-MM-dd} is before the first day {from:yyyy-MM-dd}; pass --from <= --to.", nameof(to));
        }

        From = from;
        To = to;
    }

    public DateOnly From { get; }

    public DateOnly To { get; }

    public long TradesSeen { get; private set; }

    public void Add(RefineTrade trade)
    {
        ArgumentNullException.ThrowIfNull(trade);
        if (trade.TradeDate > To)
        {
            return;
        }

        var sign = trade.Side switch
        {
            "BUY" => 1m,
            "SELL" => -1m,
            _ => throw new InvalidOperationException($"Transaction {trade.TransactionId} has side '{trade.Side}'; expected BUY or SELL. Fix the row in the warehouse (it passed validation, so the table was changed by hand)."),
        };
        TradesSeen++;
        var pair = (trade.AccountId, trade.Isin);
        var quantity = sign * trade.Quantity;
        if (trade.TradeDate < From)
        {
            opening[pair] = opening.GetValueOrDefault(pair) + quantity;
            return;
        }

        if (!exposures.TryGetValue(trade.TradeDate, out var byCounterparty))
        {
            exposures[trade.TradeDate] = byCounterparty = new Dictionary<string, ExposureSum>(StringComparer.Ordinal);
        }

        if (!byCounterparty.TryGetValue(trade.CounterpartyLei, out var sum))
        {
            byCounterparty[trade.CounterpartyLei] = sum = new ExposureSum(trade.CounterpartyName);
        }

        sum.Add(trade, sign);

        if (!moves.TryGetValue(trade.TradeDate, out var dayMoves))
        {
            moves[trade.TradeDate] = dayMoves = new Dictionary<(string, string), (decimal, long)>();
        }

        var move = dayMoves.GetValueOrDefault(pair);
        dayMoves[pair] = (move.Quantity + quantity, move.Count + 1);
    }

    /// <summary>The results of each day from <see cref="From"/> to <see cref="To"/> (every day, also empty ones), sorted.</summary>
    public IEnumerable<DayResult> Days()
    {
        var running = new Dictionary<(string Account, string Isin), decimal>(opening);
        for (var day = From; day <= To; day = day.AddDays(1))
        {
            var dayExposures = exposures.TryGetValue(day, out var byCounterparty)
                ? byCounterparty.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => e.Value.ToExposure(day, e.Key)).ToList()
                : [];

            var dayMoves = moves.GetValueOrDefault(day) ?? [];
            foreach (var (pair, move) in dayMoves)
            {
                running[pair] = running.GetValueOrDefault(pair) + move.Quantity;
            }

            // A position row exists while the position is open, and on a day the pair traded (even if it closed to 0).
            var positions = running
                .Where(p => p.Value != 0m || dayMoves.ContainsKey(p.Key))
                .OrderBy(p => p.Key.Account, StringComparer.Ordinal).ThenBy(p => p.Key.Isin, StringComparer.Ordinal)
                .Select(p =>
                {
                    var move = dayMoves.GetValueOrDefault(p.Key);
                    return new Position(day, p.Key.Account, p.Key.Isin, Normalize(p.Value), Normalize(move.Quantity), move.Count);
                })
                .ToList();

            yield return new DayResult(day, dayExposures, positions);
        }
    }

    /// <summary>Drops trailing zeros (1.50 → 1.5) so files and snapshots do not depend on the scale of the inputs.</summary>
    internal static decimal Normalize(decimal value) => value / 1.0000000000000000000000000000m;

    private sealed class ExposureSum(string name)
    {
        private string name = name;
        private long count;
        private long buys;
        private long sells;
        private decimal gross;
        private decimal net;

        public void Add(RefineTrade trade, decimal sign)
        {
            count++;
            if (sign > 0)
            {
                buys++;
            }
            else
            {
                sells++;
            }

            var notional = Math.Abs(trade.NotionalUsd);
            gross += notional;
            net += sign * notional;

            // Deterministic whatever the row order, should the directory name differ between loads.
            if (string.CompareOrdinal(trade.CounterpartyName, name) < 0)
            {
                name = trade.CounterpartyName;
            }
        }

        public CounterpartyExposure ToExposure(DateOnly day, string lei) =>
            new(day, lei, name, count, buys, sells, Normalize(gross), Normalize(net));
    }
}

public sealed record DayResult(DateOnly Day, IReadOnlyList<CounterpartyExposure> Exposures, IReadOnlyList<Position> Positions);
