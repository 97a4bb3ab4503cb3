using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Aws;
#if PIPELINE_EMBEDDED
using Pipeline.Providers.Embedded;
#endif
#if PIPELINE_POSTGRES
using Pipeline.Providers.Postgres;
#endif

namespace Pipeline.Host;

/// <summary>
/// The one place that turns the <c>Provider</c> setting into provider registrations
/// (IObjectStore, IObjectEventSource, IMessageQueue, IWarehouse).
/// The Lambda package is built without the embedded providers (and its bootstrap without PostgreSQL): asking for
/// one there is a configuration error that says so.
/// </summary>
public static class ProviderComposition
{
    public const string ProviderSetting = "Provider";
    public const string WarehouseSetting = "Warehouse";
    public const string Embedded = "Embedded";

    /// <summary>S3 + SQS (AWS or an emulator); the warehouse by the <c>Warehouse</c> setting.</summary>
    public const string Aws = "Aws";

    public const string PostgresWarehouse = "Postgres";
    public const string RedshiftWarehouse = "Redshift";

    /// <summary>The app registers providers itself (tests, adapters).</summary>
    public const string None = "None";

#if PIPELINE_EMBEDDED
    public static IReadOnlyList<string> ValidProviders { get; } = [Embedded, Aws, None];
#else
    public static IReadOnlyList<string> ValidProviders { get; } = [Aws, None];
#endif

    /// <summary>The configured provider name (default <see cref="Embedded"/>), validated.</summary>
    /// <exception cref="HostConfigurationException">For an unknown value; the message lists the valid ones.</exception>
    public static string GetProvider(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var value = configuration[ProviderSetting];
#if PIPELINE_EMBEDDED
        if (string.IsNullOrWhiteSpace(value))
        {
            return Embedded;
        }
#else
        if (string.IsNullOrWhiteSpace(value) || value.Trim().Equals(Embedded, StringComparison.OrdinalIgnoreCase))
        {
            throw new HostConfigurationException(
                $"Setting '{ProviderSetting}' is {(string.IsNullOrWhiteSpace(value) ? "not set (default Embedded)" : "'" + value + "'")}, but this build (the Lambda package) carries only the {Aws} providers: set {ProviderSetting}={Aws}.");
        }
#endif

        return ValidProviders.FirstOrDefault(p => p.Equals(value.Trim(), StringComparison.OrdinalIgnoreCase))
            ?? throw new HostConfigurationException(
                $"Setting '{ProviderSetting}' is '{value}'; valid values are {string.Join(", ", ValidProviders)}.");
    }

    /// <summary>Registers the providers the <c>Provider</c> setting selects.</summary>
    public static IServiceCollection AddPipelineProviders(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        switch (GetProvider(configuration))
        {
#if PIPELINE_EMBEDDED
            case Embedded:
                services.AddEmbeddedProviders(configuration);
                break;
#endif

            case Aws:
                services.AddAwsProviders(configuration);
                AddAwsWarehouse(services, configuration);
                break;

            case None:
                break;
        }

        return services;
    }

    private static void AddAwsWarehouse(IServiceCollection services, IConfiguration configuration)
    {
        var warehouse = configuration[WarehouseSetting]?.Trim();
        if (string.Equals(warehouse, PostgresWarehouse, StringComparison.OrdinalIgnoreCase))
        {
#if PIPELINE_POSTGRES
            services.AddPostgresWarehouse(configuration);
#else
            throw new HostConfigurationException(
                $"Setting '{WarehouseSetting}' is {PostgresWarehouse}, but this build carries no PostgreSQL warehouse: use {RedshiftWarehouse}.");
#endif
        }
        else if (string.Equals(warehouse, RedshiftWarehouse, StringComparison.OrdinalIgnoreCase))
        {
            services.AddRedshiftWarehouse(configuration);
        }
        else
        {
            throw new HostConfigurationException(
                $"Setting '{WarehouseSetting}' is '{warehouse}'; with {ProviderSetting}={Aws} it must be {PostgresWarehouse} (local stand-in) or {RedshiftWarehouse} (Redshift Data API).");
        }
    }
}
