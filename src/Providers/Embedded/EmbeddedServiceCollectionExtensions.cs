using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded;

public static class EmbeddedServiceCollectionExtensions
{
    /// <summary>
    /// Registers the embedded providers (filesystem object store + events, SQLite queue, SQLite warehouse) as
    /// singletons, with <see cref="EmbeddedOptions"/> bound from the <c>Embedded</c> section and validated on start.
    /// </summary>
    public static IServiceCollection AddEmbeddedProviders(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configuration);
        services.AddOptions<EmbeddedOptions>()
            .Bind(configuration.GetSection(EmbeddedOptions.SectionName))
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<EmbeddedOptions>, EmbeddedOptionsValidator>();
        services.AddSingleton(sp => new FileSystemObjectStore(sp.GetRequiredService<IOptions<EmbeddedOptions>>().Value));
        services.AddSingleton<IObjectStore>(sp => sp.GetRequiredService<FileSystemObjectStore>());
        services.AddSingleton<IObjectEventSource>(sp => new FileSystemObjectEventSource(sp.GetRequiredService<FileSystemObjectStore>()));
        services.AddSingleton(sp => new SqliteMessageQueue(sp.GetRequiredService<IOptions<EmbeddedOptions>>().Value));
        services.AddSingleton<IMessageQueue>(sp => sp.GetRequiredService<SqliteMessageQueue>());
        services.AddSingleton<IQueueAge>(sp => sp.GetRequiredService<SqliteMessageQueue>());
        services.AddSingleton(sp => new SqliteWarehouse(sp.GetRequiredService<IOptions<EmbeddedOptions>>().Value));
        services.AddSingleton<IWarehouse>(sp => sp.GetRequiredService<SqliteWarehouse>());
        return services;
    }

    private sealed class EmbeddedOptionsValidator : IValidateOptions<EmbeddedOptions>
    {
        public ValidateOptionsResult Validate(string? name, EmbeddedOptions options) =>
            options.Validate() is { } error ? ValidateOptionsResult.Fail(error) : ValidateOptionsResult.Success;
    }
}
