using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using ZstdSharp;

namespace Pipeline.Functions.Transactions;

/// <summary>
/// The chunk's Parquet bytes, encoded and decoded here for exactly its flat, all-REQUIRED schema (the columns and types
/// of <see cref="ParquetChunkFormat.Schema"/>): one row group, per column one PLAIN data page (v1, zstd), the footer in
/// Thrift compact. Standard Parquet that DuckDB and Parquet.Net read with the same types.
/// </summary>
/// <remarks>
/// Why not Parquet.Net for the values: 6.1.0 has no way around objects per value — every text is decoded into its own
/// char[] and then a string, every DECIMAL(38,10) goes through BigInteger both ways, ints and dates through
/// BitConverter arrays, every zstd page into fresh arrays (≈ 2.7 KB allocated per record written, 4.9 KB read; its
/// compressor is internal, not pluggable). Here values go straight between the records and pooled buffers, and on read
/// equal texts share one string (the readers' per-thread <c>StringCache</c>; the unique columns bypass it). Chunks Parquet.Net wrote before
/// (same layout plus statistics, which are skipped) still read. Dictionary-encoded or v2 pages, other codecs and
/// nesting are refused: no writer of chunks produces them.
/// </remarks>
internal static class ParquetChunkCodec
{
    internal enum Kind : byte
    {
        Text,
        Int32,
        Int64,
        Bool,
        Date,
        Timestamp,
        Decimal,
    }

    /// <summary>One column; <paramref name="Unique"/>: values rarely repeat, so reading does not look them up in the string cache.</summary>
    internal readonly record struct Column(string Name, Kind Kind, bool Unique = false);

    /// <summary>The columns in file order (as <see cref="ParquetChunkFormat.Schema"/>; a test keeps the two equal).</summary>
    internal static readonly Column[] Columns =
    [
        new("transaction_id", Kind.Text, Unique: true),
        new("version", Kind.Int32),
        new("status", Kind.Text),
        new("trade_date", Kind.Date),
        new("executed_at", Kind.Timestamp),
        new("executed_at_100ns", Kind.Int32),
        new("account_id", Kind.Text),
        new("trader_id", Kind.Text),
        new("counterparty_lei", Kind.Text),
        new("counterparty_name", Kind.Text),
        new("counterparty_country", Kind.Text),
        new("isin", Kind.Text),
        new("asset_class", Kind.Text),
        new("side", Kind.Text),
        new("quantity", Kind.Decimal),
        new("price", Kind.Decimal),
        new("currency", Kind.Text),
        new("venue_mic", Kind.Text),
        new("notional", Kind.Decimal),
        new("fx_rate_usd", Kind.Decimal),
        new("notional_usd", Kind.Decimal),
        new("settlement_date", Kind.Date),
        new("cancelled", Kind.Bool),
        new("flag_large_notional", Kind.Bool),
        new("flag_watchlist_country", Kind.Bool),
        new("flag_unknown_counterparty", Kind.Bool),
        new("risk_flags", Kind.Text),
        new("reportable", Kind.Bool),
        new("reportable_reason", Kind.Text),
        new("content_hash", Kind.Text, Unique: true),
        new("dedup_id", Kind.Text, Unique: true),
        new("group_id", Kind.Text),
        new("source_key", Kind.Text),
        new("source_etag", Kind.Text),
        new("record_number", Kind.Int64),
        new("ingested_at", Kind.Timestamp),
        new("ingested_at_100ns", Kind.Int32),
        new("pipeline_version", Kind.Text),
    ];

    // Parquet enums (parquet.thrift).
    private const int TypeBoolean = 0, TypeInt32 = 1, TypeInt64 = 2, TypeByteArray = 6, TypeFixedLenByteArray = 7;
    private const int ConvertedUtf8 = 0, ConvertedDecimal = 5, ConvertedDate = 6, ConvertedInt32 = 17, ConvertedInt64 = 18;
    private const int EncodingPlain = 0, EncodingRle = 3;
    private const int CodecUncompressed = 0, CodecZstd = 6;
    private const int PageData = 0, PageDictionary = 2;
    private const int DecimalBytes = 16;

    // Thrift compact protocol types.
    private const byte TTrue = 1, TFalse = 2, TByte = 3, TI16 = 4, TI32 = 5, TI64 = 6, TDouble = 7, TBinary = 8, TList = 9, TSet = 10, TMap = 11, TStruct = 12;

    private const long UnixEpochMicros = 62_135_596_800_000_000; // DateTime ticks of 1970-01-01 / 10
    private const int UnixEpochDayNumber = 719_162; // DateOnly.DayNumber of 1970-01-01
    private const int ZstdLevel = 1; // Parquet.Net's "Fastest", as before: ~1/20 of the CPU of its "Optimal" for 2 % more bytes (bench-chunks)
    private const ulong ZstdSizeUnknown = ulong.MaxValue; // ZSTD_CONTENTSIZE_UNKNOWN: a frame without its size
    private const int UnsizedPageLimit = 64 << 20;

    private static readonly ulong[] Pow10 = [1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000, 1_000_000_000, 10_000_000_000, 100_000_000_000, 1_000_000_000_000, 10_000_000_000_000, 100_000_000_000_000, 1_000_000_000_000_000, 10_000_000_000_000_000, 100_000_000_000_000_000, 1_000_000_000_000_000_000];

    // ---------------------------------------------------------------- write

