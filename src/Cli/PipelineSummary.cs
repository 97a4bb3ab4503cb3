using System.Text;
using System.Text.Json;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary>
/// The state of a data root, reconciled from independent sources. Objects: the raw zone's listing, each current
/// object version in exactly one state — processed (a manifest in the prepare zone lists it: its own, or the batch
/// manifest of the objects enriched with it), quarantined whole (its
/// file.json in the quarantine zone), dead-lettered (the object-event dead letter, with its error) — or pending.
/// Records: every valid (transaction_id, version) a manifest lists is in the warehouse (transaction_versions) or
/// in the dead-letter queue; every invalid record is an entry in the quarantine zone, counted there and compared
/// with the manifests. records = loaded + quarantined + dead_lettered, counting distinct transaction versions
/// (an exact duplicate record counts once). Anything else is a problem, listed, and the summary is not reconciled.
/// </summary>
public sealed record PipelineSummary
{
    /// <summary>Objects in the raw zone (current versions under transactions/).</summary>
    public required int Objects { get; init; }

    public required int ProcessedObjects { get; init; }

    /// <summary>Unreadable objects quarantined whole (manifest and quarantine entry both present).</summary>
    public required int UnreadableObjects { get; init; }

    /// <summary>Objects whose event exhausted its deliveries: key, ETag and the last error.</summary>
    public required IReadOnlyList<DeadLetteredObjectEvent> DeadLetteredObjects { get; init; }

    /// <summary>Raw objects not processed, not quarantined, not dead-lettered.</summary>
    public required IReadOnlyList<string> PendingObjects { get; init; }

    /// <summary>Records read, duplicates included.</summary>
    public required long RecordsRead { get; init; }

    /// <summary>Distinct valid transaction versions + quarantined records.</summary>
    public required long Records { get; init; }

    public required long Duplicates { get; init; }

    public required long Loaded { get; init; }

    /// <summary>Record entries in the quarantine zone (of processed objects).</summary>
    public required long Quarantined { get; init; }

    public required long DeadLettered { get; init; }

    /// <summary>Valid versions neither loaded nor dead-lettered (in flight, or lost).</summary>
    public required long Missing { get; init; }

    /// <summary>Everything that keeps the summary from reconciling, one line each (capped).</summary>
    public required IReadOnlyList<string> Problems { get; init; }

    /// <summary>(transaction_id, version) pairs loaded with more than one distinct content (each kept in transaction_contents).</summary>
    public long Conflicts { get; init; }

    public required bool Reconciled { get; init; }

    public required IReadOnlyDictionary<string, long> Tables { get; init; }

    /// <summary>Quarantine reasons by field ("(file)" for unreadable objects).</summary>
    public required IReadOnlyDictionary<string, long> QuarantineByField { get; init; }

    public required IReadOnlyList<string> QuarantineMessages { get; init; }

    public required QueryResult FirstTransactions { get; init; }

    private const int MaxProblems = 50;

    public static async Task<PipelineSummary> ComputeAsync(
        IObjectStore store,
        IWarehouse warehouse,
        IMessageQueue queue,
        PipelineSettings settings,
        string deadLetterQueue,
        CancellationToken cancellationToken = default,
        IObjectEventDeadLetters? objectDeadLetters = null,
        SummaryReads? cache = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(warehouse);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(settings);

        var problems = new List<string>();
        void Problem(string text)
        {
            if (problems.Count < MaxProblems)
            {
                problems.Add(text);
            }
            else if (problems.Count == MaxProblems)
            {
                problems.Add("… (more problems not listed)");
            }
        }

        // Source 1: the raw zone's listing.
        var raw = new Dictionary<string, string>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(settings.RawZone, PipelineSettings.RawPrefix, cancellationToken))
        {
            raw[info.Key] = NormalizeEtag(info.ETag);
        }

        // Source 2: the quarantine zone's listing, per object version (<source key>/<safe etag>/...).
        var quarantineEntries = new Dictionary<string, (long Records, bool File)>(StringComparer.Ordinal);
        var quarantineKeys = new List<(string Key, string ETag)>();
        await foreach (var info in store.ListAsync(settings.QuarantineZone, PipelineSettings.RawPrefix, cancellationToken))
        {
            var slash = info.Key.LastIndexOf('/');
            if (slash <= 0)
            {
                continue;
            }

            var owner = info.Key[..slash];
            var (count, file) = quarantineEntries.GetValueOrDefault(owner);
            quarantineEntries[owner] = info.Key.EndsWith("/file.json", StringComparison.Ordinal) ? (count, true) : (count + 1, file);
            quarantineKeys.Add((info.Key, info.ETag));
        }

