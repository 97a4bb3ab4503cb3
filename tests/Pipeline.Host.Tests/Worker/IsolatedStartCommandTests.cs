using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Pipeline.Host.Tests.Worker;

/// <summary>The standalone host executable (src/Host) running the worker app, as <c>dotnet run --project src/Host -- start --script-root DIR</c> does.</summary>
public sealed class IsolatedStartCommandTests
{
    [Fact]
    public async Task Start_ScriptRoot_ListsTheAppsFunctionsRunsAndStopsGracefullyOnSigterm()
    {
        var (exitCode, output) = await RunAsync(["--functions", "Tick", "ProcessOrders", "OnUpload"], expectStarted: true);

        Assert.Equal(0, exitCode);
        Assert.Contains("Functions:", output, StringComparison.Ordinal);
        Assert.Contains("  Tick: timerTrigger (schedule=0 0 3 * * *)", output, StringComparison.Ordinal);
        Assert.Contains("  ProcessOrders: messageQueueTrigger (queue=orders)", output, StringComparison.Ordinal);
        Assert.Contains("  OnUpload: objectCreatedTrigger (zone=raw, prefix=uploads/)", output, StringComparison.Ordinal);
        Assert.DoesNotContain("Boom:", output, StringComparison.Ordinal);
        Assert.Contains("Host stopped", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_FolderWithoutAnApp_FailsNamingWorkerConfig()
    {
        var empty = Directory.CreateTempSubdirectory("pipeline-noapp-").FullName;
        try
        {
            var (exitCode, output) = await RunAsync([], expectStarted: false, scriptRoot: empty);

            Assert.Equal(1, exitCode);
            Assert.Contains("No worker.config.json in", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty, recursive: true);
        }
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string[] extraArgs, bool expectStarted, string? scriptRoot = null)
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Debug";
        var hostDll = Path.Combine(RepoRoot.Find(), "src", "Host", "bin", configuration, "net10.0", "Pipeline.Host.dll");
        Assert.True(File.Exists(hostDll), $"The host is not built at {hostDll}.");
        var dataRoot = Directory.CreateTempSubdirectory("pipeline-isolated-").FullName;
        try
        {
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { hostDll, "start", "--script-root", scriptRoot ?? WorkerApp.ScriptRoot(), "--data-root", dataRoot }.Concat(extraArgs))
            {
                start.ArgumentList.Add(arg);
            }

            using var process = Process.Start(start)!;
            var output = new StringBuilder();
            var started = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            void OnLine(string? line)
            {
                if (line is null)
                {
                    return;
                }

                lock (output)
                {
                    output.AppendLine(line);
                }

                if (line.Contains("Host started", StringComparison.Ordinal))
                {
                    started.TrySetResult();
                }
            }

            process.OutputDataReceived += (_, e) => OnLine(e.Data);
            process.ErrorDataReceived += (_, e) => OnLine(e.Data);
            process.BeginOutputReadLine();
            process.BeginErrorReadLine();

            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            try
            {
                if (expectStarted)
                {
                    await started.Task.WaitAsync(timeout.Token);
                    using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                    await kill.WaitForExitAsync(timeout.Token);
                }

                await process.WaitForExitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                process.Kill(entireProcessTree: true);
                throw new TimeoutException("The host did not start/stop in time. Output:\n" + output);
            }

            lock (output)
            {
                return (process.ExitCode, output.ToString());
            }
        }
        finally
        {
            Directory.Delete(dataRoot, recursive: true);
        }
    }
}
