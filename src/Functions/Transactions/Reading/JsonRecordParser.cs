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

    /// <summary>Reads one JSON object into the transaction fields; a syntax problem or non-object is reported, not thrown.</summary>
    public static RawField?[] ParseObject(ReadOnlySpan<byte> span, out List<string>? duplicates, out string? malformed)
    {
        var fields = new RawField?[TransactionFields.All.Count];
        duplicates = null;
        malformed = null;
        var reader = new Utf8JsonReader(span, isFinalBlock: true, default);
        Span<char> nameBuffer = stackalloc char[64];
        try
        {
            if (!reader.Read())
            {
                malformed = "empty record";
                return fields;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                malformed = $"expected a JSON object, found {Describe(reader.TokenType)}";
                return fields;
            }

            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var index = reader.ValueSpan.Length <= nameBuffer.Length
                    ? TransactionFields.IndexOf(nameBuffer[..reader.CopyString(nameBuffer)])
                    : TransactionFields.IndexOf(reader.GetString());

                reader.Read();
                RawField value;
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        value = new RawField(RawKind.String, !reader.ValueIsEscaped && !reader.HasValueSequence ? StringCache.Get(reader.ValueSpan) : reader.GetString()!);
                        break;
                    case JsonTokenType.Number:
                        value = new RawField(RawKind.Number, Encoding.UTF8.GetString(reader.ValueSpan));
                        break;
                    case JsonTokenType.True:
                        value = new RawField(RawKind.Boolean, "true");
                        break;
                    case JsonTokenType.False:
                        value = new RawField(RawKind.Boolean, "false");
                        break;
                    case JsonTokenType.Null:
                        value = new RawField(RawKind.Null, "null");
                        break;
                    default:
                        var start = (int)reader.TokenStartIndex;
                        reader.Skip();
                        value = new RawField(RawKind.Structured, Encoding.UTF8.GetString(span[start..(int)reader.BytesConsumed]));
                        break;
                }

                if (index >= 0)
                {
                    if (fields[index] is not null)
                    {
                        (duplicates ??= []).Add(TransactionFields.All[index]);
                    }

                    fields[index] = value;
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

        return fields;
    }

    /// <summary>
    /// Most field values repeat across records (status, side, currency, venue, accounts, LEIs, ISINs, dates): a small
    /// direct-mapped cache per thread returns the string made last time for the same UTF-8 bytes instead of a new one.
    /// A miss just replaces the slot; the strings are the same values either way.
    /// </summary>
    private static class StringCache
    {
        private const int Slots = 4096;
        private const int MaxBytes = 48;

        [ThreadStatic]
        private static (byte[] Utf8, string Text)[]? slots;

        public static string Get(ReadOnlySpan<byte> utf8)
        {
            if (utf8.Length > MaxBytes)
            {
                return Encoding.UTF8.GetString(utf8);
            }

            var table = slots ??= new (byte[], string)[Slots];
            ref var slot = ref table[(int)(System.IO.Hashing.XxHash3.HashToUInt64(utf8) & (Slots - 1))];
            if (slot.Utf8 is not null && utf8.SequenceEqual(slot.Utf8))
            {
                return slot.Text;
            }

            var text = Encoding.UTF8.GetString(utf8);
            slot = (utf8.ToArray(), text);
            return text;
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
