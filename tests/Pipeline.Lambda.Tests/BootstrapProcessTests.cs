using System.Text.Json;
using Pipeline.Lambda.Tests.Emulator;

namespace Pipeline.Lambda.Tests;

/// <summary>The published bootstrap, driven through the loopback Runtime API emulator.</summary>
public sealed class BootstrapProcessTests(BootstrapFixture bootstrap)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Init_UnknownHandler_IsReportedToInitErrorAndExits()
    {
        await bootstrap.RequireAvailableAsync();
        await using var emulator = new RuntimeApiEmulator();
        using var process = bootstrap.Start(emulator, "NoSuchFunction", new Dictionary<string, string> { ["Provider"] = "None" });

        var initError = await emulator.InitError.WaitAsync(Patience, TestContext.Current.CancellationToken);
        var exitCode = await process.WaitForExitAsync(Patience);

        Assert.Equal("Runtime.InitError", initError.ErrorType);
        using var json = initError.Json();
        Assert.Contains("NoSuchFunction", json.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        Assert.Equal(1, exitCode);
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
        using var process = bootstrap.Start(emulator, "Heartbeat", new Dictionary<string, string> { ["Provider"] = "Azure" });

        var initError = await emulator.InitError.WaitAsync(Patience, TestContext.Current.CancellationToken);

        using var json = initError.Json();
        Assert.Contains("'Provider'", json.RootElement.GetProperty("errorMessage").GetString(), StringComparison.Ordinal);
        Assert.Equal("Pipeline.Host.HostConfigurationException", json.RootElement.GetProperty("errorType").GetString());
    }

    [Fact]
    public async Task ScheduledEvent_HeartbeatOnEmbeddedProvider_RunsTimerFunctionAndWritesObject()
    {
        await bootstrap.RequireAvailableAsync();
        var data = Directory.CreateTempSubdirectory("lambda-heartbeat-");
        try
        {
            await using var emulator = new RuntimeApiEmulator();
            using var process = bootstrap.Start(emulator, "Heartbeat", new Dictionary<string, string>
            {
                ["Provider"] = "Embedded",
                ["Embedded__DataRoot"] = data.FullName,
                ["Heartbeat__Zone"] = "raw",
            });

            var outcome = await emulator.InvokeAsync(Fixture.Read("eventbridge-scheduled.json")).WaitAsync(Patience, TestContext.Current.CancellationToken);

            Assert.False(outcome.IsError, outcome.Body + process.Output);
            Assert.Equal("{}", outcome.Body);
            var written = Directory.EnumerateFiles(data.FullName, "060000.json", SearchOption.AllDirectories).ToList();
            Assert.True(written.Count == 1, $"heartbeat object not found under {data.FullName}: {process.Output}");
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task ScheduledEvent_IngestTradesOnEmbeddedProvider_PullsSampleApiIntoRawZone()
    {
        await bootstrap.RequireAvailableAsync();
        var data = Directory.CreateTempSubdirectory("lambda-ingest-");
        var reference = Path.Combine(RepositoryRoot(), "local", "reference");
        var trades = Pipeline.Cli.SampleApi.SampleTrades.FromReference(reference, 5, new DateOnly(2026, 11, 19), new DateOnly(2026, 11, 20));
        await using var api = new Pipeline.Cli.SampleApi.SampleTradeServer(trades, new Pipeline.Cli.SampleApi.SampleApiOptions { RequestsPerSecond = 0 });
        api.Start();
        try
        {
            await using var emulator = new RuntimeApiEmulator();
            using var process = bootstrap.Start(emulator, "IngestTrades", new Dictionary<string, string>
            {
                ["Provider"] = "Embedded",
                ["Embedded__DataRoot"] = data.FullName,
                ["Zones__Raw"] = "raw",
                ["Zones__Prepare"] = "prepare",
                ["Zones__Quarantine"] = "quarantine",
                ["Zones__Reference"] = "reference",
                ["Queues__Enriched"] = "transactions-enriched.fifo",
                ["Ingestion__BaseUrl"] = api.BaseUrl.ToString(),
                ["Ingestion__Source"] = "sample",
                ["Ingestion__PageSize"] = "4",
            });

            // The scheduled event's time (2026-11-21T06:00Z) ends the window: all 10 trades, 3 pages.
            var outcome = await emulator.InvokeAsync(Fixture.Read("eventbridge-scheduled.json")).WaitAsync(Patience, TestContext.Current.CancellationToken);

            Assert.False(outcome.IsError, outcome.Body + process.Output);
            var pages = Directory.EnumerateFiles(data.FullName, "page-*.json", SearchOption.AllDirectories).ToList();
            Assert.True(pages.Count == 3, $"expected 3 pages under {data.FullName}: {process.Output}");
            Assert.All(pages, p => Assert.Contains("run-20261121T060000Z", p, StringComparison.Ordinal));
        }
        finally
        {
            data.Delete(recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Pipeline.sln not found above " + AppContext.BaseDirectory);
    }
}
