using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Functions.Ingestion;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary>What <c>status</c> shows: the ingestion cursor and last runs, queue depths, dead letters, quarantine.</summary>
public sealed record PipelineStatus(
    string Source,
    IngestionState? State,
    IReadOnlyList<IngestionAudit> Runs,
    IReadOnlyList<PipelineStatus.QueueStatus> Queues,
    long QuarantinedRecords,
    long QuarantinedFiles,
    PipelineStatus.ObjectStates Objects)
{
    /// <summary>Raw objects by state, from the raw listing, the manifests and the event dead letter.</summary>
    public sealed record ObjectStates(int Raw, int Processed, int Pending, IReadOnlyList<DeadLetteredObjectEvent> DeadLettered);

    /// <param name="Depth">Null when the queue does not exist yet.</param>
    public sealed record QueueStatus(string Name, string Role, QueueDepth? Depth)
    {
        /// <summary>Whether the provider can tell the oldest message's age (the embedded queue can; SQS cannot, see README).</summary>
        public bool AgeKnown { get; init; }

        /// <summary>Age of the oldest message; null when the queue is empty, missing, or <see cref="AgeKnown"/> is false.</summary>
        public TimeSpan? OldestAge { get; init; }
    }

    public static async Task<PipelineStatus> CollectAsync(FunctionsHost host, int runs, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(host);
        var services = host.Services;
        var store = services.GetRequiredService<IObjectStore>();
        var settings = services.GetRequiredService<PipelineSettings>();
        var source = services.GetRequiredService<IOptions<IngestionOptions>>().Value.Source;
        var ingestor = services.GetRequiredService<TradeIngestor>();

        var state = await ingestor.ReadStateAsync(cancellationToken);

        // Audit keys start with the run's start time: the last N in key order are the latest runs.
        var auditKeys = new List<string>();
        await foreach (var info in store.ListAsync(settings.RawZone, TradeIngestor.RunsPrefix(source), cancellationToken))
        {
            auditKeys.Add(info.Key);
        }

        var audits = new List<IngestionAudit>();
        foreach (var key in auditKeys.TakeLast(Math.Max(0, runs)).Reverse())
        {
            await using var stream = await store.OpenReadAsync(settings.RawZone, key, cancellationToken);
            if (await JsonSerializer.DeserializeAsync(stream, IngestionJsonContext.Default.IngestionAudit, cancellationToken) is { } audit)
            {
                audits.Add(audit);
            }
        }

        var queue = services.GetRequiredService<IMessageQueue>();

        // Registered on its own by providers that can tell (a decorated IMessageQueue would hide the capability).
        var ages = services.GetService<IQueueAge>();
        var queues = new List<QueueStatus>();
        var deadLetter = host.DeadLetterQueueFor(settings.EnrichedQueue);
        foreach (var (name, role) in new[] { (settings.EnrichedQueue, "enriched (FIFO)"), (deadLetter, "dead letters") })
        {
            QueueDepth? depth;
            TimeSpan? age = null;
            try
            {
                depth = await queue.GetDepthAsync(name, cancellationToken);
                age = ages is null ? null : await ages.GetOldestMessageAgeAsync(name, cancellationToken);
            }
            catch (QueueNotFoundException)
            {
                depth = null;
            }

            queues.Add(new QueueStatus(name, role, depth) { AgeKnown = ages is not null, OldestAge = age });
        }

        long records = 0, files = 0;
        await foreach (var info in store.ListAsync(settings.QuarantineZone, string.Empty, cancellationToken))
        {
            if (info.Key.EndsWith("/file.json", StringComparison.Ordinal))
            {
                files++;
            }
            else
            {
                records++;
            }
        }

        var conflicts = await PipelineSummary.CountConflictsAsync(services.GetRequiredService<IWarehouse>(), cancellationToken);
        return new PipelineStatus(source, state, audits, queues, records, files, await ObjectStatesAsync(services, store, settings, cancellationToken)) { Conflicts = conflicts };
    }

    private static async Task<ObjectStates> ObjectStatesAsync(IServiceProvider services, IObjectStore store, PipelineSettings settings, CancellationToken cancellationToken)
    {
        // A per-object manifest's key names its source key and ETag (no read); a batch manifest is read (one GET each).
        var manifests = await ManifestReader.ProcessedAsync(store, settings, cache: null, cancellationToken);

        var dead = services.GetService<IObjectEventSource>() is IObjectEventDeadLetters deadLetters
            ? await deadLetters.ListDeadLettersAsync(settings.RawZone, cancellationToken)
            : [];
        var deadIds = dead.Select(d => Pipeline.Functions.Functions.Manifest.KeyFor(d.Event.Key, d.Event.ETag.Trim('"'))).ToHashSet(StringComparer.Ordinal);
        int raw = 0, processed = 0, pending = 0;
        await foreach (var info in store.ListAsync(settings.RawZone, PipelineSettings.RawPrefix, cancellationToken))
        {
            raw++;
            var manifest = Pipeline.Functions.Functions.Manifest.KeyFor(info.Key, info.ETag.Trim('"'));
            if (manifests.Contains(manifest))
            {
                processed++;
            }
            else if (!deadIds.Contains(manifest))
            {
                pending++;
            }
        }

        return new ObjectStates(raw, processed, pending, dead);
    }

    /// <summary>Versions loaded with more than one distinct content (see transaction_contents).</summary>
    public long Conflicts { get; init; }

    /// <summary>One audit as a line of text.</summary>
    public static string Describe(IngestionAudit audit)
    {
        ArgumentNullException.ThrowIfNull(audit);
        var rate = audit.DurationMs > 0 ? audit.Pages * 1000.0 / audit.DurationMs : 0;
        return string.Create(CultureInfo.InvariantCulture, $"""
            {audit.StartedAt:yyyy-MM-dd HH:mm:ss}Z {audit.Kind} {audit.WindowId}{(audit.Resumed ? " (resumed)" : string.Empty)}: {audit.Status.ToUpperInvariant()}
              pages {audit.Pages} ({audit.PagesNew} new, {audit.PagesUnchanged} unchanged, {audit.PagesConflicting} conflicting), records {audit.Records:N0} ({audit.RecordsNew:N0} new), bytes {audit.Bytes:N0}
              requests {audit.Requests}, retries {audit.Retries}, duration {audit.DurationMs:N0} ms ({rate:F1} pages/s)
              cursor {Show(audit.CursorBefore)} → {Show(audit.CursorAfter)}{(audit.Error is null ? string.Empty : "\n  error: " + audit.Error)}
            """);
    }

    public string ToText()
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"Raw objects: {Objects.Raw:N0} — processed {Objects.Processed:N0}, dead-lettered {Objects.DeadLettered.Count:N0}, pending {Objects.Pending:N0}");
        foreach (var dead in Objects.DeadLettered)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  dead-lettered {dead.Event.Key} after {dead.ReceiveCount} deliveries ({dead.DeadLetteredAt:yyyy-MM-dd HH:mm:ss}Z): {dead.Error}");
        }

        text.Append(CultureInfo.InvariantCulture, $"Ingestion '{Source}': cursor {Show(State?.Cursor)}");
        if (State?.Pending is { } pending)
        {
            text.Append(CultureInfo.InvariantCulture, $"; window {pending.Id} did not complete — the next run resumes it");
        }

        text.AppendLine();
        if (Runs.Count == 0)
        {
            text.AppendLine("  no runs yet (`ingest`, `backfill`, or the IngestTrades timer under `start`)");
        }

        foreach (var run in Runs)
        {
            text.AppendLine(Describe(run));
        }

        text.AppendLine("Queues:");
        foreach (var q in Queues)
        {
            text.AppendLine(q.Depth is { } d
                ? string.Create(CultureInfo.InvariantCulture, $"  {q.Name,-40} {q.Role,-16} visible {d.Visible,8:N0}  in flight {d.InFlight,8:N0}  delayed {d.Delayed,8:N0}  age: {DescribeAge(q)}")
                : $"  {q.Name,-40} {q.Role,-16} (not created yet)");
        }

        text.AppendLine(CultureInfo.InvariantCulture, $"Quarantine: {QuarantinedRecords:N0} records, {QuarantinedFiles:N0} whole files");
        text.Append(CultureInfo.InvariantCulture, $"Conflicts: {Conflicts:N0} versions loaded with more than one content (each content is a row of transaction_contents)");
        return text.ToString();
    }

    /// <summary>The age column of a queue line: its oldest message's age, "empty", or why it is not known.</summary>
    public static string DescribeAge(QueueStatus queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        return !queue.AgeKnown ? "n/a on SQS (CloudWatch ApproximateAgeOfOldestMessage)"
            : queue.OldestAge is { } age ? string.Create(CultureInfo.InvariantCulture, $"{age.TotalSeconds:N0} s")
            : "empty";
    }

    public string ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            w.WriteStartObject();
            w.WriteString("source", Source);
            w.WritePropertyName("state");
            if (State is null)
            {
                w.WriteNullValue();
            }
            else
            {
                JsonSerializer.Serialize(w, State, IngestionJsonContext.Default.IngestionState);
            }

            w.WriteStartArray("runs");
            foreach (var run in Runs)
            {
                JsonSerializer.Serialize(w, run with { Keys = [] }, IngestionJsonContext.Default.IngestionAudit);
            }

            w.WriteEndArray();
            w.WriteStartArray("queues");
            foreach (var q in Queues)
            {
                w.WriteStartObject();
                w.WriteString("name", q.Name);
                w.WriteString("role", q.Role);
                w.WriteBoolean("exists", q.Depth is not null);
                w.WriteNumber("visible", q.Depth?.Visible ?? 0);
                w.WriteNumber("in_flight", q.Depth?.InFlight ?? 0);
                w.WriteNumber("delayed", q.Depth?.Delayed ?? 0);
                if (q.OldestAge is { } age)
                {
                    w.WriteNumber("oldest_age_seconds", Math.Round(age.TotalSeconds, 1));
                }
                else
                {
                    w.WriteNull("oldest_age_seconds");
                }
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteNumber("dead_lettered", Queues.Where(q => q.Role == "dead letters").Sum(q => q.Depth?.Total ?? 0));
            w.WriteNumber("quarantined_records", QuarantinedRecords);
            w.WriteNumber("quarantined_files", QuarantinedFiles);
            w.WriteNumber("conflicts", Conflicts);
            w.WriteStartObject("objects");
            w.WriteNumber("raw", Objects.Raw);
            w.WriteNumber("processed", Objects.Processed);
            w.WriteNumber("pending", Objects.Pending);
            w.WriteNumber("dead_lettered", Objects.DeadLettered.Count);
            w.WriteStartArray("dead_lettered_list");
            foreach (var dead in Objects.DeadLettered)
            {
                WriteDeadLetter(w, dead);
            }

            w.WriteEndArray();
            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    /// <summary>One dead-lettered object event as JSON (status and run print the same shape).</summary>
    public static void WriteDeadLetter(Utf8JsonWriter w, DeadLetteredObjectEvent dead)
    {
        ArgumentNullException.ThrowIfNull(w);
        ArgumentNullException.ThrowIfNull(dead);
        w.WriteStartObject();
        w.WriteString("key", dead.Event.Key);
        w.WriteString("etag", dead.Event.ETag);
        w.WriteNumber("deliveries", dead.ReceiveCount);
        w.WriteString("error", dead.Error);
        w.WriteString("dead_lettered_at", dead.DeadLetteredAt.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture));
        w.WriteEndObject();
    }

    private static string Show(DateTimeOffset? at) => at is { } v ? IngestionOptions.Timestamp(v) : "(none)";
}
