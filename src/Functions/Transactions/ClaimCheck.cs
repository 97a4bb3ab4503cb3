using System.Buffers;
using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Transactions;

/// <summary>
/// FIFO message groups. Inline messages: the account (as the issue asks; an account id that SQS would refuse as a
/// group id — longer than 128 characters or outside its character set — becomes "account-" + a SHA-256 prefix).
/// Claim-check chunk messages hold many accounts, so their group is the source object: the chunks of one file stay
/// in order. Correctness never depends on either order: the warehouse keeps the highest version whatever the arrival
/// order, and re-loading a record changes nothing.
/// </summary>
public static class MessageGroups
{
    public static string ForAccount(string accountId)
    {
        ArgumentNullException.ThrowIfNull(accountId);
        return accountId.Length is >= 1 and <= 128 && accountId.All(IsSqsGroupChar) ? accountId : "account-" + Hash(accountId);
    }

    public static string ForSource(string sourceKey)
    {
        ArgumentNullException.ThrowIfNull(sourceKey);
        return "source-" + Hash(sourceKey);
    }

    private static bool IsSqsGroupChar(char c) => char.IsAsciiLetterOrDigit(c) || (c is >= '!' and <= '~');

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..40];
}

/// <summary>
/// A claim check: the queue message that stands for one chunk object in the prepare zone (NDJSON of enriched
/// records, gzip). <see cref="FirstRecord"/> is the position of the chunk's first record in the source's valid
/// records, i.e. the line in the manifest's .versions list, so a dead-lettered chunk is accounted for even when the
/// chunk object itself is gone.
/// </summary>
public sealed record EnrichedChunkMessage
{
    public const string CurrentSchema = "enriched-transactions-chunk/v2";

    public required string Schema { get; init; }

    public required string SourceKey { get; init; }

    public required string SourceEtag { get; init; }

    /// <summary>0-based index of the chunk among those produced from the source object.</summary>
    public required int Chunk { get; init; }

    public required string Zone { get; init; }

    public required string Key { get; init; }

    public required int Records { get; init; }

    public required long FirstRecord { get; init; }

    /// <summary>SHA-256 of the records' dedup ids, in chunk order (the message's dedup id adds the source: <see cref="MessagePacker.SourceDedupId"/>).</summary>
    public required string RecordsSha256 { get; init; }

    public static string KeyFor(string sourceKey, string sourceEtag, int chunk) =>
        $"chunks/{sourceKey}/{QuarantineKeys.SafeEtag(sourceEtag)}/{chunk.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)}.ndjson.gz";
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(EnrichedChunkMessage))]
public sealed partial class ChunkJsonContext : JsonSerializerContext
{
}

/// <summary>
/// Builds one chunk: enriched records as NDJSON, gzip (fastest level: the chunk lives until loaded, so CPU matters
/// more than bytes). Deterministic: the same records in the same order give the same bytes, key and message.
/// </summary>
public sealed class ChunkBuilder : IDisposable
{
    private readonly MemoryStream buffer = new();
    private readonly List<string> dedupIds = [];
    private GZipStream? gzip;
    private Utf8JsonWriter? writer;

    public int Count => dedupIds.Count;

    public void Add(EnrichedTransaction record)
    {
        ArgumentNullException.ThrowIfNull(record);
        if (gzip is null)
        {
            buffer.SetLength(0);
            gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true);
            writer = new Utf8JsonWriter(gzip);
        }

