using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pipeline.Functions.Transactions;
using Microsoft.Azure.Functions.Worker;
using Pipeline.Host.Telemetry;
using Pipeline.Providers.Abstractions;
using Pipeline.WorkerExtensions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// L1 → warehouse: re-validates every message (a bad one fails alone and, after maxDequeueCount,
/// is dead-lettered by the host), then merges the good ones in ONE warehouse transaction into
/// transactions, confirmations, regulatory_reports (reportable only) and transaction_versions. When the warehouse
/// refuses a row, the refusal is narrowed to the message holding it (<see cref="PoisonIsolation"/>): the others load,
/// that message fails with the warehouse's error; a transient warehouse error fails the whole batch.
/// A message holds its records inline or is a claim check for a chunk object in the prepare zone; chunk records are
/// re-validated like inline ones, and a missing, corrupt or incomplete chunk fails that message alone.
/// The highest version wins whatever the arrival order; re-running any message changes nothing.
/// </summary>
public sealed class LoadTransactions(IWarehouse warehouse, IObjectStore store, WarehouseTables tables, ILogger<LoadTransactions> logger)
{
    private const string RejectedTemplate = "Message {MessageId} rejected: {Reason}";
    private const string RefusedTemplate = "Message {MessageId} refused by the warehouse (the rest of the batch merged without it): {Error}";
    private const string MergedTemplate = "Merged {Records} records from {Messages} messages ({Rejected} rejected)";

    [Function("LoadTransactions")]
    public async Task<BatchResult> RunAsync(
        [MessageQueueTrigger("%Queues:Enriched%", IsBatched = true)] IReadOnlyList<ReceivedMessage> messages,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);