    /// <summary>The Parquet file of <paramref name="records"/> (decimals already checked to fit numeric(38,10)).</summary>
    public static byte[] Write(IReadOnlyList<EnrichedTransaction> records, IReadOnlyDictionary<string, string> footer)
    {
        var n = records.Count;
        using var file = new Sink(16_384 + (n * 160));
        using var plain = new Sink(4_096 + (n * 80));
        using var packed = new Sink(4_096 + (n * 40));
        using var zstd = new Compressor(ZstdLevel);
        var pages = new (long Offset, long Uncompressed, long Compressed)[Columns.Length];
        file.Write("PAR1"u8);
        for (var c = 0; c < Columns.Length; c++)
        {
            plain.Reset();
            Encode(c, records, plain);
            packed.Reset();
            var length = zstd.Wrap(plain.Written, packed.GetSpan(Compressor.GetCompressBound(plain.Length)));
            packed.Advance(length);

            var offset = file.Length;
            var thrift = new ThriftWriter(file);
            thrift.I32(1, PageData);
            thrift.I32(2, plain.Length);
            thrift.I32(3, packed.Length);
            var page = thrift.BeginStruct(5);
            thrift.I32(1, n);
            thrift.I32(2, EncodingPlain);
            thrift.I32(3, EncodingRle);
            thrift.I32(4, EncodingRle);
            thrift.EndStruct(page);
            thrift.Stop();
            var header = file.Length - offset;
            file.Write(packed.Written);
            pages[c] = (offset, header + plain.Length, header + packed.Length);
        }

        var footerStart = file.Length;
        WriteFooter(file, n, pages, footer);
        BinaryPrimitives.WriteInt32LittleEndian(file.GetSpan(4), file.Length - footerStart);
        file.Advance(4);
        file.Write("PAR1"u8);
        return file.Written.ToArray();
    }

    private static void Encode(int column, IReadOnlyList<EnrichedTransaction> records, Sink plain)
    {
        var n = records.Count;
        switch (Columns[column].Kind)
        {
            case Kind.Text:
                for (var i = 0; i < n; i++)
                {
                    var text = TextOf(column, records[i]);
                    var span = plain.GetSpan(4 + Encoding.UTF8.GetMaxByteCount(text.Length));
                    var length = Encoding.UTF8.GetBytes(text, span[4..]);
                    BinaryPrimitives.WriteInt32LittleEndian(span, length);
                    plain.Advance(4 + length);
                }

                break;
            case Kind.Int32 or Kind.Date:
                for (var i = 0; i < n; i++)
                {
                    BinaryPrimitives.WriteInt32LittleEndian(plain.GetSpan(4), Int32Of(column, records[i]));
                    plain.Advance(4);
                }

                break;
            case Kind.Int64 or Kind.Timestamp:
                for (var i = 0; i < n; i++)
                {
                    BinaryPrimitives.WriteInt64LittleEndian(plain.GetSpan(8), Int64Of(column, records[i]));
                    plain.Advance(8);
                }

                break;
            case Kind.Bool:
                // PLAIN booleans: one bit each, least significant bit first.
                var bits = plain.GetSpan((n + 7) / 8);
                bits[..((n + 7) / 8)].Clear();
                for (var i = 0; i < n; i++)
                {
                    if (BoolOf(column, records[i]))
                    {
                        bits[i >> 3] |= (byte)(1 << (i & 7));
                    }
                }

                plain.Advance((n + 7) / 8);
                break;
            case Kind.Decimal:
                for (var i = 0; i < n; i++)
                {
                    BinaryPrimitives.WriteInt128BigEndian(plain.GetSpan(DecimalBytes), Unscaled(DecimalOf(column, records[i])));
                    plain.Advance(DecimalBytes);
                }

                break;
            default:
                throw new InvalidOperationException($"column kind {Columns[column].Kind}");
        }
    }

    private static string TextOf(int column, EnrichedTransaction r) => column switch
    {
        0 => r.TransactionId,
        2 => r.Status,
        6 => r.AccountId,
        7 => r.TraderId,
        8 => r.CounterpartyLei,
        9 => r.CounterpartyName,
        10 => r.CounterpartyCountry,
        11 => r.Isin,
        12 => r.AssetClass,
        13 => r.Side,
        16 => r.Currency,
        17 => r.VenueMic,
        26 => r.RiskFlags,
        28 => r.ReportableReason,
        29 => r.ContentHash,
        30 => r.DedupId,
        31 => r.GroupId,
        32 => r.SourceKey,
        33 => r.SourceEtag,
        37 => r.PipelineVersion,
        _ => throw new ArgumentOutOfRangeException(nameof(column)),
    };

    private static int Int32Of(int column, EnrichedTransaction r) => column switch
    {
        1 => r.Version,
        3 => r.TradeDate.DayNumber - UnixEpochDayNumber,
        5 => (int)(r.ExecutedAt.UtcTicks % 10),
        21 => r.SettlementDate.DayNumber - UnixEpochDayNumber,
        36 => (int)(r.IngestedAt.UtcTicks % 10),
        _ => throw new ArgumentOutOfRangeException(nameof(column)),
    };

    private static long Int64Of(int column, EnrichedTransaction r) => column switch
    {
        4 => (r.ExecutedAt.UtcTicks / 10) - UnixEpochMicros,
        34 => r.RecordNumber,
        35 => (r.IngestedAt.UtcTicks / 10) - UnixEpochMicros,
        _ => throw new ArgumentOutOfRangeException(nameof(column)),
    };

