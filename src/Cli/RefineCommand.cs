using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Refine;
using Pipeline.Host;

namespace Pipeline.Cli;

/// <summary><c>refine [--date D | --from D --to D] [--json]</c>: run RefineDaily's work now for the given days.</summary>
public static class RefineCommand
{
    public static async Task<int> RunAsync(DateOnly? date, DateOnly? from, DateOnly? to, bool json, string? dataRoot, string? contentRootOption, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        if (date is not null && (from is not null || to is not null))
        {
            await error.WriteLineAsync("Pass either --date or --from/--to, not both.");
            return 2;
        }

        var yesterday = DateOnly.FromDateTime(DateTime.UtcNow).AddDays(-1);
        var first = date ?? from ?? to ?? yesterday;
        var last = date ?? to ?? from ?? yesterday;
        if (last < first)
        {
            await error.WriteLineAsync($"--to {last:yyyy-MM-dd} is before --from {first:yyyy-MM-dd}.");
            return 2;
        }

        var built = await PipelineApp.TryBuildHostAsync(dataRoot, contentRootOption, consoleLogging: false, error);
        if (built is null)
        {
            return 2;
        }

        await using var host = built;
        var started = System.Diagnostics.Stopwatch.StartNew();
        RefineReport report;
        try
        {
            var refiner = host.Services.GetRequiredService<DailyRefiner>();
            var progress = new RefineProgress();
            var totalDays = last.DayNumber - first.DayNumber + 1;
            report = RunProgress.ShouldShow(json, output)
                ? await RunProgress.TrackReadingsAsync(
                    Spectre.Console.AnsiConsole.Console,
                    () => refiner.RefineAsync(first, last, progress, cancellationToken),
                    _ => Task.FromResult(Reading(progress, totalDays)),
                    cancellationToken)
                : await refiner.RefineAsync(first, last, progress, cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 1;
        }

        var elapsed = started.Elapsed;
        if (json)
        {
            await output.WriteLineAsync(ToJson(report, elapsed));
            return 0;
        }

        await output.WriteLineAsync($"Refined {report.From:yyyy-MM-dd}..{report.To:yyyy-MM-dd}: {report.TradesRead} live trades read (trade_date <= {report.To:yyyy-MM-dd}, {report.Pages} pages) in {elapsed.TotalSeconds:F1} s.");
        foreach (var day in report.Days)
        {
            await output.WriteLineAsync($"  {day.Day:yyyy-MM-dd}  {day.Trades,8} trades  {day.CounterpartyRows,6} counterparty rows  {day.PositionRows,8} position rows");
        }

        await output.WriteLineAsync("Query: dotnet run --project src/Cli -- query \"SELECT * FROM daily_counterparty_exposure ORDER BY trade_date, counterparty_lei\"");
        return 0;
    }

    /// <summary>Days written out of the days asked for; trades read for the rate (reading comes before any day is written).</summary>
    public static ProgressReading Reading(RefineProgress progress, int totalDays)
    {
        ArgumentNullException.ThrowIfNull(progress);
        return new ProgressReading(progress.Days, totalDays, "days", progress.Trades, "trades read", progress.Days == 0 ? "reading · " : "writing · ");
    }

    public static string ToJson(RefineReport report, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("from", report.From.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteString("to", report.To.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
            w.WriteNumber("trades_read", report.TradesRead);
            w.WriteNumber("pages", report.Pages);
            w.WriteNumber("seconds", Math.Round(elapsed.TotalSeconds, 3));
            w.WriteStartArray("days");
            foreach (var day in report.Days)
            {
                w.WriteStartObject();
                w.WriteString("day", day.Day.ToString("yyyy-MM-dd", System.Globalization.CultureInfo.InvariantCulture));
                w.WriteNumber("trades", day.Trades);
                w.WriteNumber("counterparty_rows", day.CounterpartyRows);
                w.WriteNumber("position_rows", day.PositionRows);
                w.WriteEndObject();
            }

            w.WriteEndArray();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }
}
