using System.Text;

namespace Pipeline.Functions.Transactions;

/// <summary>The fields of an L0 transaction, in the order of the CSV header.</summary>
public static class TransactionFields
{
    public const string TransactionId = "transaction_id";
    public const string Version = "version";
    public const string Status = "status";
    public const string TradeDate = "trade_date";
    public const string ExecutedAt = "executed_at";
    public const string AccountId = "account_id";
    public const string TraderId = "trader_id";
    public const string CounterpartyLei = "counterparty_lei";
    public const string Isin = "isin";
    public const string AssetClass = "asset_class";
    public const string Side = "side";
    public const string Quantity = "quantity";
    public const string Price = "price";
    public const string Currency = "currency";
    public const string VenueMic = "venue_mic";

    public static IReadOnlyList<string> All { get; } =
    [
        TransactionId, Version, Status, TradeDate, ExecutedAt, AccountId, TraderId, CounterpartyLei,
        Isin, AssetClass, Side, Quantity, Price, Currency, VenueMic,
    ];

    /// <summary>Index of a field in <see cref="All"/>, or -1.</summary>
    public static int IndexOf(ReadOnlySpan<char> name) => name switch
    {
        TransactionId => 0,
        Version => 1,
        Status => 2,
        TradeDate => 3,
        ExecutedAt => 4,
        AccountId => 5,
        TraderId => 6,
        CounterpartyLei => 7,
        Isin => 8,
        AssetClass => 9,
        Side => 10,
        Quantity => 11,
        Price => 12,
        Currency => 13,
        VenueMic => 14,
        _ => -1,
    };
}

/// <summary>How a raw value was written: JSON strings, numbers and literals, or CSV text (always a string).</summary>
public enum RawKind
{
    String,
    Number,
    Boolean,
    Null,
    Structured,
}

/// <param name="Text">The string value, the number's token text exactly as written, or the literal/JSON text.</param>
public readonly record struct RawField(RawKind Kind, string Text);

/// <summary>
/// One record as read from a file, before validation. <see cref="Fields"/> is indexed like
/// <see cref="TransactionFields.All"/>; a missing field is null.
/// </summary>
/// <remarks>
/// Compact, because a file has millions of these: the texts in one array, the kinds packed in one number. The typed
/// fields (version, dates, quantity, price) of a JSON record keep only their position in the reader's buffer until a
/// text is asked for; the validator parses them from the UTF-8 bytes (<see cref="TryGetUtf8"/>), so a valid record
/// never makes those strings.
/// </remarks>
public sealed class RawRecord
{
    private const int KindBits = 4;
    private readonly string?[] texts;
    private readonly ReadOnlyMemory<byte> originalUtf8;
    private readonly Reading.ByteWindow? window;
    private readonly int generation;
    private readonly CsvRow? csvRow;
    private ulong kinds;
    private Positions positions;
    private string? original;
    private RawField?[]? fields;
    private IReadOnlyList<string> duplicateFields = [];

    public RawRecord(long recordNumber, long line, RawField?[] fields, ReadOnlyMemory<byte> originalUtf8, string? malformed = null)
        : this(recordNumber, line, originalUtf8)
    {
        ArgumentNullException.ThrowIfNull(fields);
        for (var i = 0; i < fields.Length && i < texts.Length; i++)
        {
            if (fields[i] is { } field)
            {
                SetText(i, field.Kind, field.Text);
            }
        }

        Malformed = malformed;
    }

    public RawRecord(long recordNumber, long line, RawField?[] fields, string original, string? malformed = null)
        : this(recordNumber, line, fields, ReadOnlyMemory<byte>.Empty, malformed)
    {
        this.original = original;
    }

    /// <summary>An empty record the readers fill (<see cref="SetText"/>, <see cref="SetUtf8"/>).</summary>
    internal RawRecord(long recordNumber, long line, ReadOnlyMemory<byte> originalUtf8, CsvRow? csvRow = null, Reading.ByteWindow? window = null)
    {
        this.window = window;
        generation = window?.Generation ?? 0;
        RecordNumber = recordNumber;
        Line = line;
        texts = new string?[TransactionFields.All.Count];
        this.originalUtf8 = originalUtf8;
        this.csvRow = csvRow;
    }

    /// <summary>1-based position of the record in its file.</summary>
    public long RecordNumber { get; }

    /// <summary>1-based line where the record starts.</summary>
    public long Line { get; }

    /// <remarks>Makes every text (see <see cref="Original"/> for how long the reader's buffer holds them).</remarks>
    public IReadOnlyList<RawField?> Fields
    {
        get
        {
            if (fields is null)
            {
                var all = new RawField?[texts.Length];
                for (var i = 0; i < all.Length; i++)
                {
                    all[i] = this[i];
                }

                fields = all;
            }

            return fields;
        }
    }