    private static bool BoolOf(int column, EnrichedTransaction r) => column switch
    {
        22 => r.Cancelled,
        23 => r.FlagLargeNotional,
        24 => r.FlagWatchlistCountry,
        25 => r.FlagUnknownCounterparty,
        27 => r.Reportable,
        _ => throw new ArgumentOutOfRangeException(nameof(column)),
    };

    private static decimal DecimalOf(int column, EnrichedTransaction r) => column switch
    {
        14 => r.Quantity,
        15 => r.Price,
        18 => r.Notional,
        19 => r.FxRateUsd,
        20 => r.NotionalUsd,
        _ => throw new ArgumentOutOfRangeException(nameof(column)),
    };

    /// <summary>The DECIMAL(38,10) unscaled value: <paramref name="value"/> × 10^10, exactly (negative zero is zero).</summary>
    internal static Int128 Unscaled(decimal value)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var magnitude = ((UInt128)(uint)bits[2] << 64) | ((UInt128)(uint)bits[1] << 32) | (uint)bits[0];
        var scale = (bits[3] >> 16) & 0xFF;
        if (scale <= WarehouseScale)
        {
            magnitude *= Pow10[WarehouseScale - scale];
        }
        else
        {
            var divisor = Pow10[scale - WarehouseScale];
            if (magnitude % divisor != 0)
            {
                throw new ArgumentException($"{value.ToString(CultureInfo.InvariantCulture)} has more than {WarehouseScale} fractional digits", nameof(value));
            }

            magnitude /= divisor;
        }

        if (magnitude >= ((UInt128)1 << 127))
        {
            throw new ArgumentException($"{value.ToString(CultureInfo.InvariantCulture)} does not fit DECIMAL(38,10)", nameof(value));
        }

