using System.Text.Json.Serialization;

namespace Pipeline.Functions.Functions;

/// <summary>
/// What EnrichTransactions did with one object version; written to the prepare zone at
/// manifests/&lt;source key&gt;/&lt;etag&gt;.json in ONE put, with every valid (transaction_id, version) in
/// <see cref="Versions"/> (in record order) — the source side of reconciliation. Manifests written before the
/// versions moved inside have them in a .versions file beside (<see cref="VersionsKeyFor"/>); readers fall back to it.
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
        while (await versionLines.ReadLineAsync(cancellationToken) is { } line)
        {
            if (line.Length > 0)
            {
                writer.WriteStringValue(line);
                if (writer.BytesPending > 1 << 16)
                {
                    await writer.FlushAsync(cancellationToken);
                }
            }
        }

        writer.WriteEndArray();
        writer.WriteEndObject();
        await writer.FlushAsync(cancellationToken);
    }

    public static string KeyFor(string sourceKey, string etag) =>
        $"{PipelineSettings.ManifestPrefix}{sourceKey}/{Transactions.QuarantineKeys.SafeEtag(etag)}.json";

    public static string VersionsKeyFor(string sourceKey, string etag) =>
        $"{PipelineSettings.ManifestPrefix}{sourceKey}/{Transactions.QuarantineKeys.SafeEtag(etag)}.versions";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(Manifest))]
public sealed partial class ManifestJsonContext : JsonSerializerContext
{
}
