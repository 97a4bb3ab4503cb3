using System.Diagnostics;
using System.Text.Json;
using Pipeline.Functions.Tests.Domain;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>The built app as a real process: <c>run</c>, then <c>review</c> with the code unchanged and with a rule changed through the environment.</summary>
public sealed class ReviewProcessTests
{
    [Fact]
    public async Task Review_AfterRun_ZeroUnchangedOneWithEnvironmentRuleTwoOnUsageError()
    {
        var app = Path.Combine(AppContext.BaseDirectory, "Pipeline.Cli.dll");
        Assert.True(File.Exists(app), $"The built app is missing at {app}.");
        var dataRoot = Path.Combine(Path.GetTempPath(), "pipeline-review-run-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var (exit, output, error) = await RunAsync(app, dataRoot, [], "run", "--json");
            Assert.True(exit == 0, $"run: exit {exit}\n{output}\n{error}");

            (exit, output, error) = await RunAsync(app, dataRoot, [], "review");
            Assert.True(exit == 0, $"review: exit {exit}\n{output}\n{error}");
            Assert.Contains("No differences", output, StringComparison.Ordinal);

            (exit, output, error) = await RunAsync(app, dataRoot, new() { ["Enrichment__LargeNotionalUsd"] = "1" }, "review", "--json");
            Assert.True(exit == 1, $"review with a 1 USD threshold: exit {exit}\n{output}\n{error}");
            using var doc = JsonDocument.Parse(output);
            var transactions = doc.RootElement.GetProperty("tables").GetProperty("transactions");
            Assert.Equal(["flag_large_notional", "risk_flags"], transactions.GetProperty("columns").EnumerateObject().Select(p => p.Name));
            Assert.True(transactions.GetProperty("changed").GetInt64() > 0);

            (exit, _, error) = await RunAsync(app, dataRoot, [], "review", "--since", "yesterday");
            Assert.True(exit == 2, $"review --since yesterday: exit {exit}\n{error}");
            (exit, _, error) = await RunAsync(app, dataRoot, [], "review", "--examples", "many");
            Assert.True(exit == 2, $"review --examples many: exit {exit}\n{error}");
        }
        finally
        {
            if (Directory.Exists(dataRoot))
            {
                Directory.Delete(dataRoot, recursive: true);
            }
        }
    }

    private static async Task<(int Exit, string Output, string Error)> RunAsync(string app, string dataRoot, Dictionary<string, string> environment, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in new[] { app }.Concat(args).Concat(["--data-root", dataRoot, "--content-root", RepoPaths.Root]))
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
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
