using System.Globalization;
using System.Text;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.SampleApi;

/// <summary>
/// The sample API's data: <see cref="TradesPerDay"/> valid L0 trades on each date, ordered by a strictly
/// increasing executed_at (08:00–17:00 UTC), generated from the index alone (seeded), so every run,
/// page and filter is deterministic. Counterparties come from the LEI directory and dates from the FX
/// table of the bundled reference data, so every trade enriches cleanly; every tenth is an amendment.
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

    public long Count => (long)Dates.Count * TradesPerDay;

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

    public DateTimeOffset ExecutedAt(long index)
    {
        var day = Dates[(int)(index / TradesPerDay)];
        var ms = (8 * 3_600_000L) + ((index % TradesPerDay) * spacingMs);
        return new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero).AddMilliseconds(ms);
    }

    /// <summary>The first index whose executed_at is &gt; (or ≥ when <paramref name="inclusive"/>) <paramref name="at"/>.</summary>
    public long FirstAfter(DateTimeOffset at, bool inclusive)
    {
        long lo = 0, hi = Count;
        while (lo < hi)
        {
            var mid = lo + ((hi - lo) / 2);
            var t = ExecutedAt(mid);
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

    /// <summary>Appends trade <paramref name="index"/> as one JSON object.</summary>
    public void Append(StringBuilder json, long index)
    {
        ArgumentNullException.ThrowIfNull(json);
        var random = new Random(unchecked((int)(index * 7919)));
        var dayIndex = (int)(index / TradesPerDay);
        var k = index % TradesPerDay;
        var date = Dates[dayIndex];
        var amend = k % 10 == 9;
        var id = amend ? k - 1 : k;
        var inv = CultureInfo.InvariantCulture;
        json.Append("{\"transaction_id\":\"TX-API-").Append(date.ToString("yyyyMMdd", inv)).Append('-').Append(id.ToString("D7", inv))
            .Append("\",\"version\":").Append(amend ? 2 : 1)
            .Append(",\"status\":\"").Append(amend ? "AMEND" : "NEW")
            .Append("\",\"trade_date\":\"").Append(date.ToString("yyyy-MM-dd", inv))
            .Append("\",\"executed_at\":\"").Append(ExecutedAt(index).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", inv))
            .Append("\",\"account_id\":\"ACC-").Append((id % 500).ToString("D5", inv))
            .Append("\",\"trader_id\":\"trader-").Append(random.Next(50).ToString(inv))
            .Append("\",\"counterparty_lei\":\"").Append(leis[random.Next(leis.Count)])
            .Append("\",\"isin\":\"").Append(Isins[random.Next(Isins.Length)])
            .Append("\",\"asset_class\":\"").Append(Classes[random.Next(Classes.Length)])
            .Append("\",\"side\":\"").Append(random.Next(2) == 0 ? "BUY" : "SELL")
            .Append("\",\"quantity\":\"").Append(random.Next(1, 100_000).ToString(inv))
            .Append("\",\"price\":\"").Append(random.Next(1, 500).ToString(inv)).Append('.').Append(random.Next(100).ToString("D2", inv))
            .Append("\",\"currency\":\"").Append(Currencies[random.Next(Currencies.Length)])
            .Append("\",\"venue_mic\":\"").Append(Venues[random.Next(Venues.Length)])
            .Append("\"}");
    }
}
