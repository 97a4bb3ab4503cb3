using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Aws;
using Pipeline.Providers.Embedded;
using Pipeline.Providers.Postgres;

namespace Pipeline.Host;

/// <summary>
/// The one place that turns the <c>Provider</c> setting into provider registrations
/// (IObjectStore, IObjectEventSource, IMessageQueue, IWarehouse).
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

    public static IReadOnlyList<string> ValidProviders { get; } = [Embedded, Aws, None];

    /// <summary>The configured provider name (default <see cref="Embedded"/>), validated.</summary>
    /// <exception cref="HostConfigurationException">For an unknown value; the message lists the valid ones.</exception>
    public static string GetProvider(IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var value = configuration[ProviderSetting];
        if (string.IsNullOrWhiteSpace(value))
        {
            return Embedded;
        }

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
            case Embedded:
                services.AddEmbeddedProviders(configuration);
                break;

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
            services.AddPostgresWarehouse(configuration);
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
