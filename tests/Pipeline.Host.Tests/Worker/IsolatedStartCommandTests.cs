using System.Diagnostics;

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
    public async Task Start_UnknownFunction_FailsNamingItAndTheKnownFunctions()
    {
        var (exitCode, output) = await RunAsync(["--functions", "Nope"], expectStarted: false);

        Assert.Equal(1, exitCode);
        Assert.Contains("Unknown function(s) in --functions: Nope", output, StringComparison.Ordinal);
        Assert.Contains("ProcessOrders", output, StringComparison.Ordinal);
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

    [Fact]
    public async Task Start_FuncTemplateHostJson_StartsWarningAboutApplicationInsights()
    {
        // A copy of the app with the host.json `func init --worker-runtime dotnet-isolated` writes.
        var app = CopyApp();
        try
        {
            await File.WriteAllTextAsync(Path.Combine(app, "host.json"), HostJsonTests.FuncTemplateHostJson, TestContext.Current.CancellationToken);

            var (exitCode, output) = await RunAsync(["--functions", "Tick"], expectStarted: true, scriptRoot: app);

            Assert.Equal(0, exitCode);
            Assert.Contains("Functions:", output, StringComparison.Ordinal);
            Assert.Contains("host.json: 'logging.applicationInsights' is an Azure Functions setting this host does not implement; it has no effect here", output, StringComparison.Ordinal);
            Assert.Contains("Host stopped", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(app, recursive: true);
        }
    }

    [Fact]
    public async Task Start_EnvironmentVariableAndLocalSettingsValue_WorkerSeesTheEnvironmentVariable()
    {
        // local.settings.json sets WorkerApp__Greeting; the real environment (the host process's only) must win, as with func.
        var (exitCode, output) = await RunAsync(
            ["--functions", "OnUpload"],
            expectStarted: true,
            environment: new Dictionary<string, string> { ["WorkerApp__Greeting"] = "hello from the environment" },
            prepareDataRoot: dataRoot =>
            {
                // A file copied into the zone folder by hand is announced on the first receive.
                var folder = Path.Combine(dataRoot, "objects", "raw", "uploads");
                Directory.CreateDirectory(folder);
                File.WriteAllText(Path.Combine(folder, "hello.txt"), "hi");
            },
            waitFor: "greeting:");

        Assert.Equal(0, exitCode);
        Assert.Contains("Object uploads/hello.txt (2 bytes) created in raw; greeting: hello from the environment", output, StringComparison.Ordinal);
        Assert.DoesNotContain("hello from local.settings.json", output, StringComparison.Ordinal);
    }

    private static string CopyApp()
    {
        var source = WorkerApp.ScriptRoot();
        var target = Directory.CreateTempSubdirectory("pipeline-appcopy-").FullName;
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }

        return target;
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(
        string[] extraArgs,
        bool expectStarted,
        string? scriptRoot = null,
        IReadOnlyDictionary<string, string>? environment = null,
        Action<string>? prepareDataRoot = null,
        string waitFor = "Host started")
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Debug";
        var hostDll = Path.Combine(RepoRoot.Find(), "src", "Host", "bin", configuration, "net10.0", "Pipeline.Host.dll");
        Assert.True(File.Exists(hostDll), $"The host is not built at {hostDll}.");
        var dataRoot = Directory.CreateTempSubdirectory("pipeline-isolated-").FullName;
        try
        {
            prepareDataRoot?.Invoke(dataRoot);
            var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            foreach (var arg in new[] { hostDll, "start", "--script-root", scriptRoot ?? WorkerApp.ScriptRoot(), "--data-root", dataRoot }.Concat(extraArgs))
            {
                start.ArgumentList.Add(arg);
            }

            // The child's environment only: tests run in parallel, so this process's stays untouched.
            foreach (var (name, value) in environment ?? new Dictionary<string, string>())
            {
                start.Environment[name] = value;
            }

            return await HostProcess.RunAsync(start, expectStarted ? waitFor : null, expectStarted, TimeSpan.FromSeconds(90), "The host");
        }
        finally
        {
            Directory.Delete(dataRoot, recursive: true);
        }
    }
}
