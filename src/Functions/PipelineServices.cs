using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Ingestion;
using Pipeline.Functions.Refine;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions;

/// <summary>What the functions need besides the providers; the worker (Program.cs) and the commands register the same.</summary>
public static class PipelineServices
{
    /// <summary>Inserts the code defaults (the daily ingestion and refine schedules) below every other source.</summary>
    public static void AddConfigurationDefaults(IList<IConfigurationSource> sources)
    {
        ArgumentNullException.ThrowIfNull(sources);
        sources.Insert(0, new MemoryConfigurationSource { InitialData = IngestionOptions.ConfigurationDefaults });
        sources.Insert(0, new MemoryConfigurationSource { InitialData = RefineOptions.ConfigurationDefaults });
    }

    public static void Add(IServiceCollection services, IConfiguration configuration)
    {
        services.AddSingleton(_ => PipelineSettings.From(configuration));
        services.AddSingleton<ReferenceDataCache>();
        services.AddSingleton<EnrichedQueueSender>();
        services.AddSingleton<ManifestBatcher>();
        services.AddSingleton<WarehouseTables>();
        services.AddOptions<IngestionOptions>().Bind(configuration.GetSection(IngestionOptions.SectionName));
        services.AddSingleton<TradeIngestor>();
        services.AddOptions<RefineOptions>().Bind(configuration.GetSection(RefineOptions.SectionName));
        services.AddSingleton<DailyRefiner>();
        services.AddOptions<EnrichmentOptions>().Bind(configuration.GetSection(EnrichmentOptions.SectionName));
    }
}
