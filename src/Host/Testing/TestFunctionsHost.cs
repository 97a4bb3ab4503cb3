using System.Collections.Concurrent;
using System.Reflection;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Host.WorkerProtocol;
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

    /// <summary>Classes whose <c>[Function]</c> methods are added.</summary>
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

    /// <summary>
    /// The build output of an isolated-worker app (worker.config.json, functions.metadata, host.json): its worker runs
    /// as a child process and its functions replace <see cref="FunctionTypes"/>; host.json
    /// and local.settings.json come from there. <see cref="Settings"/> reach the worker's environment too.
    /// </summary>
    public string? ScriptRoot { get; init; }

    /// <summary>Tunes how the worker starts (e.g. a smaller gRPC message limit).</summary>
    public Func<WorkerChannelOptions, WorkerChannelOptions>? Worker { get; init; }
}

/// <summary>One log record the test host saw (the host's, the listeners', and the worker's relayed ones).</summary>
public sealed record TestLogEntry(string Category, LogLevel Level, string Message, Exception? Exception);

/// <summary>
/// An in-process host for tests: a temp data root (deleted on dispose), configuration overrides,
/// helpers to drop objects into zones, invoke functions and wait until the host is idle.
/// </summary>
public sealed class TestFunctionsHost : IAsyncDisposable
{
    private readonly string _tempRoot;
    private readonly LogSink _logs;

    private TestFunctionsHost(FunctionsHost host, string tempRoot, string dataRoot, LogSink logs)
    {
        Host = host;
        _tempRoot = tempRoot;
        DataRoot = dataRoot;
        _logs = logs;
    }

    /// <summary>Every log record so far, in order (including the worker's, relayed over the protocol).</summary>
    public IReadOnlyList<TestLogEntry> Logs => _logs.Entries.ToList();

    public FunctionsHost Host { get; }

    public IServiceProvider Services => Host.Services;

    /// <summary>The embedded providers' data folder (inside a temp folder deleted on dispose).</summary>
    public string DataRoot { get; }

    /// <summary>Builds the host (not started).</summary>
    /// <exception cref="InvalidOperationException">With <see cref="TestFunctionsHostOptions.ScriptRoot"/>: use <see cref="StartAsync"/>, which starts the worker.</exception>
    public static TestFunctionsHost Create(TestFunctionsHostOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.ScriptRoot is not null)
        {
            throw new InvalidOperationException("An isolated-worker app starts its worker while building: use StartAsync (StartListeners = false for direct invocation only).");
        }

        var logs = new LogSink();
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

            builder.Logging.AddProvider(logs);
            options.Configure?.Invoke(builder);
            return new TestFunctionsHost(builder.Build(), tempRoot, dataRoot, logs);
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
        ArgumentNullException.ThrowIfNull(options);
        var host = options.ScriptRoot is null ? Create(options) : await CreateIsolatedAsync(options, cancellationToken);
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

    /// <summary>Sends one message per body.</summary>
    public Task SendAsync(string queue, params string[] bodies) =>
        SendAsync(queue, bodies.Select(b => new OutgoingMessage(b)).ToList());

    public Task<QueueBatchResult> InvokeAsync(string functionName, object? payload, CancellationToken cancellationToken = default) =>
        Host.InvokeAsync(functionName, payload, cancellationToken);

    /// <summary>Runs a timer function now, as its schedule would (not past due).</summary>
    public Task FireTimerAsync(string functionName, CancellationToken cancellationToken = default) =>
        Host.InvokeAsync(functionName, null, cancellationToken);

    /// <summary>The worker process's id (isolated apps), or 0; it changes when a crashed worker is restarted.</summary>
    public int WorkerProcessId => Host.Worker?.CurrentOrNull?.ProcessId ?? 0;

    /// <summary>How often the worker was restarted after it died.</summary>
    public int WorkerRestarts => Host.Worker?.Restarts ?? 0;

    /// <summary>Kills the worker process (SIGKILL), as a crash would; the host restarts it.</summary>
    public void KillWorker() => (Host.Worker?.CurrentOrNull ?? throw new InvalidOperationException("No worker is running.")).Kill();

    public Task WaitUntilIdleAsync(TimeSpan? timeout = null, CancellationToken cancellationToken = default) =>
        Host.WaitUntilIdleAsync(timeout ?? TimeSpan.FromSeconds(30), cancellationToken);

    public Task StopAsync(CancellationToken cancellationToken = default) => Host.StopAsync(cancellationToken);

    public async ValueTask DisposeAsync()
    {
        await Host.DisposeAsync();
        TryDelete(_tempRoot);
    }

    private static async Task<TestFunctionsHost> CreateIsolatedAsync(TestFunctionsHostOptions options, CancellationToken cancellationToken)
    {
        var logs = new LogSink();
        var tempRoot = Path.Combine(Path.GetTempPath(), "pipeline-test-" + Guid.NewGuid().ToString("N")[..12]);
        var dataRoot = Path.Combine(tempRoot, "data");
        Directory.CreateDirectory(dataRoot);
        try
        {
            var host = await IsolatedWorkerHost.BuildAsync(
                options.ScriptRoot!,
                new FunctionsHostOptions
                {
                    DataRoot = dataRoot,
                    Functions = options.Functions,
                    Settings = options.Settings,
                    ConsoleLogging = options.ConsoleLogging,
                    ShutdownTimeout = options.ShutdownTimeout,
                    MinPollingInterval = TimeSpan.FromMilliseconds(20),
                    IdleQuietPeriod = TimeSpan.FromMilliseconds(200),
                },
                builder =>
                {
                    builder.Logging.AddProvider(logs);
                    options.Configure?.Invoke(builder);
                },
                options.Worker,
                cancellationToken);
            return new TestFunctionsHost(host, tempRoot, dataRoot, logs);
        }
        catch
        {
            TryDelete(tempRoot);
            throw;
        }
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

internal sealed class LogSink : ILoggerProvider
{
    public ConcurrentQueue<TestLogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void Dispose()
    {
    }

    private sealed class Logger(LogSink sink, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Entries.Enqueue(new TestLogEntry(category, logLevel, formatter(state, exception), exception));
    }
}
