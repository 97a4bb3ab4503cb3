using System.Text.Json;
using Pipeline.Lambda.Tests.Emulator;

namespace Pipeline.Lambda.Tests;

/// <summary>The published bootstrap, driven through the loopback Runtime API emulator.</summary>
public sealed class BootstrapProcessTests(BootstrapFixture bootstrap)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Init_UnknownHandler_IsReportedToInitErrorNamingTheWorkersFunctionsAndExits()
    {
        await bootstrap.RequireAvailableAsync();
        await using var emulator = new RuntimeApiEmulator();
        using var process = bootstrap.Start(emulator, "NoSuchFunction", new Dictionary<string, string> { ["Provider"] = "None" });

        var initError = await emulator.InitError.WaitAsync(Patience, TestContext.Current.CancellationToken);
        var exitCode = await process.WaitForExitAsync(Patience);

        Assert.Equal("Runtime.InitError", initError.ErrorType);
        using var json = initError.Json();
        var message = json.RootElement.GetProperty("errorMessage").GetString();
        Assert.Contains("NoSuchFunction", message, StringComparison.Ordinal);

        // The names come from the worker's metadata: the worker started and answered before init failed.
        Assert.All(["EnrichTransactions", "LoadTransactions", "IngestTrades", "RefineDaily"], name => Assert.Contains(name, message, StringComparison.Ordinal));
        Assert.Equal(1, exitCode);
        Assert.False(emulator.FirstNextRequest.IsCompleted, "the bootstrap asked for an event although init failed");
    }

    [Fact]
    public async Task Init_MissingHandler_IsReportedToInitError()
    {
        await bootstrap.RequireAvailableAsync();
        await using var emulator = new RuntimeApiEmulator();
        using var process = bootstrap.Start(emulator, " ", new Dictionary<string, string>());

        var initError = await emulator.InitError.WaitAsync(Patience, TestContext.Current.CancellationToken);

        using var json = initError.Json();
        Assert.Contains("_HANDLER", json.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Init_InvalidProviderSetting_IsReportedToInitErrorNamingTheSetting()
    {
        await bootstrap.RequireAvailableAsync();
        await using var emulator = new RuntimeApiEmulator();
        using var process = bootstrap.Start(emulator, "IngestTrades", new Dictionary<string, string> { ["Provider"] = "Azure" });

        var initError = await emulator.InitError.WaitAsync(Patience, TestContext.Current.CancellationToken);

        using var json = initError.Json();
        Assert.Contains("'Provider'", json.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        Assert.Equal("Pipeline.Host.HostConfigurationException", json.RootElement.GetProperty("errorType").GetString());
    }

    [Fact]
    public async Task Init_EmbeddedProvider_IsReportedAsNotInThePackage()
    {
        await bootstrap.RequireAvailableAsync();
        await using var emulator = new RuntimeApiEmulator();
        using var process = bootstrap.Start(emulator, "IngestTrades", new Dictionary<string, string> { ["Provider"] = "Embedded" });

        var initError = await emulator.InitError.WaitAsync(Patience, TestContext.Current.CancellationToken);

        using var json = initError.Json();
        Assert.Contains("Provider=Aws", json.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Package_Contents_AreTheAotBootstrapAndTheReadyToRunWorkerWithoutSqlite()
    {
        await bootstrap.RequireAvailableAsync();
        var root = Path.GetDirectoryName(bootstrap.BootstrapPath)!;

        // Native AOT: no managed entry assembly beside the bootstrap; the worker is a self-contained app in worker/.
        Assert.False(File.Exists(Path.Combine(root, "Pipeline.Lambda.dll")), "the bootstrap is not Native AOT: Pipeline.Lambda.dll is beside it");
        Assert.True(File.Exists(Path.Combine(root, LambdaApplication.WorkerFolder, "worker.config.json")));
        Assert.True(File.Exists(Path.Combine(root, LambdaApplication.WorkerFolder, "functions.metadata")));
        Assert.True(File.Exists(Path.Combine(root, LambdaApplication.WorkerFolder, "Pipeline.Functions")));
        Assert.DoesNotContain(Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories), f => f.Contains("sqlite", StringComparison.OrdinalIgnoreCase) || f.Contains("Pipeline.Cli", StringComparison.Ordinal));
    }
}
