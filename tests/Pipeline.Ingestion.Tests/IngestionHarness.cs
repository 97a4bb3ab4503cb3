using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Functions;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Ingestion;
using Pipeline.Cli.SampleApi;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Ingestion.Tests;

/// <summary>
/// The real sample API on loopback plus the real app host on the embedded providers over a temp
/// data root; every log line of the host is captured (to prove the API key never appears).
/// </summary>
internal sealed class IngestionHarness : IAsyncDisposable
{
    public const string HostJson = """
        {
          "version": "2.0",
          "extensions": { "queues": { "batchSize": 10, "maxDequeueCount": 2, "visibilityTimeout": "00:00:05", "maxPollingInterval": "00:00:00.100" } },
          "functionTimeout": "00:01:00"
        }
        """;

    /// <summary>Three trade dates with FX rates, 40 trades each.</summary>
    public static readonly DateOnly[] Dates = [new(2026, 11, 16), new(2026, 11, 17), new(2026, 11, 18)];

    private readonly string root;

    public IngestionHarness(int tradesPerDay = 40, SampleApiOptions? api = null)
    {
        root = Path.Combine(Path.GetTempPath(), "pipeline-ingest-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(root, "app"));
        File.WriteAllText(Path.Combine(root, "app", "host.json"), HostJson);
        DataRoot = Path.Combine(root, "data");
        Trades = new SampleTrades(Dates, LeiList(), tradesPerDay);
        Server = new SampleTradeServer(Trades, api ?? new SampleApiOptions { RequestsPerSecond = 0 });
        Server.Start();
    }

    public SampleTrades Trades { get; }

    public SampleTradeServer Server { get; }

    public string DataRoot { get; }

    public ConcurrentQueue<string> Logs { get; } = new();

    /// <summary>The end of the data: an incremental window ending here covers every trade.</summary>
    public static DateTimeOffset AfterAll => new(2026, 11, 19, 0, 0, 0, TimeSpan.Zero);

    public Dictionary<string, string?> Settings(PaginationStyle style = PaginationStyle.PageNumber, int pageSize = 10) => new()
    {
        ["Provider"] = "Embedded",
        ["Zones:Raw"] = "raw",
        ["Zones:Prepare"] = "prepare",
        ["Zones:Quarantine"] = "quarantine",
        ["Zones:Reference"] = "reference",
        ["Queues:Enriched"] = "transactions-enriched.fifo",
        ["Queues:AutoCreate"] = "true",
        ["Enrichment:LargeNotionalUsd"] = "1000000",
        ["Ingestion:Source"] = "sample",
        ["Ingestion:BaseUrl"] = Server.BaseUrl.ToString(),
        ["Ingestion:Path"] = style switch
        {
            PaginationStyle.Cursor => "/cursor/trades",
            PaginationStyle.LinkHeader => "/link/trades",
            _ => "/trades",
        },
        ["Ingestion:RecordsField"] = style == PaginationStyle.Cursor ? "data" : string.Empty,
        ["Ingestion:Pagination"] = style.ToString(),
        ["Ingestion:PageSize"] = pageSize.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Ingestion:RequestsPerSecond"] = "1000",
        ["Ingestion:MaxConcurrency"] = "4",
        ["Ingestion:MaxAttempts"] = "4",
        ["Ingestion:BaseDelay"] = "00:00:00.010",
        ["Ingestion:MaxDelay"] = "00:00:00.100",
    };

    /// <summary>A host running the pipeline's worker app (src/Functions) as a child process over the worker protocol.</summary>
    public Task<FunctionsHost> BuildAsync(IReadOnlyDictionary<string, string?> settings, IReadOnlyList<string>? functions = null) =>
        PipelineApp.BuildPipelineHostAsync(
            new FunctionsHostOptions
            {
                ContentRoot = Path.Combine(root, "app"),
                DataRoot = DataRoot,
                Functions = functions,
                Settings = settings,
                LoadLocalSettings = false,
                ConsoleLogging = false,
                MinPollingInterval = TimeSpan.FromMilliseconds(20),
                IdleQuietPeriod = TimeSpan.FromMilliseconds(300),
            },
            builder =>
            {
                builder.Logging.SetMinimumLevel(LogLevel.Trace);
                builder.Logging.AddProvider(new CapturingLoggerProvider(Logs));
            },
            TestContext.Current.CancellationToken);

    /// <summary>Fires IngestTrades as its timer would for <paramref name="scheduled"/>.</summary>
    public static Task IngestAsync(FunctionsHost host, DateTimeOffset scheduled, CancellationToken cancellationToken) =>
        host.InvokeAsync(IngestTrades.Name, new TimerInfo(scheduled, null, IsPastDue: false, IsStartupRun: false), cancellationToken);

    public static async Task<List<ObjectInfo>> ListAsync(FunctionsHost host, string prefix, CancellationToken cancellationToken)
    {
        var list = new List<ObjectInfo>();
        await foreach (var info in host.Services.GetRequiredService<IObjectStore>().ListAsync("raw", prefix, cancellationToken))
        {
            list.Add(info);
        }

        return list;
    }

    public static async Task<byte[]> ReadAsync(FunctionsHost host, string key, CancellationToken cancellationToken)
    {
        await using var stream = await host.Services.GetRequiredService<IObjectStore>().OpenReadAsync("raw", key, cancellationToken);
        using var buffer = new MemoryStream();
        await stream.CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }

    /// <summary>The transaction id + version of every record in every stored page (transactions/ only).</summary>
    public static async Task<List<string>> StoredVersionsAsync(FunctionsHost host, CancellationToken cancellationToken)
    {
        var versions = new List<string>();
        foreach (var page in await ListAsync(host, TradeIngestor.PagesPrefix, cancellationToken))
        {
            using var doc = JsonDocument.Parse(await ReadAsync(host, page.Key, cancellationToken));
            foreach (var record in doc.RootElement.EnumerateArray())
            {
                versions.Add(record.GetProperty("transaction_id").GetString() + "#" + record.GetProperty("version").GetInt32());
            }
        }

        return versions;
    }

    /// <summary>"transaction_id#version" of every record the API serves now (generated and published later), in its order.</summary>
    public List<string> ServedVersions()
    {
        var json = new System.Text.StringBuilder();
        Trades.AppendArray(json, new SampleQuery(), 0, Trades.Count);
        using var doc = JsonDocument.Parse(json.ToString());
        return [.. doc.RootElement.EnumerateArray().Select(r => r.GetProperty("transaction_id").GetString() + "#" + r.GetProperty("version").GetInt32())];
    }

    public static async Task<IngestionState?> StateAsync(FunctionsHost host, CancellationToken cancellationToken) =>
        await host.Services.GetRequiredService<TradeIngestor>().ReadStateAsync(cancellationToken);

    public static async Task<List<IngestionAudit>> AuditsAsync(FunctionsHost host, CancellationToken cancellationToken)
    {
        var audits = new List<IngestionAudit>();
        foreach (var info in await ListAsync(host, TradeIngestor.RunsPrefix("sample"), cancellationToken))
        {
            audits.Add(JsonSerializer.Deserialize(await ReadAsync(host, info.Key, cancellationToken), IngestionJsonContext.Default.IngestionAudit)!);
        }

        return audits;
    }

    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync();
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // A straggling file handle on a temp folder: leave it to the OS.
        }
    }

    private static string[] LeiList()
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(RepoPaths.Reference, "lei-directory.json")));
        return [.. doc.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("lei").GetString()!).Order(StringComparer.Ordinal)];
    }

    private sealed class CapturingLoggerProvider(ConcurrentQueue<string> sink) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new CapturingLogger(categoryName, sink);

        public void Dispose()
        {
        }
    }

    private sealed class CapturingLogger(string category, ConcurrentQueue<string> sink) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            ArgumentNullException.ThrowIfNull(formatter);
            sink.Enqueue($"{logLevel} {category}: {formatter(state, exception)} {state} {exception}");
        }
    }
}

internal static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    public static string Reference => Path.Combine(Root, "local", "reference");

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Cannot find the repository root (Pipeline.sln) above " + AppContext.BaseDirectory);
    }
}
