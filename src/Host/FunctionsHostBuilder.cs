using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Microsoft.Extensions.Options;
using Pipeline.Host.Internal;
using Pipeline.Host.Telemetry;

namespace Pipeline.Host;

/// <summary>Configures a <see cref="FunctionsHost"/>: services, configuration, logging, host.json settings and the function table.</summary>
public sealed class FunctionsHostBuilder
{
    internal FunctionsHostBuilder(FunctionsHostOptions options)
    {
        Options = options;
        ContentRoot = Path.GetFullPath(options.ContentRoot ?? DefaultContentRoot());
        HostSettings = HostSettings.Load(Path.Combine(ContentRoot, "host.json"));

        // Lowest to highest precedence: local.settings.json Values, environment variables, explicit overrides.
        if (options.LoadLocalSettings)
        {
            Configuration.AddInMemoryCollection(LocalSettings.Load(Path.Combine(ContentRoot, "local.settings.json")));
        }

        Configuration.AddEnvironmentVariables();
        var overrides = new Dictionary<string, string?>(options.Settings, StringComparer.OrdinalIgnoreCase);
        if (options.DataRoot is not null)
        {
            overrides["Embedded:DataRoot"] = options.DataRoot;
        }

        Configuration.AddInMemoryCollection(overrides);

        Services.AddLogging(logging =>
        {
            logging.AddConfiguration(Configuration.GetSection("Logging"));
            if (options.ConsoleLogging)
            {
                logging.AddSimpleConsole(console =>
                {
                    console.SingleLine = true;
                    console.TimestampFormat = "HH:mm:ss.fff ";
                    console.UseUtcTimestamp = true;
                    console.ColorBehavior = LoggerColorBehavior.Default;
                });
            }
        });
        Logging = new LoggingBuilder(Services);
    }

    public FunctionsHostOptions Options { get; }

    /// <summary>The folder host.json and local.settings.json are read from.</summary>
    public string ContentRoot { get; }

    public IServiceCollection Services { get; } = new ServiceCollection();

    /// <summary>Configuration: local.settings.json Values, environment variables, overrides; add sources freely.</summary>
    public ConfigurationManager Configuration { get; } = new();

    public ILoggingBuilder Logging { get; }

    /// <summary>host.json as read from <see cref="ContentRoot"/>; replace it to tune the host in code (tests).</summary>
    public HostSettings HostSettings { get; set; }

    /// <summary>The app's functions: an isolated worker's (added by <see cref="WorkerProtocol.IsolatedWorkerHost"/>) or explicit ones.</summary>
    public FunctionTable Functions { get; } = new();