        JsonSerializer.Serialize(writer!, record, TransactionJsonContext.Default.EnrichedTransaction);
        writer!.Flush();
        writer.Reset();
        gzip.WriteByte((byte)'\n');
        dedupIds.Add(record.DedupId);
    }

    /// <summary>The chunk's gzip bytes and its claim-check message; the builder is empty afterwards.</summary>
    public (byte[] Content, OutgoingMessage Message, EnrichedChunkMessage Claim) Seal(string zone, string sourceKey, string sourceEtag, int chunk, long firstRecord)
    {
        if (gzip is null || dedupIds.Count == 0)
        {
            throw new InvalidOperationException("An empty chunk cannot be sealed.");
        }

        writer!.Dispose();
        gzip.Dispose();
        writer = null;
        gzip = null;
        var content = buffer.ToArray();
        var sha = MessagePacker.MessageDedupId(dedupIds);
        var claim = new EnrichedChunkMessage
        {
            Schema = EnrichedChunkMessage.CurrentSchema,
            SourceKey = sourceKey,
            SourceEtag = sourceEtag,
            Chunk = chunk,
            Zone = zone,
            Key = EnrichedChunkMessage.KeyFor(sourceKey, sourceEtag, chunk),
            Records = dedupIds.Count,
            FirstRecord = firstRecord,
            RecordsSha256 = sha,
        };
        dedupIds.Clear();
        var body = JsonSerializer.Serialize(claim, ChunkJsonContext.Default.EnrichedChunkMessage);
        var message = new OutgoingMessage(body, MessageGroups.ForSource(sourceKey), MessagePacker.SourceDedupId(sourceKey, sourceEtag, sha))
        {
            EntryId = chunk.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return (content, message, claim);
    }

    public void Dispose()
    {
        writer?.Dispose();
        gzip?.Dispose();
        buffer.Dispose();
    }
}

/// <summary>Reads a chunk object back: every line must be an enriched record.</summary>
public static class ChunkReader
{
    /// <exception cref="InvalidDataException">When the gzip data or a line is broken.</exception>
    public static async Task<List<EnrichedTransaction>> ReadAsync(Stream content, int expectedRecords, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        using var plain = new MemoryStream();
        await using (var gzip = new GZipStream(content, CompressionMode.Decompress, leaveOpen: true))
        {
            await gzip.CopyToAsync(plain, cancellationToken);
        }

        var records = new List<EnrichedTransaction>(Math.Clamp(expectedRecords, 0, 100_000));
        var data = new ReadOnlySpan<byte>(plain.GetBuffer(), 0, (int)plain.Length);
        var line = 0;
        while (data.Length > 0)
        {
            line++;
            var end = data.IndexOf((byte)'\n');
            if (end < 0)
            {
                throw new InvalidDataException($"line {line} has no line end (the chunk is truncated)");
            }

            try
            {
                records.Add(JsonSerializer.Deserialize(data[..end], TransactionJsonContext.Default.EnrichedTransaction)
                    ?? throw new InvalidDataException($"line {line} is null"));
            }
            catch (JsonException ex)
            {
                throw new InvalidDataException($"line {line} is not an enriched record: {ex.Message}", ex);
            }

            data = data[(end + 1)..];
        }

        return records;
    }
}

/// <summary>Which kind of enriched message a body is, from its first property (both kinds write "schema" first).</summary>
public static class EnrichedMessageKind
{
    public static bool IsChunk(string body)
    {
        ArgumentNullException.ThrowIfNull(body);
        var prefix = body.Length > 256 ? body[..256] : body;
        var bytes = ArrayPool<byte>.Shared.Rent(Encoding.UTF8.GetMaxByteCount(prefix.Length));
        try
        {
            var length = Encoding.UTF8.GetBytes(prefix, bytes);
            var reader = new Utf8JsonReader(bytes.AsSpan(0, length), isFinalBlock: false, default);
            return reader.Read() && reader.TokenType == JsonTokenType.StartObject
                && reader.Read() && reader.TokenType == JsonTokenType.PropertyName && reader.ValueTextEquals("schema"u8)
                && reader.Read() && reader.TokenType == JsonTokenType.String && reader.ValueTextEquals(EnrichedChunkMessage.CurrentSchema);
        }
        catch (JsonException)
        {
            return false;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(bytes);
        }
    }
}
