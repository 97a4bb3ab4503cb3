using Pipeline.Functions.Transactions.Reading;

namespace Pipeline.Functions.Transactions;

/// <summary>What happened to one source object.</summary>
public sealed record FileOutcome(
    string SourceKey,
    string SourceEtag,
    string? Format,
    long Records,
    long Valid,
    long Quarantined,
    string? Unreadable);

/// <summary>
/// Reads one raw object record by record, validates, enriches, and hands every record to exactly
/// one sink: valid → <c>onValid</c>, invalid → <c>onInvalid</c>. An unreadable file produces one
/// file-level quarantine entry and no records.
/// </summary>
public static class TransactionFileProcessor
{
    public static async Task<FileOutcome> ProcessAsync(
        string sourceKey,
        string sourceEtag,
        DateTimeOffset ingestedAt,
        Func<CancellationToken, Task<Stream>> open,
        ReferenceData reference,
        EnrichmentOptions options,
        Func<EnrichedTransaction, ValueTask> onValid,
        Func<QuarantineEntry, ValueTask> onInvalid,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(onValid);
        ArgumentNullException.ThrowIfNull(onInvalid);
        var enricher = new Enricher(reference, options);
        TransactionFileReader reader;
        try
        {
            reader = await TransactionFileReader.OpenAsync(sourceKey, open, cancellationToken);
        }
        catch (UnreadableFileException ex)
        {
            await onInvalid(Unreadable(sourceKey, sourceEtag, ex));
            return new FileOutcome(sourceKey, sourceEtag, null, 0, 0, 0, ex.Message);
        }

        long records = 0, valid = 0, quarantined = 0;
        var failures = new List<ValidationFailure>();
        try
        {
            await foreach (var record in reader.ReadAsync(cancellationToken))
            {
                records++;
                failures.Clear();
                if (TransactionValidator.Validate(record, reference, failures) is not { } transaction)
                {
                    quarantined++;
                    var reasons = failures
                        .Select(f => new QuarantineReason(f.Field, f.Value, f.Expected, f.Describe(sourceKey, record.RecordNumber)))
                        .ToList();
                    await onInvalid(new QuarantineEntry(sourceKey, sourceEtag, record.RecordNumber, record.Line, null, reasons, record.Original()));
                    continue;
                }

                valid++;
                await onValid(enricher.Enrich(in transaction, sourceKey, sourceEtag, record.RecordNumber, ingestedAt));
            }
        }
        catch (UnreadableFileException ex) when (records == 0)
        {
            // Header-level CSV problems surface on the first read, before any record.
            await onInvalid(Unreadable(sourceKey, sourceEtag, ex));
            return new FileOutcome(sourceKey, sourceEtag, reader.Format.ToString(), 0, 0, 0, ex.Message);
        }

        return new FileOutcome(sourceKey, sourceEtag, reader.Format.ToString() + (reader.IsGzip ? "+gzip" : string.Empty), records, valid, quarantined, null);
    }

    private static QuarantineEntry Unreadable(string sourceKey, string sourceEtag, UnreadableFileException ex) =>
        new(sourceKey, sourceEtag, null, ex.Line, ex.BytePosition,
            [new QuarantineReason("(file)", null, "a readable JSON, NDJSON or CSV transaction file", $"{sourceKey}: {ex.Message}")],
            null);
}