        var unscaled = (Int128)magnitude;
        return bits[3] < 0 ? -unscaled : unscaled;
    }

    /// <summary>The decimal of a DECIMAL(38,10) unscaled value, canonical: no trailing zeros, zero without a sign.</summary>
    internal static decimal FromUnscaled(Int128 unscaled)
    {
        if (unscaled == 0)
        {
            return 0m;
        }

        var negative = unscaled < 0;
        var magnitude = negative ? (UInt128)(-unscaled) : (UInt128)unscaled;
        var scale = (byte)WarehouseScale;
        if (magnitude <= ulong.MaxValue)
        {
            var small = (ulong)magnitude;
            while (scale > 0 && small % 10 == 0)
            {
                small /= 10;
                scale--;
            }

            return new decimal((int)(uint)small, (int)(uint)(small >> 32), 0, negative, scale);
        }

        while (scale > 0 && magnitude % 10 == 0)
        {
            magnitude /= 10;
            scale--;
        }

        if (magnitude >> 96 != 0)
        {
            throw new FormatException($"a decimal of more significant digits than System.Decimal holds ({unscaled.ToString(CultureInfo.InvariantCulture)} × 10^-10)");
        }

        return new decimal((int)(uint)magnitude, (int)(uint)(magnitude >> 32), (int)(uint)(magnitude >> 64), negative, scale);
    }

    private const int WarehouseScale = 10;

    private static void WriteFooter(Sink file, int rows, (long Offset, long Uncompressed, long Compressed)[] pages, IReadOnlyDictionary<string, string> footer)
    {
        var t = new ThriftWriter(file);
        t.I32(1, 1);
        t.ListHeader(2, TStruct, Columns.Length + 1);
        var root = t.BeginElement();
        t.Binary(4, "root"); // as Parquet.Net names it
        t.I32(5, Columns.Length);
        t.EndStruct(root);
        foreach (var column in Columns)
        {
            var element = t.BeginElement();
            t.I32(1, PhysicalType(column.Kind));
            if (column.Kind == Kind.Decimal)
            {
                t.I32(2, DecimalBytes);
            }

            t.I32(3, 0); // REQUIRED
            t.Binary(4, column.Name);
            if (ConvertedType(column.Kind) is { } converted)
            {
                t.I32(6, converted);
            }

            if (column.Kind == Kind.Decimal)
            {
                t.I32(7, WarehouseScale);
                t.I32(8, 38);
            }

            if (column.Kind != Kind.Bool)
            {
                var logical = t.BeginStruct(10);
                switch (column.Kind)
                {
                    case Kind.Text:
                        t.EndStruct(t.BeginStruct(1)); // STRING
                        break;
                    case Kind.Int32 or Kind.Int64:
                        var integer = t.BeginStruct(10); // INTEGER
                        t.Byte(1, column.Kind == Kind.Int32 ? (byte)32 : (byte)64);
                        t.Bool(2, true);
                        t.EndStruct(integer);
                        break;
                    case Kind.Date:
                        t.EndStruct(t.BeginStruct(6)); // DATE
                        break;
                    case Kind.Timestamp:
                        var timestamp = t.BeginStruct(8); // TIMESTAMP
                        t.Bool(1, true); // isAdjustedToUTC
                        var unit = t.BeginStruct(2);
                        t.EndStruct(t.BeginStruct(2)); // MICROS
                        t.EndStruct(unit);
                        t.EndStruct(timestamp);
                        break;
                    case Kind.Decimal:
                        var dec = t.BeginStruct(5); // DECIMAL
                        t.I32(1, WarehouseScale);
                        t.I32(2, 38);
                        t.EndStruct(dec);
                        break;
                }

                t.EndStruct(logical);
            }

            t.EndStruct(element);
        }

        t.I64(3, rows);
        t.ListHeader(4, TStruct, 1);
        var group = t.BeginElement();
        t.ListHeader(1, TStruct, Columns.Length);
        long uncompressed = 0, compressed = 0;
        for (var c = 0; c < Columns.Length; c++)
        {
            var chunk = t.BeginElement();
            t.I64(2, pages[c].Offset);
            var meta = t.BeginStruct(3);
            t.I32(1, PhysicalType(Columns[c].Kind));
            t.ListHeader(2, TI32, 2);
            t.Element(EncodingPlain);
            t.Element(EncodingRle);
            t.ListHeader(3, TBinary, 1);
            t.Element(Columns[c].Name);
            t.I32(4, CodecZstd);
            t.I64(5, rows);
            t.I64(6, pages[c].Uncompressed);
            t.I64(7, pages[c].Compressed);
            t.I64(9, pages[c].Offset);
            t.EndStruct(meta);
            t.EndStruct(chunk);
            uncompressed += pages[c].Uncompressed;
            compressed += pages[c].Compressed;
        }

        t.I64(2, uncompressed);
        t.I64(3, rows);
        t.I64(5, pages[0].Offset);
        t.I64(6, compressed);
        t.EndStruct(group);
        var keys = footer.Keys.Order(StringComparer.Ordinal).ToArray();
        t.ListHeader(5, TStruct, keys.Length);
        foreach (var key in keys)
        {
            var kv = t.BeginElement();
            t.Binary(1, key);
            t.Binary(2, footer[key]);
            t.EndStruct(kv);
        }

        t.Binary(6, "Pipeline ParquetChunkCodec version 1.0.0"); // "<application> version <version>", as the format asks
        t.Stop();
    }

    private static int PhysicalType(Kind kind) => kind switch
    {
        Kind.Text => TypeByteArray,
        Kind.Int32 or Kind.Date => TypeInt32,
        Kind.Int64 or Kind.Timestamp => TypeInt64,
        Kind.Bool => TypeBoolean,
        Kind.Decimal => TypeFixedLenByteArray,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    private static int? ConvertedType(Kind kind) => kind switch
    {
        Kind.Text => ConvertedUtf8,
        Kind.Int32 => ConvertedInt32,
        Kind.Int64 => ConvertedInt64,
        Kind.Date => ConvertedDate,
        Kind.Decimal => ConvertedDecimal,
        _ => null, // BOOLEAN has none; TIMESTAMP only the logical type (as Parquet.Net writes it)
    };

    // ---------------------------------------------------------------- read

    /// <summary>The file's footer: leaf columns, row groups, key-value metadata.</summary>
    internal sealed class Footer
    {
        public List<SchemaLeaf> Leaves { get; } = [];

        public List<RowGroupMeta> RowGroups { get; } = [];

        public Dictionary<string, string> Metadata { get; } = new(StringComparer.Ordinal);

        /// <summary>Where the footer starts: pages must end before it.</summary>
        public int Start { get; init; }
    }

    internal sealed record SchemaLeaf(string Name, int Type, int TypeLength, int Repetition, int Scale, int Precision, int Children);

    internal sealed record RowGroupMeta(long Rows, List<ColumnMeta> Columns);

    internal sealed record ColumnMeta(int Type, int Codec, long Values, long DataPageOffset, long DictionaryPageOffset);

    /// <summary>Parses the footer of a file already checked to start and end with PAR1.</summary>
    public static Footer ReadFooter(ReadOnlySpan<byte> file)
    {
        var length = BinaryPrimitives.ReadInt32LittleEndian(file[^8..]);
        var start = file.Length - 8 - length;
        if (length <= 0 || start < 4)
        {
            throw new FormatException($"a footer length of {length} in a file of {file.Length} bytes");
        }

        var footer = new Footer { Start = start };
        var r = new ThriftReader(file[start..^8]);
        short last = 0;
        var leaves = new List<SchemaLeaf>();
        while (r.Field(ref last, out var type, out var id))
        {
            switch (id)
            {
                case 2 when type == TList:
                    var count = r.List(out _);
                    for (var i = 0; i < count; i++)
                    {
                        leaves.Add(ReadSchemaElement(ref r));
                    }

                    break;
                case 4 when type == TList:
                    var groups = r.List(out _);
                    for (var i = 0; i < groups; i++)
                    {
                        footer.RowGroups.Add(ReadRowGroup(ref r));
                    }

                    break;
                case 5 when type == TList:
                    var pairs = r.List(out _);
                    for (var i = 0; i < pairs; i++)
                    {
                        short kvLast = 0;
                        string? key = null, value = null;
                        while (r.Field(ref kvLast, out var kvType, out var kvId))
                        {
                            if (kvId == 1 && kvType == TBinary)
                            {
                                key = r.String();
                            }
                            else if (kvId == 2 && kvType == TBinary)
                            {
                                value = r.String();
                            }
                            else
                            {
                                r.Skip(kvType);
                            }
                        }

                        if (key is not null)
                        {
                            footer.Metadata[key] = value ?? string.Empty;
                        }
                    }

                    break;
                default:
                    r.Skip(type);
                    break;
            }
        }

        // The root group, then flat leaves: a nested schema names its groups among the leaves, and the column check refuses it.
        if (leaves.Count == 0 || leaves[0].Children != leaves.Count - 1)
        {
            throw new FormatException($"a schema of {leaves.Count} elements whose root has {(leaves.Count == 0 ? 0 : leaves[0].Children)} children (expected a flat schema)");
        }

        footer.Leaves.AddRange(leaves.Skip(1));
        return footer;
    }

    private static SchemaLeaf ReadSchemaElement(ref ThriftReader r)
    {
        short last = 0;
        string name = string.Empty;
        int physical = -1, typeLength = 0, repetition = 0, scale = 0, precision = 0, children = 0;
        while (r.Field(ref last, out var type, out var id))
        {
            switch (id)
            {
                case 1 when type == TI32: physical = r.I32(); break;
                case 2 when type == TI32: typeLength = r.I32(); break;
                case 3 when type == TI32: repetition = r.I32(); break;
                case 4 when type == TBinary: name = r.String(); break;
                case 5 when type == TI32: children = r.I32(); break;
                case 7 when type == TI32: scale = r.I32(); break;
                case 8 when type == TI32: precision = r.I32(); break;
                default: r.Skip(type); break;
            }
        }

        return new SchemaLeaf(name, physical, typeLength, repetition, scale, precision, children);
    }

    private static RowGroupMeta ReadRowGroup(ref ThriftReader r)
    {
        short last = 0;
        long rows = -1;
        var columns = new List<ColumnMeta>();
        while (r.Field(ref last, out var type, out var id))
        {
            if (id == 1 && type == TList)
            {
                var count = r.List(out _);
                for (var i = 0; i < count; i++)
                {
                    columns.Add(ReadColumnChunk(ref r));
                }
            }
            else if (id == 3 && type == TI64)
            {
                rows = r.I64();
            }
            else
            {
                r.Skip(type);
            }
        }

        return new RowGroupMeta(rows, columns);
    }

    private static ColumnMeta ReadColumnChunk(ref ThriftReader r)
    {
        short last = 0;
        var meta = new ColumnMeta(-1, -1, -1, -1, 0);
        while (r.Field(ref last, out var type, out var id))
        {
            if (id == 3 && type == TStruct)
            {
                short metaLast = 0;
                int physical = -1, codec = -1;
                long values = -1, dataPage = -1, dictionaryPage = 0;
                while (r.Field(ref metaLast, out var metaType, out var metaId))
                {
                    switch (metaId)
                    {
                        case 1 when metaType == TI32: physical = r.I32(); break;
                        case 4 when metaType == TI32: codec = r.I32(); break;
                        case 5 when metaType == TI64: values = r.I64(); break;
                        case 9 when metaType == TI64: dataPage = r.I64(); break;
                        case 11 when metaType == TI64: dictionaryPage = r.I64(); break;
                        default: r.Skip(metaType); break;
                    }
                }

                meta = new ColumnMeta(physical, codec, values, dataPage, dictionaryPage);
            }
            else
            {
                r.Skip(type);
            }
        }

        return meta;
    }

    /// <summary>Checks that a leaf is stored as the codec reads its column; null when it is.</summary>
    public static string? LeafProblem(SchemaLeaf leaf, Column column)
    {
        var expected = PhysicalType(column.Kind);
        if (leaf.Type != expected || leaf.Repetition != 0)
        {
            return $"column {leaf.Name} is of physical type {leaf.Type}, repetition {leaf.Repetition}; expected {expected}, REQUIRED";
        }

        if (column.Kind == Kind.Decimal && (leaf.TypeLength != DecimalBytes || leaf.Scale != WarehouseScale || leaf.Precision != 38))
        {
            return $"column {leaf.Name} is DECIMAL({leaf.Precision},{leaf.Scale}) in {leaf.TypeLength} bytes; expected DECIMAL(38,10) in {DecimalBytes}";
        }

        return null;
    }

    /// <summary>The records of every row group (the footer already checked against <see cref="Columns"/>).</summary>
    public static List<EnrichedTransaction> ReadRecords(ReadOnlySpan<byte> file, Footer footer)
    {
        long total = 0;
        foreach (var group in footer.RowGroups)
        {
            if (group.Rows is < 0 or > int.MaxValue || group.Columns.Count != Columns.Length)
            {
                throw new FormatException($"a row group of {group.Rows} rows and {group.Columns.Count} columns (expected {Columns.Length})");
            }

            total += group.Rows;
        }

        // Pre-sized, but not from a damaged count: each column's pages must then hold exactly that many values.
        var records = new List<EnrichedTransaction>((int)Math.Min(total, file.Length));
        using var values = new Sink(64 * 1024);
        using var scratch = new Sink(1024);
        using var zstd = new Decompressor();
        Span<int> starts = stackalloc int[Columns.Length];
        Span<int> ends = stackalloc int[Columns.Length];
        foreach (var group in footer.RowGroups)
        {
            var rows = (int)group.Rows;
            values.Reset();
            for (var c = 0; c < Columns.Length; c++)
            {
                starts[c] = values.Length;
                ReadColumnPages(file, footer.Start, group.Columns[c], Columns[c], rows, zstd, values, scratch);
                ends[c] = values.Length;
            }

            var reader = new RowReader(values.Written, starts, ends);
            for (var i = 0; i < rows; i++)
            {
                records.Add(new EnrichedTransaction
                {
                    TransactionId = reader.Text(0),
                    Version = reader.Int32(1),
                    Status = reader.Text(2),
                    TradeDate = reader.Date(3),
                    ExecutedAt = reader.Instant(4, 5),
                    AccountId = reader.Text(6),
                    TraderId = reader.Text(7),
                    CounterpartyLei = reader.Text(8),
                    CounterpartyName = reader.Text(9),
                    CounterpartyCountry = reader.Text(10),
                    Isin = reader.Text(11),
                    AssetClass = reader.Text(12),
                    Side = reader.Text(13),
                    Quantity = reader.Decimal(14),
                    Price = reader.Decimal(15),
                    Currency = reader.Text(16),
                    VenueMic = reader.Text(17),
                    Notional = reader.Decimal(18),
                    FxRateUsd = reader.Decimal(19),
                    NotionalUsd = reader.Decimal(20),
                    SettlementDate = reader.Date(21),
                    Cancelled = reader.Bool(22),
                    FlagLargeNotional = reader.Bool(23),
                    FlagWatchlistCountry = reader.Bool(24),
                    FlagUnknownCounterparty = reader.Bool(25),
                    RiskFlags = reader.Text(26),
                    Reportable = reader.Bool(27),
                    ReportableReason = reader.Text(28),
                    ContentHash = reader.Text(29),
                    DedupId = reader.Text(30),
                    GroupId = reader.Text(31),
                    SourceKey = reader.Text(32),
                    SourceEtag = reader.Text(33),
                    RecordNumber = reader.Int64(34),
                    IngestedAt = reader.Instant(35, 36),
                    PipelineVersion = reader.Text(37),
                });
            }

            reader.CheckConsumed();
        }

        return records;
    }

    /// <summary>Appends the column's plain values (booleans one byte each) to <paramref name="values"/>.</summary>
    private static void ReadColumnPages(ReadOnlySpan<byte> file, int footerStart, ColumnMeta meta, Column column, int rows, Decompressor zstd, Sink values, Sink scratch)
    {
        if (meta.Type != PhysicalType(column.Kind) || meta.Values != rows)
        {
            throw new FormatException($"column {column.Name}: physical type {meta.Type} with {meta.Values} values (expected {PhysicalType(column.Kind)} with {rows})");
        }

        if (meta.Codec is not (CodecZstd or CodecUncompressed))
        {
            throw new FormatException($"column {column.Name}: compression codec {meta.Codec} (expected zstd)");
        }

        var position = meta.DictionaryPageOffset > 0 ? Math.Min(meta.DictionaryPageOffset, meta.DataPageOffset) : meta.DataPageOffset;
        var read = 0;
        while (read < rows)
        {
            if (position < 4 || position >= footerStart)
            {
                throw new FormatException($"column {column.Name}: a page at {position}, outside the data (4–{footerStart})");
            }

            var r = new ThriftReader(file[(int)position..footerStart]);
            var (pageType, uncompressed, compressed, pageValues, encoding) = ReadPageHeader(ref r);
            var bodyStart = (int)position + r.Position;
            if (pageType != PageData || encoding != EncodingPlain)
            {
                throw new FormatException($"column {column.Name}: a page of type {pageType}, encoding {encoding} (expected PLAIN data pages)");
            }

            if (compressed < 0 || compressed > footerStart - bodyStart || uncompressed < 0 || pageValues < 0 || pageValues > rows - read)
            {
                throw new FormatException($"column {column.Name}: a page of {compressed} bytes ({uncompressed} uncompressed) with {pageValues} values at {position}");
            }

            var body = file.Slice(bodyStart, compressed);
            var target = column.Kind == Kind.Bool ? scratch : values;
            if (column.Kind == Kind.Bool)
            {
                scratch.Reset();
            }

            if (meta.Codec == CodecUncompressed)
            {
                if (compressed != uncompressed)
                {
                    throw new FormatException($"column {column.Name}: an uncompressed page of {compressed} bytes says {uncompressed}");
                }

                target.Write(body);
            }
            else
            {
                // The zstd frame states its size: a page header that disagrees is damage (and is not allocated for).
                var frameSize = Decompressor.GetDecompressedSize(body);
                if (frameSize == ZstdSizeUnknown ? uncompressed > UnsizedPageLimit : frameSize != (ulong)uncompressed)
                {
                    throw new FormatException($"column {column.Name}: a page of {uncompressed} bytes whose zstd frame holds {frameSize}");
                }

                var written = zstd.Unwrap(body, target.GetSpan(uncompressed));
                if (written != uncompressed)
                {
                    throw new FormatException($"column {column.Name}: a page decompressed to {written} bytes, its header says {uncompressed}");
                }

                target.Advance(written);
            }

            if (column.Kind == Kind.Bool)
            {
                var bits = scratch.Written;
                if (bits.Length * 8L < pageValues)
                {
                    throw new FormatException($"column {column.Name}: {bits.Length} bytes for {pageValues} booleans");
                }

                var bytes = values.GetSpan(pageValues);
                for (var i = 0; i < pageValues; i++)
                {
                    bytes[i] = (byte)((bits[i >> 3] >> (i & 7)) & 1);
                }

                values.Advance(pageValues);
            }

            read += pageValues;
            position = bodyStart + (long)compressed;
        }
    }

    private static (int Type, int Uncompressed, int Compressed, int Values, int Encoding) ReadPageHeader(ref ThriftReader r)
    {
        short last = 0;
        int type = -1, uncompressed = -1, compressed = -1, values = -1, encoding = -1;
        while (r.Field(ref last, out var fieldType, out var id))
        {
            switch (id)
            {
                case 1 when fieldType == TI32: type = r.I32(); break;
                case 2 when fieldType == TI32: uncompressed = r.I32(); break;
                case 3 when fieldType == TI32: compressed = r.I32(); break;
                case 5 when fieldType == TStruct:
                    short dataLast = 0;
                    while (r.Field(ref dataLast, out var dataType, out var dataId))
                    {
                        if (dataId == 1 && dataType == TI32)
                        {
                            values = r.I32();
                        }
                        else if (dataId == 2 && dataType == TI32)
                        {
                            encoding = r.I32();
                        }
                        else
                        {
                            r.Skip(dataType);
                        }
                    }

                    break;
                case 7 when fieldType == TStruct:
                    type = PageDictionary;
                    r.Skip(fieldType);
                    break;
                default: r.Skip(fieldType); break;
            }
        }

        return (type, uncompressed, compressed, values, encoding);
    }

    /// <summary>Reads the next value of each column from its plain bytes.</summary>
    private ref struct RowReader(ReadOnlySpan<byte> values, Span<int> positions, ReadOnlySpan<int> ends)
    {
        private readonly ReadOnlySpan<byte> values = values;
        private readonly Span<int> positions = positions;
        private readonly ReadOnlySpan<int> ends = ends;

        private readonly ReadOnlySpan<byte> Take(int column, int length)
        {
            var at = positions[column];
            if (length < 0 || length > ends[column] - at)
            {
                throw new FormatException($"column {Columns[column].Name} ends within a value");
            }

            positions[column] = at + length;
            return values.Slice(at, length);
        }

        public readonly string Text(int column)
        {
            var length = BinaryPrimitives.ReadInt32LittleEndian(Take(column, 4));
            var utf8 = Take(column, length);
            if (utf8.Length == 0)
            {
                return string.Empty;
            }

            // Repeated values (status, accounts, names, source key…) share one string; the unique columns skip the cache.
            return Columns[column].Unique ? Encoding.UTF8.GetString(utf8) : Reading.StringCache.Get(utf8);
        }

        public readonly int Int32(int column) => BinaryPrimitives.ReadInt32LittleEndian(Take(column, 4));

        public readonly long Int64(int column) => BinaryPrimitives.ReadInt64LittleEndian(Take(column, 8));

        public readonly bool Bool(int column) => Take(column, 1)[0] != 0;

        public readonly DateOnly Date(int column) => DateOnly.FromDayNumber(checked(Int32(column) + UnixEpochDayNumber));

        public readonly decimal Decimal(int column) => FromUnscaled(BinaryPrimitives.ReadInt128BigEndian(Take(column, DecimalBytes)));

        public readonly DateTimeOffset Instant(int micros, int hundredNanos)
        {
            var value = Int64(micros);
            var remainder = Int32(hundredNanos);
            if (remainder is < 0 or > 9)
            {
                throw new InvalidDataException($"a 100 ns remainder of {remainder.ToString(CultureInfo.InvariantCulture)} (expected 0–9)");
            }

            var ticks = checked(((value + UnixEpochMicros) * 10) + remainder);
            if (ticks is < 0 || ticks > DateTime.MaxValue.Ticks)
            {
                throw new FormatException($"column {Columns[micros].Name}: {value} µs is outside the years 1–9999");
            }

            return new DateTimeOffset(ticks, TimeSpan.Zero);
        }

        public readonly void CheckConsumed()
        {
            for (var c = 0; c < positions.Length; c++)
            {
                if (positions[c] != ends[c])
                {
                    throw new FormatException($"column {Columns[c].Name} holds {ends[c] - positions[c]} bytes beyond its values");
                }
            }
        }
    }

    // ---------------------------------------------------------------- buffers and Thrift compact

    /// <summary>A growable byte buffer from the shared pool.</summary>
    private sealed class Sink(int capacity) : IDisposable
    {
        private byte[] buffer = ArrayPool<byte>.Shared.Rent(capacity);

        public int Length { get; private set; }

        public ReadOnlySpan<byte> Written => buffer.AsSpan(0, Length);

        public Span<byte> GetSpan(int size)
        {
            if (size > buffer.Length - Length)
            {
                var bigger = ArrayPool<byte>.Shared.Rent(Math.Max(buffer.Length * 2, checked(Length + size)));
                buffer.AsSpan(0, Length).CopyTo(bigger);
                ArrayPool<byte>.Shared.Return(buffer);
                buffer = bigger;
            }

            return buffer.AsSpan(Length, size);
        }

        public void Advance(int count) => Length += count;

        public void Write(ReadOnlySpan<byte> bytes)
        {
            bytes.CopyTo(GetSpan(bytes.Length));
            Length += bytes.Length;
        }

        public void WriteByte(byte value)
        {
            GetSpan(1)[0] = value;
            Length++;
        }

        public void Reset() => Length = 0;

        public void Dispose()
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = [];
        }
    }

    /// <summary>Thrift compact protocol, the parts the footer and page headers use.</summary>
    private struct ThriftWriter(Sink sink)
    {
        private short last;

        private void Field(short id, byte type)
        {
            var delta = id - last;
            if (delta is > 0 and <= 15)
            {
                sink.WriteByte((byte)((delta << 4) | type));
            }
            else
            {
                sink.WriteByte(type);
                Varint((ulong)((id << 1) ^ (id >> 15)));
            }

            last = id;
        }

        private readonly void Varint(ulong value)
        {
            while (value >= 0x80)
            {
                sink.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }

            sink.WriteByte((byte)value);
        }

        private readonly void BinaryValue(string text)
        {
            var length = Encoding.UTF8.GetByteCount(text);
            Varint((ulong)length);
            Encoding.UTF8.GetBytes(text, sink.GetSpan(length));
            sink.Advance(length);
        }

        public void I32(short id, int value)
        {
            Field(id, TI32);
            Varint((ulong)(uint)((value << 1) ^ (value >> 31)));
        }

        public void I64(short id, long value)
        {
            Field(id, TI64);
            Varint((ulong)((value << 1) ^ (value >> 63)));
        }

        public void Byte(short id, byte value)
        {
            Field(id, TByte);
            sink.WriteByte(value);
        }

        public void Bool(short id, bool value) => Field(id, value ? TTrue : TFalse);

        public void Binary(short id, string text)
        {
            Field(id, TBinary);
            BinaryValue(text);
        }

        public void ListHeader(short id, byte elementType, int count)
        {
            Field(id, TList);
            if (count < 15)
            {
                sink.WriteByte((byte)((count << 4) | elementType));
            }
            else
            {
                sink.WriteByte((byte)(0xF0 | elementType));
                Varint((ulong)count);
            }
        }

        public readonly void Element(int value) => Varint((ulong)(uint)((value << 1) ^ (value >> 31)));

        public readonly void Element(string text) => BinaryValue(text);

        /// <summary>Starts a struct that is a list element; returns the enclosing struct's last field id.</summary>
        public short BeginElement()
        {
            var saved = last;
            last = 0;
            return saved;
        }

        public short BeginStruct(short id)
        {
            Field(id, TStruct);
            return BeginElement();
        }

        public void EndStruct(short saved)
        {
            sink.WriteByte(0);
            last = saved;
        }

        public readonly void Stop() => sink.WriteByte(0);
    }

    private ref struct ThriftReader(ReadOnlySpan<byte> data)
    {
        private const int MaxDepth = 32;
        private readonly ReadOnlySpan<byte> data = data;

        public int Position { get; private set; }

        private byte ReadByte()
        {
            if (Position >= data.Length)
            {
                throw new FormatException("Thrift data ends early");
            }

            return data[Position++];
        }

        private ulong Varint()
        {
            ulong value = 0;
            for (var shift = 0; shift < 64; shift += 7)
            {
                var b = ReadByte();
                value |= (ulong)(b & 0x7F) << shift;
                if (b < 0x80)
                {
                    return value;
                }
            }

            throw new FormatException("a Thrift varint longer than 64 bits");
        }

        public long I64()
        {
            var v = Varint();
            return (long)(v >> 1) ^ -(long)(v & 1);
        }

        public int I32()
        {
            var v = I64();
            return v is < int.MinValue or > int.MaxValue ? throw new FormatException($"a Thrift i32 of {v}") : (int)v;
        }

        public ReadOnlySpan<byte> Binary()
        {
            var length = Varint();
            if (length > (ulong)(data.Length - Position))
            {
                throw new FormatException($"a Thrift binary of {length} bytes beyond the data");
            }

            var bytes = data.Slice(Position, (int)length);
            Position += (int)length;
            return bytes;
        }

        public string String() => Encoding.UTF8.GetString(Binary());

        /// <summary>The next field's header; false at the struct's end.</summary>
        public bool Field(ref short last, out byte type, out short id)
        {
            var b = ReadByte();
            type = (byte)(b & 0x0F);
            if (b == 0)
            {
                id = 0;
                return false;
            }

            var delta = b >> 4;
            id = delta != 0 ? (short)(last + delta) : checked((short)I32());
            last = id;
            return true;
        }

        public int List(out byte elementType)
        {
            var b = ReadByte();
            elementType = (byte)(b & 0x0F);
            var count = (ulong)(b >> 4);
            if (count == 15)
            {
                count = Varint();
            }

            // Every element takes at least one byte.
            if (count > (ulong)(data.Length - Position))
            {
                throw new FormatException($"a Thrift list of {count} elements beyond the data");
            }

            return (int)count;
        }

        public void Skip(byte type) => Skip(type, 0);

        private void Skip(byte type, int depth)
        {
            if (depth > MaxDepth)
            {
                throw new FormatException("Thrift nesting too deep");
            }

            switch (type)
            {
                case TTrue or TFalse:
                    break; // a field's boolean is in its header
                case TByte:
                    ReadByte();
                    break;
                case TI16 or TI32 or TI64:
                    Varint();
                    break;
                case TDouble:
                    for (var i = 0; i < 8; i++)
                    {
                        ReadByte();
                    }

                    break;
                case TBinary:
                    Binary();
                    break;
                case TList or TSet:
                    var count = List(out var elementType);
                    for (var i = 0; i < count; i++)
                    {
                        if (elementType is TTrue or TFalse)
                        {
                            ReadByte(); // a list's booleans take a byte each
                        }
                        else
                        {
                            Skip(elementType, depth + 1);
                        }
                    }

                    break;
                case TMap:
                    var pairs = Varint();
                    if (pairs > 0)
                    {
                        var kinds = ReadByte();
                        for (ulong i = 0; i < pairs; i++)
                        {
                            Skip((byte)(kinds >> 4), depth + 1);
                            Skip((byte)(kinds & 0x0F), depth + 1);
                        }
                    }

                    break;
                case TStruct:
                    short last = 0;
                    while (Field(ref last, out var fieldType, out _))
                    {
                        Skip(fieldType, depth + 1);
                    }

                    break;
                default:
                    throw new FormatException($"Thrift type {type}");
            }
        }
    }
}
