using System.Diagnostics;
using Pipeline.Functions.Tests.Domain;
using Spectre.Console.Testing;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>The progress line of <c>run</c>: drawn on a terminal from the polled samples, absent when output is redirected or JSON.</summary>
public sealed class RunProgressTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void Describe_Sample_ObjectsDoneLeftRecordsPerSecondElapsed()
    {
        var line = RunProgress.Describe(new ProgressSample(3, 10, 1_500), loadedAtStart: 500, TimeSpan.FromSeconds(4));

        Assert.Equal("objects 3/10 (7 left) · 1,000 records loaded, 250 records/s · 00:00:04", line);
    }

    [Fact]
    public void ShouldShow_JsonOrAnotherWriter_False()
    {
        Assert.False(RunProgress.ShouldShow(json: true, Console.Out));
        Assert.False(RunProgress.ShouldShow(json: false, new StringWriter()));
        Assert.Equal(!Console.IsOutputRedirected, RunProgress.ShouldShow(json: false, Console.Out));
    }

    [Fact]
    public async Task TrackAsync_InteractiveConsole_ShowsPolledProgressAndReturnsTheResult()
    {
        var console = new TestConsole().Interactive();
        console.Profile.Width = 160;
        var polls = 0;

        var result = await RunProgress.TrackAsync(
            console,
            async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(2.5), Ct);
                return 42;
            },
            _ => Task.FromResult(new ProgressSample(Math.Min(++polls, 3), 3, polls * 100L)),
            Ct);

        Assert.Equal(42, result);
        Assert.True(polls >= 2, $"polled {polls} times");
        Assert.Contains("objects 1/3 (2 left)", console.Output, StringComparison.Ordinal);
        Assert.Contains("records/s", console.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TrackAsync_PollFails_WorkStillCompletes()
    {
        var console = new TestConsole().Interactive();

        var result = await RunProgress.TrackAsync(
            console,
            async () =>
            {
                await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
                return "done";
            },
            _ => throw new IOException("listing failed"),
            Ct);

        Assert.Equal("done", result);
    }

    [Fact]
    public async Task Run_TextOutputRedirected_NoProgressLines()
    {
        var app = Path.Combine(AppContext.BaseDirectory, "Pipeline.Cli.dll");
        var dataRoot = Path.Combine(Path.GetTempPath(), "pipeline-progress-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = RepoPaths.Root };
            foreach (var arg in new[] { app, "run", "--data-root", dataRoot, "--content-root", RepoPaths.Root })
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var output = process.StandardOutput.ReadToEndAsync(Ct);
            var error = process.StandardError.ReadToEndAsync(Ct);
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromMinutes(2));
            await process.WaitForExitAsync(timeout.Token);
            var text = await output + await error;

            Assert.True(process.ExitCode == 0, text);
            Assert.Contains("First rows of transactions", text, StringComparison.Ordinal);
            Assert.DoesNotContain("records/s", text, StringComparison.Ordinal);
            Assert.DoesNotContain("left)", text, StringComparison.Ordinal);
            Assert.DoesNotContain('\u001b', text);
            Assert.DoesNotContain('\r', text);
        }
        finally
        {
            if (Directory.Exists(dataRoot))
            {
                Directory.Delete(dataRoot, recursive: true);
            }
        }
    }
}
