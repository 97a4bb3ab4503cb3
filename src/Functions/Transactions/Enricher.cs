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

    /// <summary>
    /// How long loaded reference data is used without asking the store whether it changed (one HEAD per document
    /// after that, a reload only when an ETag differs). Zero checks on every invocation.
    /// </summary>
    public TimeSpan ReferenceRefreshInterval { get; set; } = TimeSpan.FromMinutes(1);
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

    // Every combination of flags (and of reasons) joined once, in their fixed order: no list or join per record.
    private static readonly string[] RiskFlagTexts = Combinations("LARGE_NOTIONAL", "UNKNOWN_COUNTERPARTY", "WATCHLIST_COUNTRY");
    private static readonly string[] ReasonTexts = Combinations("EEA_VENUE", "EEA_COUNTERPARTY");

    /// <summary>Enriches a result of <see cref="TransactionValidator.Validate"/> (null is refused, as any null argument).</summary>
    public EnrichedTransaction Enrich(ValidTransaction? t, Lineage lineage) =>
        t is { } valid ? Enrich(in valid, lineage) : throw new ArgumentNullException(nameof(t));

    public EnrichedTransaction Enrich(in ValidTransaction t, Lineage lineage)
    {
        ArgumentNullException.ThrowIfNull(lineage);
        return Enrich(in t, lineage.SourceKey, lineage.SourceEtag, lineage.RecordNumber, lineage.IngestedAt);
    }

    /// <summary>As <see cref="Enrich(in ValidTransaction, Lineage)"/>, with the lineage's parts (no object per record).</summary>
    public EnrichedTransaction Enrich(in ValidTransaction t, string sourceKey, string sourceEtag, long recordNumber, DateTimeOffset ingestedAt)
    {
        ArgumentNullException.ThrowIfNull(sourceKey);
        ArgumentNullException.ThrowIfNull(sourceEtag);
        var known = reference.Leis.TryGetValue(t.CounterpartyLei, out var counterparty);
        var name = known ? counterparty!.Name : Unknown;
        var country = known ? counterparty!.Country : Unknown;
        var notionalUsd = ExactDecimal.MultiplyRounded(t.Notional, t.UsdPerUnit, 2);
        var large = notionalUsd >= options.LargeNotionalUsd;
        var watch = known && reference.WatchlistCountries.Contains(country);

        var content = ContentHash(
            t.TransactionId, t.Version, t.Status, t.TradeDate, t.ExecutedAt, t.AccountId, t.TraderId, t.CounterpartyLei, t.Isin, t.AssetClass, t.Side, t.Quantity, t.Price, t.Currency, t.VenueMic);
        var eeaVenue = reference.EeaVenues.Contains(t.VenueMic);
        var eeaCounterparty = known && reference.EeaCountries.Contains(country);

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
            RiskFlags = RiskFlagTexts[(large ? 4 : 0) + (known ? 0 : 2) + (watch ? 1 : 0)],
            Reportable = eeaVenue || eeaCounterparty,
            ReportableReason = ReasonTexts[(eeaVenue ? 2 : 0) + (eeaCounterparty ? 1 : 0)],
            ContentHash = content,
            DedupId = DedupId(t.TransactionId, t.Version, content),
            GroupId = t.AccountId,
            SourceKey = sourceKey,
            SourceEtag = sourceEtag,
            RecordNumber = recordNumber,
            IngestedAt = ingestedAt.ToUniversalTime(),
            PipelineVersion = PipelineVersion,
        };
    }

    /// <summary>Index i (bit k, from the highest, set = the k-th name present) → the present names joined by ','.</summary>
    private static string[] Combinations(params string[] names)
    {
        var texts = new string[1 << names.Length];
        for (var i = 0; i < texts.Length; i++)
        {
            texts[i] = string.Join(',', names.Where((_, k) => (i & (1 << (names.Length - 1 - k))) != 0));
        }

        return texts;
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
    public static string DedupId(string transactionId, int version, string contentHash)
    {
        ArgumentNullException.ThrowIfNull(transactionId);
        ArgumentNullException.ThrowIfNull(contentHash);
        var writer = DedupInput(transactionId, version, contentHash);
        try
        {
            return writer.Sha256Hex();
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>Whether <paramref name="dedupId"/> is <see cref="DedupId"/> of the values, without making the hex string.</summary>
    public static bool DedupIdMatches(string transactionId, int version, string contentHash, string? dedupId)
    {
        ArgumentNullException.ThrowIfNull(transactionId);
        ArgumentNullException.ThrowIfNull(contentHash);
        var writer = DedupInput(transactionId, version, contentHash);
        try
        {
            return writer.Sha256HexEquals(dedupId);
        }
        finally
        {
            writer.Dispose();
        }
    }

    /// <summary>Whether the record's content_hash is <see cref="ContentHash(EnrichedTransaction)"/>, without making the hex string.</summary>
    public static bool ContentHashMatches(EnrichedTransaction t)
    {
        ArgumentNullException.ThrowIfNull(t);
        var writer = ContentInput(t.TransactionId, t.Version, t.Status, t.TradeDate, t.ExecutedAt, t.AccountId, t.TraderId, t.CounterpartyLei, t.Isin, t.AssetClass, t.Side, t.Quantity, t.Price, t.Currency, t.VenueMic);
        try
        {
            return writer.Sha256HexEquals(t.ContentHash);
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static HashInput DedupInput(string transactionId, int version, string contentHash)
    {
        var writer = new HashInput(transactionId.Length + contentHash.Length);
        writer.Text(transactionId);
        writer.Separator();
        writer.Number(version);
        writer.Separator();
        writer.Text(contentHash);
        return writer;
    }

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
        var writer = ContentInput(transactionId, version, status, tradeDate, executedAt, accountId, traderId, counterpartyLei, isin, assetClass, side, quantity, price, currency, venueMic);
        try
        {
            return writer.Sha256Hex();
        }
        finally
        {
            writer.Dispose();
        }
    }

    private static HashInput ContentInput(
        string transactionId, int version, string status, DateOnly tradeDate, DateTimeOffset executedAt, string accountId, string traderId,
        string counterpartyLei, string isin, string assetClass, string side, decimal quantity, decimal price, string currency, string venueMic)
    {
        // Written as UTF-8 straight into a pooled buffer and hashed there: one string per record (the hex), not twenty.
        var writer = new HashInput(transactionId.Length + status.Length + accountId.Length + traderId.Length + counterpartyLei.Length
            + isin.Length + assetClass.Length + side.Length + currency.Length + venueMic.Length);
        try
        {
            writer.Text("content/v1");
            writer.Separator();
            writer.Text(transactionId);
            writer.Separator();
            writer.Number(version);
            writer.Separator();
            writer.Text(status);
            writer.Separator();
            writer.Formatted(tradeDate, "yyyy-MM-dd");
            writer.Separator();
            writer.Formatted(executedAt.UtcDateTime, "yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'");
            foreach (var text in (ReadOnlySpan<string>)[accountId, traderId, counterpartyLei, isin, assetClass, side])
            {
                writer.Separator();
                writer.Text(text);
            }

            writer.Separator();
            writer.Decimal(quantity);
            writer.Separator();
            writer.Decimal(price);
            writer.Separator();
            writer.Text(currency);
            writer.Separator();
            writer.Text(venueMic);
            return writer;
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <summary>UTF-8 hash input in a pooled buffer (U+001F separators, invariant formats), hashed without copies.</summary>
    private struct HashInput(int textLength) : IDisposable
    {
        private byte[] buffer = System.Buffers.ArrayPool<byte>.Shared.Rent((textLength * 3) + 256);
        private int length;

        public void Separator()
        {
            Ensure(1)[0] = 0x1F;
            length++;
        }

        public void Text(string value)
        {
            length += Encoding.UTF8.GetBytes(value, Ensure(Encoding.UTF8.GetMaxByteCount(value.Length)));
        }

        public void Number(int value)
        {
            value.TryFormat(Ensure(11), out var written, default, CultureInfo.InvariantCulture);
            length += written;
        }

        public void Formatted<T>(T value, string format)
            where T : IUtf8SpanFormattable
        {
            value.TryFormat(Ensure(64), out var written, format, CultureInfo.InvariantCulture);
            length += written;
        }

        /// <summary>Invariant, without trailing zeros (100.0 and 100 are one value).</summary>
        public void Decimal(decimal value)
        {
            var span = Ensure(64);
            value.TryFormat(span, out var written, default, CultureInfo.InvariantCulture);
            if (span[..written].Contains((byte)'.'))
            {
                while (span[written - 1] == (byte)'0')
                {
                    written--;
                }

                if (span[written - 1] == (byte)'.')
                {
                    written--;
                }
            }

            length += written;
        }

        public readonly string Sha256Hex()
        {
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, length), hash);
            return Convert.ToHexStringLower(hash);
        }

        /// <summary>Compares the lowercase hex of the hash with <paramref name="expected"/> on the stack.</summary>
        public readonly bool Sha256HexEquals(string? expected)
        {
            if (expected is not { Length: SHA256.HashSizeInBytes * 2 })
            {
                return false;
            }

            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer.AsSpan(0, length), hash);
            Span<char> hex = stackalloc char[SHA256.HashSizeInBytes * 2];
            return Convert.TryToHexStringLower(hash, hex, out _) && hex.SequenceEqual(expected);
        }

        public void Dispose()
        {
            System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
        }

        private Span<byte> Ensure(int bytes)
        {
            if (length + bytes > buffer.Length)
            {
                var larger = System.Buffers.ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, length + bytes));
                buffer.AsSpan(0, length).CopyTo(larger);
                System.Buffers.ArrayPool<byte>.Shared.Return(buffer);
                buffer = larger;
            }

            return buffer.AsSpan(length, bytes);
        }
    }
}
