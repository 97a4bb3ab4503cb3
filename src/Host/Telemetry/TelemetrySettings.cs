using Microsoft.Extensions.Configuration;

namespace Pipeline.Host.Telemetry;

/// <summary>
/// Whether and where to export, from the standard OpenTelemetry environment variables
/// (read through configuration, so overrides and local.settings.json work too). Off unless asked for.
/// </summary>
/// <remarks>
/// On when <c>OTEL_TRACES_EXPORTER</c> / <c>OTEL_METRICS_EXPORTER</c> name an exporter (<c>otlp</c>,
/// <c>console</c>; <c>none</c> = off), when an OTLP endpoint is set (<c>OTEL_EXPORTER_OTLP_ENDPOINT</c> or the
/// per-signal one: OTLP then), with <c>Telemetry:Console=true</c> (console for both signals), or with
/// <c>Telemetry:Enabled=true</c> (the SDK without exporters unless named: for in-process exporters).
/// <c>OTEL_SDK_DISABLED=true</c> wins over everything.
/// </remarks>
public sealed record TelemetrySettings(IReadOnlySet<string> TraceExporters, IReadOnlySet<string> MetricExporters, bool Forced)
{
    public const string Otlp = "otlp";
    public const string Console = "console";

    public static TelemetrySettings Off { get; } = new(new HashSet<string>(), new HashSet<string>(), false);

    public bool Enabled => Forced || TraceExporters.Count > 0 || MetricExporters.Count > 0;

    public static TelemetrySettings From(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        if (IsTrue(configuration["OTEL_SDK_DISABLED"]))
        {
            return Off;
        }

        var console = IsTrue(configuration["Telemetry:Console"]);
        var endpoint = !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        var traces = Exporters(configuration["OTEL_TRACES_EXPORTER"], endpoint || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"]), console);
        var metrics = Exporters(configuration["OTEL_METRICS_EXPORTER"], endpoint || !string.IsNullOrWhiteSpace(configuration["OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"]), console);
        return new TelemetrySettings(traces, metrics, IsTrue(configuration["Telemetry:Enabled"]));
    }

    private static HashSet<string> Exporters(string? named, bool otlpEndpoint, bool console)
    {
        var set = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        if (!string.IsNullOrWhiteSpace(named))
        {
            foreach (var part in named.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (part.Equals(Otlp, StringComparison.OrdinalIgnoreCase) || part.Equals(Console, StringComparison.OrdinalIgnoreCase))
                {
                    set.Add(part.ToLowerInvariant());
                }
                else if (!part.Equals("none", StringComparison.OrdinalIgnoreCase))
                {
                    throw new HostConfigurationException($"OpenTelemetry exporter '{part}' is not supported; use otlp, console or none.");
                }
            }

            if (console)
            {
                set.Add(Console);
            }

            return set;
        }

        if (otlpEndpoint)
        {
            set.Add(Otlp);
        }

        if (console)
        {
            set.Add(Console);
        }

        return set;
    }

    private static bool IsTrue(string? value) => bool.TryParse(value, out var b) && b;
}
