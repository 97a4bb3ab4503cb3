using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Pipeline.Host.Telemetry;

/// <summary>
/// The pipeline's one ActivitySource and Meter. Without a listener (telemetry off) StartActivity returns
/// null and counters record nothing, so the instrumented code costs a null check.
/// </summary>
public static class PipelineTelemetry
{
    /// <summary>The ActivitySource and Meter name; an OpenTelemetry SDK subscribes to it.</summary>
    public const string Name = "Pipeline";

    /// <summary>W3C trace context message attribute (https://www.w3.org/TR/trace-context/).</summary>
    public const string TraceParentAttribute = "traceparent";

    public const string TraceStateAttribute = "tracestate";

    public static readonly ActivitySource Source = new(Name, typeof(PipelineTelemetry).Assembly.GetName().Version?.ToString());

    public static readonly Meter Meter = new(Name, typeof(PipelineTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>Records read from source files (valid or not).</summary>
    public static readonly Counter<long> RecordsRead = Meter.CreateCounter<long>("pipeline.records.read", "{record}", "Records read from source files");

    /// <summary>Records merged into the warehouse by a load (transactions rows received by the merge).</summary>
    public static readonly Counter<long> RecordsLoaded = Meter.CreateCounter<long>("pipeline.records.loaded", "{record}", "Records handed to the warehouse merge");

    public static readonly Counter<long> RecordsQuarantined = Meter.CreateCounter<long>("pipeline.records.quarantined", "{record}", "Records written to the quarantine zone");

    /// <summary>Queue messages or object events moved to a dead-letter queue/zone by the host.</summary>
    public static readonly Counter<long> DeadLettered = Meter.CreateCounter<long>("pipeline.dead_lettered", "{item}", "Queue messages and object events dead-lettered by the host");

    /// <summary>
    /// Adds <c>traceparent</c> (and <c>tracestate</c>) of <paramref name="activity"/> to a copy of
    /// <paramref name="attributes"/>; an existing <c>traceparent</c> wins (a redriven message keeps its origin).
    /// </summary>
    public static IReadOnlyDictionary<string, string>? Inject(Activity? activity, IReadOnlyDictionary<string, string>? attributes)
    {
        if (activity is null || activity.IdFormat != ActivityIdFormat.W3C || (attributes?.ContainsKey(TraceParentAttribute) ?? false))
        {
            return attributes;
        }

        var copy = attributes is null ? new Dictionary<string, string>(2, StringComparer.Ordinal) : new Dictionary<string, string>(attributes, StringComparer.Ordinal);
        copy[TraceParentAttribute] = activity.Id!;
        if (!string.IsNullOrEmpty(activity.TraceStateString))
        {
            copy[TraceStateAttribute] = activity.TraceStateString;
        }

        return copy;
    }

    /// <summary>The W3C context a message carries, or false when it has none (or a malformed one).</summary>
    public static bool TryExtract(IReadOnlyDictionary<string, string> attributes, out ActivityContext context)
    {
        context = default;
        return attributes.TryGetValue(TraceParentAttribute, out var parent)
            && ActivityContext.TryParse(parent, attributes.GetValueOrDefault(TraceStateAttribute), isRemote: true, out context);
    }
}
