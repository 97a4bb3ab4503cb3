using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Pipeline.Functions.Transactions;

/// <summary>Where an enriched record came from.</summary>
public sealed record Lineage(string SourceKey, string SourceEtag, long RecordNumber, DateTimeOffset IngestedAt);

public sealed class EnrichmentOptions
{
    public const string SectionName = "Enrichment";

    /// <summary>notional_usd at or above this sets the LARGE_NOTIONAL flag.</summary>
    public decimal LargeNotionalUsd { get; set; } = 1_000_000m;

    /// <summary>
    /// A file with at least this many valid records travels as claim checks (chunk objects in the prepare zone, one
    /// small message per chunk); a smaller file sends its records inline, one message group per account.
    /// </summary>
    public int ClaimCheckMinRecords { get; set; } = 100;

    /// <summary>Records per claim-check chunk (a load batch of 10 messages then merges up to 10 × this many).</summary>
    public int ChunkRecords { get; set; } = 1_000;
}

/// <summary>
/// The L1 business logic: a pure function of a validated record, the reference data and the options.
/// Rules: notional = quantity × price (exact); notional_usd = notional × USD-per-unit of the trade
/// date, rounded half-to-even to 2 decimals; settlement T+1 for EQUITY, T+2 otherwise, counting
/// business days (no weekends, no holidays of the calendar); unknown LEI → name and country
/// "UNKNOWN" plus the UNKNOWN_COUNTERPARTY flag; reportable when the venue is an EEA venue or the
/// counterparty's country is in the EEA.
/// </summary>
public sealed class Enricher(ReferenceData reference, EnrichmentOptions options)
{
    public const string PipelineVersion = "1.0.0";
    public const string Unknown = "UNKNOWN";

    public EnrichedTransaction Enrich(ValidTransaction t, Lineage lineage)
    {
        ArgumentNullException.ThrowIfNull(t);
        ArgumentNullException.ThrowIfNull(lineage);
        var known = reference.Leis.TryGetValue(t.CounterpartyLei, out var counterparty);
        var name = known ? counterparty!.Name : Unknown;
        var country = known ? counterparty!.Country : Unknown;
        var notionalUsd = ExactDecimal.MultiplyRounded(t.Notional, t.UsdPerUnit, 2);
        var large = notionalUsd >= options.LargeNotionalUsd;
        var watch = known && reference.WatchlistCountries.Contains(country);

        var flags = new List<string>(3);
        if (large)
        {
            flags.Add("LARGE_NOTIONAL");
        }

        if (!known)
        {
            flags.Add("UNKNOWN_COUNTERPARTY");
        }

        if (watch)
        {
            flags.Add("WATCHLIST_COUNTRY");
        }

        var content = ContentHash(
            t.TransactionId, t.Version, t.Status, t.TradeDate, t.ExecutedAt, t.AccountId, t.TraderId, t.CounterpartyLei, t.Isin, t.AssetClass, t.Side, t.Quantity, t.Price, t.Currency, t.VenueMic);
        var reasons = new List<string>(2);
        if (reference.EeaVenues.Contains(t.VenueMic))
        {
            reasons.Add("EEA_VENUE");
        }

        if (known && reference.EeaCountries.Contains(country))
        {
            reasons.Add("EEA_COUNTERPARTY");
        }

        return new EnrichedTransaction
        {
            TransactionId = t.TransactionId,
            Version = t.Version,
            Status = t.Status,
            TradeDate = t.TradeDate,
            ExecutedAt = t.ExecutedAt.ToUniversalTime(),
            AccountId = t.AccountId,
            TraderId = t.TraderId,
            CounterpartyLei = t.CounterpartyLei,
            CounterpartyName = name,
            CounterpartyCountry = country,
            Isin = t.Isin,
            AssetClass = t.AssetClass,
            Side = t.Side,
            Quantity = t.Quantity,
            Price = t.Price,
            Currency = t.Currency,
            VenueMic = t.VenueMic,
            Notional = t.Notional,
            FxRateUsd = t.UsdPerUnit,
            NotionalUsd = notionalUsd,
            SettlementDate = SettlementDate(t.TradeDate, t.AssetClass, reference.Holidays),
            Cancelled = t.Status == "CANCEL",
            FlagLargeNotional = large,
            FlagWatchlistCountry = watch,
            FlagUnknownCounterparty = !known,
            RiskFlags = string.Join(',', flags),
            Reportable = reasons.Count > 0,
            ReportableReason = string.Join(',', reasons),
            ContentHash = content,
            DedupId = DedupId(t.TransactionId, t.Version, content),
            GroupId = t.AccountId,
            SourceKey = lineage.SourceKey,
            SourceEtag = lineage.SourceEtag,
            RecordNumber = lineage.RecordNumber,
            IngestedAt = lineage.IngestedAt.ToUniversalTime(),
            PipelineVersion = PipelineVersion,
        };
    }

