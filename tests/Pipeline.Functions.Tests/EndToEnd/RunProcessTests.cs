using System.Diagnostics;
using System.Text.Json;
using Pipeline.Functions.Tests.Domain;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>The built app as a real process: <c>run --json</c> on the bundled samples.</summary>
public sealed class RunProcessTests
{
    [Fact]
    public async Task Run_JsonOnBundledSamples_ReconciledAndExitZero()
    {
        var app = Path.Combine(AppContext.BaseDirectory, "Pipeline.Cli.dll");
        Assert.True(File.Exists(app), $"The built app is missing at {app}.");
        var dataRoot = Path.Combine(Path.GetTempPath(), "pipeline-run-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var (exit, output, error) = await RunAsync(app, dataRoot);
            Assert.True(exit == 0, $"exit {exit}\n{output}\n{error}");
            using var summary = JsonDocument.Parse(output);
            var root = summary.RootElement;
            Assert.True(root.GetProperty("reconciled").GetBoolean(), output);
            Assert.Equal(
                root.GetProperty("records").GetInt64(),
                root.GetProperty("loaded").GetInt64() + root.GetProperty("quarantined").GetInt64() + root.GetProperty("dead_lettered").GetInt64());
            Assert.True(root.GetProperty("quarantined").GetInt64() > 0);
            Assert.Equal(Directory.GetFiles(RepoPaths.Samples).Length, root.GetProperty("objects").GetInt32());

            // Idempotent: a second run over the same data root uploads nothing and reports the same.
            var (exit2, output2, _) = await RunAsync(app, dataRoot);
            Assert.Equal(0, exit2);
            using var second = JsonDocument.Parse(output2);
            Assert.Equal(0, second.RootElement.GetProperty("files_uploaded").GetInt32());
            Assert.Equal(root.GetProperty("tables").ToString(), second.RootElement.GetProperty("tables").ToString());
        }
        finally
        {
            if (Directory.Exists(dataRoot))
            {
                Directory.Delete(dataRoot, recursive: true);
            }
        }
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string app, string dataRoot)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in new[] { app, "run", "--json", "--data-root", dataRoot, "--content-root", RepoPaths.Root })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
