using System.Collections.Immutable;
using System.Globalization;
using System.Text;
using Pipeline.Functions.Transactions;

namespace Pipeline.Cli.SampleApi;

/// <summary>A version published after the generated trades: an AMEND or CANCEL of an older trade, or a NEW trade reported late.</summary>
/// <param name="Seed">Index the record's generated fields derive from (the amended trade's, so an amendment keeps its counterparty, ISIN, …).</param>
public sealed record SampleVersion(string TransactionId, int Version, string Status, DateOnly TradeDate, DateTimeOffset ExecutedAt, DateTimeOffset UpdatedAt, long Seed, long Sequence);

/// <summary>Which records a request asks for: bounds on updated_at (incremental) or executed_at (backfill), never both.</summary>
public sealed record SampleQuery(
    DateTimeOffset? UpdatedSince = null,
    DateTimeOffset? UpdatedBefore = null,
    DateTimeOffset? ExecutedAfter = null,
    DateTimeOffset? ExecutedFrom = null,
    DateTimeOffset? ExecutedBefore = null)
{
    public bool ByExecutedAt => ExecutedAfter is not null || ExecutedFrom is not null || ExecutedBefore is not null;

    public bool ByUpdatedAt => UpdatedSince is not null || UpdatedBefore is not null;
}

/// <summary>
/// The sample API's data: <see cref="TradesPerDay"/> valid L0 trades on each date (08:00–17:00 UTC),
/// generated from the index alone (seeded), so every run, page and filter is deterministic. Counterparties
/// come from the LEI directory and dates from the FX table of the bundled reference data, so every trade
/// enriches cleanly. Every tenth generated record is version 2 (AMEND) of the trade before it: it keeps that
/// trade's executed_at and is published one slot later (its updated_at). Versions published later
/// (<see cref="AddVersion"/>, <see cref="AddTrade"/>, <see cref="AddLateChanges"/>) keep the executed_at of
/// the trade they change, carry a later updated_at, and may tie exactly with an updated_at already served.
/// Served order: by updated_at (or executed_at when filtered by it), generated records before later ones on a tie.
/// </summary>
public sealed class SampleTrades
{
    private static readonly string[] Isins = ["US0378331005", "US5949181045", "DE0007164600", "GB0002634946", "NL0010273215", "FR0000131104", "JP3633400001"];
    private static readonly string[] Currencies = ["USD", "EUR", "GBP", "JPY", "CHF"];
    private static readonly string[] Venues = ["XNAS", "XNYS", "XETR", "XPAR", "XAMS", "XLON", "XTKS"];
    private static readonly string[] Classes = ["EQUITY", "EQUITY", "BOND", "FX", "DERIVATIVE"];
    private static readonly long TradingDayMs = (long)TimeSpan.FromHours(9).TotalMilliseconds;

    private readonly IReadOnlyList<string> leis;
    private readonly long spacingMs;
    private readonly Lock gate = new();

    // Swapped whole under the gate, read without it: a request sees one consistent list.
    private ImmutableArray<SampleVersion> late = [];
    private int lateRounds;

    public SampleTrades(IReadOnlyList<DateOnly> dates, IReadOnlyList<string> leis, int tradesPerDay)
    {
        ArgumentNullException.ThrowIfNull(dates);
        ArgumentNullException.ThrowIfNull(leis);
        if (dates.Count == 0 || leis.Count == 0 || tradesPerDay < 1 || tradesPerDay > TradingDayMs)
        {
            throw new ArgumentException("The sample API needs at least one date, one LEI and 1 … 32,400,000 trades per day.");
        }

        Dates = [.. dates.Order()];
        this.leis = leis;
        TradesPerDay = tradesPerDay;
        spacingMs = TradingDayMs / tradesPerDay;
    }

    public IReadOnlyList<DateOnly> Dates { get; }

    public int TradesPerDay { get; }

    /// <summary>Generated records (indexes 0 … BaseCount − 1).</summary>
    public long BaseCount => (long)Dates.Count * TradesPerDay;

    /// <summary>Every record served: the generated ones and those published later.</summary>
    public long Count => BaseCount + late.Length;

    public IReadOnlyList<SampleVersion> LateVersions => late;

