using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Ingestion;
using Pipeline.Functions.Refine;
using Pipeline.Functions.Transactions;
using Pipeline.Host;

namespace Pipeline.Functions;

/// <summary>How the pipeline app composes the host: function assembly, content root, services.</summary>
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
            + "Run from the repository root (dotnet run --project src/Functions -- run) or pass --content-root <repo>.");
    }

    public static FunctionsHostOptions Options(string contentRoot, string? dataRoot, bool consoleLogging, IReadOnlyList<string>? args = null, IReadOnlyDictionary<string, string?>? settings = null) => new()
    {
        Args = args ?? [],
        ContentRoot = contentRoot,
        DataRoot = dataRoot,
        FunctionAssemblies = [typeof(EnrichTransactions).Assembly],
        ConsoleLogging = consoleLogging,
        Settings = settings ?? new Dictionary<string, string?>(),
    };

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
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = IngestionOptions.ConfigurationDefaults });
        builder.Configuration.Sources.Insert(0, new MemoryConfigurationSource { InitialData = RefineOptions.ConfigurationDefaults });
        AddPipelineServices(builder.Services, builder.Configuration);
    }

    public static void AddPipelineServices(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(_ => PipelineSettings.From(configuration));
        services.AddSingleton<ReferenceDataCache>();
        services.AddSingleton<EnrichedQueueSender>();
        services.AddSingleton<WarehouseTables>();
        services.AddOptions<IngestionOptions>().Bind(configuration.GetSection(IngestionOptions.SectionName));
        services.AddSingleton<TradeIngestor>();
        services.AddOptions<RefineOptions>().Bind(configuration.GetSection(RefineOptions.SectionName));
        services.AddSingleton<DailyRefiner>();
        services.AddOptions<EnrichmentOptions>().Bind(configuration.GetSection(EnrichmentOptions.SectionName));
    }
}
