using System.Text.Json.Serialization;

namespace Pipeline.Functions.Ingestion;

/// <summary>
/// One window of the API to fetch: updated_at in [From, Before) for an incremental run, executed_at in
/// [From, Before) for a backfill. The id and key prefix are derived from the window only, so fetching it
/// again lands on the same keys.
/// </summary>
public sealed record IngestionWindow(
    string Id,
    string Kind,
    DateOnly RunDate,
    DateTimeOffset? From,
    DateTimeOffset Before);

/// <summary>A version already ingested near the cursor: "transaction_id#version" and its updated_at.</summary>
public sealed record SeenVersion(string Key, DateTimeOffset UpdatedAt);

/// <summary>The durable incremental state (raw zone, <c>ingestion/&lt;source&gt;/state.json</c>).</summary>
/// <param name="Cursor">Highest updated_at of a completed incremental run; the next window starts there, inclusive.</param>
/// <param name="Pending">The window of an incremental run that has not completed: the next run resumes it instead of opening a new one.</param>
public sealed record IngestionState(string Source, DateTimeOffset? Cursor, IngestionWindow? Pending, DateTimeOffset UpdatedAt)
{
    /// <summary>
    /// Versions already ingested with updated_at in [Cursor − Overlap, Cursor] (with no overlap: those tied at the
    /// cursor). The next window starts at or below the cursor, so it serves them again; they are dropped, not stored twice.
    /// </summary>
    public IReadOnlyList<SeenVersion> Seen { get; init; } = [];
}

/// <summary>The audit of one run (raw zone, <c>ingestion/&lt;source&gt;/runs/…json</c>).</summary>
public sealed record IngestionAudit
{
    public required string Source { get; init; }

    public required string Kind { get; init; }

    public required string WindowId { get; init; }

    public required IngestionWindow Window { get; init; }

    /// <summary>True when this run resumed the pending window of an earlier run that did not complete.</summary>
    public bool Resumed { get; init; }

    /// <summary>"succeeded" or "failed".</summary>
    public required string Status { get; init; }

    public string? Error { get; init; }

    public required DateTimeOffset StartedAt { get; init; }

    public required DateTimeOffset FinishedAt { get; init; }

    public long DurationMs { get; init; }

    /// <summary>Non-empty pages fetched.</summary>
    public int Pages { get; init; }

    /// <summary>Pages stored by this run (the rest were already there with the same bytes, conflicted, or held only skipped records).</summary>
    public int PagesNew { get; init; }

    public int PagesUnchanged { get; init; }

    /// <summary>Pages whose key held different bytes: kept, and the new bytes stored beside them.</summary>
    public int PagesConflicting { get; init; }

    public long Records { get; init; }

    public long RecordsNew { get; init; }

    /// <summary>Records served again at or below the cursor (ties, overlap) that an earlier run already stored: dropped.</summary>
    public long RecordsSkipped { get; init; }

    public long Bytes { get; init; }

    public long Requests { get; init; }

    public long Retries { get; init; }

    public DateTimeOffset? CursorBefore { get; init; }

    public DateTimeOffset? CursorAfter { get; init; }

    public IReadOnlyList<string> Keys { get; init; } = [];
}

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, WriteIndented = true, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(IngestionState))]
[JsonSerializable(typeof(IngestionAudit))]
[JsonSerializable(typeof(string))]
public sealed partial class IngestionJsonContext : JsonSerializerContext
{
}
