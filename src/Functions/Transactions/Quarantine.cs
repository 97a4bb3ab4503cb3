using System.Text;
using System.Text.Json;

namespace Pipeline.Functions.Transactions;

/// <summary>An invalid record (or a whole unreadable file) with every reason, for the quarantine zone.</summary>
public sealed record QuarantineEntry(
    string SourceKey,
    string SourceEtag,
    long? RecordNumber,
    long? Line,
    long? BytePosition,
    IReadOnlyList<QuarantineReason> Reasons,
    string? Original)
{
    /// <summary>Deterministic key: the same record of the same object version always lands at the same key.</summary>
    public string Key => QuarantineKeys.For(SourceKey, SourceEtag, RecordNumber);

    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            writer.WriteStartObject();
            writer.WriteString("source_key", SourceKey);
            writer.WriteString("source_etag", SourceEtag);
            WriteNumber(writer, "record_number", RecordNumber);
            WriteNumber(writer, "line", Line);
            WriteNumber(writer, "byte_position", BytePosition);
            writer.WriteString("kind", RecordNumber is null ? "file" : "record");
            writer.WriteStartArray("reasons");
            foreach (var reason in Reasons)
            {
                writer.WriteStartObject();
                writer.WriteString("field", reason.Field);
                if (reason.Value is null)
                {
                    writer.WriteNull("value");
                }
                else
                {
                    writer.WriteString("value", reason.Value);
                }

                writer.WriteString("expected", reason.Expected);
                writer.WriteString("message", reason.Message);
                writer.WriteEndObject();
            }

            writer.WriteEndArray();
            writer.WritePropertyName("original");
            if (Original is null)
            {
                writer.WriteNullValue();
            }
            else if (IsJsonObject(Original))
            {
                writer.WriteRawValue(Original, skipInputValidation: false);
            }
            else
            {
                writer.WriteStringValue(Original);
            }

            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteNumber(Utf8JsonWriter writer, string name, long? value)
    {
        if (value is null)
        {
            writer.WriteNull(name);
        }
        else
        {
            writer.WriteNumber(name, value.Value);
        }
    }

    private static bool IsJsonObject(string text)
    {
        try
        {
            var reader = new Utf8JsonReader(Encoding.UTF8.GetBytes(text));
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return false;
            }

            reader.Skip();
            return !reader.Read();
        }
        catch (JsonException)
        {
            return false;
        }
    }
}

public sealed record QuarantineReason(string Field, string? Value, string Expected, string Message);

public static class QuarantineKeys
{
    /// <summary>transactions/&lt;source key&gt;/&lt;etag&gt;/record-000000042.json, or .../file.json for a whole file.</summary>
    public static string For(string sourceKey, string sourceEtag, long? recordNumber)
    {
        ArgumentNullException.ThrowIfNull(sourceKey);
        var tail = recordNumber is null ? "file.json" : $"record-{recordNumber.Value:D9}.json";
        return $"{sourceKey}/{SafeEtag(sourceEtag)}/{tail}";
    }

    /// <summary>An ETag as a key segment: quotes and anything but [A-Za-z0-9-_] removed.</summary>
    public static string SafeEtag(string etag)
    {
        ArgumentNullException.ThrowIfNull(etag);
        var safe = new string(etag.Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_').ToArray());
        return safe.Length == 0 ? "no-etag" : safe;
    }
}
