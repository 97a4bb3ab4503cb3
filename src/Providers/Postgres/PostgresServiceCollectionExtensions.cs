using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Postgres;

public static class PostgresServiceCollectionExtensions
{
    /// <summary>
    /// Registers the PostgreSQL <see cref="IWarehouse"/> from the <c>Postgres</c> section; throws now, naming the
    /// setting, when it is invalid.
    /// </summary>
    public static IServiceCollection AddPostgresWarehouse(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = new PostgresWarehouseOptions();
        configuration.GetSection(PostgresWarehouseOptions.SectionName).Bind(options);
        options.Validate();
        services.AddSingleton(options);
        services.AddSingleton<IWarehouse>(_ => new PostgresWarehouse(options));
        return services;
    }
}