        // Source 3: the manifests EnrichTransactions writes last, per object version it finished: per-object manifests
        // and batch manifests alike, one GET per manifest object (the source side cannot come from the warehouse it is
        // checked against), each object version once.
        var manifested = new HashSet<string>(StringComparer.Ordinal);
        var unreadable = 0;
        long read = 0, valid = 0, quarantined = 0;
        var validVersions = new Dictionary<string, string>(StringComparer.Ordinal);
        var manifests = await ManifestReader.ReadAllAsync(store, settings, cache?.Manifests, cancellationToken);
        var manifestsByKey = manifests.ToDictionary(m => Manifest.KeyFor(m.SourceKey, m.SourceEtag), StringComparer.Ordinal);

        foreach (var manifest in manifests)
        {
            var etag = NormalizeEtag(manifest.SourceEtag);
            manifested.Add(ObjectId(manifest.SourceKey, etag));
            var owner = $"{manifest.SourceKey}/{QuarantineKeys.SafeEtag(manifest.SourceEtag)}";
            var (entries, fileEntry) = quarantineEntries.GetValueOrDefault(owner);
            read += manifest.Records;
            valid += manifest.Valid;
            if (manifest.Unreadable is not null)
            {
                if (fileEntry)
                {
                    unreadable++;
                }
                else
                {
                    Problem($"{manifest.SourceKey} (ETag {etag}): its manifest says unreadable, but the quarantine zone has no {owner}/file.json");
                }
            }

            if (entries != manifest.Quarantined)
            {
                Problem($"{manifest.SourceKey} (ETag {etag}): the quarantine zone holds {entries} record entries, its manifest says {manifest.Quarantined}");
            }

            quarantined += entries;
            if (manifest.Records != manifest.Valid + manifest.Quarantined)
            {
                Problem($"{manifest.SourceKey} (ETag {etag}): manifest records {manifest.Records} ≠ valid {manifest.Valid} + quarantined {manifest.Quarantined}");
            }

            long listed = 0;
            if (manifest.Versions is { } versions)
            {
                foreach (var line in versions)
                {
                    validVersions.TryAdd(line, manifest.SourceKey);
                    listed++;
                }
            }
            else
            {
                Problem($"{manifest.SourceKey} (ETag {etag}): the versions list {Manifest.VersionsKeyFor(manifest.SourceKey, manifest.SourceEtag)} is missing");
            }

            if (listed != manifest.Valid)
            {
                Problem($"{manifest.SourceKey} (ETag {etag}): the versions list names {listed} versions, the manifest {manifest.Valid} valid records");
            }
        }

        // Source 4: the object-event dead letter.
        var deadObjects = objectDeadLetters is null ? [] : await objectDeadLetters.ListDeadLettersAsync(settings.RawZone, cancellationToken);
        var deadObjectIds = deadObjects.Select(d => ObjectId(d.Event.Key, NormalizeEtag(d.Event.ETag))).ToHashSet(StringComparer.Ordinal);

        var processed = 0;
        var pending = new List<string>();
        foreach (var (key, etag) in raw.OrderBy(r => r.Key, StringComparer.Ordinal))
        {
            var id = ObjectId(key, etag);
            if (manifested.Contains(id))
            {
                processed++;
            }
            else if (!deadObjectIds.Contains(id))
            {
                pending.Add(key);
                Problem($"{key} (ETag {etag}): pending — no manifest, not quarantined, not dead-lettered");
            }
        }

        // Source 5: the warehouse.
        var tables = new Dictionary<string, long>(StringComparer.Ordinal);
        var loadedVersions = new HashSet<string>(StringComparer.Ordinal);
        QueryResult first = new([], []);
        long conflicts = 0;
        if (await TablesExistAsync(warehouse, cancellationToken))
        {
            foreach (var table in WarehouseSchema.All)
            {
                var count = await warehouse.QueryAsync($"SELECT COUNT(*) FROM {table.Name}", null, cancellationToken);
                tables[table.Name] = Convert.ToInt64(count.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture);
            }

            var loaded = await warehouse.QueryAsync("SELECT transaction_id, version FROM transaction_versions", null, cancellationToken);
            foreach (var row in loaded.Rows)
            {
                loadedVersions.Add($"{row[0]}\u001f{Convert.ToInt64(row[1], System.Globalization.CultureInfo.InvariantCulture)}");
            }

            conflicts = await CountConflictsAsync(warehouse, cancellationToken);
            first = await warehouse.QueryAsync(
                "SELECT transaction_id, version, status, account_id, side, quantity, price, currency, notional_usd, settlement_date, counterparty_name, risk_flags, reportable FROM transactions ORDER BY transaction_id LIMIT 10",
                null,
                cancellationToken);
        }