    /// <summary>T+1 for EQUITY, T+2 otherwise, in business days (weekends and holidays skipped).</summary>
    public static DateOnly SettlementDate(DateOnly tradeDate, string assetClass, IReadOnlySet<DateOnly> holidays)
    {
        ArgumentNullException.ThrowIfNull(holidays);
        var days = assetClass == "EQUITY" ? 1 : 2;
        var date = tradeDate;
        while (days > 0)
        {
            date = date.AddDays(1);
            if (date.DayOfWeek is not (DayOfWeek.Saturday or DayOfWeek.Sunday) && !holidays.Contains(date))
            {
                days--;
            }
        }

        return date;
    }

    /// <summary>
    /// SHA-256 (lowercase hex) of transaction_id, U+001F, version, U+001F, content hash: equal for two copies of the same
    /// content (whatever their lineage), different for two contents of one version, so FIFO deduplication never drops a
    /// conflicting copy.
    /// </summary>
    public static string DedupId(string transactionId, int version, string contentHash) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{transactionId}\u001f{version.ToString(CultureInfo.InvariantCulture)}\u001f{contentHash}")));

    /// <summary>The content hash of an enriched record, recomputed from its L0 fields (what the loader checks).</summary>
    public static string ContentHash(EnrichedTransaction t)
    {
        ArgumentNullException.ThrowIfNull(t);
        return ContentHash(t.TransactionId, t.Version, t.Status, t.TradeDate, t.ExecutedAt, t.AccountId, t.TraderId, t.CounterpartyLei, t.Isin, t.AssetClass, t.Side, t.Quantity, t.Price, t.Currency, t.VenueMic);
    }

    /// <summary>
    /// SHA-256 (lowercase hex) of the business content: the L0 fields as validated (not the enrichment, which follows
    /// from reference data, and not the lineage), canonical so that the same trade in JSON, NDJSON or CSV hashes the same:
    /// "content/v1", then each field after U+001F; dates yyyy-MM-dd, executed_at as the UTC instant
    /// (yyyy-MM-ddTHH:mm:ss.fffffffZ), decimals invariant without trailing zeros (100.0 = 100).
    /// </summary>
    public static string ContentHash(
        string transactionId, int version, string status, DateOnly tradeDate, DateTimeOffset executedAt, string accountId, string traderId,
        string counterpartyLei, string isin, string assetClass, string side, decimal quantity, decimal price, string currency, string venueMic)
    {
        var text = string.Join(
            '\u001f',
            "content/v1",
            transactionId,
            version.ToString(CultureInfo.InvariantCulture),
            status,
            tradeDate.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            executedAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture),
            accountId,
            traderId,
            counterpartyLei,
            isin,
            assetClass,
            side,
            Canonical(quantity),
            Canonical(price),
            currency,
            venueMic);
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)));
    }

    private static string Canonical(decimal value)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        return text.Contains('.', StringComparison.Ordinal) ? text.TrimEnd('0').TrimEnd('.') : text;
    }
}
