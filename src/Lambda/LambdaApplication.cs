using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Host;
using Pipeline.Host.WorkerProtocol;
using Pipeline.Lambda.Dispatch;

namespace Pipeline.Lambda;

/// <summary>
/// The host as the Lambda bootstrap runs it: the app's worker (published beside the bootstrap in <c>worker/</c>) started as a
/// child process over the worker protocol, only the function named by _HANDLER loaded, listeners not started (the event
/// source mapping receives and deletes; the worker does the I/O), configuration from the function's environment variables.
/// </summary>
public sealed class LambdaApplication : IAsyncDisposable
{
    /// <summary>The worker's folder under the task root.</summary>
    public const string WorkerFolder = "worker";

    /// <summary>A schedule for a timer trigger whose '%Setting%' schedule Lambda's environment lacks (EventBridge drives timers there).</summary>
    internal const string UnusedSchedule = "0 0 0 1 1 *";

    private LambdaApplication(FunctionsHost host, LambdaEventDispatcher dispatcher)
    {
        Host = host;
        Dispatcher = dispatcher;
    }

    public FunctionsHost Host { get; }

    public LambdaEventDispatcher Dispatcher { get; }

    /// <summary>Where the worker is: <c>$LAMBDA_TASK_ROOT/worker</c>, else <c>worker/</c> beside the bootstrap.</summary>
    public static string DefaultWorkerRoot() =>
        Path.Combine(Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") is { Length: > 0 } root ? root : AppContext.BaseDirectory, WorkerFolder);

    /// <summary>Starts the worker, learns its functions and loads the one named <paramref name="functionName"/>; returns when it is ready to invoke.</summary>
    /// <param name="workerRoot">The worker app's folder (worker.config.json, functions.metadata, host.json); default <see cref="DefaultWorkerRoot"/>.</param>
    /// <param name="settings">Configuration overrides (tests); the worker gets them too.</param>
    /// <exception cref="HostConfigurationException">A setting is missing or invalid, or the function is unknown; the message names it (and the functions there are).</exception>
    /// <exception cref="WorkerUnavailableException">The worker did not start or could not load the function.</exception>
    public static async Task<LambdaApplication> CreateAsync(
        string functionName,
        string? workerRoot = null,
        IReadOnlyDictionary<string, string?>? settings = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(functionName);
        var root = workerRoot ?? DefaultWorkerRoot();
        var host = await IsolatedWorkerHost.BuildAsync(
            root,
            new FunctionsHostOptions
            {
                // host.json is published with the worker; Lambda configuration is environment variables only.
                ContentRoot = root,
                Functions = [functionName],
                Settings = settings ?? new Dictionary<string, string?>(),
                LoadLocalSettings = false,
                AddProviders = false,
                ConsoleLogging = true,
            },
            builder => SelectHandler(builder, functionName),
            cancellationToken: cancellationToken);
        try
        {
            var function = new HostLambdaFunction(host, functionName);
            var dispatcher = new LambdaEventDispatcher(function, host.Services.GetRequiredService<ILogger<LambdaEventDispatcher>>(), TimeProvider.System);
            return new LambdaApplication(host, dispatcher);
        }
        catch
        {
            await host.DisposeAsync();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();

    /// <summary>Names the worker's functions when _HANDLER is not one of them; gives an unset timer schedule setting a placeholder.</summary>
    private static void SelectHandler(FunctionsHostBuilder builder, string functionName)
    {
        if (!builder.Functions.TryGet(functionName, out var function))
        {
            throw new HostConfigurationException(
                $"_HANDLER names function '{functionName}', which this package's worker does not contain. Functions: {string.Join(", ", builder.Functions.Select(f => f.Name))}.");
        }

        // In Lambda an EventBridge rule fires the timer; the host never runs its cron, so a '%Setting%' schedule need not be configured.
        if (function.Trigger is TimerTriggerBinding { Schedule: ['%', .., '%'] schedule } && string.IsNullOrEmpty(builder.Configuration[schedule[1..^1]]))
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { [schedule[1..^1]] = UnusedSchedule });
        }
    }
}