        // Source 6: the dead-letter queue.
        var deadLettered = await DeadLetteredVersionsAsync(queue, deadLetterQueue, store, settings, manifestsByKey, cancellationToken);
        deadLettered.ExceptWith(loadedVersions);

        long missing = 0;
        foreach (var (version, source) in validVersions)
        {
            if (!loadedVersions.Contains(version) && !deadLettered.Contains(version))
            {
                missing++;
                Problem($"{Describe(version)} from {source}: valid, but neither in the warehouse nor dead-lettered");
            }
        }

        foreach (var version in loadedVersions.Where(v => !validVersions.ContainsKey(v)).Order(StringComparer.Ordinal))
        {
            Problem($"{Describe(version)}: in the warehouse, but no manifest lists it");
        }

        var byField = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var messages = new List<string>();
        foreach (var (key, etag) in quarantineKeys)
        {
            foreach (var (field, message) in await ReadQuarantineReasonsAsync(store, settings, key, etag, cache, cancellationToken))
            {
                byField[field] = byField.GetValueOrDefault(field) + 1;
                if (messages.Count < 200)
                {
                    messages.Add(message);
                }
            }
        }

        var records = validVersions.Count + quarantined;
        if (problems.Count == 0 && records != loadedVersions.Count + quarantined + deadLettered.Count)
        {
            Problem($"records {records} ≠ loaded {loadedVersions.Count} + quarantined {quarantined} + dead-lettered {deadLettered.Count}");
        }

