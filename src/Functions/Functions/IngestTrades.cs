using Pipeline.Functions.Ingestion;
using Microsoft.Azure.Functions.Worker;

namespace Pipeline.Functions.Functions;

/// <summary>
/// The daily pull of the third-party trades API into the raw zone (schedule: setting
/// <c>Ingestion:Schedule</c>, default 06:00 UTC every day). The pages land under
/// <c>transactions/api/</c>, so EnrichTransactions and LoadTransactions carry them on like files.
/// </summary>
public sealed class IngestTrades(TradeIngestor ingestor)
{
    public const string Name = "IngestTrades";

    [Function(Name)]
    public async Task RunAsync([TimerTrigger("%" + IngestionOptions.ScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);

        // The window ends at the occurrence, not at "now": a late or repeated run of the same occurrence asks for the same trades.
        await ingestor.RunIncrementalAsync(TimerOccurrence.Of(timer), cancellationToken);
    }
}
