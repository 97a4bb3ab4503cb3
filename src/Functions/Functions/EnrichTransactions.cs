using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Pipeline.Functions.Transactions;
using Microsoft.Azure.Functions.Worker;
using Pipeline.Host.Telemetry;
using Pipeline.Providers.Abstractions;
using Pipeline.WorkerExtensions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// L0 → L1: streams a raw transaction file, validates and enriches each record, publishes the valid
/// ones to the FIFO queue (10 messages per send, shared with the invocations running at once) and quarantines the
/// invalid ones at deterministic keys. One GET of the object; its manifest (versions inside) goes into one batch
/// manifest PUT shared with the invocations running at once (a claim-check object's, into a PUT of its own).
/// A small file (fewer than <see cref="EnrichmentOptions.ClaimCheckMinRecords"/> valid records) sends its records
/// inline, one message group per account; a larger one writes them in chunk objects (Parquet) to the prepare
/// zone and sends one claim-check message per chunk (group = the source object). Re-running the same object version produces
/// the same messages, dedup ids, quarantine keys and manifest.
/// </summary>
public sealed class EnrichTransactions(
    IObjectStore store,
    EnrichedQueueSender sender,
    ManifestBatcher manifests,
    ReferenceDataCache referenceData,
    PipelineSettings settings,
    IOptions<EnrichmentOptions> options,
    ILogger<EnrichTransactions> logger)
{
    private const string SupersededTemplate = "Skipping {Key}: the event is for ETag {EventETag} but the object now has {CurrentETag}; its own event follows";
    private const string DoneTemplate = "Enriched {Key}: {Records} records, {Valid} valid in {Messages} {Kind} messages, {Quarantined} quarantined";
    private const string UnreadableTemplate = "Quarantined {Key} whole: {Reason}";

    [Function("EnrichTransactions")]
    public async Task RunAsync(
        [ObjectCreatedTrigger("%Zones:Raw%", Prefix = PipelineSettings.RawPrefix)] ObjectCreatedEvent created,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(created);
        using var sending = sender.Enter();
        using var bookkeeping = manifests.Enter();

        // One GET tells the current version and reads it (no HEAD first); a small object is read once, into memory,
        // and the reader's passes (sniff, syntax check, records) read the copy.
        await using var raw = await RawObject.OpenAsync(store, created, cancellationToken);
        var current = raw?.Info;
        if (raw is null || current is null || current.ETag != created.ETag)
        {
            logger.LogInformation(SupersededTemplate, created.Key, created.ETag, current?.ETag ?? "(deleted)");
            return;
        }

        var reference = await referenceData.GetAsync(cancellationToken);
        var enrichment = options.Value;
        if (enrichment.ClaimCheckMinRecords < 1 || enrichment.ChunkRecords < 1)
        {
            throw new InvalidOperationException($"{EnrichmentOptions.SectionName}:ClaimCheckMinRecords and {EnrichmentOptions.SectionName}:ChunkRecords must be at least 1.");
        }

        var packer = new MessagePacker(created.Key, created.ETag);
        var pending = new List<OutgoingMessage>(QueueLimits.MaxBatchSize);

        // Small files send records inline; once a file reaches ClaimCheckMinRecords valid records it switches (for the
        // whole file, records already held included) to claim checks. A function of the input, so reruns are identical.
        var held = new List<EnrichedTransaction>();
        using var chunk = new ChunkBuilder();
        var claimCheck = false;
        var chunks = 0;
        long chunked = 0;
        var versionsFile = Path.GetTempFileName();
        var versionLine = new char[128];
        try
        {
            FileOutcome outcome;
            await using (var versions = new StreamWriter(versionsFile, false, new UTF8Encoding(false), 1 << 16))
            {
                async ValueTask AddToChunkAsync(EnrichedTransaction record)
                {
                    chunk.Add(record);
                    if (chunk.Count >= enrichment.ChunkRecords)
                    {
                        await SealChunkAsync();
                    }
                }

                async ValueTask SealChunkAsync()
                {
                    var first = chunked;
                    chunked += chunk.Count;
                    var (content, message, claim) = await chunk.SealAsync(settings.PrepareZone, created.Key, created.ETag, chunks++, first, cancellationToken);

                    // The chunk is written before its message is sent: a message never points at a chunk not yet there.
                    using (var body = new MemoryStream(content, writable: false))
                    {
                        await store.PutAsync(claim.Zone, claim.Key, body, new PutOptions { ContentType = ChunkBuilder.ContentType }, cancellationToken);
                    }

                    await EnqueueAsync(pending, message, cancellationToken);
                }

                outcome = await TransactionFileProcessor.ProcessAsync(
                    created.Key,
                    created.ETag,
                    current.LastModified,
                    raw.OpenAsync,
                    reference,
                    enrichment,
                    async record =>
                    {
                        await versions.WriteAsync(VersionLine(ref versionLine, record));
                        if (claimCheck)
                        {
                            await AddToChunkAsync(record);
                            return;
                        }

                        held.Add(record);
                        if (held.Count >= enrichment.ClaimCheckMinRecords)
                        {
                            claimCheck = true;
                            foreach (var h in held)
                            {
                                await AddToChunkAsync(h);
                            }

                            held.Clear();
                        }
                    },
                    entry => QuarantineAsync(entry, cancellationToken),
                    cancellationToken);

                if (claimCheck)
                {
                    if (chunk.Count > 0)
                    {
                        await SealChunkAsync();
                    }
                }
                else
                {
                    foreach (var record in held)
                    {
                        foreach (var message in packer.Add(record))
                        {
                            await EnqueueAsync(pending, message, cancellationToken);
                        }
                    }

                    foreach (var message in packer.Flush())
                    {
                        await EnqueueAsync(pending, message, cancellationToken);
                    }
                }

                await SendAsync(pending, cancellationToken);
            }

            PipelineTelemetry.RecordsRead.Add(outcome.Records);
            PipelineTelemetry.RecordsQuarantined.Add(outcome.Quarantined);
            if (outcome.Unreadable is not null)
            {
                logger.LogWarning(UnreadableTemplate, created.Key, outcome.Unreadable);
            }

            // The bookkeeping, written last (after every effect above is durable): a small object's manifest goes into
            // the batch manifest of the invocations running now (one PUT for all); a claim-check object's versions list
            // can be large, so it streams into a manifest of its own (one PUT).
            var manifest = new Manifest
            {
                SourceKey = created.Key,
                SourceEtag = created.ETag,
                Format = outcome.Format,
                Records = outcome.Records,
                Valid = outcome.Valid,
                Quarantined = outcome.Quarantined,
                Messages = claimCheck ? chunks : packer.MessageCount,
                Unreadable = outcome.Unreadable,
            };
            if (!claimCheck)
            {
                var listed = new List<string>((int)Math.Min(outcome.Valid, enrichment.ClaimCheckMinRecords));
                foreach (var line in await File.ReadAllLinesAsync(versionsFile, cancellationToken))
                {
                    if (line.Length > 0)
                    {
                        listed.Add(line);
                    }
                }

                await bookkeeping.AddAsync(manifest with { Versions = listed }, cancellationToken);
                logger.LogInformation(DoneTemplate, created.Key, outcome.Records, outcome.Valid, packer.MessageCount, "inline", outcome.Quarantined);
                return;
            }

            bookkeeping.Dispose();
            var manifestFile = versionsFile + ".manifest";
            try
            {
                await using (var file = File.Create(manifestFile))
                using (var lines = new StreamReader(versionsFile, Encoding.UTF8))
                {
                    await Manifest.WriteAsync(file, manifest, lines, cancellationToken);
                }

                await using var body = File.OpenRead(manifestFile);
                await store.PutAsync(settings.PrepareZone, Manifest.KeyFor(created.Key, created.ETag), body, new PutOptions { ContentType = "application/json" }, cancellationToken);
            }
            finally
            {
                File.Delete(manifestFile);
            }

            logger.LogInformation(DoneTemplate, created.Key, outcome.Records, outcome.Valid, claimCheck ? chunks : packer.MessageCount, claimCheck ? "claim-check chunk" : "inline", outcome.Quarantined);
        }
        finally
        {
            File.Delete(versionsFile);
        }
    }

    /// <summary>"transaction_id U+001F version \n" in a buffer reused record after record (no string per record).</summary>
    private static ReadOnlyMemory<char> VersionLine(ref char[] buffer, EnrichedTransaction record)
    {
        var id = record.TransactionId;
        if (buffer.Length < id.Length + 13)
        {
            buffer = new char[id.Length + 13];
        }

        id.CopyTo(buffer);
        buffer[id.Length] = '\u001f';
        record.Version.TryFormat(buffer.AsSpan(id.Length + 1), out var written, default, System.Globalization.CultureInfo.InvariantCulture);
        var length = id.Length + 1 + written;
        buffer[length] = '\n';
        return buffer.AsMemory(0, length + 1);
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

        // Shared with the other invocations running now; throws when any of these messages was not accepted (the
        // whole object is retried; dedup ids and the idempotent merge make the resend harmless).
        await sender.SendAsync([.. pending], cancellationToken);
        pending.Clear();
    }

    private async ValueTask QuarantineAsync(QuarantineEntry entry, CancellationToken cancellationToken)
    {
        using var body = new MemoryStream(entry.ToJson());
        await store.PutAsync(settings.QuarantineZone, entry.Key, body, new PutOptions { ContentType = "application/json" }, cancellationToken);
    }

    /// <summary>
    /// The raw object as read by one GET. Up to <see cref="BufferBytes"/> it is kept in memory and every open reads
    /// the copy; a larger one streams: the first open takes the GET's stream, later passes GET again.
    /// </summary>
    private sealed class RawObject : IAsyncDisposable
    {
        private const long BufferBytes = 8 << 20;

        private readonly IObjectStore store;
        private readonly ObjectCreatedEvent created;
        private byte[]? buffered;
        private Stream? first;

        private RawObject(IObjectStore store, ObjectCreatedEvent created, ObjectInfo info)
        {
            this.store = store;
            this.created = created;
            Info = info;
        }

        public ObjectInfo Info { get; }

        public static async Task<RawObject?> OpenAsync(IObjectStore store, ObjectCreatedEvent created, CancellationToken cancellationToken)
        {
            var read = await store.OpenReadWithInfoAsync(created.Zone, created.Key, cancellationToken);
            if (read is null)
            {
                return null;
            }

            var raw = new RawObject(store, created, read.Info);
            if (read.Info.ETag != created.ETag || read.Info.Size > BufferBytes)
            {
                raw.first = read.Content;
                return raw;
            }

            await using (read)
            {
                using var copy = new MemoryStream((int)Math.Max(0, read.Info.Size));
                await read.Content.CopyToAsync(copy, cancellationToken);
                raw.buffered = copy.ToArray();
            }

            return raw;
        }

        public async Task<Stream> OpenAsync(CancellationToken cancellationToken)
        {
            if (buffered is not null)
            {
                return new MemoryStream(buffered, writable: false);
            }

            if (Interlocked.Exchange(ref first, null) is { } stream)
            {
                return stream;
            }

            return await store.OpenReadAsync(created.Zone, created.Key, cancellationToken);
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref first, null) is { } stream)
            {
                await stream.DisposeAsync();
            }
        }
    }
}
