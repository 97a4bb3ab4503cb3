using System.Text.Json.Serialization;

namespace Pipeline.Functions.Functions;

/// <summary>
/// What EnrichTransactions did with one object version; written to the prepare zone at
/// manifests/&lt;source key&gt;/&lt;etag&gt;.json, beside a .versions file listing every valid
/// (transaction_id, version) — the source side of reconciliation.
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

    public static string KeyFor(string sourceKey, string etag) =>
        $"{PipelineSettings.ManifestPrefix}{sourceKey}/{Transactions.QuarantineKeys.SafeEtag(etag)}.json";

    public static string VersionsKeyFor(string sourceKey, string etag) =>
        $"{PipelineSettings.ManifestPrefix}{sourceKey}/{Transactions.QuarantineKeys.SafeEtag(etag)}.versions";
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true)]
[JsonSerializable(typeof(Manifest))]
public sealed partial class ManifestJsonContext : JsonSerializerContext
{
}
