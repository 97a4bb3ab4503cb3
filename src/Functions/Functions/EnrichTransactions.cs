using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// L0 → L1: streams a raw transaction file, validates and enriches each record, publishes the valid
/// ones to the FIFO queue (many records of one account per message, 10 messages per send) and
/// quarantines the invalid ones at deterministic keys. Re-running the same object version produces
/// the same messages, dedup ids, quarantine keys and manifest.
/// </summary>
public sealed class EnrichTransactions(
    IObjectStore store,
    IMessageQueue queue,
    ReferenceDataCache referenceData,
    PipelineSettings settings,
    IOptions<EnrichmentOptions> options,
    ILogger<EnrichTransactions> logger)
{
    private const string SupersededTemplate = "Skipping {Key}: the event is for ETag {EventETag} but the object now has {CurrentETag}; its own event follows";
    private const string DoneTemplate = "Enriched {Key}: {Records} records, {Valid} valid in {Messages} messages, {Quarantined} quarantined";
    private const string UnreadableTemplate = "Quarantined {Key} whole: {Reason}";

    [Function("EnrichTransactions")]
    public async Task RunAsync(
        [ObjectTrigger("%Zones:Raw%", Prefix = PipelineSettings.RawPrefix)] ObjectCreatedEvent created,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(created);
        var current = await store.HeadAsync(created.Zone, created.Key, cancellationToken);
        if (current is null || current.ETag != created.ETag)
        {
            logger.LogInformation(SupersededTemplate, created.Key, created.ETag, current?.ETag ?? "(deleted)");
            return;
        }

        var reference = await referenceData.GetAsync(cancellationToken);
        var packer = new MessagePacker(created.Key, created.ETag);
        var pending = new List<OutgoingMessage>(QueueLimits.MaxBatchSize);
        var versionsFile = Path.GetTempFileName();
        try
        {
            FileOutcome outcome;
            await using (var versions = new StreamWriter(versionsFile, false, new UTF8Encoding(false), 1 << 16))
            {
                outcome = await TransactionFileProcessor.ProcessAsync(
                    created.Key,
                    created.ETag,
                    current.LastModified,
                    ct => store.OpenReadAsync(created.Zone, created.Key, ct),
                    reference,
                    options.Value,
                    async record =>
                    {
                        await versions.WriteAsync($"{record.TransactionId}\u001f{record.Version}\n");
                        foreach (var message in packer.Add(record))
                        {
                            await EnqueueAsync(pending, message, cancellationToken);
                        }
                    },
                    entry => QuarantineAsync(entry, cancellationToken),
                    cancellationToken);

                foreach (var message in packer.Flush())
                {
                    await EnqueueAsync(pending, message, cancellationToken);
                }

                await SendAsync(pending, cancellationToken);
            }

            if (outcome.Unreadable is not null)
            {
                logger.LogWarning(UnreadableTemplate, created.Key, outcome.Unreadable);
            }

            await using (var versions = File.OpenRead(versionsFile))
            {
                await store.PutAsync(settings.PrepareZone, Manifest.VersionsKeyFor(created.Key, created.ETag), versions, new PutOptions { ContentType = "text/plain" }, cancellationToken);
            }

            var manifest = new Manifest
            {
                SourceKey = created.Key,
                SourceEtag = created.ETag,
                Format = outcome.Format,
                Records = outcome.Records,
                Valid = outcome.Valid,
                Quarantined = outcome.Quarantined,
                Messages = packer.MessageCount,
                Unreadable = outcome.Unreadable,
            };
            using var body = new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(manifest, ManifestJsonContext.Default.Manifest));
            await store.PutAsync(settings.PrepareZone, Manifest.KeyFor(created.Key, created.ETag), body, new PutOptions { ContentType = "application/json" }, cancellationToken);
            logger.LogInformation(DoneTemplate, created.Key, outcome.Records, outcome.Valid, packer.MessageCount, outcome.Quarantined);
        }
        finally
        {
            File.Delete(versionsFile);
        }
    }

    private async Task EnqueueAsync(List<OutgoingMessage> pending, OutgoingMessage message, CancellationToken cancellationToken)
    {
        // A send batch holds at most 10 messages AND at most 1 MB (SQS): flush before either is exceeded.
        if (pending.Count > 0 && BatchBytes(pending) + BatchBytes([message]) > QueueLimits.MaxBatchBytes)
        {
            await SendAsync(pending, cancellationToken);
        }

        pending.Add(message);
        if (pending.Count >= QueueLimits.MaxBatchSize)
        {
            await SendAsync(pending, cancellationToken);
        }
    }

    private static long BatchBytes(IEnumerable<OutgoingMessage> messages) =>
        messages.Sum(m => (long)Encoding.UTF8.GetByteCount(m.Body) + 512);

    private async Task SendAsync(List<OutgoingMessage> pending, CancellationToken cancellationToken)
    {
        if (pending.Count == 0)
        {
            return;
        }

        var result = await queue.SendBatchAsync(settings.EnrichedQueue, pending, cancellationToken);
        if (!result.AllSucceeded)
        {
            // The whole object is retried; dedup ids and the idempotent merge make the resend harmless.
            var first = result.Failed[0];
            throw new QueueException($"Sending to '{settings.EnrichedQueue}' failed for {result.Failed.Count} of {pending.Count} messages (first: {first.Code}: {first.Message}); the object will be retried.");
        }

        pending.Clear();
    }

    private async ValueTask QuarantineAsync(QuarantineEntry entry, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(entry.ToJson());
        await store.PutAsync(settings.QuarantineZone, entry.Key, body, new PutOptions { ContentType = "application/json" }, cancellationToken);
    }
}
