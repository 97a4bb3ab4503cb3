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
        return accountId.Length is >= 1 and <= 128 && AllSqsGroupChars(accountId) ? accountId : "account-" + Hash(accountId);
    }

    public static string ForSource(string sourceKey)
    {
        ArgumentNullException.ThrowIfNull(sourceKey);
        return "source-" + Hash(sourceKey);
    }

    // A loop, not LINQ: called once per record of an inline file (an enumerator per call otherwise).
    private static bool AllSqsGroupChars(string value)
    {
        foreach (var c in value)
        {
            if (!char.IsAsciiLetterOrDigit(c) && c is not (>= '!' and <= '~'))
            {
                return false;
            }
        }

        return true;
    }

    private static string Hash(string value) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..40];
}

/// <summary>
/// A claim check: the queue message that stands for one chunk object in the prepare zone (Parquet, see
/// <see cref="ParquetChunkFormat"/>; chunks of schema v2, still readable, are NDJSON + gzip). <see cref="FirstRecord"/> is
/// the position of the chunk's first record in the source's valid records, i.e. the line in the manifest's .versions
/// list, so a dead-lettered chunk is accounted for even when the chunk object itself is gone.
/// </summary>
public sealed record EnrichedChunkMessage
{
    /// <summary>The chunk object is Parquet (<see cref="ParquetChunkFormat"/>).</summary>
    public const string CurrentSchema = "enriched-transactions-chunk/v3";

    /// <summary>The chunk object is NDJSON + gzip (<see cref="NdjsonChunkFormat"/>): written before v3, still read.</summary>
    public const string NdjsonSchema = "enriched-transactions-chunk/v2";

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

    /// <summary>True for the schemas a loader reads (<see cref="CurrentSchema"/> and <see cref="NdjsonSchema"/>).</summary>
    public static bool IsKnownSchema(string? schema) => schema is CurrentSchema or NdjsonSchema;

    public static string KeyFor(string sourceKey, string sourceEtag, int chunk) =>
        $"chunks/{sourceKey}/{QuarantineKeys.SafeEtag(sourceEtag)}/{chunk.ToString("D6", System.Globalization.CultureInfo.InvariantCulture)}.parquet";

    /// <summary>The key a v2 (NDJSON + gzip) chunk had.</summary>
    public static string NdjsonKeyFor(string sourceKey, string sourceEtag, int chunk) =>
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
/// Builds one chunk: enriched records as Parquet (zstd; <see cref="ParquetChunkFormat"/>). The records are held until
/// sealed (a chunk is 1,000 by default): Parquet is written column by column. Deterministic: the same records in the
/// same order give the same bytes, key and message.
/// </summary>
public sealed class ChunkBuilder : IDisposable
{
    private readonly List<EnrichedTransaction> records = [];

    /// <summary>The chunk object's content type.</summary>
    public const string ContentType = ParquetChunkFormat.ContentType;

    public int Count => records.Count;

    public void Add(EnrichedTransaction record)
    {
        ArgumentNullException.ThrowIfNull(record);
        records.Add(record);
    }

    /// <summary>The chunk's Parquet bytes and its claim-check message; the builder is empty afterwards.</summary>
    public async Task<(byte[] Content, OutgoingMessage Message, EnrichedChunkMessage Claim)> SealAsync(
        string zone, string sourceKey, string sourceEtag, int chunk, long firstRecord, CancellationToken cancellationToken = default)
    {
        if (records.Count == 0)
        {
            throw new InvalidOperationException("An empty chunk cannot be sealed.");
        }

        var sha = MessagePacker.MessageDedupId(records.Select(r => r.DedupId));
        var claim = new EnrichedChunkMessage
        {
            Schema = EnrichedChunkMessage.CurrentSchema,
            SourceKey = sourceKey,
            SourceEtag = sourceEtag,
            Chunk = chunk,
            Zone = zone,
            Key = EnrichedChunkMessage.KeyFor(sourceKey, sourceEtag, chunk),
            Records = records.Count,
            FirstRecord = firstRecord,
            RecordsSha256 = sha,
        };
        var content = await ParquetChunkFormat.WriteAsync(records, ChunkReader.FooterFor(claim), cancellationToken);
        records.Clear();
        var body = JsonSerializer.Serialize(claim, ChunkJsonContext.Default.EnrichedChunkMessage);
        var message = new OutgoingMessage(body, MessageGroups.ForSource(sourceKey), MessagePacker.SourceDedupId(sourceKey, sourceEtag, sha))
        {
            EntryId = chunk.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        return (content, message, claim);
    }

    public void Dispose() => records.Clear();
}

/// <summary>
/// Reads a chunk object back for its claim check, in the format the claim's schema names, and checks that it is the
/// chunk the claim names: for Parquet the footer's source, ETag, chunk index, record count and records_sha256 (so a
/// chunk of another object or another position is refused by name) and its content checksum. The caller still checks
/// the count and the dedup ids against the claim (both formats) and re-validates every record.
/// </summary>
public static class ChunkReader
{
    /// <summary>The footer metadata a chunk carries for <paramref name="claim"/>.</summary>
    public static IReadOnlyDictionary<string, string> FooterFor(EnrichedChunkMessage claim)
    {
        ArgumentNullException.ThrowIfNull(claim);
        return new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [ParquetChunkFormat.SchemaKey] = claim.Schema,
            [ParquetChunkFormat.SourceKeyKey] = claim.SourceKey,
            [ParquetChunkFormat.SourceEtagKey] = claim.SourceEtag,
            [ParquetChunkFormat.ChunkKey] = claim.Chunk.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ParquetChunkFormat.RecordsKey] = claim.Records.ToString(System.Globalization.CultureInfo.InvariantCulture),
            [ParquetChunkFormat.RecordsSha256Key] = claim.RecordsSha256,
        };
    }