    /// <summary>The latest updated_at served (what an ingestion that saw everything holds as its cursor).</summary>
    public DateTimeOffset MaxUpdatedAt
    {
        get
        {
            var versions = late;
            var max = UpdatedAt(BaseCount - 1);
            return versions.Length > 0 && versions[^1].UpdatedAt > max ? versions[^1].UpdatedAt : max;
        }
    }

    /// <summary>Dates with FX rates and the LEIs of the bundled reference data (local/reference).</summary>
    public static SampleTrades FromReference(string referenceFolder, int tradesPerDay, DateOnly? from = null, DateOnly? to = null)
    {
        var reference = ReferenceData.Parse(ReferenceData.Keys.ToDictionary(k => k, k => File.ReadAllBytes(Path.Combine(referenceFolder, k))));
        var dates = reference.UsdPerUnit.Keys
            .Where(d => (from is null || d >= from) && (to is null || d <= to))
            .Order()
            .ToArray();
        return new SampleTrades(dates, [.. reference.Leis.Keys.Order(StringComparer.Ordinal)], tradesPerDay);
    }

    /// <summary>When generated record <paramref name="index"/> was published (strictly increasing with the index).</summary>
    public DateTimeOffset UpdatedAt(long index)
    {
        var day = Dates[(int)(index / TradesPerDay)];
        var ms = (8 * 3_600_000L) + ((index % TradesPerDay) * spacingMs);
        return new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddMilliseconds(ms);
    }

    /// <summary>When the trade of generated record <paramref name="index"/> was executed: an amendment keeps its trade's (non-decreasing with the index).</summary>
    public DateTimeOffset ExecutedAt(long index) => UpdatedAt(TradeIndex(index));

    /// <summary>
    /// Publishes the next version of the trade of generated record <paramref name="index"/> (status AMEND or
    /// CANCEL): its original executed_at and trade date, version one above its highest so far.
    /// </summary>
    public SampleVersion AddVersion(long index, string status, DateTimeOffset updatedAt)
    {
        if (status is not ("AMEND" or "CANCEL"))
        {
            throw new ArgumentException("A later version is an AMEND or a CANCEL.", nameof(status));
        }

        var trade = TradeIndex(index);
        var id = TransactionId(trade);
        lock (gate)
        {
            var highest = late.Where(v => v.TransactionId == id).Select(v => v.Version).DefaultIfEmpty(BaseVersion(trade)).Max();
            return Publish(new SampleVersion(id, highest + 1, status, Dates[(int)(trade / TradesPerDay)], UpdatedAt(trade), updatedAt, trade, late.Length));
        }
    }

    /// <summary>Publishes a NEW trade executed at <paramref name="executedAt"/> (a date of <see cref="Dates"/>) and reported at <paramref name="updatedAt"/>.</summary>
    public SampleVersion AddTrade(DateTimeOffset executedAt, DateTimeOffset updatedAt)
    {
        var date = DateOnly.FromDateTime(executedAt.UtcDateTime);
        if (!Dates.Contains(date))
        {
            throw new ArgumentException($"{date:yyyy-MM-dd} is not a date of the sample API.", nameof(executedAt));
        }

        lock (gate)
        {
            var n = late.Length;
            var id = string.Create(CultureInfo.InvariantCulture, $"TX-API-{date:yyyyMMdd}-L{n:D6}");
            return Publish(new SampleVersion(id, 1, "NEW", date, executedAt.ToUniversalTime(), updatedAt, BaseCount + n, n));
        }
    }

    /// <summary>
    /// <c>POST /admin/late-changes</c>: an AMEND and a CANCEL of two older trades (published at
    /// <paramref name="now"/>), and <paramref name="ties"/> NEW trades published at exactly the latest
    /// updated_at served so far — the cursor of an ingestion that saw everything.
    /// </summary>
    public IReadOnlyList<SampleVersion> AddLateChanges(DateTimeOffset now, int ties = 3)
    {
        lock (gate)
        {
            var tieAt = MaxUpdatedAt;
            var executedAt = UpdatedAt(BaseCount - 1);
            var round = lateRounds++;
            var added = new List<SampleVersion>();
            for (var i = 0; i < ties; i++)
            {
                added.Add(AddTrade(executedAt, tieAt));
            }

            // Two distinct live trades per round, walking the first date: amend one, cancel the other.
            var picked = 0;
            for (var step = 0L; picked < 2 && step < BaseCount; step++)
            {
                var trade = TradeIndex(((round * 20L) + 2 + (step * 3)) % BaseCount);
                var id = TransactionId(trade);
                if (late.Any(v => v.TransactionId == id && v.Status == "CANCEL") || added.Any(v => v.TransactionId == id))
                {
                    continue;
                }

                added.Add(AddVersion(trade, picked == 0 ? "AMEND" : "CANCEL", now));
                picked++;
            }

            return added;
        }
    }