    /// <summary>Validates everything start-up needs and builds the host.</summary>
    /// <exception cref="HostConfigurationException">A setting or host.json field is missing or invalid; the message names it.</exception>
    /// <exception cref="FunctionDefinitionException">A function is declared wrongly.</exception>
    public FunctionsHost Build()
    {
        var provider = Options.AddProviders ? ProviderComposition.GetProvider(Configuration) : ProviderComposition.None;
        var selected = Select();
        var timeZone = TimeZone();
        var resolved = new List<FunctionDescriptor>(selected.Count);
        foreach (var function in selected)
        {
            var trigger = function.Trigger.Resolve((value, field) => SettingResolver.Resolve(Configuration, value, function.Name, field));
            Validate(function.Name, trigger);
            resolved.Add(function with { Trigger = trigger });
        }

        // Providers go first so that registrations the app made on Services win.
        var providerServices = new ServiceCollection();
        if (Options.AddProviders)
        {
            providerServices.AddPipelineProviders(Configuration);
        }

        for (var i = providerServices.Count - 1; i >= 0; i--)
        {
            Services.Insert(0, providerServices[i]);
        }

        // Off by default: with no exporter asked for, nothing is registered and no listener exists.
        var telemetry = TelemetrySettings.From(Configuration);
        if (telemetry.Enabled)
        {
            Services.AddPipelineTelemetry(telemetry, "pipeline");
        }

        if (telemetry.Enabled && Options.AddProviders)
        {
            Services.TryAddSingleton(sp => new QueueGauges(sp.GetRequiredService<Pipeline.Providers.Abstractions.IMessageQueue>(), sp.GetService<Pipeline.Providers.Abstractions.IQueueAge>()));
        }

        Services.TryAddSingleton<IConfiguration>(Configuration);
        Services.TryAddSingleton(HostSettings);
        foreach (var function in resolved.Where(f => f.FunctionType is not null).DistinctBy(f => f.FunctionType))
        {
            Services.TryAddScoped(function.FunctionType!);
        }

        var settings = HostSettings;
        Services.AddLogging(logging =>
        {
            foreach (var (category, level) in settings.LogLevels)
            {
                if (category.Equals("default", StringComparison.OrdinalIgnoreCase))
                {
                    logging.SetMinimumLevel(level);
                }
                else
                {
                    logging.AddFilter(category, level);
                }
            }
        });

        var services = Services.BuildServiceProvider(new ServiceProviderOptions { ValidateScopes = true });
        try
        {
            // Options registered with ValidateOnStart (providers' settings) are checked here, before anything runs.
            services.GetService<IStartupValidator>()?.Validate();
        }
        catch (OptionsValidationException ex)
        {
            services.Dispose();
            throw new HostConfigurationException($"Invalid settings: {string.Join(" ", ex.Failures)}", ex);
        }

        var host = new FunctionsHost(services, Configuration, settings, resolved, Options, provider, timeZone);
        if (telemetry.Enabled)
        {
            // The gauges (and the queue they read) first, so the container disposes them after the
            // MeterProvider, whose final collection still reads them; resolving the SDK's providers starts
            // their listeners now, before the first invocation.
            var queues = resolved.Select(f => f.Trigger).OfType<QueueTriggerBinding>().Select(q => q.QueueName).ToList();
            if (queues.Count > 0)
            {
                services.GetService<QueueGauges>()?.Track(queues.Concat(queues.Select(host.DeadLetterQueueFor)));
            }

            _ = services.GetService<OpenTelemetry.Trace.TracerProvider>();
            _ = services.GetService<OpenTelemetry.Metrics.MeterProvider>();
        }

        return host;
    }

    private List<FunctionDescriptor> Select()
    {
        var wanted = Options.Functions?.Where(n => !string.IsNullOrWhiteSpace(n)).ToList();
        if (wanted is null || wanted.Count == 0)
        {
            return Functions.ToList();
        }

        var unknown = wanted.Where(n => !Functions.TryGet(n, out _)).ToList();
        if (unknown.Count > 0)
        {
            throw new HostConfigurationException(
                $"Unknown function(s) in --functions: {string.Join(", ", unknown)}. Known functions: {string.Join(", ", Functions.Select(f => f.Name))}.");
        }

        return Functions.Where(f => wanted.Any(n => n.Equals(f.Name, StringComparison.OrdinalIgnoreCase))).ToList();
    }

    private static void Validate(string name, TriggerBinding trigger)
    {
        switch (trigger)
        {
            case TimerTriggerBinding timer when !CronSchedule.TryParse(timer.Schedule, out _, out var error):
                throw new HostConfigurationException($"Function '{name}': invalid timer schedule. {error}");
            case QueueTriggerBinding queue when string.IsNullOrWhiteSpace(queue.QueueName):
                throw new HostConfigurationException($"Function '{name}': the queue trigger has an empty queue name.");
            case ObjectTriggerBinding objects when string.IsNullOrWhiteSpace(objects.Zone):
                throw new HostConfigurationException($"Function '{name}': the object trigger has an empty zone.");
        }
    }

    private TimeZoneInfo TimeZone()
    {
        var id = Configuration[FunctionsHost.TimeZoneSetting];
        if (string.IsNullOrWhiteSpace(id))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (TimeZoneNotFoundException ex)
        {
            throw new HostConfigurationException($"Setting '{FunctionsHost.TimeZoneSetting}' is '{id}', which is not a known time zone id; use an IANA id such as 'Europe/London' or leave it unset for UTC.", ex);
        }
    }

    private static string DefaultContentRoot()
    {
        var current = Directory.GetCurrentDirectory();
        return File.Exists(Path.Combine(current, "host.json")) ? current : AppContext.BaseDirectory;
    }

    private sealed class LoggingBuilder(IServiceCollection services) : ILoggingBuilder
    {
        public IServiceCollection Services { get; } = services;
    }
}
