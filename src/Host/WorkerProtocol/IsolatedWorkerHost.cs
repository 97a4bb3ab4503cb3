using System.Diagnostics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>
/// Runs any isolated-worker app (Microsoft.Azure.Functions.Worker) as Azure's host does: starts its worker as a child
/// process from the app's build output, learns the functions over the protocol, and builds a <see cref="FunctionsHost"/>
/// whose listeners (object events, queues, timers; host.json, retries, dead letters) invoke the worker.
/// </summary>
public static class IsolatedWorkerHost
{
    private const string DisabledTemplate = "Function '{FunctionName}' is disabled ({Setting})";
    private const string ReadyTemplate = "Worker ready: {FunctionCount} function(s) loaded in {ElapsedMs} ms";

    /// <summary>The setting that disables a function, as in Azure: <c>AzureWebJobs.&lt;Name&gt;.Disabled</c> = true.</summary>
    public static string DisabledSetting(string functionName) => $"AzureWebJobs.{functionName}.Disabled";

    /// <summary>
    /// Starts the worker of the app in <paramref name="scriptRoot"/> (its build output: worker.config.json, functions.metadata,
    /// host.json, local.settings.json) and builds the host; the worker stops when the host is disposed. The host reads host.json
    /// and local.settings.json from <see cref="FunctionsHostOptions.ContentRoot"/> when given, else from the script root.
    /// </summary>
    /// <exception cref="HostConfigurationException">host.json, a setting, or a function's binding is not supported; the message names it.</exception>
    /// <exception cref="WorkerUnavailableException">The worker did not start or could not load its functions.</exception>
    public static async Task<FunctionsHost> BuildAsync(
        string scriptRoot,
        FunctionsHostOptions? options = null,
        Action<FunctionsHostBuilder>? configure = null,
        Func<WorkerChannelOptions, WorkerChannelOptions>? worker = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(scriptRoot);
        var started = Stopwatch.GetTimestamp();
        var root = Path.GetFullPath(scriptRoot);
        if (!Directory.Exists(root))
        {
            throw new HostConfigurationException($"--script-root '{root}' does not exist.");
        }

        options ??= new FunctionsHostOptions();
        var selection = new SelectedFunctions(options.Functions);
        var builder = FunctionsHost.CreateBuilder(new FunctionsHostOptions
        {
            Args = options.Args,
            // host.json and local.settings.json: the app's folder, unless the caller names another (an app run from its repository).
            ContentRoot = options.ContentRoot is { Length: > 0 } contentRoot ? Path.GetFullPath(contentRoot) : root,
            DataRoot = options.DataRoot,
            Functions = selection,
            Settings = options.Settings,
            LoadLocalSettings = options.LoadLocalSettings,
            AddProviders = options.AddProviders,
            ConsoleLogging = options.ConsoleLogging,
            ShutdownTimeout = options.ShutdownTimeout,
            MinPollingInterval = options.MinPollingInterval,
            IdleQuietPeriod = options.IdleQuietPeriod,
        });

        // The worker registers its providers from the same setting: an invalid one fails here, named, rather than crashing the worker.
        _ = ProviderComposition.GetProvider(builder.Configuration);

        // The worker gets the host's explicit settings too, with the embedded data root made absolute (its working directory differs).
        var workerSettings = new Dictionary<string, string?>(options.Settings, StringComparer.OrdinalIgnoreCase);
        if (builder.Configuration["Embedded:DataRoot"] is { Length: > 0 } dataRoot)
        {
            workerSettings["Embedded:DataRoot"] = Path.GetFullPath(dataRoot);
        }

        var channelOptions = new WorkerChannelOptions { ScriptRoot = root, Settings = workerSettings, LoadLocalSettings = options.LoadLocalSettings };
        channelOptions = worker?.Invoke(channelOptions) ?? channelOptions;

        var loggers = new DeferredLoggerFactory();
        var startup = loggers.CreateLogger("Host.Startup");
        var supervisor = await WorkerSupervisor.StartAsync(channelOptions, loggers, cancellationToken);
        try
        {
            foreach (var function in supervisor.Functions)
            {
                var disabled = DisabledSetting(function.Name);
                if (bool.TryParse(builder.Configuration[disabled], out var off) && off)
                {
                    // Disabled wins over --functions, as in Azure.
                    startup.LogInformation(DisabledTemplate, function.Name, disabled);
                    selection.Remove(function.Name);
                    continue;
                }

                builder.Functions.Add(WorkerBindings.Describe(function, supervisor));
            }

            if (selection.Count == 0 && options.Functions is { Count: > 0 })
            {
                throw new HostConfigurationException($"Every function named in --functions is disabled: {string.Join(", ", options.Functions)}.");
            }

            configure?.Invoke(builder);
            var host = builder.Build();
            host.Worker = supervisor;
            loggers.SetTarget(host.Services.GetRequiredService<ILoggerFactory>());
            await supervisor.LoadAsync(host.Functions.Select(f => f.Name).ToList(), cancellationToken);
            startup.LogInformation(ReadyTemplate, host.Functions.Count, (long)Stopwatch.GetElapsedTime(started).TotalMilliseconds);
            return host;
        }
        catch
        {
            await supervisor.DisposeAsync();
            throw;
        }
    }
}

/// <summary>The --functions names, from which disabled functions are taken out before the host selects.</summary>
internal sealed class SelectedFunctions(IReadOnlyList<string>? names) : System.Collections.ObjectModel.Collection<string>(names?.ToList() ?? [])
{
    public new void Remove(string name)
    {
        for (var i = Count - 1; i >= 0; i--)
        {
            if (string.Equals(this[i], name, StringComparison.OrdinalIgnoreCase))
            {
                RemoveAt(i);
            }
        }
    }
}
