using System.Text;
using System.Text.Json;

namespace Pipeline.Functions.Transactions.Reading;

/// <summary>Sync helpers around <see cref="Utf8JsonReader"/> (a ref struct cannot live across awaits).</summary>
internal static class JsonRecordParser
{
    /// <summary>Result of trying to delimit one JSON value at the start of a buffer.</summary>
    internal readonly record struct ValueSpan(bool Complete, int Start, int Length, string? Error, long ErrorLine, int ErrorByteInSlice);

    /// <summary>Finds the extent of the next JSON value; incomplete when more bytes are needed.</summary>
    public static ValueSpan Delimit(ReadOnlySpan<byte> span, bool isFinalBlock)
    {
        var reader = new Utf8JsonReader(span, isFinalBlock, default);
        try
        {
            if (!reader.Read())
            {
                return new ValueSpan(false, 0, 0, null, 0, 0);
            }

            var start = (int)reader.TokenStartIndex;
            if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray && !reader.TrySkip())
            {
                return new ValueSpan(false, 0, 0, null, 0, 0);
            }

            return new ValueSpan(true, start, (int)reader.BytesConsumed - start, null, 0, 0);
        }
        catch (JsonException ex)
        {
            var line = ex.LineNumber ?? 0;
            return new ValueSpan(false, 0, 0, Clean(ex.Message), line, ByteOffsetOf(span, line, ex.BytePositionInLine ?? 0));
        }
    }

    /// <summary>
    /// Reads one JSON object (<paramref name="span"/>: the record's original bytes) into the fields of
    /// <paramref name="record"/>; returns the syntax problem or non-object found (reported, not thrown), or null.
    /// </summary>
    public static string? ParseObject(RawRecord record, ReadOnlySpan<byte> span)
    {
        List<string>? duplicates = null;
        string? malformed = null;
        var reader = new Utf8JsonReader(span, isFinalBlock: true, default);
        Span<char> nameBuffer = stackalloc char[64];
        try
        {
            if (!reader.Read())
            {
                return "empty record";
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                return $"expected a JSON object, found {Describe(reader.TokenType)}";
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var index = reader.ValueSpan.Length <= nameBuffer.Length
                    ? TransactionFields.IndexOf(nameBuffer[..reader.CopyString(nameBuffer)])
                    : TransactionFields.IndexOf(reader.GetString());

                reader.Read();
                if (index >= 0 && record.Has(index))
                {
                    (duplicates ??= []).Add(TransactionFields.All[index]);
                }

                switch (reader.TokenType)
                {
                    case JsonTokenType.String or JsonTokenType.Number when index >= 0 && !reader.ValueIsEscaped && !reader.HasValueSequence:
                        var kind = reader.TokenType == JsonTokenType.String ? RawKind.String : RawKind.Number;
                        if (RawRecord.CanDefer(index) && reader.ValueSpan.Length > 0)
                        {
                            // A typed field: its text is made only if asked for (the validator parses the bytes).
                            var start = (int)reader.TokenStartIndex + (kind == RawKind.String ? 1 : 0);
                            record.SetUtf8(index, kind, start, reader.ValueSpan.Length);
                        }
                        else
                        {
                            record.SetText(index, kind, StringCache.Get(reader.ValueSpan));
                        }

                        break;
                    case JsonTokenType.String:
                        Set(record, index, RawKind.String, reader.GetString()!);
                        break;
                    case JsonTokenType.Number:
                        Set(record, index, RawKind.Number, Encoding.UTF8.GetString(reader.ValueSpan));
                        break;
                    case JsonTokenType.True:
                        Set(record, index, RawKind.Boolean, "true");
                        break;
                    case JsonTokenType.False:
                        Set(record, index, RawKind.Boolean, "false");
                        break;
                    case JsonTokenType.Null:
                        Set(record, index, RawKind.Null, "null");
                        break;
                    default:
                        var structured = (int)reader.TokenStartIndex;
                        reader.Skip();
                        Set(record, index, RawKind.Structured, Encoding.UTF8.GetString(span[structured..(int)reader.BytesConsumed]));
                        break;
                }
            }

            if (reader.Read())
            {
                malformed = $"unexpected content after the object at byte {reader.TokenStartIndex}";
            }
        }
        catch (JsonException ex)
        {
            malformed = $"malformed JSON at byte {ByteOffsetOf(span, ex.LineNumber ?? 0, ex.BytePositionInLine ?? 0)}: {Clean(ex.Message)}";
        }
        finally
        {
            if (duplicates is not null)
            {
                record.SetDuplicates(duplicates);
            }
        }

        return malformed;
    }

    private static void Set(RawRecord record, int index, RawKind kind, string text)
    {
        if (index >= 0)
        {
            record.SetText(index, kind, text);
        }
    }

    private static string Describe(JsonTokenType type) => type switch
    {
        JsonTokenType.StartArray => "an array",
        JsonTokenType.String => "a string",
        JsonTokenType.Number => "a number",
        JsonTokenType.True or JsonTokenType.False => "a boolean",
        JsonTokenType.Null => "null",
        _ => type.ToString(),
    };

    private static int ByteOffsetOf(ReadOnlySpan<byte> span, long line, long byteInLine)
    {
        var offset = 0;
        for (var l = 0L; l < line; l++)
        {
            var nl = span[offset..].IndexOf((byte)'\n');
            if (nl < 0)
            {
                break;
            }

            offset += nl + 1;
        }

        return (int)Math.Min(span.Length, offset + byteInLine);
    }

    /// <summary>System.Text.Json messages end with a position relative to the slice; ours is absolute.</summary>
    private static string Clean(string message)
    {
        var cut = message.IndexOf(" LineNumber:", StringComparison.Ordinal);
        return (cut > 0 ? message[..cut] : message).TrimEnd(' ', '.');
    }
}

/// <summary>
/// Most field values repeat across records (status, side, currency, venue, accounts, LEIs, ISINs, dates; in claim-check
/// chunks also names, flags and the source key): a small
/// direct-mapped cache per thread returns the string made last time for the same UTF-8 bytes instead of a new one.
/// A miss just replaces the slot; the strings are the same values either way. Hits are ASCII only: a slot's string is
/// compared with the bytes directly, so no copy of the bytes is kept.
/// </summary>
internal static class StringCache
{
    private const int Slots = 4096;
    private const int MaxBytes = 128;

    [ThreadStatic]
    private static string?[]? slots;

    public static string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        if (utf8.Length > MaxBytes)
        {
            return Encoding.UTF8.GetString(utf8);
        }

        var table = slots ??= new string?[Slots];
        ref var slot = ref table[(int)(System.IO.Hashing.XxHash3.HashToUInt64(utf8) & (Slots - 1))];
        // Equal only when both are the same ASCII text: a non-ASCII value is made every time (never wrongly reused).
        if (slot is not null && slot.Length == utf8.Length && Ascii.Equals(utf8, slot))
        {
            return slot;
        }

        return slot = Encoding.UTF8.GetString(utf8);
    }
}