    /// <summary>How many records <paramref name="query"/> selects.</summary>
    public long CountOf(SampleQuery query)
    {
        var (lo, hi, versions) = Select(query);
        return hi - lo + versions.Count;
    }

    /// <summary>Appends records <paramref name="start"/> … <paramref name="end"/> − 1 of what <paramref name="query"/> selects, as a JSON array.</summary>
    public void AppendArray(StringBuilder json, SampleQuery query, long start, long end)
    {
        ArgumentNullException.ThrowIfNull(json);
        var (lo, hi, versions) = Select(query);
        var byExecuted = query.ByExecutedAt;

        // Merged position of each later version: generated records with a key ≤ its key come first.
        var positions = new long[versions.Count];
        for (var j = 0; j < versions.Count; j++)
        {
            var key = byExecuted ? versions[j].ExecutedAt : versions[j].UpdatedAt;
            var before = Math.Clamp(FirstAfter(key, inclusive: false, byExecuted), lo, hi) - lo;
            positions[j] = before + j;
        }

        end = Math.Min(end, hi - lo + versions.Count);
        var next = 0;
        while (next < positions.Length && positions[next] < start)
        {
            next++;
        }

        json.Append('[');
        for (var p = start; p < end; p++)
        {
            if (p > start)
            {
                json.Append(',');
            }

            if (next < positions.Length && positions[next] == p)
            {
                AppendVersion(json, versions[next]);
                next++;
            }
            else
            {
                Append(json, lo + p - next);
            }
        }

        json.Append(']');
    }

    /// <summary>The first generated index whose key is &gt; (or ≥ when <paramref name="inclusive"/>) <paramref name="at"/>; the key is updated_at, or executed_at when <paramref name="byExecutedAt"/>.</summary>
    public long FirstAfter(DateTimeOffset at, bool inclusive, bool byExecutedAt = false)
    {
        long lo = 0, hi = BaseCount;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var t = byExecutedAt ? ExecutedAt(mid) : UpdatedAt(mid);
            if (inclusive ? t >= at : t > at)
            {
                hi = mid;
            }
            else
            {
                lo = mid + 1;
            }
        }

