using Microsoft.Extensions.Configuration;

namespace Pipeline.Functions;

/// <summary>Zone and queue names from configuration (local.settings.json Values, environment, overrides).</summary>
public sealed record PipelineSettings(string RawZone, string QuarantineZone, string ReferenceZone, string PrepareZone, string EnrichedQueue)
{
    public const string RawPrefix = "transactions/";
    public const string ManifestPrefix = "manifests/";

    public static PipelineSettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        return new PipelineSettings(
            Required(configuration, "Zones:Raw"),
            Required(configuration, "Zones:Quarantine"),
            Required(configuration, "Zones:Reference"),
            Required(configuration, "Zones:Prepare"),
            Required(configuration, "Queues:Enriched"));
    }

    private static string Required(IConfiguration configuration, string name) =>
        configuration[name] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"Setting '{name}' is missing; set it in local.settings.json Values or as an environment variable ({name.Replace(":", "__", StringComparison.Ordinal)}).");
}
