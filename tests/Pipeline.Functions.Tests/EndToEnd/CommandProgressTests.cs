using System.Diagnostics;
using Pipeline.Functions.Refine;
using Pipeline.Cli.SampleApi;
using Pipeline.Functions.Tests.Domain;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>The live lines of <c>backfill</c>, <c>refine</c> and <c>bench</c>, and their absence when output is redirected.</summary>
public sealed class CommandProgressTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Describe_BackfillReading_DaysAskedPagesFetchedRateElapsed()
    {
        var reading = IngestionCommands.BackfillReading(new DateOnly(2026, 11, 1), new DateOnly(2026, 11, 30), pages: 14);

        var line = RunProgress.Describe(reading, countAtStart: 2, TimeSpan.FromSeconds(4));

        Assert.Equal("backfill 2026-11-01..2026-11-30 (30 days) · 12 pages fetched, 3 pages fetched/s · 00:00:04", line);
    }

    [Fact]
    public void Describe_RefineReading_PhaseDaysDoneLeftTradesRate()
    {
        var progress = new RefineProgress();
        progress.TradesRead(1_000);
        Assert.Equal("reading · days 0/3 (3 left) · 1,000 trades read, 500 trades read/s · 00:00:02", RunProgress.Describe(RefineCommand.Reading(progress, 3), 0, TimeSpan.FromSeconds(2)));

        progress.DayWritten();
        Assert.Equal("writing · days 1/3 (2 left) · 1,000 trades read, 333 trades read/s · 00:00:03", RunProgress.Describe(RefineCommand.Reading(progress, 3), 0, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void Describe_BenchPhaseReading_PhaseOfPhasesRecordsElapsed()
    {
        var line = RunProgress.Describe(BenchCommand.PhaseReading(2, 4, "end to end, 1 NDJSON file", 100_000), 0, TimeSpan.FromSeconds(12));

        Assert.Equal("phase 2/4: end to end, 1 NDJSON file · 100,000 records · 00:00:12", line);
    }

    [Fact]
    public async Task Refine_TextOutputRedirected_NoProgressText()
    {
        var dataRoot = Directory.CreateTempSubdirectory("pipeline-refine-progress-");
        try
        {
            var text = await RunAsync(["refine", "--from", "2026-11-01", "--to", "2026-11-03", "--data-root", dataRoot.FullName, "--content-root", RepoPaths.Root], null);

            Assert.Contains("Refined 2026-11-01..2026-11-03", text, StringComparison.Ordinal);
            AssertNoProgress(text);
        }
        finally
        {
            dataRoot.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Backfill_TextOutputRedirected_NoProgressText()
    {
        var dataRoot = Directory.CreateTempSubdirectory("pipeline-backfill-progress-");
        var trades = SampleTrades.FromReference(Path.Combine(RepoPaths.Root, "local", "reference"), 20, new DateOnly(2026, 11, 19), new DateOnly(2026, 11, 20));
        await using var api = new SampleTradeServer(trades, new SampleApiOptions { RequestsPerSecond = 0 });
        api.Start();
        try
        {
            var text = await RunAsync(
                ["backfill", "--from", "2026-11-19", "--to", "2026-11-20", "--data-root", dataRoot.FullName, "--content-root", RepoPaths.Root],
                new Dictionary<string, string> { ["Ingestion__BaseUrl"] = api.BaseUrl.ToString(), ["Ingestion__PageSize"] = "5" });

            Assert.Contains("40", text, StringComparison.Ordinal);
            AssertNoProgress(text);
        }
        finally
        {
            dataRoot.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task Bench_TextOutputRedirected_NoProgressText()
    {
        var text = await RunAsync(["bench", "--records", "2000", "--files", "2", "--quick", "--content-root", RepoPaths.Root], null);

        Assert.Contains("end to end, 1 NDJSON file", text, StringComparison.Ordinal);
        Assert.DoesNotContain("phase ", text, StringComparison.Ordinal);
        AssertNoProgress(text);
    }

    private static void AssertNoProgress(string text)
    {
        Assert.DoesNotContain('\u001b', text);
        Assert.DoesNotContain('\r', text);
        Assert.DoesNotContain("left)", text, StringComparison.Ordinal);
        Assert.DoesNotContain(" · 00:", text, StringComparison.Ordinal);
    }

    private static async Task<string> RunAsync(string[] args, Dictionary<string, string>? environment)
    {
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Pipeline.Cli.dll"));
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment ?? [])
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(Ct);
        var error = process.StandardError.ReadToEndAsync(Ct);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        var text = await output + await error;
        Assert.True(process.ExitCode == 0, text);
        return text;
    }
}
