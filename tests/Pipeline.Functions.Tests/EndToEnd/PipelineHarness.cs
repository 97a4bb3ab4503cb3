using System.Text;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>
/// Runs the real functions (the worker app, through the host) on the embedded providers, over a data root the test
/// owns (so several hosts — e.g. enrich only, then load — can share it). Deleted on dispose.
/// </summary>
internal sealed class PipelineHarness : IAsyncDisposable
{
    public const string HostJson = """
        {
          "version": "2.0",
          "extensions": { "queues": { "batchSize": 10, "maxDequeueCount": 2, "visibilityTimeout": "00:00:05", "maxPollingInterval": "00:00:00.100" } },
          "functionTimeout": "00:01:00"
        }
        """;

    public static readonly IReadOnlyDictionary<string, string?> Settings = new Dictionary<string, string?>
    {
        ["Provider"] = "Embedded",
        ["Zones:Raw"] = "raw",
        ["Zones:Prepare"] = "prepare",
        ["Zones:Quarantine"] = "quarantine",
        ["Zones:Reference"] = "reference",
        ["Queues:Enriched"] = "transactions-enriched.fifo",
        ["Queues:AutoCreate"] = "true",
        ["Enrichment:LargeNotionalUsd"] = "1000000",
    };

    private readonly string root;
    private readonly IReadOnlyDictionary<string, string?> settings;

