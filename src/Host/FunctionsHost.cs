using System.CommandLine;
using System.Diagnostics;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Host.Internal;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host;

/// <summary>
/// The portable functions host: discovers functions, runs their triggers against the configured providers,
/// and lets callers invoke functions directly (tests, the Lambda adapter) without starting the listeners.
/// </summary>
public sealed class FunctionsHost : IAsyncDisposable
{
    /// <summary>IANA time zone for timer schedules; UTC when unset.</summary>
    public const string TimeZoneSetting = "Timers:TimeZone";

    /// <summary>Create trigger queues (and their dead-letter queues) on start; default true for the embedded provider.</summary>
    public const string AutoCreateQueuesSetting = "Queues:AutoCreate";

    /// <summary>Prefix of the setting that names a queue's dead-letter queue: <c>DeadLetterQueues:&lt;queue&gt;</c>.</summary>
    public const string DeadLetterQueueSettingPrefix = "DeadLetterQueues:";

    private const string StartingTemplate = "Starting host with {FunctionCount} function(s), provider {Provider}";
    private const string StartedTemplate = "Host started";
    private const string StoppingTemplate = "Stopping host: no new work; waiting up to {ShutdownTimeout} for in-flight work";
    private const string AbortingTemplate = "In-flight work did not finish within {ShutdownTimeout}; cancelling it and releasing its messages";
    private const string StoppedTemplate = "Host stopped";
    private const string IgnoredAzureKeyTemplate = "host.json: '{Key}' is an Azure Functions setting this host does not implement; it has no effect here";
    private const string ListenerCrashedTemplate = "A trigger listener stopped unexpectedly";

    private readonly ServiceProvider _services;
    private readonly FunctionsHostOptions _options;
    private readonly TimeZoneInfo _timeZone;
    private readonly ActivityTracker _tracker = new();
    private readonly FunctionExecutor _executor;
    private readonly ILogger _logger;
    private readonly List<QueueListener> _queueListeners = [];
    private readonly List<ObjectEventListener> _objectListeners = [];
    private readonly List<Task> _running = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly CancellationTokenSource _abort = new();
    private readonly SemaphoreSlim _lifecycle = new(1, 1);
    private State _state;

    internal FunctionsHost(
        ServiceProvider services,
        IConfiguration configuration,
        HostSettings settings,
        IReadOnlyList<FunctionDescriptor> functions,
        FunctionsHostOptions options,
        string provider,
        TimeZoneInfo timeZone)
    {
        _services = services;
        Configuration = configuration;
        Settings = settings;
        Functions = functions;
        Provider = provider;
        _options = options;
        _timeZone = timeZone;
        var loggers = services.GetRequiredService<ILoggerFactory>();
        _logger = loggers.CreateLogger("Host.Startup");
        _executor = new FunctionExecutor(services, settings, loggers, _tracker);
    }

    private enum State
    {
        Created,
        Started,
        Stopped,
    }

    /// <summary>Starts building a host: reads host.json and local.settings.json, discovers functions.</summary>
    /// <exception cref="HostConfigurationException">host.json or local.settings.json is invalid.</exception>
    /// <exception cref="FunctionDefinitionException">A discovered function is declared wrongly.</exception>
    public static FunctionsHostBuilder CreateBuilder(FunctionsHostOptions? options = null) => new(options ?? new FunctionsHostOptions());

    /// <summary>A <c>start</c> command (like <c>func start</c>, with <c>--functions A B</c>) to add to an app's root command.</summary>
    /// <remarks>Invoke it with <c>ProcessTerminationTimeout = null</c> so the host, not System.CommandLine, handles Ctrl+C/SIGTERM.</remarks>
    public static Command CreateStartCommand(FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure = null) =>
        StartCommand.Create(options, configure);

    /// <summary>Parses <paramref name="args"/> (<c>start [--functions A B]</c>), runs the host until Ctrl+C/SIGTERM, returns the exit code.</summary>
    public static Task<int> RunStartCommandAsync(IReadOnlyList<string> args, FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure = null) =>
        StartCommand.RunAsync(args, options, configure);

    /// <summary>The selected functions with their triggers' settings resolved.</summary>
    public IReadOnlyList<FunctionDescriptor> Functions { get; }

    public IServiceProvider Services => _services;

    public IConfiguration Configuration { get; }

    public HostSettings Settings { get; }

    /// <summary>The provider the <c>Provider</c> setting selected.</summary>
    public string Provider { get; }

