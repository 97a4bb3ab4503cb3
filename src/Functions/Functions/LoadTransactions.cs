using System.Text.Json;
using Microsoft.Extensions.Logging;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// L1 → warehouse: re-validates every message (a bad one fails alone and, after maxDequeueCount,
/// is dead-lettered by the host), then merges the good ones in ONE warehouse transaction into
/// transactions, confirmations, regulatory_reports (reportable only) and transaction_versions.
/// The highest version wins whatever the arrival order; re-running any message changes nothing.
/// </summary>
public sealed class LoadTransactions(IWarehouse warehouse, WarehouseTables tables, ILogger<LoadTransactions> logger)
{
    private const string RejectedTemplate = "Message {MessageId} rejected: {Reason}";
    private const string MergedTemplate = "Merged {Records} records from {Messages} messages ({Rejected} rejected)";

    [Function("LoadTransactions")]
    public async Task<QueueBatchResult> RunAsync(
        [QueueTrigger("%Queues:Enriched%")] IReadOnlyList<ReceivedMessage> messages,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var failures = new List<MessageFailure>();
        var records = new List<EnrichedTransaction>();
        foreach (var message in messages)
        {
            var problem = Check(message, out var batch);
            if (problem is not null)
            {
                logger.LogWarning(RejectedTemplate, message.MessageId, problem);
                failures.Add(new MessageFailure(message.MessageId, problem));
                continue;
            }

            records.AddRange(batch!.Records);
        }

        if (records.Count > 0)
        {
            await tables.EnsureAsync(cancellationToken);
            await warehouse.MergeAsync(WarehouseSchema.Batches(records), cancellationToken);
        }

        logger.LogInformation(MergedTemplate, records.Count, messages.Count - failures.Count, failures.Count);
        return failures.Count == 0 ? QueueBatchResult.Success : new QueueBatchResult(failures);
    }

    /// <summary>Null when the message may be loaded; otherwise why not.</summary>
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
            return $"unknown schema '{batch?.Schema}' (expected {EnrichedBatchMessage.CurrentSchema})";
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

            if (message.GroupId is not null && MessageGroups.For(batch.Records[i].AccountId) != message.GroupId)
            {
                return $"record {i} belongs to group '{MessageGroups.For(batch.Records[i].AccountId)}', the message to '{message.GroupId}'";
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
