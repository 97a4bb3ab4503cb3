using Microsoft.Extensions.Logging;

namespace Pipeline.Host.Internal;

/// <summary>Runs one timer function on its cron schedule (one invocation at a time; a missed tick is not queued up).</summary>
internal sealed class TimerListener(
    FunctionDescriptor function,
    CronSchedule schedule,
    TimeZoneInfo zone,
    FunctionExecutor executor,
    ILogger logger)
{
    private const string NextTemplate = "Function '{FunctionName}' next runs at {Next:O}";
    private const string FailedTemplate = "Timer function '{FunctionName}' failed for occurrence {Occurrence:O}";

    private static readonly TimeSpan MaxDelayStep = TimeSpan.FromHours(12);

    public async Task RunAsync(CancellationToken stopping, CancellationToken abort)
    {
        var binding = (TimerTriggerBinding)function.Trigger;
        if (binding.RunOnStartup && !stopping.IsCancellationRequested)
        {
            var now = DateTimeOffset.UtcNow;
            await InvokeAsync(new TimerInfo(now, schedule.GetNextOccurrence(now, zone), IsPastDue: false, IsStartupRun: true), abort);
        }

        while (!stopping.IsCancellationRequested)
        {
            var next = schedule.GetNextOccurrence(DateTimeOffset.UtcNow, zone);
            if (next is null)
            {
                return;
            }

            logger.LogDebug(NextTemplate, function.Name, next.Value);
            try
            {
                for (var wait = next.Value - DateTimeOffset.UtcNow; wait > TimeSpan.Zero; wait = next.Value - DateTimeOffset.UtcNow)
                {
                    await Task.Delay(wait < MaxDelayStep ? wait : MaxDelayStep, stopping);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }

            var late = DateTimeOffset.UtcNow - next.Value;
            var following = schedule.GetNextOccurrence(next.Value, zone);
            var pastDue = following is { } f && late > f - next.Value;
            await InvokeAsync(new TimerInfo(next.Value, following, pastDue, IsStartupRun: false), abort);
        }
    }

    private async Task InvokeAsync(TimerInfo info, CancellationToken abort)
    {
        try
        {
            await executor.ExecuteWithRetryAsync(function, info, info.IsStartupRun ? "Timer fired at start-up (RunOnStartup)" : "Timer fired", null, abort);
        }
        catch (OperationCanceledException) when (abort.IsCancellationRequested)
        {
            // Shutting down.
        }
        catch (Exception ex)
        {
            logger.LogError(ex, FailedTemplate, function.Name, info.ScheduledTime);
        }
    }
}
