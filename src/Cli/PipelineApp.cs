using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Ingestion;
using Pipeline.Functions.Refine;
using Pipeline.Functions.Transactions;
using Pipeline.Host;

namespace Pipeline.Cli;

/// <summary>How the commands compose the host: content root, services, and the worker app they run.</summary>
public static class PipelineApp
{
    /// <summary>
    /// The folder with host.json, local.settings.json and local/ (the repository root): the explicit
    /// one, else the first ancestor of the working directory, else of the app's folder, that has them.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">With what to do.</exception>
    public static string FindContentRoot(string? explicitRoot = null)
    {
        if (explicitRoot is not null)
        {
            var full = Path.GetFullPath(explicitRoot);
            return File.Exists(Path.Combine(full, "host.json"))
                ? full
                : throw new DirectoryNotFoundException($"--content-root '{full}' has no host.json; point it at the repository root.");
        }

        foreach (var start in new[] { Directory.GetCurrentDirectory(), AppContext.BaseDirectory })
        {
            for (var dir = new DirectoryInfo(start); dir is not null; dir = dir.Parent)
            {
                if (File.Exists(Path.Combine(dir.FullName, "host.json")) && Directory.Exists(Path.Combine(dir.FullName, "local")))
                {
                    return dir.FullName;
                }
            }
        }

        throw new DirectoryNotFoundException(
            "Cannot find the repository root (a folder with host.json and local/) above the working directory or the app. "
            + "Run from the repository root (dotnet run --project src/Cli -- run) or pass --content-root <repo>.");
    }

    public static FunctionsHostOptions Options(string contentRoot, string? dataRoot, bool consoleLogging, IReadOnlyList<string>? args = null, IReadOnlyDictionary<string, string?>? settings = null, IReadOnlyList<string>? functions = null) => new()
    {
        Args = args ?? [],
        ContentRoot = contentRoot,
        DataRoot = dataRoot,
        Functions = functions,
        ConsoleLogging = consoleLogging,
        Settings = settings ?? new Dictionary<string, string?>(),
    };

    /// <summary>The setting (environment variable) that points the commands at another build of the worker app.</summary>
    public const string WorkerRootVariable = "PIPELINE_WORKER_ROOT";

    /// <summary>
    /// The worker app's build output (src/Functions, built with this project): <see cref="WorkerRootVariable"/> when set,
    /// else the folder recorded at build time (same configuration), else a <c>worker/</c> folder beside this assembly.
    /// </summary>
    /// <exception cref="DirectoryNotFoundException">No build of the worker app is found; the message says how to build it.</exception>
    public static string WorkerScriptRoot()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable(WorkerRootVariable) is { Length: > 0 } explicitRoot)
        {
            candidates.Add(explicitRoot);
        }
        else
        {
            var recorded = typeof(PipelineApp).Assembly.GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false)
                .Cast<System.Reflection.AssemblyMetadataAttribute>()
                .FirstOrDefault(a => a.Key == "WorkerScriptRoot")?.Value;
            if (recorded is { Length: > 0 })
            {
                candidates.Add(recorded);
            }

            candidates.Add(Path.Combine(AppContext.BaseDirectory, "worker"));
        }

        foreach (var candidate in candidates)
        {
            if (File.Exists(Path.Combine(candidate, "worker.config.json")) && File.Exists(Path.Combine(candidate, "functions.metadata")))
            {
                return Path.GetFullPath(candidate);
            }
        }

        throw new DirectoryNotFoundException(
            $"The pipeline's worker app is not built (looked in {string.Join(", ", candidates)}). Build it with `dotnet build src/Cli` "
            + $"(it builds src/Functions), or set {WorkerRootVariable} to its build output.");
    }

    /// <summary>
    /// The pipeline host running the worker app as a child process (not started): the host reads host.json and
    /// local.settings.json from <paramref name="contentRoot"/>; the worker gets the same settings as environment.
    /// </summary>
    public static Task<FunctionsHost> BuildPipelineHostAsync(FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure = null, CancellationToken cancellationToken = default) =>
        Pipeline.Host.WorkerProtocol.IsolatedWorkerHost.BuildAsync(WorkerScriptRoot(), options, builder =>
        {
            Configure(builder);
            configure?.Invoke(builder);
        }, cancellationToken: cancellationToken);

    /// <summary>
    /// The configured pipeline host for a command (not started), or null after writing to <paramref name="error"/>
    /// why it cannot be built (no repository root, invalid configuration); the command then exits with 2.
    /// </summary>
    public static async Task<FunctionsHost?> TryBuildHostAsync(string? dataRoot, string? contentRootOption, bool consoleLogging, TextWriter error)
    {
        ArgumentNullException.ThrowIfNull(error);
        try
        {
            var builder = FunctionsHost.CreateBuilder(Options(FindContentRoot(contentRootOption), dataRoot, consoleLogging));
            Configure(builder);
            return builder.Build();
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or HostConfigurationException)
        {
            await error.WriteLineAsync(ex.Message);
            return null;
        }
    }

    /// <summary>Registers what the functions need; the host registers the providers the <c>Provider</c> setting selects.</summary>
    public static void Configure(FunctionsHostBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);

        // Lowest precedence: code defaults (the daily ingestion and refine schedules) that any source may override.
        PipelineServices.AddConfigurationDefaults(builder.Configuration.Sources);
        PipelineServices.Add(builder.Services, builder.Configuration);
    }
}
