using System.Reflection;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Testing;

/// <summary>Options for <see cref="TestFunctionsHost"/>.</summary>
public sealed class TestFunctionsHostOptions
{
    /// <summary>host.json used when <see cref="ContentRoot"/> is null: quick polling, short visibility, as tests want.</summary>
    public const string DefaultHostJson = """
        {
          "version": "2.0",
          "extensions": { "queues": { "batchSize": 10, "maxDequeueCount": 3, "visibilityTimeout": "00:00:10", "maxPollingInterval": "00:00:00.200" } },
          "functionTimeout": "00:01:00"
        }
        """;

    public IReadOnlyList<Assembly> FunctionAssemblies { get; init; } = [];

    /// <summary>Classes whose <c>[Function]</c> methods are added (besides <see cref="FunctionAssemblies"/>).</summary>
    public IReadOnlyList<Type> FunctionTypes { get; init; } = [];

    /// <summary>Runs only these functions; null = all.</summary>
    public IReadOnlyList<string>? Functions { get; init; }

    /// <summary>Configuration overrides (highest precedence), e.g. zone and queue names.</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>A folder with host.json and local.settings.json (e.g. the repository root); null = a temp folder with <see cref="HostJson"/>.</summary>
    public string? ContentRoot { get; init; }

    /// <summary>host.json text written to the temp content root when <see cref="ContentRoot"/> is null.</summary>
    public string HostJson { get; init; } = DefaultHostJson;

    /// <summary>Last changes before the host is built: services, explicit functions, <see cref="FunctionsHostBuilder.HostSettings"/>.</summary>
    public Action<FunctionsHostBuilder>? Configure { get; init; }

    /// <summary>Start the listeners (queues, zones, timers); false = direct invocation only.</summary>
    public bool StartListeners { get; init; } = true;

    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Write logs to the console (off by default to keep test output readable).</summary>
    public bool ConsoleLogging { get; init; }
}

/// <summary>
/// An in-process host for tests: a temp data root (deleted on dispose), configuration overrides,
/// helpers to drop objects into zones, invoke functions and wait until the host is idle.
/// </summary>
public sealed class TestFunctionsHost : IAsyncDisposable
{
    private readonly string _tempRoot;

    private TestFunctionsHost(FunctionsHost host, string tempRoot, string dataRoot)
    {
        Host = host;
        _tempRoot = tempRoot;
        DataRoot = dataRoot;
    }

    public FunctionsHost Host { get; }

    public IServiceProvider Services => Host.Services;

    /// <summary>The embedded providers' data folder (inside a temp folder deleted on dispose).</summary>
    public string DataRoot { get; }

    /// <summary>Builds the host (not started).</summary>
    public static TestFunctionsHost Create(TestFunctionsHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var tempRoot = Path.Combine(Path.GetTempPath(), "pipeline-test-" + Guid.NewGuid().ToString("N")[..12]);
        var dataRoot = Path.Combine(tempRoot, "data");
        Directory.CreateDirectory(dataRoot);
        try
        {
            var contentRoot = options.ContentRoot;
            if (contentRoot is null)
            {
                contentRoot = Path.Combine(tempRoot, "app");
                Directory.CreateDirectory(contentRoot);
                File.WriteAllText(Path.Combine(contentRoot, "host.json"), options.HostJson);
            }

            var builder = FunctionsHost.CreateBuilder(new FunctionsHostOptions
            {
                ContentRoot = contentRoot,
                DataRoot = dataRoot,
                FunctionAssemblies = options.FunctionAssemblies,
                Functions = options.Functions,
                Settings = options.Settings,
                LoadLocalSettings = options.ContentRoot is not null,
                ConsoleLogging = options.ConsoleLogging,
                ShutdownTimeout = options.ShutdownTimeout,
                MinPollingInterval = TimeSpan.FromMilliseconds(20),
                IdleQuietPeriod = TimeSpan.FromMilliseconds(200),
            });
            foreach (var type in options.FunctionTypes)
            {
#pragma warning disable IL2072 // Test helper: function types come from the test assembly, which is not trimmed.
                builder.Functions.AddFromType(type);
#pragma warning restore IL2072
            }

            options.Configure?.Invoke(builder);
            return new TestFunctionsHost(builder.Build(), tempRoot, dataRoot);
        }
        catch
        {
            TryDelete(tempRoot);
            throw;
        }
    }

    /// <summary>Builds the host and, unless <see cref="TestFunctionsHostOptions.StartListeners"/> is false, starts it.</summary>
    public static async Task<TestFunctionsHost> StartAsync(TestFunctionsHostOptions options, CancellationToken cancellationToken = default)
    {
        var host = Create(options);
        if (options.StartListeners)
        {
            try
            {
                await host.Host.StartAsync(cancellationToken);
            }
            catch
            {
                await host.DisposeAsync();
                throw;
            }
        }

        return host;
    }

    public Task<ObjectInfo> PutObjectAsync(string zone, string key, string content, CancellationToken cancellationToken = default) =>
        PutObjectAsync(zone, key, Encoding.UTF8.GetBytes(content), cancellationToken);

    public async Task<ObjectInfo> PutObjectAsync(string zone, string key, byte[] content, CancellationToken cancellationToken = default)
    {
        using var stream = new MemoryStream(content, writable: false);
        return await Services.GetRequiredService<IObjectStore>().PutAsync(zone, key, stream, null, cancellationToken);
    }

    public async Task<ObjectInfo> PutObjectAsync(string zone, string key, Stream content, CancellationToken cancellationToken = default) =>
        await Services.GetRequiredService<IObjectStore>().PutAsync(zone, key, content, null, cancellationToken);

    /// <summary>Sends messages to a queue (creating nothing: trigger queues exist once the host started).</summary>
    /// <exception cref="QueueException">When an entry was not accepted.</exception>
    public async Task SendAsync(string queue, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var queues = Services.GetRequiredService<IMessageQueue>();
        foreach (var chunk in messages.Chunk(QueueLimits.MaxBatchSize))
        {
            var result = await queues.SendBatchAsync(queue, chunk, cancellationToken);
            if (!result.AllSucceeded)
            {
                throw new QueueException($"Sending to '{queue}' failed: {result.Failed[0].Code} {result.Failed[0].Message}");
            }
        }
    }

    public Task<QueueBatchResult> InvokeAsync(string functionName, object? payload, CancellationToken cancellationToken = default) =>
        Host.InvokeAsync(functionName, payload, cancellationToken);

    public Task WaitUntilIdleAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Host.WaitUntilIdleAsync(timeout ?? TimeSpan.FromSeconds(30), cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken = default) => Host.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        TryDelete(_tempRoot);
    }

    private static void TryDelete(string path)
    {
        for (var attempt = 0; attempt < 5; attempt++)
        {
            try
            {
                if (Directory.Exists(path))
                {
                    Directory.Delete(path, recursive: true);
                }

                return;
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(50);
            }
            catch (UnauthorizedAccessException) when (attempt < 4)
            {
                Thread.Sleep(50);
            }
        }
    }
}