        // Reading, decompressing and re-validating are CPU work per message: run them side by side.
        var checks = new (string? Problem, IReadOnlyList<EnrichedTransaction>? Records)[messages.Count];
        await Parallel.ForAsync(0, messages.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            checks[i] = await CheckAsync(messages[i], store, ct);
        });

        var failures = new List<BatchItemFailure>();
        var good = new List<(ReceivedMessage Message, IReadOnlyList<EnrichedTransaction> Records)>();
        for (var i = 0; i < messages.Count; i++)
        {
            var (problem, batch) = checks[i];
            if (problem is not null)
            {
                logger.LogWarning(RejectedTemplate, messages[i].MessageId, problem);
                failures.Add(new BatchItemFailure(messages[i].MessageId, problem));
                continue;
            }

            good.Add((messages[i], batch!));
        }

        if (good.Count > 0)
        {
            await tables.EnsureAsync(cancellationToken);
        }

        // One merge for all good messages; a row the warehouse refuses fails only its own message.
        var refused = await PoisonIsolation.MergeAsync(good, MergeAsync, cancellationToken);
        foreach (var (item, error) in refused)
        {
            logger.LogWarning(RefusedTemplate, item.Message.MessageId, error.Message);
            failures.Add(new BatchItemFailure(item.Message.MessageId, error.Message, error.GetType().FullName));
        }

        var loaded = good.Where(g => !refused.Any(r => r.Item.Message == g.Message)).Sum(g => g.Records.Count);
        PipelineTelemetry.RecordsLoaded.Add(loaded);
        logger.LogInformation(MergedTemplate, loaded, messages.Count - failures.Count, failures.Count);
        return failures.Count == 0 ? BatchResult.Success : new BatchResult(failures);
    }

    private async Task MergeAsync(IReadOnlyList<(ReceivedMessage Message, IReadOnlyList<EnrichedTransaction> Records)> items, CancellationToken cancellationToken)
    {
        // Row arrays kept from merge to merge: the warehouse keeps no row after MergeAsync returns.
        var rows = WarehouseRows.Rent();
        try
        {
            await warehouse.MergeAsync(rows.Fill(items.Select(i => i.Records)), cancellationToken);
        }
        finally
        {
            WarehouseRows.Return(rows);
        }
    }

    /// <summary>(null, records) when the message may be loaded; otherwise (why not, null).</summary>
    public static async Task<(string? Problem, IReadOnlyList<EnrichedTransaction>? Records)> CheckAsync(ReceivedMessage message, IObjectStore store, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(store);
        if (!EnrichedMessageKind.IsChunk(message.Body))
        {
            var problem = Check(message, out var batch);
            return (problem, problem is null ? batch!.Records : null);
        }

        EnrichedChunkMessage? claim;
        try
        {
            claim = JsonSerializer.Deserialize(message.Body, ChunkJsonContext.Default.EnrichedChunkMessage);
        }
        catch (JsonException ex)
        {
            return ($"the body is not a chunk claim check: {ex.Message}", null);
        }

        if (claim is null || claim.Records < 1)
        {
            return ("the claim check names no records", null);
        }

        if (message.GroupId is not null && message.GroupId != MessageGroups.ForSource(claim.SourceKey))
        {
            return ($"the claim check belongs to group '{MessageGroups.ForSource(claim.SourceKey)}', the message to '{message.GroupId}'", null);
        }

        List<EnrichedTransaction> records;
        try
        {
            await using var content = await store.OpenReadAsync(claim.Zone, claim.Key, cancellationToken);
            records = await ChunkReader.ReadAsync(content, claim, cancellationToken);
        }
        catch (ObjectNotFoundException)
        {
            return ($"chunk {claim.Zone}/{claim.Key} is missing; re-run the source object {claim.SourceKey} to write it again", null);
        }
        catch (InvalidDataException ex)
        {
            return ($"chunk {claim.Zone}/{claim.Key} refused: {ex.Message}", null);
        }

        if (records.Count != claim.Records)
        {
            return ($"chunk {claim.Zone}/{claim.Key} holds {records.Count} records, the claim check {claim.Records}", null);
        }

        for (var i = 0; i < records.Count; i++)
        {
            var problems = EnrichedRecordValidator.Check(records[i]);
            if (problems.Count > 0)
            {
                return ($"chunk {claim.Key} record {i} ({records[i]?.TransactionId}): {string.Join("; ", problems)}", null);
            }

            if (records[i].SourceKey != claim.SourceKey)
            {
                return ($"chunk {claim.Key} record {i} comes from '{records[i].SourceKey}', the claim check from '{claim.SourceKey}'", null);
            }
        }

        if (MessagePacker.MessageDedupId(records.Select(r => r.DedupId)) != claim.RecordsSha256)
        {
            return ($"chunk {claim.Zone}/{claim.Key} does not hold the records the claim check names (records_sha256 differs)", null);
        }

        return (null, records);
    }

    /// <summary>Null when the inline message may be loaded; otherwise why not.</summary>
    public static string? Check(ReceivedMessage message, out EnrichedBatchMessage? batch)
    {
        ArgumentNullException.ThrowIfNull(message);
        batch = null;
        try
        {
            batch = JsonSerializer.Deserialize(message.Body, TransactionJsonContext.Default.EnrichedBatchMessage);
        }
        catch (JsonException ex)
        {
            return $"the body is not an enriched batch: {ex.Message}";
        }

        if (batch is null || batch.Schema != EnrichedBatchMessage.CurrentSchema)
        {
            return $"unknown schema '{batch?.Schema}' (expected {EnrichedBatchMessage.CurrentSchema} or {EnrichedChunkMessage.CurrentSchema})";
        }

        if (batch.Records is null || batch.Records.Count == 0)
        {
            return "the message holds no records";
        }

        for (var i = 0; i < batch.Records.Count; i++)
        {
            var problems = EnrichedRecordValidator.Check(batch.Records[i]);
            if (problems.Count > 0)
            {
                return $"record {i} ({batch.Records[i]?.TransactionId}): {string.Join("; ", problems)}";
            }

            if (message.GroupId is not null && MessageGroups.ForAccount(batch.Records[i].AccountId) != message.GroupId)
            {
                return $"record {i} belongs to group '{MessageGroups.ForAccount(batch.Records[i].AccountId)}', the message to '{message.GroupId}'";
            }
        }

        return null;
    }
}

/// <summary>Creates the warehouse tables once per process.</summary>
public sealed class WarehouseTables(IWarehouse warehouse)
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private bool ensured;

    public async Task EnsureAsync(CancellationToken cancellationToken = default)
    {
        if (ensured)
        {
            return;
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!ensured)
            {
                foreach (var table in WarehouseSchema.All)
                {
                    await warehouse.EnsureTableAsync(table, cancellationToken);
                }

                ensured = true;
            }
        }
        finally
        {
            gate.Release();
        }
    }
}
