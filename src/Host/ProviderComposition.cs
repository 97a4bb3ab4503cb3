using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Embedded;

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

    /// <summary>The app registers providers itself (tests, adapters).</summary>
    public const string None = "None";

    public static IReadOnlyList<string> ValidProviders { get; } = [Embedded, None];

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

            // The AWS providers go here: case "Aws": services.AddAwsProviders(configuration); then the
            // warehouse by the separate 'Warehouse' setting (e.g. Postgres / RedshiftData).
            case None:
                break;
        }

        return services;
    }
}
