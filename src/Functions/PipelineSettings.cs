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
            Required(configuration, "Queues:Enriched"))
        {
            RefineZone = configuration[RefineZoneSetting] is { Length: > 0 } refine ? refine : null,
        };
    }

    public const string RefineZoneSetting = "Zones:Refine";

    /// <summary>The refine (gold) zone; only RefineDaily needs it, so it is checked there (<see cref="RequireRefineZone"/>).</summary>
    public string? RefineZone { get; init; }

    public string RequireRefineZone() => RefineZone
        ?? throw new InvalidOperationException($"Setting '{RefineZoneSetting}' is missing; set it in local.settings.json Values or as an environment variable (Zones__Refine).");

    private static string Required(IConfiguration configuration, string name) =>
        configuration[name] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"Setting '{name}' is missing; set it in local.settings.json Values or as an environment variable ({name.Replace(":", "__", StringComparison.Ordinal)}).");
}