    /// <summary>The isolated worker this host invokes (null for in-process functions); stopped after the listeners.</summary>
    internal WorkerProtocol.WorkerSupervisor? Worker { get; set; }

    /// <summary>Creates trigger queues when configured to, then starts polling queues and zones and running timers.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(cancellationToken);
        try
        {
            if (_state != State.Created)
            {
                throw new InvalidOperationException($"The host was already {(_state == State.Started ? "started" : "stopped")}; build a new host to start again.");
            }

            _logger.LogInformation(StartingTemplate, Functions.Count, Provider);
            foreach (var key in Settings.IgnoredAzureKeys)
            {
                _logger.LogWarning(IgnoredAzureKeyTemplate, key);
            }

            var loggers = _services.GetRequiredService<ILoggerFactory>();
            var triggerLogger = loggers.CreateLogger("Host.Triggers");

            var queueFunctions = Functions.Where(f => f.Trigger is QueueTriggerBinding).ToList();
            if (queueFunctions.Count > 0)
            {
                var queues = Required<IMessageQueue>("queue triggers");
                var autoCreate = AutoCreateQueues();
                foreach (var function in queueFunctions)
                {
                    var name = ((QueueTriggerBinding)function.Trigger).QueueName;
                    var deadLetter = DeadLetterQueueFor(name);
                    if (autoCreate)
                    {
                        await queues.EnsureQueueAsync(
                            new QueueDefinition(name, deadLetter, Settings.Queues.MaxDequeueCount, Settings.Queues.VisibilityTimeout),
                            cancellationToken);
                    }

                    _queueListeners.Add(new QueueListener(function, deadLetter, queues, _executor, Settings, triggerLogger, _tracker, _options.MinPollingInterval));
                }
            }

            var objectFunctions = Functions.Where(f => f.Trigger is ObjectTriggerBinding).ToList();
            if (objectFunctions.Count > 0)
            {
                var events = Required<IObjectEventSource>("object triggers");
                foreach (var zone in objectFunctions.GroupBy(f => ((ObjectTriggerBinding)f.Trigger).Zone, StringComparer.Ordinal))
                {
                    _objectListeners.Add(new ObjectEventListener(zone.Key, zone.ToList(), events, _executor, Settings, triggerLogger, _tracker, _options.MinPollingInterval));
                }
            }

            var timers = Functions
                .Where(f => f.Trigger is TimerTriggerBinding)
                .Select(f => new TimerListener(f, CronSchedule.Parse(((TimerTriggerBinding)f.Trigger).Schedule), _timeZone, _executor, triggerLogger))
                .ToList();

            _running.AddRange(_queueListeners.Select(l => Run(l.RunAsync)));
            _running.AddRange(_objectListeners.Select(l => Run(l.RunAsync)));
            _running.AddRange(timers.Select(t => Run(t.RunAsync)));
            _state = State.Started;
            _logger.LogInformation(StartedTemplate);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>
    /// Stops polling, lets in-flight invocations finish within <see cref="FunctionsHostOptions.ShutdownTimeout"/>,
    /// then cancels them and releases their messages (visible again at once).
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken = default)
    {
        await _lifecycle.WaitAsync(CancellationToken.None);
        try
        {
            if (_state != State.Started)
            {
                _state = State.Stopped;
                return;
            }

            _state = State.Stopped;
            _logger.LogInformation(StoppingTemplate, _options.ShutdownTimeout);
            await _stopping.CancelAsync();
            var all = Task.WhenAll(_running);
            try
            {
                await all.WaitAsync(_options.ShutdownTimeout, cancellationToken);
            }
            catch (Exception ex) when (ex is TimeoutException or OperationCanceledException)
            {
                _logger.LogWarning(AbortingTemplate, _options.ShutdownTimeout);
                await _abort.CancelAsync();
                await all;
            }

            _logger.LogInformation(StoppedTemplate);
        }
        finally
        {
            _lifecycle.Release();
        }
    }