    /// <exception cref="InvalidDataException">What is wrong with the chunk, in words.</exception>
    public static async Task<List<EnrichedTransaction>> ReadAsync(Stream content, EnrichedChunkMessage claim, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ArgumentNullException.ThrowIfNull(claim);
        if (claim.Schema == EnrichedChunkMessage.NdjsonSchema)
        {
            return await NdjsonChunkFormat.ReadAsync(content, claim.Records, cancellationToken);
        }

        if (claim.Schema != EnrichedChunkMessage.CurrentSchema)
        {
            throw new InvalidDataException($"the claim check's schema '{claim.Schema}' is unknown (expected {EnrichedChunkMessage.CurrentSchema} or {EnrichedChunkMessage.NdjsonSchema})");
        }

        var (records, footer) = await ParquetChunkFormat.ReadAsync(content, cancellationToken);
        var expected = FooterFor(claim);
        string Of(IReadOnlyDictionary<string, string> m) =>
            $"{m.GetValueOrDefault(ParquetChunkFormat.SourceKeyKey, "?")} (ETag {m.GetValueOrDefault(ParquetChunkFormat.SourceEtagKey, "?")}) chunk {m.GetValueOrDefault(ParquetChunkFormat.ChunkKey, "?")}";
        foreach (var key in new[] { ParquetChunkFormat.SchemaKey, ParquetChunkFormat.SourceKeyKey, ParquetChunkFormat.SourceEtagKey, ParquetChunkFormat.ChunkKey })
        {
            if (footer.GetValueOrDefault(key) != expected[key])
            {
                throw new InvalidDataException($"it was written for {Of(footer)}, the claim check names {Of(expected)}");
            }
        }

        if (footer.GetValueOrDefault(ParquetChunkFormat.RecordsKey) != records.Count.ToString(System.Globalization.CultureInfo.InvariantCulture))
        {
            throw new InvalidDataException($"it holds {records.Count} records, its footer says {footer.GetValueOrDefault(ParquetChunkFormat.RecordsKey, "?")}");
        }

        return records;
    }
}

/// <summary>
/// The v2 chunk format, NDJSON of enriched records, gzip: no longer written by the pipeline, still read so that
/// claim checks already in flight when v3 was deployed load (and kept for the chunk-format benchmark).
/// </summary>
public static class NdjsonChunkFormat
{
    /// <summary>Writes the records as v2 wrote them (gzip, fastest level).</summary>
    public static byte[] Write(IEnumerable<EnrichedTransaction> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest, leaveOpen: true))
        using (var writer = new Utf8JsonWriter(gzip))
        {
            foreach (var record in records)
            {
                JsonSerializer.Serialize(writer, record, TransactionJsonContext.Default.EnrichedTransaction);
                writer.Flush();
                writer.Reset();
                gzip.WriteByte((byte)'\n');
            }
        }

        return buffer.ToArray();
    }

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
                && reader.Read() && reader.TokenType == JsonTokenType.String
                && (reader.ValueTextEquals(EnrichedChunkMessage.CurrentSchema) || reader.ValueTextEquals(EnrichedChunkMessage.NdjsonSchema));
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
