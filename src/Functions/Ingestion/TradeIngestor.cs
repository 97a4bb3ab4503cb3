using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Ingestion;

/// <summary>
/// Pulls the trades API into the raw zone. Every page lands at a deterministic key
/// <c>transactions/api/&lt;source&gt;/&lt;run date&gt;/&lt;window id&gt;/page-00001.json</c> (a JSON array of L0
/// records, so EnrichTransactions picks it up through the ordinary object trigger) with the request in
/// metadata. A page already stored with the same bytes is left alone; different bytes never
/// overwrite it (they land beside it, suffixed by their hash). The incremental cursor and the
/// pending window live in <c>ingestion/&lt;source&gt;/state.json</c>; an audit per run in
/// <c>ingestion/&lt;source&gt;/runs/</c>.
/// <para>
/// The cursor is the highest updated_at seen, so a new version of an old trade (its executed_at unchanged)
/// moves it. Each window starts at the cursor inclusive (less <see cref="IngestionOptions.Overlap"/>), so a
/// version published later at exactly the cursor's instant is still served; the versions already stored
/// there (kept in the state as (transaction_id, version)) are dropped from the pages, so each lands once.
/// </para>
/// </summary>
public sealed class TradeIngestor(
    IObjectStore store,
    PipelineSettings settings,
    IOptions<IngestionOptions> options,
    ILogger<TradeIngestor> logger)
{
    public const string PagesPrefix = PipelineSettings.RawPrefix + "api/";
    public const string StatePrefix = "ingestion/";

    private const string StartTemplate = "Ingestion {Source}: {Kind} window {WindowId} ({Field} from {From}, before {Before}; {Seen} versions near the cursor already stored){Resumed}";
    private const string DoneTemplate = "Ingestion {Source}: {WindowId} {Status}: {Pages} pages ({PagesNew} new, {PagesUnchanged} unchanged, {PagesConflicting} conflicting), {Records} records ({RecordsSkipped} already stored), {Bytes} bytes, {Requests} requests, {Retries} retries in {DurationMs} ms; cursor {CursorBefore} → {CursorAfter}";
    private const string ConflictTemplate = "Ingestion {Source}: {Key} already holds different bytes; kept it and stored the new page at {ConflictKey}";
    private const string PageTemplate = "Ingestion {Source}: page {Page} from {Url}: {Records} records, {Outcome}";

    private IngestionOptions Options => options.Value;

    public static string StateKey(string source) => $"{StatePrefix}{source}/state.json";

    public static string RunsPrefix(string source) => $"{StatePrefix}{source}/runs/";

    /// <summary>The incremental run the timer starts: resumes a pending window, else fetches updated_at in [cursor − overlap, <paramref name="until"/>) and advances the cursor.</summary>
    public async Task<IngestionAudit> RunIncrementalAsync(DateTimeOffset until, CancellationToken cancellationToken = default)
    {
        Options.Validate();
        var state = await ReadStateAsync(cancellationToken) ?? new IngestionState(Options.Source, Options.InitialCursor, null, DateTimeOffset.UtcNow);
        var resumed = state.Pending is not null;
        var window = state.Pending ?? NewIncrementalWindow(state.Cursor, until);
        if (!resumed)
        {
            // Written before the first request: a crash leaves the window pending, and the next run repeats exactly it.
            state = state with { Pending = window, UpdatedAt = DateTimeOffset.UtcNow };
            await WriteStateAsync(state, cancellationToken);
        }

        // The state is not rewritten until the window completes, so a resumed window drops exactly what its first attempt dropped.
        var (audit, seen) = await FetchWindowAsync(window, resumed, state.Cursor, state.Seen, cancellationToken);
        if (audit.Status == "succeeded")
        {
            await WriteStateAsync(state with { Cursor = audit.CursorAfter, Pending = null, Seen = seen, UpdatedAt = DateTimeOffset.UtcNow }, cancellationToken);
        }

        return audit.Error is null ? audit : throw new IngestionFailedException(audit);
    }

    /// <summary>Fetches trades executed on <paramref name="from"/> … <paramref name="to"/> (UTC dates, inclusive) without reading or moving the cursor.</summary>
    public async Task<IngestionAudit> RunBackfillAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken = default)
    {
        if (to < from)
        {
            throw new ArgumentException($"--to {to:yyyy-MM-dd} is before --from {from:yyyy-MM-dd}.", nameof(to));
        }

        Options.Validate();
        var cursor = (await ReadStateAsync(cancellationToken))?.Cursor;
        var window = BackfillWindow(from, to);
        var (audit, _) = await FetchWindowAsync(window, false, cursor, [], cancellationToken);
        return audit.Error is null ? audit : throw new IngestionFailedException(audit);
    }

    /// <summary>Pages a backfill of these days has written so far (its live progress).</summary>
    public async Task<long> CountBackfillPagesAsync(DateOnly from, DateOnly to, CancellationToken cancellationToken = default)
    {
        long pages = 0;
        await foreach (var _ in store.ListAsync(settings.RawZone, WindowPrefix(BackfillWindow(from, to)), cancellationToken))
        {
            pages++;
        }

        return pages;
    }

    private static IngestionWindow BackfillWindow(DateOnly from, DateOnly to) => new(
        string.Create(CultureInfo.InvariantCulture, $"backfill-{from:yyyyMMdd}-{to:yyyyMMdd}"),
        "backfill",
        DateOnly.FromDateTime(DateTime.UtcNow),
        new DateTimeOffset(from.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero),
        new DateTimeOffset(to.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero));

    public async Task<IngestionState?> ReadStateAsync(CancellationToken cancellationToken = default)
    {
        var key = StateKey(Options.Source);
        if (await store.HeadAsync(settings.RawZone, key, cancellationToken) is null)
        {
            return null;
        }

        await using var stream = await store.OpenReadAsync(settings.RawZone, key, cancellationToken);
        return await JsonSerializer.DeserializeAsync(stream, IngestionJsonContext.Default.IngestionState, cancellationToken)
            ?? throw new InvalidDataException($"'{key}' in zone '{settings.RawZone}' is empty; delete it to restart from Ingestion:InitialCursor.");
    }

    /// <summary>The key prefix of a window's pages (a backfill's pages sit under the backfill's own folder).</summary>
    public string WindowPrefix(IngestionWindow window)
    {
        ArgumentNullException.ThrowIfNull(window);
        return window.Kind == "backfill"
            ? $"{PagesPrefix}{Options.Source}/backfill/{window.Id}/"
            : string.Create(CultureInfo.InvariantCulture, $"{PagesPrefix}{Options.Source}/{window.RunDate:yyyy-MM-dd}/{window.Id}/");
    }

    private IngestionWindow NewIncrementalWindow(DateTimeOffset? cursor, DateTimeOffset until)
    {
        var end = until.ToUniversalTime();
        return new IngestionWindow(
            string.Create(CultureInfo.InvariantCulture, $"run-{end:yyyyMMdd'T'HHmmss'Z'}"),
            "incremental",
            DateOnly.FromDateTime(end.UtcDateTime),
            cursor - Options.Overlap,
            end);
    }

    private async Task WriteStateAsync(IngestionState state, CancellationToken cancellationToken)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(state, IngestionJsonContext.Default.IngestionState);
        using var content = new MemoryStream(bytes);
        await store.PutAsync(settings.RawZone, StateKey(Options.Source), content, new PutOptions { ContentType = "application/json" }, cancellationToken);
    }

    /// <returns>The audit, and the versions with updated_at in [cursor after − overlap, cursor after] (those the next window drops).</returns>
    private async Task<(IngestionAudit Audit, IReadOnlyList<SeenVersion> Seen)> FetchWindowAsync(IngestionWindow window, bool resumed, DateTimeOffset? cursorBefore, IReadOnlyList<SeenVersion> seenBefore, CancellationToken cancellationToken)
    {
        var o = Options;
        var incremental = window.Kind == "incremental";
        logger.LogInformation(StartTemplate, o.Source, window.Kind, window.Id, incremental ? o.UpdatedAtField : "executed_at", Show(window.From), Show(window.Before), seenBefore.Count, resumed ? " — resuming the window of a run that did not complete" : string.Empty);
        var started = DateTimeOffset.UtcNow;
        var clock = Stopwatch.StartNew();
        var tally = new Tally(window, WindowPrefix(window), incremental, seenBefore.Select(v => v.Key).ToHashSet(StringComparer.Ordinal), o.Overlap);
        string? error = null;
        Exception? failure = null;
        await using var client = new TradeApiClient(o, logger);
        try
        {
            if (o.Pagination is PaginationStyle.PageNumber or PaginationStyle.OffsetLimit)
            {
                await FetchIndexedAsync(client, window, tally, cancellationToken);
            }
            else
            {
                await FetchChainedAsync(client, window, tally, cancellationToken);
            }
        }
        catch (Exception ex) when (ex is IngestionHttpException or InvalidDataException or ObjectStoreException)
        {
            error = ex.Message;
            failure = ex;
        }

        var cursorAfter = incremental && error is null
            ? Max(cursorBefore, tally.MaxUpdatedAt)
            : cursorBefore;
        IReadOnlyList<SeenVersion> seenAfter = seenBefore;
        if (incremental && error is null && cursorAfter is { } c)
        {
            seenAfter = [.. seenBefore.Concat(tally.Near)
                .Where(v => v.UpdatedAt >= c - o.Overlap)
                .DistinctBy(v => v.Key, StringComparer.Ordinal)
                .OrderBy(v => v.UpdatedAt)
                .ThenBy(v => v.Key, StringComparer.Ordinal)];
        }

        var audit = new IngestionAudit
        {
            Source = o.Source,
            Kind = window.Kind,
            WindowId = window.Id,
            Window = window,
            Resumed = resumed,
            Status = error is null ? "succeeded" : "failed",
            Error = error,
            StartedAt = started,
            FinishedAt = DateTimeOffset.UtcNow,
            DurationMs = clock.ElapsedMilliseconds,
            Pages = tally.Pages,
            PagesNew = tally.PagesNew,
            PagesUnchanged = tally.PagesUnchanged,
            PagesConflicting = tally.PagesConflicting,
            Records = tally.Records,
            RecordsNew = tally.RecordsNew,
            RecordsSkipped = tally.RecordsSkipped,
            Bytes = tally.Bytes,
            Requests = client.Requests,
            Retries = client.Retries,
            CursorBefore = cursorBefore,
            CursorAfter = cursorAfter,
            Keys = tally.Keys,
        };

        var auditKey = string.Create(CultureInfo.InvariantCulture, $"{RunsPrefix(o.Source)}{started:yyyyMMdd'T'HHmmssfff'Z'}-{window.Id}.json");
        using (var content = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(audit, IngestionJsonContext.Default.IngestionAudit)))
        {
            await store.PutAsync(settings.RawZone, auditKey, content, new PutOptions { ContentType = "application/json" }, cancellationToken);
        }

        var level = error is null ? LogLevel.Information : LogLevel.Error;
