using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Parquet;
using Parquet.Schema;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Transactions;

/// <summary>
/// The claim-check chunk as Parquet (zstd, one row group): one column per <see cref="EnrichedTransaction"/> field, named
/// as in JSON (snake_case), all REQUIRED. Decimals DECIMAL(38,10) (the warehouse domain), dates DATE, timestamps
/// TIMESTAMP(MICROS, UTC). TIMESTAMP has no unit of 100 ns that covers years 1–9999 (NANOS ends in 2262), so the
/// tenths of a microsecond that validation accepts travel in <c>executed_at_100ns</c> / <c>ingested_at_100ns</c> (0–9):
/// every accepted value round-trips exactly; decimals come back without trailing zeros (1.50 → 1.5, equal). The bytes
/// are encoded and decoded by <see cref="ParquetChunkCodec"/> (no objects per value); chunks that Parquet.Net wrote
/// before still read.
/// </summary>
/// <remarks>
/// Parquet carries no checksum of its own here (no page CRCs are written, zstd frames carry no checksum), so the
/// footer holds <c>pipeline.content_sha256</c>: SHA-256 of the records' canonical binary form (<see cref="ContentSha256"/>),
/// recomputed from the decoded values on read. A flipped byte that still decodes therefore cannot pass as data. It is
/// a property of the chunk, not of the claim check: a re-run that rewrites the chunk (new ingested_at) leaves messages
/// still in flight valid, as before.
/// </remarks>
public static class ParquetChunkFormat
{
    public const string ContentType = "application/vnd.apache.parquet";

    public const string SchemaKey = "pipeline.schema";
    public const string SourceKeyKey = "pipeline.source_key";
    public const string SourceEtagKey = "pipeline.source_etag";
    public const string ChunkKey = "pipeline.chunk";
    public const string RecordsKey = "pipeline.records";
    public const string RecordsSha256Key = "pipeline.records_sha256";
    public const string ContentSha256Key = "pipeline.content_sha256";

    private static readonly byte[] Magic = "PAR1"u8.ToArray();

    private static DecimalDataField Dec(string name) => new(name, WarehouseDomain.DecimalPrecision, WarehouseDomain.DecimalScale, forceByteArrayEncoding: false, isNullable: false);

    private static DateTimeDataField Time(string name) => new(name, DateTimeFormat.Timestamp, isAdjustedToUTC: true, unit: DateTimeTimeUnit.Micros, isNullable: false);

    private static DataField<string> Text(string name) => new(name, nullable: false);

    private static DataField<T> Field<T>(string name) => new(name, nullable: false);

    private static readonly DataField TransactionId = Text("transaction_id");
    private static readonly DataField Version = Field<int>("version");
    private static readonly DataField Status = Text("status");
    private static readonly DataField TradeDate = Field<DateOnly>("trade_date");
    private static readonly DataField ExecutedAt = Time("executed_at");
    private static readonly DataField ExecutedAt100ns = Field<int>("executed_at_100ns");
    private static readonly DataField AccountId = Text("account_id");
    private static readonly DataField TraderId = Text("trader_id");
    private static readonly DataField CounterpartyLei = Text("counterparty_lei");
    private static readonly DataField CounterpartyName = Text("counterparty_name");
    private static readonly DataField CounterpartyCountry = Text("counterparty_country");
    private static readonly DataField Isin = Text("isin");
    private static readonly DataField AssetClass = Text("asset_class");
    private static readonly DataField Side = Text("side");
    private static readonly DataField Quantity = Dec("quantity");
    private static readonly DataField Price = Dec("price");
    private static readonly DataField Currency = Text("currency");
    private static readonly DataField VenueMic = Text("venue_mic");
    private static readonly DataField Notional = Dec("notional");
    private static readonly DataField FxRateUsd = Dec("fx_rate_usd");
    private static readonly DataField NotionalUsd = Dec("notional_usd");
    private static readonly DataField SettlementDate = Field<DateOnly>("settlement_date");
    private static readonly DataField Cancelled = Field<bool>("cancelled");
    private static readonly DataField FlagLargeNotional = Field<bool>("flag_large_notional");
    private static readonly DataField FlagWatchlistCountry = Field<bool>("flag_watchlist_country");
    private static readonly DataField FlagUnknownCounterparty = Field<bool>("flag_unknown_counterparty");
    private static readonly DataField RiskFlags = Text("risk_flags");
    private static readonly DataField Reportable = Field<bool>("reportable");
    private static readonly DataField ReportableReason = Text("reportable_reason");
    private static readonly DataField ContentHash = Text("content_hash");
    private static readonly DataField DedupId = Text("dedup_id");
    private static readonly DataField GroupId = Text("group_id");
    private static readonly DataField SourceKey = Text("source_key");
    private static readonly DataField SourceEtag = Text("source_etag");
    private static readonly DataField RecordNumber = Field<long>("record_number");
    private static readonly DataField IngestedAt = Time("ingested_at");
    private static readonly DataField IngestedAt100ns = Field<int>("ingested_at_100ns");
    private static readonly DataField PipelineVersion = Text("pipeline_version");