        return lo;
    }

    /// <summary>Appends generated record <paramref name="index"/> as one JSON object.</summary>
    public void Append(StringBuilder json, long index)
    {
        ArgumentNullException.ThrowIfNull(json);
        var trade = TradeIndex(index);
        var version = index == trade ? 1 : 2;
        AppendRecord(json, index, TransactionId(trade), version, version == 1 ? "NEW" : "AMEND", Dates[(int)(index / TradesPerDay)], ExecutedAt(index), UpdatedAt(index), (trade % TradesPerDay) % 500);
    }

    /// <summary>Highest generated version of a trade: 2 when the next record is its amendment.</summary>
    private int BaseVersion(long trade) => (trade % TradesPerDay) + 1 < TradesPerDay && TradeIndex(trade + 1) == trade ? 2 : 1;

    private SampleVersion Publish(SampleVersion version)
    {
        // Kept sorted by (updated_at, publication order) so pages can be cut by position.
        var list = late.Add(version);
        late = [.. list.OrderBy(v => v.UpdatedAt).ThenBy(v => v.Sequence)];
        return version;
    }

    /// <summary>Generated records and later versions selected by the query (the generated ones as an index range).</summary>
    private (long Lo, long Hi, List<SampleVersion> Late) Select(SampleQuery query)
    {
        if (query.ByExecutedAt && query.ByUpdatedAt)
        {
            throw new FormatException("filter by executed_* or by updated_*, not both");
        }

        long lo = 0, hi = BaseCount;
        var byExecuted = query.ByExecutedAt;
        void Lower(DateTimeOffset? at, bool inclusive)
        {
            if (at is { } t)
            {
                lo = Math.Max(lo, FirstAfter(t, inclusive, byExecuted));
            }
        }

        Lower(query.UpdatedSince, inclusive: true);
        Lower(query.ExecutedAfter, inclusive: false);
        Lower(query.ExecutedFrom, inclusive: true);
        if ((byExecuted ? query.ExecutedBefore : query.UpdatedBefore) is { } before)
        {
            hi = Math.Min(hi, FirstAfter(before, inclusive: true, byExecuted));
        }

        hi = Math.Max(lo, hi);
        var selected = late.Where(v =>
            (query.UpdatedSince is null || v.UpdatedAt >= query.UpdatedSince)
            && (query.UpdatedBefore is null || v.UpdatedAt < query.UpdatedBefore)
            && (query.ExecutedAfter is null || v.ExecutedAt > query.ExecutedAfter)
            && (query.ExecutedFrom is null || v.ExecutedAt >= query.ExecutedFrom)
            && (query.ExecutedBefore is null || v.ExecutedAt < query.ExecutedBefore));
        var ordered = byExecuted ? selected.OrderBy(v => v.ExecutedAt).ThenBy(v => v.UpdatedAt).ThenBy(v => v.Sequence) : selected.AsEnumerable();
        return (lo, hi, [.. ordered]);
    }

    /// <summary>The generated index of the trade a record belongs to: an amendment (every tenth) is of the record before it.</summary>
    private long TradeIndex(long index) => index % TradesPerDay % 10 == 9 ? index - 1 : index;

    private string TransactionId(long trade) =>
        string.Create(CultureInfo.InvariantCulture, $"TX-API-{Dates[(int)(trade / TradesPerDay)]:yyyyMMdd}-{trade % TradesPerDay:D7}");

    private void AppendVersion(StringBuilder json, SampleVersion v) =>
        AppendRecord(json, v.Seed, v.TransactionId, v.Version, v.Status, v.TradeDate, v.ExecutedAt, v.UpdatedAt, v.Seed % TradesPerDay % 500, priceVariant: v.Version);

    private void AppendRecord(StringBuilder json, long seed, string id, int version, string status, DateOnly date, DateTimeOffset executedAt, DateTimeOffset updatedAt, long account, int priceVariant = 0)
    {
        var random = new Random(unchecked((int)(seed * 7919)));
        var inv = CultureInfo.InvariantCulture;
        json.Append("{\"transaction_id\":\"").Append(id)
            .Append("\",\"version\":").Append(version.ToString(inv))
            .Append(",\"status\":\"").Append(status)
            .Append("\",\"trade_date\":\"").Append(date.ToString("yyyy-MM-dd", inv))
            .Append("\",\"executed_at\":\"").Append(executedAt.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", inv))
            .Append("\",\"updated_at\":\"").Append(updatedAt.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", inv))
            .Append("\",\"account_id\":\"ACC-").Append(account.ToString("D5", inv))
            .Append("\",\"trader_id\":\"trader-").Append(random.Next(50).ToString(inv))
            .Append("\",\"counterparty_lei\":\"").Append(leis[random.Next(leis.Count)])
            .Append("\",\"isin\":\"").Append(Isins[random.Next(Isins.Length)])
            .Append("\",\"asset_class\":\"").Append(Classes[random.Next(Classes.Length)])
            .Append("\",\"side\":\"").Append(random.Next(2) == 0 ? "BUY" : "SELL")
            .Append("\",\"quantity\":\"").Append(random.Next(1, 100_000).ToString(inv))
            .Append("\",\"price\":\"").Append((random.Next(1, 500) + priceVariant).ToString(inv)).Append('.').Append(random.Next(100).ToString("D2", inv))
            .Append("\",\"currency\":\"").Append(Currencies[random.Next(Currencies.Length)])
            .Append("\",\"venue_mic\":\"").Append(Venues[random.Next(Venues.Length)])
            .Append("\"}");
    }
}
