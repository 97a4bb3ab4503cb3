namespace Pipeline.Functions.Refine;

/// <summary>The "Refine" section: when RefineDaily runs and which days it refreshes.</summary>
public sealed class RefineOptions
{
    public const string SectionName = "Refine";
    public const string ScheduleSetting = "Refine:Schedule";

    /// <summary>07:30 UTC daily: after IngestTrades (06:00 by default) has landed and loaded yesterday's trades.</summary>
    public const string DefaultSchedule = "0 30 7 * * *";

    /// <summary>Defaults placed below every other configuration source (so the timer needs no setting).</summary>
    public static IReadOnlyDictionary<string, string?> ConfigurationDefaults { get; } = new Dictionary<string, string?>
    {
        [ScheduleSetting] = DefaultSchedule,
    };

    /// <summary>
    /// Days the timer refreshes, ending yesterday (UTC, relative to the scheduled time): 1 = yesterday only;
    /// 5 = also re-refine the four days before, picking up late amendments and cancels.
    /// </summary>
    public int LookbackDays { get; set; } = 1;

    /// <summary>Rows read from the warehouse per query (keyset pages over transaction_id).</summary>
    public int PageSize { get; set; } = 50_000;

    public string? Validate() =>
        LookbackDays is < 1 or > 366 ? $"Refine:LookbackDays must be 1..366 (got {LookbackDays})."
        : PageSize is < 100 or > 1_000_000 ? $"Refine:PageSize must be 100..1000000 (got {PageSize})."
        : null;
}