    /// <summary>Why the record could not be read as an object (syntax error, not an object), or null.</summary>
    public string? Malformed { get; internal set; }

    /// <summary>Fields that occur more than once in the record (the last occurrence is kept).</summary>
    public IReadOnlyList<string> DuplicateFields { get => duplicateFields; init => duplicateFields = value; }

    /// <summary>The record as written (JSON text, or for CSV a JSON object of the row's cells).</summary>
    /// <remarks>
    /// Readers reuse their buffers: validate the record, or call this, before asking the reader for the next record
    /// (this also makes the texts of the fields, so the record stays whole afterwards).
    /// </remarks>
    public string Original()
    {
        for (var i = 0; i < texts.Length; i++)
        {
            _ = this[i];
        }

        return original ??= csvRow is { } row ? row.ToJson(this) : Encoding.UTF8.GetString(Utf8());
    }

    public RawField? this[int index]
    {
        get
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)texts.Length, nameof(index));
            var kind = (int)(kinds >> (index * KindBits)) & 0xF;
            if (kind == 0)
            {
                return null;
            }

            var text = texts[index];
            if (text is null)
            {
                var (start, length) = positions.Of(index);
                text = texts[index] = Encoding.UTF8.GetString(Utf8().Slice(start, length));
            }

            return new RawField((RawKind)(kind - 1), text);
        }
    }

    /// <summary>Whether the field is present (without making its text).</summary>
    internal bool Has(int index) => ((kinds >> (index * KindBits)) & 0xF) != 0;

    /// <summary>The UTF-8 bytes of a field that has no text yet (a typed field of a JSON record); false otherwise.</summary>
    internal bool TryGetUtf8(int index, out RawKind kind, out ReadOnlySpan<byte> utf8)
    {
        var packed = (int)(kinds >> (index * KindBits)) & 0xF;
        kind = (RawKind)(packed - 1);
        if (packed == 0 || texts[index] is not null)
        {
            utf8 = default;
            return false;
        }

        var (start, length) = positions.Of(index);
        utf8 = Utf8().Slice(start, length);
        return true;
    }

    /// <summary>The record's bytes in the reader's buffer; refused once the reader may have overwritten them.</summary>
    private ReadOnlySpan<byte> Utf8()
    {
        if (window is not null && window.Generation != generation)
        {
            throw new InvalidOperationException(
                $"Record {RecordNumber} (line {Line}) was read from a buffer the reader has since reused: validate the record or call Original() before reading the next one.");
        }

        return originalUtf8.Span;
    }

    internal void SetDuplicates(IReadOnlyList<string> names) => duplicateFields = names;

    internal void SetText(int index, RawKind kind, string text)
    {
        texts[index] = text;
        SetKind(index, kind);
    }

    /// <summary>A field whose text stays in <c>originalUtf8</c> (at start, length) until asked for; typed fields only.</summary>
    internal static bool CanDefer(int index) => Positions.SlotOf(index) >= 0;

    internal void SetUtf8(int index, RawKind kind, int start, int length)
    {
        texts[index] = null;
        positions.Set(index, start, length);
        SetKind(index, kind);
    }

    private void SetKind(int index, RawKind kind)
    {
        var shift = index * KindBits;
        kinds = (kinds & ~(0xFUL << shift)) | ((ulong)((int)kind + 1) << shift);
        fields = null;
    }

    /// <summary>Start and length of the deferred typed fields (version, trade_date, executed_at, quantity, price).</summary>
    [System.Runtime.CompilerServices.InlineArray(5)]
    private struct Positions
    {
        private ulong element;

        public static int SlotOf(int index) => index switch
        {
            1 => 0,
            3 => 1,
            4 => 2,
            11 => 3,
            12 => 4,
            _ => -1,
        };

        public readonly (int Start, int Length) Of(int index)
        {
            var packed = this[SlotOf(index)];
            return ((int)(packed >> 32), (int)(uint)packed);
        }

        public void Set(int index, int start, int length) => this[SlotOf(index)] = ((ulong)(uint)start << 32) | (uint)length;
    }
}

/// <summary>
/// A CSV row kept for <see cref="RawRecord.Original"/>, made into JSON only when asked (a quarantined record): its own
/// cells, or — shared by the rows of a file whose header names each field once — the header's map from columns to
/// fields, whose cells are the record's field texts.
/// </summary>
internal sealed class CsvRow(string[] header, string[]? cells, int[]? fieldOfColumn)
{
    public string ToJson(RawRecord record)
    {
        var values = cells ?? Array.ConvertAll(fieldOfColumn!, field => record[field]!.Value.Text);
        using var buffer = new MemoryStream();
        using (var writer = new System.Text.Json.Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            for (var i = 0; i < values.Length; i++)
            {
                writer.WriteString(i < header.Length ? header[i] : $"column_{i + 1}", values[i]);
            }

            writer.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }
}