    /// <summary>The chunk's Parquet schema, in column order, as Parquet.Net declares it (for readers of the chunks; <see cref="ParquetChunkCodec.Columns"/> writes the same).</summary>
    public static ParquetSchema Schema { get; } = new(
        TransactionId, Version, Status, TradeDate, ExecutedAt, ExecutedAt100ns, AccountId, TraderId, CounterpartyLei, CounterpartyName,
        CounterpartyCountry, Isin, AssetClass, Side, Quantity, Price, Currency, VenueMic, Notional, FxRateUsd, NotionalUsd, SettlementDate,
        Cancelled, FlagLargeNotional, FlagWatchlistCountry, FlagUnknownCounterparty, RiskFlags, Reportable, ReportableReason, ContentHash,
        DedupId, GroupId, SourceKey, SourceEtag, RecordNumber, IngestedAt, IngestedAt100ns, PipelineVersion);

    /// <summary>Writes the records as one row group; <paramref name="metadata"/> goes into the footer beside the content checksum.</summary>
    /// <exception cref="ArgumentException">When a decimal is outside numeric(38,10): it would not round-trip.</exception>
    public static Task<byte[]> WriteAsync(IReadOnlyList<EnrichedTransaction> records, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        ArgumentNullException.ThrowIfNull(metadata);
        foreach (var r in records)
        {
            foreach (var value in (ReadOnlySpan<decimal>)[r.Quantity, r.Price, r.Notional, r.FxRateUsd, r.NotionalUsd])
            {
                if (WarehouseDomain.DecimalProblem(value) is { } problem)
                {
                    throw new ArgumentException($"Record {r.TransactionId} v{r.Version}: a decimal with {problem} does not fit DECIMAL(38,10).", nameof(records));
                }
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var footer = new Dictionary<string, string>(metadata, StringComparer.Ordinal) { [ContentSha256Key] = ContentSha256(records) };
        return Task.FromResult(ParquetChunkCodec.Write(records, footer));
    }

    /// <summary>
    /// Reads a chunk written by <see cref="WriteAsync"/> (or by the Parquet.Net writer before it): the records and the
    /// footer's metadata, after checking the Parquet framing, the columns and the content checksum.
    /// </summary>
    /// <exception cref="InvalidDataException">What is wrong, in words (truncated, not Parquet, unexpected columns, content checksum differs…).</exception>
    public static async Task<(List<EnrichedTransaction> Records, IReadOnlyDictionary<string, string> Metadata)> ReadAsync(Stream content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        var buffer = ArrayPool<byte>.Shared.Rent(content.CanSeek ? (int)Math.Clamp(content.Length - content.Position, 1, int.MaxValue) : 64 * 1024);
        try
        {
            var length = 0;
            while (true)
            {
                if (length == buffer.Length)
                {
                    var bigger = ArrayPool<byte>.Shared.Rent(checked(buffer.Length * 2));
                    buffer.AsSpan(0, length).CopyTo(bigger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = bigger;
                }

                var read = await content.ReadAsync(buffer.AsMemory(length), cancellationToken);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            return Decode(new ReadOnlySpan<byte>(buffer, 0, length));
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static (List<EnrichedTransaction> Records, IReadOnlyDictionary<string, string> Metadata) Decode(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < 12 || !bytes[..4].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"not a Parquet file ({bytes.Length} bytes, no PAR1 header)");
        }

        if (!bytes[^4..].SequenceEqual(Magic))
        {
            throw new InvalidDataException($"truncated: {bytes.Length} bytes without the closing PAR1 footer");
        }

        try
        {
            var footer = ParquetChunkCodec.ReadFooter(bytes);
            var columns = footer.Leaves.Select(f => f.Name).ToArray();
            var expected = ParquetChunkCodec.Columns.Select(c => c.Name).ToArray();
            if (!columns.SequenceEqual(expected, StringComparer.Ordinal))
            {
                throw new InvalidDataException($"unexpected columns [{string.Join(", ", columns)}]; expected [{string.Join(", ", expected)}]");
            }

            for (var c = 0; c < expected.Length; c++)
            {
                if (ParquetChunkCodec.LeafProblem(footer.Leaves[c], ParquetChunkCodec.Columns[c]) is { } problem)
                {
                    throw new InvalidDataException(problem);
                }
            }

            if (!footer.Metadata.TryGetValue(ContentSha256Key, out var checksum))
            {
                throw new InvalidDataException($"the footer has no {ContentSha256Key}");
            }

            var records = ParquetChunkCodec.ReadRecords(bytes, footer);
            if (ContentSha256(records) != checksum)
            {
                throw new InvalidDataException($"the decoded records do not match the footer's {ContentSha256Key} (the object was damaged or altered after it was written)");
            }

            return (records, footer.Metadata);
        }
        catch (Exception ex) when (ex is not InvalidDataException and not OperationCanceledException)
        {
            throw new InvalidDataException($"unreadable Parquet ({ex.GetType().Name}: {ex.Message})", ex);
        }
    }

    /// <summary>
    /// SHA-256 (lowercase hex) of the records' values in a canonical binary form: texts as length-prefixed UTF-8,
    /// decimals without trailing zeros, instants as UTC ticks. Equal for records that round-trip equal.
    /// </summary>
    public static string ContentSha256(IReadOnlyList<EnrichedTransaction> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var buffer = new ArrayBufferWriter<byte>(1024);
        foreach (var r in records)
        {
            buffer.ResetWrittenCount();
            Put(buffer, r.TransactionId);
            Put(buffer, r.Version);
            Put(buffer, r.Status);
            Put(buffer, r.TradeDate.DayNumber);
            Put(buffer, r.ExecutedAt.UtcTicks);
            Put(buffer, r.AccountId);
            Put(buffer, r.TraderId);
            Put(buffer, r.CounterpartyLei);
            Put(buffer, r.CounterpartyName);
            Put(buffer, r.CounterpartyCountry);
            Put(buffer, r.Isin);
            Put(buffer, r.AssetClass);
            Put(buffer, r.Side);
            Put(buffer, r.Quantity);
            Put(buffer, r.Price);
            Put(buffer, r.Currency);
            Put(buffer, r.VenueMic);
            Put(buffer, r.Notional);
            Put(buffer, r.FxRateUsd);
            Put(buffer, r.NotionalUsd);
            Put(buffer, r.SettlementDate.DayNumber);
            Put(buffer, (r.Cancelled ? 1 : 0) | (r.FlagLargeNotional ? 2 : 0) | (r.FlagWatchlistCountry ? 4 : 0) | (r.FlagUnknownCounterparty ? 8 : 0) | (r.Reportable ? 16 : 0));
            Put(buffer, r.RiskFlags);
            Put(buffer, r.ReportableReason);
            Put(buffer, r.ContentHash);
            Put(buffer, r.DedupId);
            Put(buffer, r.GroupId);
            Put(buffer, r.SourceKey);
            Put(buffer, r.SourceEtag);
            Put(buffer, r.RecordNumber);
            Put(buffer, r.IngestedAt.UtcTicks);
            Put(buffer, r.PipelineVersion);
            hash.AppendData(buffer.WrittenSpan);
        }

        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    private static void Put(ArrayBufferWriter<byte> buffer, string text)
    {
        var length = Encoding.UTF8.GetByteCount(text);
        Put(buffer, length);
        Encoding.UTF8.GetBytes(text, buffer.GetSpan(length));
        buffer.Advance(length);
    }

    private static void Put(ArrayBufferWriter<byte> buffer, int value)
    {
        BinaryPrimitives.WriteInt32LittleEndian(buffer.GetSpan(4), value);
        buffer.Advance(4);
    }

    private static void Put(ArrayBufferWriter<byte> buffer, long value)
    {
        BinaryPrimitives.WriteInt64LittleEndian(buffer.GetSpan(8), value);
        buffer.Advance(8);
    }

    private static void Put(ArrayBufferWriter<byte> buffer, decimal value)
    {
        // Normalized, and zero without its sign: -0m and 0.00m are the 0 that every reader gives back.
        var span = MemoryMarshalInts(buffer.GetSpan(16));
        decimal.GetBits(value == 0m ? 0m : WarehouseDomain.Normalize(value), span);
        buffer.Advance(16);
    }

    private static Span<int> MemoryMarshalInts(Span<byte> bytes) => System.Runtime.InteropServices.MemoryMarshal.Cast<byte, int>(bytes[..16]);
}
