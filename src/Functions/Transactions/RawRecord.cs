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
public sealed class RawRecord
{
    private readonly ReadOnlyMemory<byte> originalUtf8;
    private string? original;

    public RawRecord(long recordNumber, long line, RawField?[] fields, ReadOnlyMemory<byte> originalUtf8, string? malformed = null)
    {
        RecordNumber = recordNumber;
        Line = line;
        Fields = fields;
        this.originalUtf8 = originalUtf8;
        Malformed = malformed;
    }

    public RawRecord(long recordNumber, long line, RawField?[] fields, string original, string? malformed = null)
        : this(recordNumber, line, fields, ReadOnlyMemory<byte>.Empty, malformed)
    {
        this.original = original;
    }

    /// <summary>1-based position of the record in its file.</summary>
    public long RecordNumber { get; }

    /// <summary>1-based line where the record starts.</summary>
    public long Line { get; }

    public IReadOnlyList<RawField?> Fields { get; }

    /// <summary>Why the record could not be read as an object (syntax error, not an object), or null.</summary>
    public string? Malformed { get; }

    /// <summary>Fields that occur more than once in the record (the last occurrence is kept).</summary>
    public IReadOnlyList<string> DuplicateFields { get; init; } = [];

    /// <summary>The record as written (JSON text, or for CSV a JSON object of the row's cells).</summary>
    /// <remarks>Readers reuse their buffers: call this before asking the reader for the next record.</remarks>
    public string Original() => original ??= Encoding.UTF8.GetString(originalUtf8.Span);

    public RawField? this[int index] => Fields[index];
}
