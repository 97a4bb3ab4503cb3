namespace Pipeline.Host.Tests;

public sealed class CronScheduleTests
{
    public static TheoryData<string, string, string> NextOccurrences => new()
    {
        // expression, after (UTC), expected next (UTC)
        { "0 0 6 * * *", "2026-03-01T05:59:59Z", "2026-03-01T06:00:00Z" },
        { "0 0 6 * * *", "2026-03-01T06:00:00Z", "2026-03-02T06:00:00Z" },
        { "*/15 * * * * *", "2026-03-01T10:00:01Z", "2026-03-01T10:00:15Z" },
        { "0 */5 * * * *", "2026-03-01T10:04:59Z", "2026-03-01T10:05:00Z" },
        { "0 0 9-17 * * MON-FRI", "2026-11-21T18:00:00Z", "2026-11-23T09:00:00Z" }, // Saturday → Monday
        { "0 30 9 * * 1,3,5", "2026-11-23T09:30:00Z", "2026-11-25T09:30:00Z" },
        { "0 0 0 1 JAN *", "2026-06-15T00:00:00Z", "2027-01-01T00:00:00Z" },
        { "0 0 12 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T12:00:00Z" }, // leap day
        { "0 0 0 * * 7", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z" }, // 7 = Sunday
        { "0 0 0 * * SUN", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z" },
        { "0 0 0 13 * FRI", "2026-01-01T00:00:00Z", "2026-02-13T00:00:00Z" }, // both day fields: AND (NCrontab)
        { "5/20 * * * * *", "2026-03-01T10:00:25Z", "2026-03-01T10:00:45Z" },
        { "0 0 8-18/4 * * *", "2026-03-01T12:00:00Z", "2026-03-01T16:00:00Z" },
        { "0 0 0 31 * *", "2026-04-01T00:00:00Z", "2026-05-31T00:00:00Z" },
        { "0 0 0 ? * 0", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z" },
        { "59 59 23 31 12 *", "2026-12-31T23:59:58Z", "2026-12-31T23:59:59Z" },
    };

    [Theory]
    [MemberData(nameof(NextOccurrences))]
    public void GetNextOccurrence_ValidExpression_ReturnsExpected(string expression, string after, string expected)
    {
        var schedule = CronSchedule.Parse(expression);

        var next = schedule.GetNextOccurrence(DateTimeOffset.Parse(after, System.Globalization.CultureInfo.InvariantCulture));

        Assert.Equal(DateTimeOffset.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), next);
    }

    public static TheoryData<string, string> Invalid => new()
    {
        { "", "empty" },
        { "0 0 6 * *", "has 5 field(s); expected six" },
        { "0 0 0 6 * * *", "has 7 field(s)" },
        { "60 * * * * *", "second field '60' has value 60 outside 0-59" },
        { "* 60 * * * *", "minute field '60'" },
        { "* * 24 * * *", "hour field '24' has value 24 outside 0-23" },
        { "* * * 0 * *", "day-of-month field '0' has value 0 outside 1-31" },
        { "* * * * 13 *", "month field '13'" },
        { "* * * * * 8", "day-of-week field '8'" },
        { "* * * * FOO *", "neither a number from 1 to 12 nor one of JAN" },
        { "*/0 * * * * *", "invalid step '0'" },
        { "* 10-5 * * * *", "start is after its end" },
        { "1,,2 * * * * *", "empty list item" },
        { "? * * * * *", "second field '?'" },
        { "a * * * * *", "'a', which is not a number from 0 to 59" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void Parse_InvalidExpression_ThrowsNamingTheProblem(string expression, string expectedFragment)
    {
        var error = Assert.Throws<FormatException>(() => CronSchedule.Parse(expression));

        Assert.Contains(expectedFragment, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void GetNextOccurrence_TimeZone_FiresAtWallClockTime()
    {
        var london = TimeZoneInfo.FindSystemTimeZoneById("Europe/London");
        var schedule = CronSchedule.Parse("0 0 6 * * *");

        // Summer (BST, UTC+1): 06:00 local is 05:00 UTC.
        var next = schedule.GetNextOccurrence(DateTimeOffset.Parse("2026-07-01T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), london);

        Assert.Equal(DateTimeOffset.Parse("2026-07-01T05:00:00Z", System.Globalization.CultureInfo.InvariantCulture), next?.ToUniversalTime());
    }

    [Fact]
    public void GetNextOccurrence_SkippedByDaylightSaving_MovesToNextDay()
    {
        var london = TimeZoneInfo.FindSystemTimeZoneById("Europe/London");
        var schedule = CronSchedule.Parse("0 30 1 * * *");

        // 2026-03-29 01:30 does not exist in London (clocks go 01:00 → 02:00).
        var next = schedule.GetNextOccurrence(DateTimeOffset.Parse("2026-03-29T00:00:00Z", System.Globalization.CultureInfo.InvariantCulture), london);

        Assert.Equal(DateTimeOffset.Parse("2026-03-30T00:30:00Z", System.Globalization.CultureInfo.InvariantCulture), next?.ToUniversalTime());
    }

    [Fact]
    public void GetNextOccurrence_ImpossibleDate_ReturnsNull()
    {
        var schedule = CronSchedule.Parse("0 0 0 30 2 *");

        Assert.Null(schedule.GetNextOccurrence(DateTimeOffset.UnixEpoch));
    }
}
