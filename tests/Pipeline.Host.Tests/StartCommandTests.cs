using System.Diagnostics;

namespace Pipeline.Host.Tests;

/// <summary>Runs the real sample app process (tests/Pipeline.Host.SampleApp) through its <c>start</c> command.</summary>
public sealed class StartCommandTests
{
    [Fact]
    public async Task Start_AllFunctions_PrintsFunctionListAndStopsOnSigterm()
    {
        var (exitCode, output) = await RunAsync([], stop: true, expectListening: true);

        Assert.Equal(0, exitCode);
        Assert.Contains("Functions:", output, StringComparison.Ordinal);
        Assert.Contains("  Ingest: objectTrigger (zone=raw, prefix=incoming/)", output, StringComparison.Ordinal);
        Assert.Contains("  Work: queueTrigger (queue=sample-work)", output, StringComparison.Ordinal);
        Assert.Contains("  Nightly: timerTrigger (schedule=0 0 2 * * *)", output, StringComparison.Ordinal);
        Assert.Contains("Host stopped", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_FunctionsOption_RunsOnlyTheSubset()
    {
        var (exitCode, output) = await RunAsync(["--functions", "Work", "Nightly"], stop: true, expectListening: true);

        Assert.Equal(0, exitCode);
        Assert.Contains("  Work: queueTrigger (queue=sample-work)", output, StringComparison.Ordinal);
        Assert.Contains("  Nightly: timerTrigger", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Ingest:", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_UnknownFunction_FailsWithMessage()
    {
        var (exitCode, output) = await RunAsync(["--functions", "Nope"], stop: false, expectListening: false);

        Assert.Equal(1, exitCode);
        Assert.Contains("Unknown function(s) in --functions: Nope", output, StringComparison.Ordinal);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string[] extraArgs, bool stop, bool expectListening)
    {
        var appDir = Path.Combine(RepoRoot.Find(), "tests", "Pipeline.Host.SampleApp", "bin");
        var dll = Directory.EnumerateFiles(appDir, "Pipeline.Host.SampleApp.dll", SearchOption.AllDirectories)
            .OrderByDescending(File.GetLastWriteTimeUtc)
            .FirstOrDefault();
        if (dll is null)
        {
            var reason = $"The sample app is not built under {appDir}; build tests/Pipeline.Host.Tests first.";
            if (Environment.GetEnvironmentVariable("CI") == "true")
            {
                Assert.Fail(reason);
            }

            Assert.Skip(reason);
        }

        var dataRoot = Directory.CreateTempSubdirectory("pipeline-sample-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
            };
            foreach (var arg in new[] { dll!, "start", "--data-root", dataRoot }.Concat(extraArgs))
            {
                start.ArgumentList.Add(arg);
            }

            return await HostProcess.RunAsync(start, expectListening ? "Host started" : null, stop, TimeSpan.FromSeconds(60), "The sample app");
        }
        finally
        {
            Directory.Delete(dataRoot, recursive: true);
        }
    }
}
