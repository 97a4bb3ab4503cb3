using System.Text.Json.Serialization;

namespace Pipeline.Functions.Functions;

/// <summary>
/// What EnrichTransactions did with one object version; written to the prepare zone at
/// manifests/&lt;source key&gt;/&lt;etag&gt;.json in ONE put, with every valid (transaction_id, version) in
/// <see cref="Versions"/> (in record order) — the source side of reconciliation. Manifests written before the
/// versions moved inside have them in a .versions file beside (<see cref="VersionsKeyFor"/>); readers fall back to it.
/// A small (inline) object's manifest is written inside a <see cref="BatchManifest"/> with the others enriched at the
/// same time instead (one PUT per batch, <see cref="ManifestBatcher"/>); a claim-check object keeps its own.
/// </summary>
public sealed record Manifest
{
    public required string SourceKey { get; init; }

    public required string SourceEtag { get; init; }

    public string? Format { get; init; }

    public required long Records { get; init; }

    public required long Valid { get; init; }

    public required long Quarantined { get; init; }

    public required int Messages { get; init; }

    public string? Unreadable { get; init; }

    /// <summary>"transaction_id\u001fversion" per valid record, in record order; null in manifests of the older layout.</summary>
    public List<string>? Versions { get; init; }

    /// <summary>Writes <paramref name="manifest"/> (without versions) followed by the versions, one per line of <paramref name="versionLines"/>.</summary>
    public static async Task WriteAsync(Stream destination, Manifest manifest, TextReader versionLines, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(manifest);
        ArgumentNullException.ThrowIfNull(versionLines);
        await using var writer = new System.Text.Json.Utf8JsonWriter(destination);
        writer.WriteStartObject();
        using (var header = System.Text.Json.JsonSerializer.SerializeToDocument(manifest with { Versions = null }, ManifestJsonContext.Default.Manifest))
        {
            foreach (var property in header.RootElement.EnumerateObject())
            {
                property.WriteTo(writer);
            }
        }

        writer.WriteStartArray("versions");

        // Block by block, each line written from the block (a claim-check file has millions: no string per line).
        var buffer = System.Buffers.ArrayPool<char>.Shared.Rent(1 << 14);
        try
        {
            var count = 0;
            while (true)
            {
                var read = await versionLines.ReadAsync(buffer.AsMemory(count), cancellationToken);
                count += read;
                var kept = WriteLines(writer, buffer.AsSpan(0, count), final: read == 0);
                buffer.AsSpan(count - kept, kept).CopyTo(buffer);
                count = kept;
                if (read == 0)
                {
                    break;
                }

                if (count == buffer.Length)
                {
                    var larger = System.Buffers.ArrayPool<char>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, count).CopyTo(larger);
                    System.Buffers.ArrayPool<char>.Shared.Return(buffer);
                    buffer = larger;
                }

                if (writer.BytesPending > 1 << 16)
                {
                    await writer.FlushAsync(cancellationToken);
                }
            }
        }
        finally
        {
            System.Buffers.ArrayPool<char>.Shared.Return(buffer);
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
    }

    /// <summary>
    /// Writes the non-empty lines of <paramref name="text"/> (ended by '\n', '\r' or "\r\n", as TextReader.ReadLine
    /// splits) as strings; returns how many chars at the end are an unfinished line (none when <paramref name="final"/>).
    /// </summary>
    private static int WriteLines(System.Text.Json.Utf8JsonWriter writer, ReadOnlySpan<char> text, bool final)
    {
        var start = 0;
        while (start < text.Length)
        {
            var end = text[start..].IndexOfAny('\n', '\r');
            if (end < 0)
            {
                if (!final)
                {
                    return text.Length - start;
                }

                end = text.Length - start;
            }

            if (end > 0)
            {
                writer.WriteStringValue(text.Slice(start, end));
            }

            start += end + 1;
        }

        return 0;
    }

    public static string KeyFor(string sourceKey, string etag) =>
        $"{PipelineSettings.ManifestPrefix}{sourceKey}/{Transactions.QuarantineKeys.SafeEtag(etag)}.json";

    public static string VersionsKeyFor(string sourceKey, string etag) =>
        $"{PipelineSettings.ManifestPrefix}{sourceKey}/{Transactions.QuarantineKeys.SafeEtag(etag)}.versions";

    /// <summary>Where batch manifests live (beside the per-object ones, whose keys start with the raw prefix).</summary>
    public const string BatchPrefix = PipelineSettings.ManifestPrefix + "batches/";

    /// <summary>True for a batch manifest's key (<see cref="BatchManifest"/>).</summary>
    public static bool IsBatchKey(string key) => key.StartsWith(BatchPrefix, StringComparison.Ordinal);
}

/// <summary>
/// The manifests of several object versions enriched together, in ONE object at manifests/batches/&lt;hash&gt;.json
/// (the hash is over the sorted (source key, ETag) pairs, so writing the same batch again writes the same object).
/// Written only after every listed object's effects (messages accepted, quarantine entries and chunks written) are
/// durable; an object never listed is pending and processed again. An object version may appear in more than one
/// batch (a redelivered event): readers count it once.
/// </summary>
public sealed record BatchManifest
{
    public required List<Manifest> Objects { get; init; }

    public static string KeyFor(IEnumerable<Manifest> manifests)
    {
        ArgumentNullException.ThrowIfNull(manifests);
        var ids = string.Join('\n', manifests.Select(m => m.SourceKey + "\u001f" + m.SourceEtag).Order(StringComparer.Ordinal));
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(ids)));
        return $"{Manifest.BatchPrefix}{hash[..32]}.json";
    }
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Manifest))]
[JsonSerializable(typeof(BatchManifest))]
public sealed partial class ManifestJsonContext : JsonSerializerContext
{
}