    /// <summary>Starts, runs until <paramref name="cancellationToken"/> is cancelled, then stops gracefully.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        await StartAsync(cancellationToken);
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Requested shutdown.
        }

        await StopAsync(CancellationToken.None);
    }

    /// <summary>
    /// Waits until nothing is left to do: no visible, delayed or in-flight messages in the trigger queues,
    /// no pending object events, no running invocations — continuously for <see cref="FunctionsHostOptions.IdleQuietPeriod"/>.
    /// Before <see cref="StartAsync"/> only running (direct) invocations count.
    /// </summary>
    /// <exception cref="TimeoutException">Not idle within <paramref name="timeout"/>; the message says what is still busy.</exception>
    public async Task WaitUntilIdleAsync(TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var began = Stopwatch.GetTimestamp();
        long? quietSince = null;
        long? queuesBusyAt = null;
        long? wokeAt = null;
        var busy = string.Empty;
        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();

            // Cut idle listeners' back-off short so the quiet period starts soon, but not on every 25 ms tick: each poll
            // is a request on SQS. Not while work runs (a busy listener polls again by itself after each batch).
            if (_tracker.Busy == 0 && (wokeAt is not { } woke || Stopwatch.GetElapsedTime(woke) >= _options.IdleQuietPeriod))
            {
                wokeAt = Stopwatch.GetTimestamp();
                foreach (var l in _queueListeners)
                {
                    l.Backoff.Wake();
                }

                foreach (var l in _objectListeners)
                {
                    l.Backoff.Wake();
                }
            }

            // Queue depths cost a request each (GetQueueAttributes on SQS): asked when the quiet period begins and again
            // to confirm it, not on every 25 ms tick; a depth that showed work is asked again after the quiet period.
            var ticked = Stopwatch.GetTimestamp();
            var confirming = quietSince is { } since && Stopwatch.GetElapsedTime(since, ticked) >= _options.IdleQuietPeriod;
            var askQueues = confirming || (quietSince is null && (queuesBusyAt is not { } shown || Stopwatch.GetElapsedTime(shown, ticked) >= _options.IdleQuietPeriod));
            busy = await DescribeBusyAsync(began, askQueues, cancellationToken);
            var now = Stopwatch.GetTimestamp();
            if (busy.Length == 0 && (askQueues || quietSince is not null))
            {
                quietSince ??= now;
                if (confirming)
                {
                    return;
                }
            }
            else
            {
                quietSince = null;
                queuesBusyAt = askQueues ? now : queuesBusyAt;
            }

            if (Stopwatch.GetElapsedTime(began, now) > timeout)
            {
                throw new TimeoutException($"The host was not idle within {timeout}: {(busy.Length == 0 ? "quiet period not reached" : busy)}.");
            }

            await Task.Delay(25, cancellationToken);
        }
    }

    /// <summary>
    /// Invokes a function directly, without listeners, retries or dead-lettering (the function timeout applies).
    /// <paramref name="payload"/>: an ObjectCreatedEvent; a ReceivedMessage or a list of them; a TimerInfo or null.
    /// </summary>
    /// <returns>The per-message outcome for queue functions that report one; otherwise <see cref="QueueBatchResult.Success"/>.</returns>
    /// <exception cref="FunctionTimeoutException">The function exceeded functionTimeout.</exception>
    public Task<QueueBatchResult> InvokeAsync(string functionName, object? payload, CancellationToken cancellationToken = default)
    {
        var function = Functions.FirstOrDefault(f => f.Name.Equals(functionName, StringComparison.OrdinalIgnoreCase))
            ?? throw new ArgumentException($"No function named '{functionName}' in this host. Functions: {string.Join(", ", Functions.Select(f => f.Name))}.", nameof(functionName));
        object trigger = (function.Trigger.Kind, payload) switch
        {
            (TriggerKind.Object, ObjectCreatedEvent e) => e,
            (TriggerKind.Queue, IReadOnlyList<ReceivedMessage> list) => list,
            (TriggerKind.Queue, ReceivedMessage single) => new[] { single },
            (TriggerKind.Queue, IEnumerable<ReceivedMessage> many) => many.ToList(),
            (TriggerKind.Timer, TimerInfo info) => info,
            (TriggerKind.Timer, null) => new TimerInfo(DateTimeOffset.UtcNow, null, IsPastDue: false, IsStartupRun: false),
            _ => throw new ArgumentException(
                $"Function '{function.Name}' has a {function.Trigger.Kind.ToString().ToLowerInvariant()} trigger; pass {ExpectedPayload(function.Trigger.Kind)}, not {payload?.GetType().Name ?? "null"}.",
                nameof(payload)),
        };
        return _executor.ExecuteAsync(function, trigger, "Direct invocation", null, cancellationToken);
    }

    /// <summary>
    /// Runs every function whose object trigger matches the event's zone and key (as the listener does, without
    /// retries): for adapters that receive object-created notifications themselves (e.g. S3 events in Lambda).
    /// </summary>
    /// <returns>The names of the functions that ran.</returns>
    /// <exception cref="AggregateException">One or more functions failed; the others still ran.</exception>
    public async Task<IReadOnlyList<string>> DispatchObjectCreatedAsync(ObjectCreatedEvent created, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(created);
        var ran = new List<string>();
        var errors = new List<Exception>();
        foreach (var function in Functions.Where(f => f.Trigger is ObjectTriggerBinding b && b.Matches(created.Zone, created.Key)))
        {
            ran.Add(function.Name);
            try
            {
                await _executor.ExecuteAsync(function, created, $"New object detected: {created.Key}", null, cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                errors.Add(ex);
            }
        }

        return errors.Count == 0
            ? ran
            : throw new AggregateException($"{errors.Count} of {ran.Count} function(s) failed for object '{created.Key}' in zone '{created.Zone}'.", errors);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        if (Worker is not null)
        {
            await Worker.DisposeAsync();
        }

        await _services.DisposeAsync();
        _stopping.Dispose();
        _abort.Dispose();
        _lifecycle.Dispose();
    }

    /// <summary>The dead-letter queue of <paramref name="queue"/>: setting <c>DeadLetterQueues:&lt;queue&gt;</c>, else <c>&lt;name&gt;-dlq</c> (<c>&lt;name&gt;-dlq.fifo</c> for FIFO).</summary>
    public string DeadLetterQueueFor(string queue)
    {
        ArgumentNullException.ThrowIfNull(queue);
        var configured = Configuration[DeadLetterQueueSettingPrefix + queue];
        if (!string.IsNullOrWhiteSpace(configured))
        {
            return configured;
        }

        return queue.EndsWith(".fifo", StringComparison.Ordinal) ? queue[..^".fifo".Length] + "-dlq.fifo" : queue + "-dlq";
    }

    private async Task<string> DescribeBusyAsync(long began, bool askQueues, CancellationToken cancellationToken)
    {
        var parts = new List<string>();
        if (_tracker.Busy > 0)
        {
            // Busy already: the queues need not be asked (each ask is a request on SQS).
            return $"{_tracker.Busy} invocation(s)/batch(es) running";
        }

        if (_state == State.Started)
        {
            var queues = _services.GetService<IMessageQueue>();
            foreach (var name in askQueues ? _queueListeners.Select(l => l.Queue).Distinct(StringComparer.Ordinal) : [])
            {
                var depth = await queues!.GetDepthAsync(name, cancellationToken);
                if (depth.Total > 0)
                {
                    parts.Add($"queue '{name}' has {depth.Visible} visible, {depth.InFlight} in flight, {depth.Delayed} delayed");
                }
            }

            var lastActivity = Math.Max(_tracker.LastActivity, began);
            foreach (var l in _objectListeners.Where(l => l.LastEmptyPollStarted <= lastActivity))
            {
                parts.Add($"zone '{l.Zone}' has not yet been polled empty since the last activity");
            }
        }

        return string.Join("; ", parts);
    }

    private bool AutoCreateQueues()
    {
        var value = Configuration[AutoCreateQueuesSetting];
        if (string.IsNullOrWhiteSpace(value))
        {
            return Provider == ProviderComposition.Embedded;
        }

        return bool.TryParse(value, out var result)
            ? result
            : throw new HostConfigurationException($"Setting '{AutoCreateQueuesSetting}' is '{value}'; expected true or false.");
    }

    private T Required<T>(string purpose)
        where T : class =>
        _services.GetService<T>() ?? throw new HostConfigurationException(
            $"No {typeof(T).Name} is registered, but {purpose} need one. Set 'Provider' (e.g. Embedded) or register it on builder.Services.");

    private Task Run(Func<CancellationToken, CancellationToken, Task> listener) =>
        Task.Run(async () =>
        {
            try
            {
                await listener(_stopping.Token, _abort.Token);
            }
            catch (Exception ex)
            {
                _logger.LogCritical(ex, ListenerCrashedTemplate);
            }
        });

    private static string ExpectedPayload(TriggerKind kind) => kind switch
    {
        TriggerKind.Object => "an ObjectCreatedEvent",
        TriggerKind.Queue => "a ReceivedMessage or a list of them",
        _ => "a TimerInfo or null",
    };
}
