using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Host;
using Pipeline.Lambda.Dispatch;

namespace Pipeline.Lambda;

/// <summary>
/// Composes the app as the host does (the pipeline's worker functions in-process for now, providers chosen by the
/// <c>Provider</c> setting, host.json shipped beside the bootstrap) with configuration from the
/// function's environment variables, and selects only the function named by _HANDLER, so settings
/// of the other functions are not required.
/// </summary>
public sealed class LambdaApplication : IAsyncDisposable
{
    private LambdaApplication(FunctionsHost host, LambdaEventDispatcher dispatcher)
    {
        Host = host;
        Dispatcher = dispatcher;
    }

    public FunctionsHost Host { get; }

    public LambdaEventDispatcher Dispatcher { get; }

    /// <summary>The assemblies whose (host) [Function] methods the bootstrap serves besides the pipeline's worker functions.</summary>
    public static IReadOnlyList<System.Reflection.Assembly> FunctionAssemblies { get; } = [typeof(LambdaApplication).Assembly];

    /// <exception cref="HostConfigurationException">A setting is missing or invalid, or the function is unknown; the message names it.</exception>
    public static LambdaApplication Create(string functionName, IReadOnlyDictionary<string, string?>? settings = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(functionName);
        var builder = FunctionsHost.CreateBuilder(new FunctionsHostOptions
        {
            // LAMBDA_TASK_ROOT (/var/task) holds the unzipped package: bootstrap, assemblies and host.json.
            ContentRoot = Environment.GetEnvironmentVariable("LAMBDA_TASK_ROOT") is { Length: > 0 } root ? root : AppContext.BaseDirectory,
            FunctionAssemblies = FunctionAssemblies,
            Functions = [functionName],
            Settings = settings ?? new Dictionary<string, string?>(),

            // Lambda configuration is environment variables only; local.settings.json holds emulator defaults.
            LoadLocalSettings = false,
            ConsoleLogging = true,
        });
        // The pipeline's worker functions, called in-process until the Lambda phase of issue 11 runs the worker itself.
        foreach (var function in Functions.InProcess.InProcessFunctions.All)
        {
            builder.Functions.Add(function);
        }

        Functions.PipelineServices.AddConfigurationDefaults(builder.Configuration.Sources);
        Functions.PipelineServices.Add(builder.Services, builder.Configuration);
        builder.Services.AddSingleton(TimeProvider.System);

        var host = builder.Build();
        try
        {
            var function = new HostLambdaFunction(host, functionName);
            function.WarmUp();
            var dispatcher = new LambdaEventDispatcher(function, host.Services.GetRequiredService<ILogger<LambdaEventDispatcher>>(), TimeProvider.System);
            return new LambdaApplication(host, dispatcher);
        }
        catch
        {
            host.DisposeAsync().AsTask().GetAwaiter().GetResult();
            throw;
        }
    }

    public ValueTask DisposeAsync() => Host.DisposeAsync();
}