    /// <param name="overrides">Settings added to (or replacing) <see cref="Settings"/>.</param>
    /// <param name="dataRootOverride">An existing data root to open (e.g. one a `run` process wrote); not deleted.</param>
    public PipelineHarness(IReadOnlyDictionary<string, string?>? overrides = null, string? dataRootOverride = null)
    {
        var merged = new Dictionary<string, string?>(Settings);
        foreach (var (key, value) in overrides ?? new Dictionary<string, string?>())
        {
            merged[key] = value;
        }

        settings = merged;
        root = Path.Combine(Path.GetTempPath(), "pipeline-fn-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(Path.Combine(root, "app"));
        File.WriteAllText(Path.Combine(root, "app", "host.json"), HostJson);
        DataRoot = dataRootOverride ?? Path.Combine(root, "data");
    }

    public string DataRoot { get; }

    /// <summary>
    /// A host over this data root running the pipeline's worker app (src/Functions) as a child process over the worker
    /// protocol; <paramref name="functions"/> null = all; <paramref name="configure"/> runs before Build.
    /// </summary>
    public Task<FunctionsHost> BuildAsync(IReadOnlyList<string>? functions = null, Action<FunctionsHostBuilder>? configure = null) =>
        PipelineApp.BuildPipelineHostAsync(Options(functions), configure, TestContext.Current.CancellationToken);

    /// <summary>
    /// The same host with the worker's functions called in-process (<see cref="Pipeline.Functions.InProcess.InProcessFunctions"/>):
    /// only for the trace test, which collects the functions' spans in this process.
    /// </summary>
    public FunctionsHost BuildInProcess(IReadOnlyList<string>? functions = null, Action<FunctionsHostBuilder>? configure = null)
    {
        var builder = FunctionsHost.CreateBuilder(Options(functions));
        foreach (var function in Pipeline.Functions.InProcess.InProcessFunctions.All)
        {
            builder.Functions.Add(function);
        }

        PipelineApp.Configure(builder);
        configure?.Invoke(builder);
        return builder.Build();
    }

    /// <summary>Providers and pipeline services over this data root, no functions (to read what a run left).</summary>
    public FunctionsHost BuildServices()
    {
        var builder = FunctionsHost.CreateBuilder(Options([]));
        PipelineApp.Configure(builder);
        return builder.Build();
    }

    private FunctionsHostOptions Options(IReadOnlyList<string>? functions) => new()
    {
        ContentRoot = Path.Combine(root, "app"),
        DataRoot = DataRoot,
        Functions = functions,
        Settings = settings,
        LoadLocalSettings = false,
        ConsoleLogging = false,
        MinPollingInterval = TimeSpan.FromMilliseconds(20),
        IdleQuietPeriod = TimeSpan.FromMilliseconds(300),
    };

    public static async Task UploadReferenceAsync(FunctionsHost host, CancellationToken cancellationToken)
    {
        var store = host.Services.GetRequiredService<IObjectStore>();
        foreach (var key in ReferenceData.Keys)
        {
            await RunCommand.UploadIfChangedAsync(store, "reference", key, Path.Combine(RepoPaths.Reference, key), cancellationToken);
        }
    }

    public static async Task PutAsync(FunctionsHost host, string key, byte[] content, CancellationToken cancellationToken)
    {
        using var stream = new MemoryStream(content);
        await host.Services.GetRequiredService<IObjectStore>().PutAsync("raw", key, stream, null, cancellationToken);
    }

    /// <summary>Uploads reference data and the files, runs the whole pipeline until idle.</summary>
    public async Task RunAsync(IEnumerable<(string Key, byte[] Content)> files, CancellationToken cancellationToken)
    {
        await using var host = await BuildAsync();
        await UploadReferenceAsync(host, cancellationToken);
        await host.Services.GetRequiredService<WarehouseTables>().EnsureAsync(cancellationToken);
        foreach (var (key, content) in files)
        {
            await PutAsync(host, key, content, cancellationToken);
        }

        await host.StartAsync(cancellationToken);
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), cancellationToken);
        await host.StopAsync(cancellationToken);
    }

    public static IEnumerable<(string Key, byte[] Content)> SampleFiles() =>
        Directory.GetFiles(RepoPaths.Samples).Order(StringComparer.Ordinal)
            .Select(p => ("transactions/" + Path.GetFileName(p), File.ReadAllBytes(p)));

    public async Task<PipelineSummary> SummaryAsync(CancellationToken cancellationToken)
    {
        await using var host = BuildServices();
        var settings = host.Services.GetRequiredService<PipelineSettings>();
        return await PipelineSummary.ComputeAsync(
            host.Services.GetRequiredService<IObjectStore>(),
            host.Services.GetRequiredService<IWarehouse>(),
            host.Services.GetRequiredService<IMessageQueue>(),
            settings,
            host.DeadLetterQueueFor(settings.EnrichedQueue),
            cancellationToken,
            host.Services.GetService<IObjectEventSource>() as IObjectEventDeadLetters);
    }

    /// <summary>Every table as JSON rows ordered by key; <paramref name="scrubIngest"/> drops the volatile ingest time.</summary>
    public async Task<JsonObject> DumpWarehouseAsync(CancellationToken cancellationToken)
    {
        await using var host = BuildServices();
        var warehouse = host.Services.GetRequiredService<IWarehouse>();
        var dump = new JsonObject();
        foreach (var table in WarehouseSchema.All)
        {
            var result = await warehouse.QueryAsync($"SELECT * FROM {table.Name} ORDER BY {string.Join(", ", table.Key)}", null, cancellationToken);
            var rows = new JsonArray();
            foreach (var row in result.Rows)
            {
                var obj = new JsonObject();
                for (var i = 0; i < result.Columns.Count; i++)
                {
                    obj[result.Columns[i]] = row[i] switch
                    {
                        null => null,
                        bool b => JsonValue.Create(b),
                        long l => JsonValue.Create(l),
                        decimal d => JsonValue.Create(RunCommand.Format(d)),
                        var other => JsonValue.Create(RunCommand.Format(other)),
                    };
                }

                rows.Add(obj);
            }

            dump[table.Name] = rows;
        }

        return dump;
    }

    public async Task<JsonArray> DumpQuarantineAsync(CancellationToken cancellationToken)
    {
        await using var host = BuildServices();
        var store = host.Services.GetRequiredService<IObjectStore>();
        var entries = new JsonArray();
        await foreach (var info in store.ListAsync("quarantine", "", cancellationToken))
        {
            await using var stream = await store.OpenReadAsync("quarantine", info.Key, cancellationToken);
            using var reader = new StreamReader(stream, Encoding.UTF8);
            var node = JsonNode.Parse(await reader.ReadToEndAsync(cancellationToken))!.AsObject();
            node["quarantine_key"] = info.Key;
            entries.Add(node);
        }

        return entries;
    }

    public ValueTask DisposeAsync()
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(root))
                {
                    Directory.Delete(root, recursive: true);
                }

                break;
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(100);
            }
        }

        return ValueTask.CompletedTask;
    }
}