        return new PipelineSummary
        {
            Objects = raw.Count,
            ProcessedObjects = processed,
            UnreadableObjects = unreadable,
            DeadLetteredObjects = deadObjects,
            PendingObjects = pending,
            RecordsRead = read,
            Records = records,
            Duplicates = valid - validVersions.Count,
            Loaded = loadedVersions.Count,
            Quarantined = quarantined,
            DeadLettered = deadLettered.Count,
            Missing = missing,
            Conflicts = conflicts,
            Problems = problems,
            Reconciled = problems.Count == 0,
            Tables = tables,
            QuarantineByField = byField,
            QuarantineMessages = messages,
            FirstTransactions = first,
        };
    }

    private static string NormalizeEtag(string etag) => etag.Trim('"');

    private static string ObjectId(string key, string etag) => key + "\u001f" + etag;

    private static string Describe(string version) => version.Replace("\u001f", " v", StringComparison.Ordinal);

    /// <summary>Versions with more than one distinct content; 0 before the first load created the table.</summary>
    public static async Task<long> CountConflictsAsync(IWarehouse warehouse, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(warehouse);
        try
        {
            var result = await warehouse.QueryAsync(WarehouseSchema.ConflictsSql, null, cancellationToken);
            return Convert.ToInt64(result.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (WarehouseQueryException)
        {
            return 0;
        }
    }

    private static async Task<bool> TablesExistAsync(IWarehouse warehouse, CancellationToken cancellationToken)
    {
        try
        {
            await warehouse.QueryAsync("SELECT COUNT(*) FROM transaction_versions", null, cancellationToken);
            return true;
        }
        catch (WarehouseQueryException)
        {
            return false;
        }
    }

    /// <summary>Versions inside dead-lettered messages; the messages are peeked and released, not removed.</summary>
    private static async Task<HashSet<string>> DeadLetteredVersionsAsync(IMessageQueue queue, string deadLetterQueue, IObjectStore store, PipelineSettings settings, IReadOnlyDictionary<string, Manifest> manifests, CancellationToken cancellationToken)
    {
        var versions = new HashSet<string>(StringComparer.Ordinal);
        var sourceVersions = new Dictionary<string, List<string>?>(StringComparer.Ordinal);
        var handles = new List<string>();
        try
        {
            while (true)
            {
                var batch = await queue.ReceiveAsync(deadLetterQueue, new ReceiveOptions { VisibilityTimeout = TimeSpan.FromMinutes(2) }, cancellationToken);
                if (batch.Count == 0)
                {
                    break;
                }

                foreach (var message in batch)
                {
                    handles.Add(message.ReceiptHandle);
                    try
                    {
                        if (EnrichedMessageKind.IsChunk(message.Body))
                        {
                            // A claim check: its records are lines [first, first + records) of the source's .versions list
                            // (written by enrichment in the same order), so it counts even when the chunk is gone.
                            var claim = JsonSerializer.Deserialize(message.Body, ChunkJsonContext.Default.EnrichedChunkMessage)!;
                            var listed = await SourceVersionsAsync(store, settings, claim.SourceKey, claim.SourceEtag, sourceVersions, manifests, cancellationToken);
                            if (listed is null || claim.FirstRecord < 0 || claim.FirstRecord + claim.Records > listed.Count)
                            {
                                versions.Add("(claim check without a versions list) " + message.MessageId);
                                continue;
                            }

                            for (var i = claim.FirstRecord; i < claim.FirstRecord + claim.Records; i++)
                            {
                                versions.Add(listed[(int)i]);
                            }

                            continue;
                        }

                        var body = JsonSerializer.Deserialize(message.Body, TransactionJsonContext.Default.EnrichedBatchMessage);
                        foreach (var record in body?.Records ?? [])
                        {
                            versions.Add($"{record.TransactionId}\u001f{record.Version}");
                        }
                    }
                    catch (JsonException)
                    {
                        versions.Add("(unreadable message) " + message.MessageId);
                    }
                }
            }
        }
        catch (QueueNotFoundException)
        {
            return versions;
        }

        for (var i = 0; i < handles.Count; i += QueueLimits.MaxBatchSize)
        {
            var chunk = handles.Skip(i).Take(QueueLimits.MaxBatchSize).Select(h => new VisibilityChange(h, TimeSpan.Zero)).ToList();
            await queue.ChangeVisibilityBatchAsync(deadLetterQueue, chunk, cancellationToken);
        }

        return versions;
    }

    private static async Task<List<string>?> SourceVersionsAsync(IObjectStore store, PipelineSettings settings, string sourceKey, string sourceEtag, Dictionary<string, List<string>?> seen, IReadOnlyDictionary<string, Manifest> manifests, CancellationToken cancellationToken)
    {
        var key = Manifest.KeyFor(sourceKey, sourceEtag);
        if (seen.TryGetValue(key, out var known))
        {
            return known;
        }

        // Read with the other manifests already; else (an ETag spelled differently) its own manifest, if any.
        List<string>? lines;
        if (manifests.TryGetValue(key, out var manifest))
        {
            lines = manifest.Versions;
        }
        else
        {
            try
            {
                lines = (await ManifestReader.ReadOneAsync(store, settings, key, cancellationToken)).Versions;
            }
            catch (ObjectNotFoundException)
            {
                lines = null;
            }
        }

        seen[key] = lines;
        return lines;
    }

    private static async Task<IReadOnlyList<(string Field, string Message)>> ReadQuarantineReasonsAsync(IObjectStore store, PipelineSettings settings, string key, string etag, SummaryReads? cache, CancellationToken cancellationToken)
    {
        if (cache is not null && cache.QuarantineReasons.TryGetValue(key, out var known) && known.ETag == etag)
        {
            return known.Reasons;
        }

        var reasons = new List<(string Field, string Message)>();
        await using (var stream = await store.OpenReadAsync(settings.QuarantineZone, key, cancellationToken))
        {
            using var entry = await JsonDocument.ParseAsync(stream, default, cancellationToken);
            foreach (var reason in entry.RootElement.GetProperty("reasons").EnumerateArray())
            {
                reasons.Add((reason.GetProperty("field").GetString() ?? "?", reason.GetProperty("message").GetString() ?? string.Empty));
            }
        }

        if (cache is not null)
        {
            cache.QuarantineReasons[key] = (etag, reasons);
        }

        return reasons;
    }
}

/// <summary>
/// What summaries of one run have read already, by key and the ETag the listing showed: a summary computed again
/// (the run polls until nothing is pending) still lists every zone, but reads only objects that are new or changed.
/// </summary>
public sealed class SummaryReads
{
    internal ManifestCache Manifests { get; } = new();

    internal System.Collections.Concurrent.ConcurrentDictionary<string, (string ETag, IReadOnlyList<(string Field, string Message)> Reasons)> QuarantineReasons { get; } = new(StringComparer.Ordinal);
}
