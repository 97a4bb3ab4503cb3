using System.Globalization;

namespace Pipeline.Host;

/// <summary>
/// A six-field cron expression with seconds, as Azure Functions' timer trigger takes it:
/// <c>second minute hour day-of-month month day-of-week</c>. Each field: <c>*</c>, a value,
/// a range <c>a-b</c>, a list <c>a,b</c>, a step <c>*/n</c>, <c>a/n</c> or <c>a-b/n</c>;
/// months JAN–DEC and days SUN–SAT by name; day-of-week 0–7 (0 and 7 are Sunday); <c>?</c>
/// equals <c>*</c> in the day fields. When both day fields are restricted, a day must match
/// both (as NCrontab, which Azure uses; classic Unix cron would match either).
/// </summary>
public sealed class CronSchedule
{
    private static readonly string[] FieldNames = ["second", "minute", "hour", "day-of-month", "month", "day-of-week"];
    private static readonly string[] MonthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] DayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];

    // Bit i set = value i allowed.
    private readonly ulong _seconds;
    private readonly ulong _minutes;
    private readonly ulong _hours;
    private readonly ulong _days;
    private readonly ulong _months;
    private readonly ulong _daysOfWeek;

    private CronSchedule(string expression, ulong[] fields)
    {
        Expression = expression;
        (_seconds, _minutes, _hours, _days, _months, _daysOfWeek) = (fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]);
    }

    public string Expression { get; }

    public override string ToString() => Expression;

    /// <exception cref="FormatException">The message names the field and what is wrong.</exception>
    public static CronSchedule Parse(string expression) =>
        TryParse(expression, out var schedule, out var error) ? schedule : throw new FormatException(error);

    public static bool TryParse(string? expression, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CronSchedule? schedule, out string error)
    {
        schedule = null;
        if (string.IsNullOrWhiteSpace(expression))
        {
            error = "Cron expression is empty; expected six fields: second minute hour day-of-month month day-of-week (e.g. \"0 0 6 * * *\").";
            return false;
        }

        var parts = expression.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (parts.Length != 6)
        {
            error = $"Cron expression '{expression}' has {parts.Length} field(s); expected six: second minute hour day-of-month month day-of-week (e.g. \"0 0 6 * * *\").";
            return false;
        }

        var fields = new ulong[6];
        for (var i = 0; i < 6; i++)
        {
            var (min, max, names) = i switch
            {
                0 or 1 => (0, 59, (string[]?)null),
                2 => (0, 23, null),
                3 => (1, 31, null),
                4 => (1, 12, MonthNames),
                _ => (0, 7, DayNames),
            };
            if (!TryParseField(parts[i], min, max, names, allowQuestion: i is 3 or 5, out fields[i], out var problem))
            {
                error = $"Cron expression '{expression}': {FieldNames[i]} field '{parts[i]}' {problem}.";
                return false;
            }
        }

        // 7 is Sunday too.
        if ((fields[5] & (1UL << 7)) != 0)
        {
            fields[5] = (fields[5] | 1UL) & ~(1UL << 7);
        }

        schedule = new CronSchedule(expression, fields);
        error = string.Empty;
        return true;
    }

    /// <summary>The first occurrence strictly after <paramref name="after"/> (UTC), or null when none within five years.</summary>
    public DateTimeOffset? GetNextOccurrence(DateTimeOffset after) => GetNextOccurrence(after, TimeZoneInfo.Utc);

    /// <summary>
    /// The first occurrence strictly after <paramref name="after"/>, the fields read as wall-clock time in
    /// <paramref name="zone"/>. Wall-clock times skipped by a DST change do not occur; repeated ones occur once (the first).
    /// </summary>
    public DateTimeOffset? GetNextOccurrence(DateTimeOffset after, TimeZoneInfo zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var local = TimeZoneInfo.ConvertTime(after, zone);
        var start = local.DateTime.AddTicks(-(local.DateTime.Ticks % TimeSpan.TicksPerSecond)).AddSeconds(1);
        var limit = start.AddYears(5);
        var candidate = start;
        while (candidate < limit)
        {
            var next = NextLocal(candidate, limit);
            if (next is null)
            {
                return null;
            }

            var value = next.Value;
            if (zone.IsInvalidTime(value))
            {
                candidate = value.AddSeconds(1);
                continue;
            }

            var offset = zone.IsAmbiguousTime(value) ? zone.GetAmbiguousTimeOffsets(value).Max() : zone.GetUtcOffset(value);
            var result = new DateTimeOffset(value, offset);
            if (result > after)
            {
                return result;
            }

            candidate = value.AddSeconds(1);
        }

        return null;
    }

    /// <summary>Next matching wall-clock time at or after <paramref name="from"/> (whole seconds).</summary>
    private DateTime? NextLocal(DateTime from, DateTime limit)
    {
        var date = from.Date;
        var firstDay = true;
        while (date < limit)
        {
            if (!Has(_months, date.Month))
            {
                date = new DateTime(date.Year, date.Month, 1, 0, 0, 0, date.Kind).AddMonths(1);
                firstDay = false;
                continue;
            }

            if (Has(_days, date.Day) && Has(_daysOfWeek, (int)date.DayOfWeek))
            {
                var fromTime = firstDay ? from.TimeOfDay : TimeSpan.Zero;
                if (NextTimeOfDay(fromTime) is { } time)
                {
                    return date + time;
                }
            }

            date = date.AddDays(1);
            firstDay = false;
        }

        return null;
    }

    private TimeSpan? NextTimeOfDay(TimeSpan from)
    {
        for (var h = from.Hours; h < 24; h++)
        {
            if (!Has(_hours, h))
            {
                continue;
            }

            var sameHour = h == from.Hours;
            for (var m = sameHour ? from.Minutes : 0; m < 60; m++)
            {
                if (!Has(_minutes, m))
                {
                    continue;
                }

                var sameMinute = sameHour && m == from.Minutes;
                for (var s = sameMinute ? from.Seconds : 0; s < 60; s++)
                {
                    if (Has(_seconds, s))
                    {
                        return new TimeSpan(h, m, s);
                    }
                }
            }
        }

        return null;
    }

    private static bool Has(ulong bits, int value) => (bits & (1UL << value)) != 0;

    private static bool TryParseField(string field, int min, int max, string[]? names, bool allowQuestion, out ulong bits, out string problem)
    {
        bits = 0;
        problem = string.Empty;
        if (allowQuestion && field == "?")
        {
            field = "*";
        }

        foreach (var item in field.Split(','))
        {
            if (item.Length == 0)
            {
                problem = "has an empty list item";
                return false;
            }

            var slash = item.IndexOf('/', StringComparison.Ordinal);
            var rangePart = slash < 0 ? item : item[..slash];
            var step = 1;
            if (slash >= 0 && (!int.TryParse(item[(slash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out step) || step < 1 || step > max))
            {
                problem = $"has an invalid step '{item[(slash + 1)..]}' (expected a whole number from 1 to {max})";
                return false;
            }

            int from, to;
            if (rangePart == "*")
            {
                (from, to) = (min, max);
            }
            else
            {
                var dash = rangePart.IndexOf('-', StringComparison.Ordinal);
                if (!TryValue(dash < 0 ? rangePart : rangePart[..dash], min, max, names, out from, out problem))
                {
                    return false;
                }

                if (dash < 0)
                {
                    // "a/n" means a, a+n, ... up to the maximum.
                    to = slash >= 0 ? max : from;
                }
                else
                {
                    if (!TryValue(rangePart[(dash + 1)..], min, max, names, out to, out problem))
                    {
                        return false;
                    }

                    if (to < from)
                    {
                        problem = $"has a range '{rangePart}' whose start is after its end";
                        return false;
                    }
                }
            }

            for (var v = from; v <= to; v += step)
            {
                bits |= 1UL << v;
            }
        }

        return true;
    }

    private static bool TryValue(string text, int min, int max, string[]? names, out int value, out string problem)
    {
        problem = string.Empty;
        if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out value))
        {
            if (value >= min && value <= max)
            {
                return true;
            }

            problem = $"has value {value} outside {min}-{max}";
            return false;
        }

        if (names is not null)
        {
            var index = Array.FindIndex(names, n => string.Equals(n, text, StringComparison.OrdinalIgnoreCase));
            if (index >= 0)
            {
                // Month names start at 1 (JAN), day names at 0 (SUN).
                value = names.Length == 12 ? index + 1 : index;
                return true;
            }
        }

        problem = names is null
            ? $"has '{text}', which is not a number from {min} to {max}"
            : $"has '{text}', which is neither a number from {min} to {max} nor one of {string.Join(", ", names)}";
        return false;
    }
}
