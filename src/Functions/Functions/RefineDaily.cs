using Microsoft.Extensions.Options;
using Pipeline.Functions.Refine;
using Microsoft.Azure.Functions.Worker;

namespace Pipeline.Functions.Functions;

/// <summary>
/// Timer (<c>Refine:Schedule</c>, default 07:30 UTC daily, after IngestTrades): refines the <c>Refine:LookbackDays</c>
/// days ending yesterday (UTC, relative to the scheduled time) into the refine zone and the
/// daily_counterparty_exposure and positions tables; each day's results are replaced exactly. Runs on demand with
/// the <c>refine</c> command.
/// </summary>
public sealed class RefineDaily(DailyRefiner refiner, IOptions<RefineOptions> options)
{
    [Function("RefineDaily")]
    public async Task RunAsync([TimerTrigger("%" + RefineOptions.ScheduleSetting + "%")] TimerInfo timer, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        var (from, to) = DailyRefiner.ScheduledDays(TimerOccurrence.Of(timer), options.Value.LookbackDays);
        await refiner.RefineAsync(from, to, cancellationToken);
    }
}
