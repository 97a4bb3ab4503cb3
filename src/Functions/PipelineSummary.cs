using System.Text;
using System.Text.Json;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions;

/// <summary>
/// The state of a data root, reconciled: every valid (transaction_id, version) read from the raw zone
/// (manifests) is in the warehouse (transaction_versions) or in the dead-letter queue; every invalid
/// record is in quarantine. records = loaded + quarantined + dead_lettered, counting distinct
/// transaction versions (an exact duplicate record counts once).
/// </summary>
public sealed record PipelineSummary
{
    public required int Objects { get; init; }

    public required int UnreadableObjects { get; init; }

    /// <summary>Records read, duplicates included.</summary>
    public required long RecordsRead { get; init; }

    /// <summary>Distinct valid transaction versions + quarantined records.</summary>
    public required long Records { get; init; }

    public required long Duplicates { get; init; }

    public required long Loaded { get; init; }

    public required long Quarantined { get; init; }

    public required long DeadLettered { get; init; }

    public required long Missing { get; init; }

    /// <summary>(transaction_id, version) pairs loaded with more than one distinct content (each kept in transaction_contents).</summary>
    public long Conflicts { get; init; }

    public required bool Reconciled { get; init; }

    public required IReadOnlyDictionary<string, long> Tables { get; init; }

    /// <summary>Quarantine reasons by field ("(file)" for unreadable objects).</summary>
    public required IReadOnlyDictionary<string, long> QuarantineByField { get; init; }

    public required IReadOnlyList<string> QuarantineMessages { get; init; }

    public required QueryResult FirstTransactions { get; init; }

    public static async Task<PipelineSummary> ComputeAsync(
        IObjectStore store,
        IWarehouse warehouse,
        IMessageQueue queue,
        PipelineSettings settings,
        string deadLetterQueue,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(warehouse);
        ArgumentNullException.ThrowIfNull(queue);
        ArgumentNullException.ThrowIfNull(settings);

        var objects = 0;
        var unreadable = 0;
        long read = 0, valid = 0, quarantined = 0;
        var consistent = true;
        var validVersions = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(settings.PrepareZone, PipelineSettings.ManifestPrefix, cancellationToken))
        {
            if (!info.Key.EndsWith(".json", StringComparison.Ordinal))
            {
                continue;
            }

            Manifest manifest;
            await using (var stream = await store.OpenReadAsync(settings.PrepareZone, info.Key, cancellationToken))
            {
                manifest = await JsonSerializer.DeserializeAsync(stream, ManifestJsonContext.Default.Manifest, cancellationToken)
                    ?? throw new InvalidDataException($"Manifest {info.Key} is empty.");
            }

            objects++;
            unreadable += manifest.Unreadable is null ? 0 : 1;
            read += manifest.Records;
            valid += manifest.Valid;
            quarantined += manifest.Quarantined;
            consistent &= manifest.Records == manifest.Valid + manifest.Quarantined;
            var versionsKey = Manifest.VersionsKeyFor(manifest.SourceKey, manifest.SourceEtag);
            await using var versions = await store.OpenReadAsync(settings.PrepareZone, versionsKey, cancellationToken);
            using var lines = new StreamReader(versions, Encoding.UTF8);
            long listed = 0;
            while (await lines.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length > 0)
                {
                    validVersions.Add(line);
                    listed++;
                }
            }

            consistent &= listed == manifest.Valid;
        }

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

        var deadLettered = await DeadLetteredVersionsAsync(queue, deadLetterQueue, store, settings, cancellationToken);
        deadLettered.ExceptWith(loadedVersions);

        var missing = validVersions.Count(v => !loadedVersions.Contains(v) && !deadLettered.Contains(v));
        var unexpected = loadedVersions.Count(v => !validVersions.Contains(v));

        var byField = new SortedDictionary<string, long>(StringComparer.Ordinal);
        var messages = new List<string>();
        await foreach (var info in store.ListAsync(settings.QuarantineZone, PipelineSettings.RawPrefix, cancellationToken))
        {
            await using var stream = await store.OpenReadAsync(settings.QuarantineZone, info.Key, cancellationToken);
            using var entry = await JsonDocument.ParseAsync(stream, default, cancellationToken);
            foreach (var reason in entry.RootElement.GetProperty("reasons").EnumerateArray())
            {
                var field = reason.GetProperty("field").GetString() ?? "?";
                byField[field] = byField.GetValueOrDefault(field) + 1;
                if (messages.Count < 200)
                {
                    messages.Add(reason.GetProperty("message").GetString() ?? string.Empty);
                }
            }
        }

        var records = validVersions.Count + quarantined;
        return new PipelineSummary
        {
            Objects = objects,
            UnreadableObjects = unreadable,
            RecordsRead = read,
            Records = records,
            Duplicates = valid - validVersions.Count,
            Loaded = loadedVersions.Count,
            Quarantined = quarantined,
            DeadLettered = deadLettered.Count,
            Missing = missing,
            Conflicts = conflicts,
            Reconciled = consistent && missing == 0 && unexpected == 0 && records == loadedVersions.Count + quarantined + deadLettered.Count,
            Tables = tables,
            QuarantineByField = byField,
            QuarantineMessages = messages,
            FirstTransactions = first,
        };
    }

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
    private static async Task<HashSet<string>> DeadLetteredVersionsAsync(IMessageQueue queue, string deadLetterQueue, IObjectStore store, PipelineSettings settings, CancellationToken cancellationToken)
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
                            var listed = await SourceVersionsAsync(store, settings, claim.SourceKey, claim.SourceEtag, sourceVersions, cancellationToken);
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

    private static async Task<List<string>?> SourceVersionsAsync(IObjectStore store, PipelineSettings settings, string sourceKey, string sourceEtag, Dictionary<string, List<string>?> cache, CancellationToken cancellationToken)
    {
        var key = Manifest.VersionsKeyFor(sourceKey, sourceEtag);
        if (cache.TryGetValue(key, out var cached))
        {
            return cached;
        }

        List<string>? lines = null;
        try
        {
            await using var stream = await store.OpenReadAsync(settings.PrepareZone, key, cancellationToken);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            lines = [];
            while (await reader.ReadLineAsync(cancellationToken) is { } line)
            {
                if (line.Length > 0)
                {
                    lines.Add(line);
                }
            }
        }
        catch (ObjectNotFoundException)
        {
            lines = null;
        }

        cache[key] = lines;
        return lines;
    }
}
