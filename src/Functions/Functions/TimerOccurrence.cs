using Microsoft.Azure.Functions.Worker;

namespace Pipeline.Functions.Functions;

/// <summary>The occurrence a timer invocation is for: the host sends it as ScheduleStatus.Last (UTC).</summary>
public static class TimerOccurrence
{
    public static DateTimeOffset Of(TimerInfo timer)
    {
        ArgumentNullException.ThrowIfNull(timer);
        if (timer.ScheduleStatus is not { } status)
        {
            throw new InvalidOperationException("The timer invocation carries no ScheduleStatus; the host sends the occurrence as ScheduleStatus.Last.");
        }

        var last = status.Last;
        return last.Kind switch
        {
            DateTimeKind.Local => new DateTimeOffset(last.ToUniversalTime(), TimeSpan.Zero),
            _ => new DateTimeOffset(DateTime.SpecifyKind(last, DateTimeKind.Utc), TimeSpan.Zero),
        };
    }
}