#pragma warning disable CA2254 // The template is the constant DoneTemplate; only the level varies.
        logger.Log(level, failure, DoneTemplate, o.Source, window.Id, audit.Status, audit.Pages, audit.PagesNew, audit.PagesUnchanged, audit.PagesConflicting, audit.Records, audit.RecordsSkipped, audit.Bytes, audit.Requests, audit.Retries, audit.DurationMs, Show(cursorBefore), Show(cursorAfter));
#pragma warning restore CA2254
        return (audit, seenAfter);
    }

    private List<KeyValuePair<string, string>> WindowQuery(IngestionWindow window)
    {
        var o = Options;
        var query = new List<KeyValuePair<string, string>>();
        var incremental = window.Kind == "incremental";
        if (window.From is { } from)
        {
            query.Add(new(incremental ? o.UpdatedSinceParameter : o.ExecutedFromParameter, IngestionOptions.Timestamp(from)));
        }

        query.Add(new(incremental ? o.UpdatedBeforeParameter : o.ExecutedBeforeParameter, IngestionOptions.Timestamp(window.Before)));
        return query;
    }

    /// <summary>Page-number and offset styles: up to MaxConcurrency pages in flight, stored in page order, stop at the first empty page.</summary>
    private async Task FetchIndexedAsync(TradeApiClient client, IngestionWindow window, Tally tally, CancellationToken cancellationToken)
    {
        var o = Options;
        var baseQuery = WindowQuery(window);
        var index = 0L;
        Uri UrlFor(long i)
        {
            var query = new List<KeyValuePair<string, string>>(baseQuery);
            if (o.Pagination == PaginationStyle.PageNumber)
            {
                query.Add(new(o.PageParameter, (o.FirstPage + i).ToString(CultureInfo.InvariantCulture)));
                query.Add(new(o.PageSizeParameter, o.PageSize.ToString(CultureInfo.InvariantCulture)));
            }
            else
            {
                query.Add(new(o.OffsetParameter, (i * o.PageSize).ToString(CultureInfo.InvariantCulture)));
                query.Add(new(o.LimitParameter, o.PageSize.ToString(CultureInfo.InvariantCulture)));
            }

            return o.ResourceUrl(query);
        }

        using var prefetch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var inflight = new Queue<Task<ApiResponse>>();
        try
        {
            // The first page alone: an empty window costs one request, and the cold first connection
            // does not hold back requests that would then reach the API together.
            inflight.Enqueue(client.GetAsync(UrlFor(index++), prefetch.Token));
            while (inflight.Count > 0)
            {
                var response = await inflight.Dequeue();
                var page = ParsePage(response, tally);
                if (page.Records == 0)
                {
                    break;
                }

                await StorePageAsync(response, page, tally, cancellationToken);
                while (inflight.Count < o.MaxConcurrency)
                {
                    inflight.Enqueue(client.GetAsync(UrlFor(index++), prefetch.Token));
                }
            }
        }
        finally
        {
            await prefetch.CancelAsync();
            foreach (var abandoned in inflight)
            {
                try
                {
                    await abandoned;
                }
                catch (Exception ex) when (ex is OperationCanceledException or IngestionHttpException)
                {
                    // A prefetched page past the end (or the run is failing anyway): its outcome does not matter.
                }
            }
        }
    }

    /// <summary>Cursor and Link styles: each page names the next, so one request at a time.</summary>
    private async Task FetchChainedAsync(TradeApiClient client, IngestionWindow window, Tally tally, CancellationToken cancellationToken)
    {
        var o = Options;
        var baseQuery = WindowQuery(window);
        var pageSize = new KeyValuePair<string, string>(o.LimitParameter, o.PageSize.ToString(CultureInfo.InvariantCulture));
        Uri? url = o.ResourceUrl([.. baseQuery, pageSize]);
        while (url is not null)
        {
            var response = await client.GetAsync(url, cancellationToken);
            var page = ParsePage(response, tally);
            if (page.Records == 0)
            {
                return;
            }

            await StorePageAsync(response, page, tally, cancellationToken);
            if (o.Pagination == PaginationStyle.Cursor)
            {
                url = page.NextCursor is { Length: > 0 } next
                    ? o.ResourceUrl([.. baseQuery, pageSize, new(o.CursorParameter, next)])
                    : null;
            }
            else
            {
                url = response.NextLink;
            }
        }
    }

    private ParsedPage ParsePage(ApiResponse response, Tally tally)
    {
        var o = Options;
        try
        {
            using var document = JsonDocument.Parse(response.Body);
            var root = document.RootElement;
            JsonElement records;
            string? nextCursor = null;
            if (o.RecordsField.Length == 0)
            {
                records = root;
            }
            else if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty(o.RecordsField, out records))
            {
                throw new InvalidDataException($"GET {response.Url} answered {response.Status} but the body has no '{o.RecordsField}' field (Ingestion:RecordsField).");
            }

            if (records.ValueKind != JsonValueKind.Array)
            {
                throw new InvalidDataException($"GET {response.Url} answered {response.Status} but the records are not a JSON array ({records.ValueKind}); set Ingestion:RecordsField to the envelope's array field.");
            }

            if (o.Pagination == PaginationStyle.Cursor && root.ValueKind == JsonValueKind.Object && root.TryGetProperty(o.CursorField, out var cursor))
            {
                nextCursor = cursor.ValueKind switch
                {
                    JsonValueKind.String => cursor.GetString(),
                    JsonValueKind.Number => cursor.GetRawText(),
                    _ => null,
                };
            }

            var count = 0;
            var observed = new List<SeenVersion>();
            List<ReadOnlyMemory<byte>>? kept = null; // only once a record is dropped
            DateTimeOffset? max = null;
            foreach (var record in records.EnumerateArray())
            {
                count++;
                var key = VersionKey(record);
                var skip = false;
                if (tally.Incremental)
                {
                    if (record.ValueKind != JsonValueKind.Object
                        || !record.TryGetProperty(o.UpdatedAtField, out var updated)
                        || updated.ValueKind != JsonValueKind.String
                        || !DateTimeOffset.TryParse(updated.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                    {
                        // Without it the cursor cannot move past this record: every later run would store it again.
                        throw new InvalidDataException($"GET {response.Url} answered {response.Status} but record {count} has no ISO-8601 '{o.UpdatedAtField}' (Ingestion:UpdatedAtField), which the incremental cursor follows. For an API without an updated-at field, see the README (ingestion: no updated_at).");
                    }

                    max = max is null || at > max ? at : max;
                    if (key is not null)
                    {
                        observed.Add(new SeenVersion(key, at.ToUniversalTime()));
                        skip = tally.SeenBefore.Contains(key);
                    }
                }

                if (skip && kept is null)
                {
                    kept = [.. records.EnumerateArray().Take(count - 1).Select(r => (ReadOnlyMemory<byte>)JsonMarshal.GetRawUtf8Value(r).ToArray())];
                }
                else if (!skip && kept is not null)
                {
                    kept.Add(JsonMarshal.GetRawUtf8Value(record).ToArray());
                }
            }

            // The records array's own bytes, sliced from the body unchanged (the whole body when there is no envelope);
            // with records dropped, the remaining records each byte-exact in a new array.
            byte[] recordBytes;
            if (kept is null)
            {
                recordBytes = o.RecordsField.Length == 0 ? response.Body : JsonMarshal.GetRawUtf8Value(records).ToArray();
            }
            else
            {
                using var buffer = new MemoryStream();
                buffer.WriteByte((byte)'[');
                for (var i = 0; i < kept.Count; i++)
                {
                    if (i > 0)
                    {
                        buffer.WriteByte((byte)',');
                    }

                    buffer.Write(kept[i].Span);
                }

                buffer.WriteByte((byte)']');
                recordBytes = buffer.ToArray();
            }

            return new ParsedPage(count, count - (kept?.Count ?? count), max, observed, nextCursor, recordBytes);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"GET {response.Url} answered {response.Status} but the body is not JSON: {ex.Message}", ex);
        }
    }

    /// <summary>"transaction_id#version" of an L0 record, or null when either is missing (such a record is never dropped).</summary>
    private static string? VersionKey(JsonElement record)
    {
        if (record.ValueKind != JsonValueKind.Object
            || !record.TryGetProperty(Transactions.TransactionFields.TransactionId, out var id)
            || id.ValueKind != JsonValueKind.String
            || !record.TryGetProperty(Transactions.TransactionFields.Version, out var version)
            || version.ValueKind is not (JsonValueKind.Number or JsonValueKind.String))
        {
            return null;
        }

        return id.GetString() + "#" + (version.ValueKind == JsonValueKind.String ? version.GetString() : version.GetRawText());
    }

    private async Task StorePageAsync(ApiResponse response, ParsedPage page, Tally tally, CancellationToken cancellationToken)
    {
        var o = Options;
        var number = tally.Pages + 1;
        tally.Pages = number;
        tally.Records += page.Records;
        tally.RecordsSkipped += page.Skipped;
        tally.Bytes += response.Body.Length;
        tally.Observe(page.MaxUpdatedAt, page.Observed);
        if (page.Skipped == page.Records)
        {
            // Every record was stored by an earlier run; the page number stays taken, so keys do not depend on what was dropped.
            logger.LogDebug(PageTemplate, o.Source, number, response.Url, page.Records, "already stored");
            return;
        }

        var name = string.Create(CultureInfo.InvariantCulture, $"page-{number:D5}.json");
        var key = tally.Prefix + name;
        var metadata = new Dictionary<string, string>
        {
            ["source"] = o.Source,
            ["window"] = tally.Window.Id,
            ["page"] = number.ToString(CultureInfo.InvariantCulture),
            ["request-url"] = response.Url.AbsoluteUri,
            ["http-status"] = response.Status.ToString(CultureInfo.InvariantCulture),
            ["attempts"] = response.Attempts.ToString(CultureInfo.InvariantCulture),
            ["records"] = (page.Records - page.Skipped).ToString(CultureInfo.InvariantCulture),
            ["fetched-at"] = IngestionOptions.Timestamp(DateTimeOffset.UtcNow),
        };

        if (page.Skipped > 0)
        {
            metadata["records-skipped"] = page.Skipped.ToString(CultureInfo.InvariantCulture);
        }

        if (o.RecordsField.Length > 0 || page.Skipped > 0)
        {
            // The response exactly as received, for traceability; the page under transactions/ is its records array (less those dropped).
            var envelopeKey = $"{StatePrefix}{o.Source}/responses/{tally.Prefix[PagesPrefix.Length..]}{name}";
            await PutIfAbsentAsync(envelopeKey, response.Body, response.ContentType ?? "application/json", metadata, cancellationToken);
            metadata["envelope-key"] = envelopeKey;
        }

        var (outcome, storedAt) = await PutIfAbsentAsync(key, page.RecordBytes, "application/json", metadata, cancellationToken);
        tally.Keys.Add(storedAt);

        switch (outcome)
        {
            case PutOutcome.Stored:
                tally.PagesNew++;
                tally.RecordsNew += page.Records - page.Skipped;
                break;
            case PutOutcome.Unchanged:
                tally.PagesUnchanged++;
                break;
            default:
                tally.PagesConflicting++;
                tally.RecordsNew += page.Records - page.Skipped;
                logger.LogWarning(ConflictTemplate, o.Source, key, storedAt);
                break;
        }

        logger.LogDebug(PageTemplate, o.Source, number, response.Url, page.Records, outcome);
    }

    /// <summary>Stores the bytes unless the key already holds exactly them; different bytes go to a hash-suffixed key beside it.</summary>
    private async Task<(PutOutcome Outcome, string Key)> PutIfAbsentAsync(string key, byte[] bytes, string contentType, Dictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var sha = Convert.ToHexStringLower(SHA256.HashData(bytes));
        var withHash = new Dictionary<string, string>(metadata) { ["content-sha256"] = sha };
        if (await TryPutAsync(key, bytes, contentType, withHash, cancellationToken))
        {
            return (PutOutcome.Stored, key);
        }

        if (await ExistingHashAsync(key, cancellationToken) == sha)
        {
            return (PutOutcome.Unchanged, key);
        }

        var conflictKey = key[..^".json".Length] + "." + sha[..12] + ".json";
        if (await TryPutAsync(conflictKey, bytes, contentType, withHash, cancellationToken))
        {
            return (PutOutcome.Conflict, conflictKey);
        }

        return (PutOutcome.Unchanged, conflictKey);
    }

    private async Task<bool> TryPutAsync(string key, byte[] bytes, string contentType, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        try
        {
            using var content = new MemoryStream(bytes, writable: false);
            await store.PutAsync(settings.RawZone, key, content, new PutOptions { ContentType = contentType, Metadata = metadata, IfNoneMatch = true }, cancellationToken);
            return true;
        }
        catch (ObjectAlreadyExistsException)
        {
            return false;
        }
    }

    private async Task<string> ExistingHashAsync(string key, CancellationToken cancellationToken)
    {
        var head = await store.HeadAsync(settings.RawZone, key, cancellationToken);
        if (head is not null && head.Metadata.TryGetValue("content-sha256", out var recorded))
        {
            return recorded;
        }

        await using var stream = await store.OpenReadAsync(settings.RawZone, key, cancellationToken);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }

    private static string Show(DateTimeOffset? at) => at is { } v ? IngestionOptions.Timestamp(v) : "-";

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) =>
        a is null ? b : b is null ? a : a > b ? a : b;

    private enum PutOutcome
    {
        Stored,
        Unchanged,
        Conflict,
    }

    /// <param name="Skipped">Records dropped: stored by an earlier run (at or below the cursor).</param>
    /// <param name="Observed">Each record's version key and updated_at (incremental windows).</param>
    private sealed record ParsedPage(int Records, int Skipped, DateTimeOffset? MaxUpdatedAt, List<SeenVersion> Observed, string? NextCursor, byte[] RecordBytes);

    private sealed class Tally(IngestionWindow window, string prefix, bool incremental, HashSet<string> seenBefore, TimeSpan overlap)
    {
        public bool Incremental { get; } = incremental;

        /// <summary>Versions an earlier run stored near the cursor: dropped when served again.</summary>
        public HashSet<string> SeenBefore { get; } = seenBefore;

        /// <summary>Versions of this window within the overlap below its highest updated_at so far.</summary>
        public List<SeenVersion> Near { get; } = [];

        public IngestionWindow Window { get; } = window;

        public string Prefix { get; } = prefix;

        public int Pages { get; set; }

        public int PagesNew { get; set; }

        public int PagesUnchanged { get; set; }

        public int PagesConflicting { get; set; }

        public long Records { get; set; }

        public long RecordsNew { get; set; }

        public long RecordsSkipped { get; set; }

        public long Bytes { get; set; }

        public DateTimeOffset? MaxUpdatedAt { get; private set; }

        public List<string> Keys { get; } = [];

        public void Observe(DateTimeOffset? pageMax, List<SeenVersion> observed)
        {
            if (pageMax is { } max && (MaxUpdatedAt is null || max > MaxUpdatedAt))
            {
                MaxUpdatedAt = max;
            }

            if (MaxUpdatedAt is not { } floor)
            {
                return;
            }

            // Pruned as the maximum rises, so memory stays the overlap's worth of versions, not the window's.
            floor -= overlap;
            Near.AddRange(observed.Where(v => v.UpdatedAt >= floor));
            Near.RemoveAll(v => v.UpdatedAt < floor);
        }
    }
}

/// <summary>The run failed; its audit (with the error) is already stored and the cursor did not move.</summary>
public sealed class IngestionFailedException(IngestionAudit audit)
    : Exception($"Ingestion of {audit.Source} window {audit.WindowId} failed after {audit.Pages} page(s): {audit.Error} The cursor did not move; run again to resume the same window (pages already stored are kept, none is duplicated).")
{
    public IngestionAudit Audit { get; } = audit;
}
