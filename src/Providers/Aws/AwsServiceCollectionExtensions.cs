using Amazon.S3;
using Amazon.SQS;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.RedshiftData;
using Pipeline.Providers.Aws.S3;
using Pipeline.Providers.Aws.Sqs;

namespace Pipeline.Providers.Aws;

public static class AwsServiceCollectionExtensions
{
    /// <summary>
    /// Registers S3 (<see cref="IObjectStore"/>, <see cref="IObjectEventSource"/>) and SQS (<see cref="IMessageQueue"/>)
    /// from the <c>Aws</c> configuration section; throws now, naming the setting, when it is invalid.
    /// </summary>
    public static IServiceCollection AddAwsProviders(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = BindAwsOptions(configuration);
        services.AddSingleton(options);
        AddCommon(services);
        services.AddSingleton<IAmazonS3>(sp => S3ClientFactory.Create(options, sp.GetRequiredService<AwsCredentialSource>()));
        services.AddSingleton<IAmazonSQS>(sp => SqsClientFactory.Create(options, sp.GetRequiredService<AwsCredentialSource>()));
        services.AddSingleton<IMessageQueue>(sp => new SqsMessageQueue(sp.GetRequiredService<IAmazonSQS>(), options, sp.GetService<ILogger<SqsMessageQueue>>()));
        services.AddSingleton<IObjectStore>(sp => new S3ObjectStore(sp.GetRequiredService<IAmazonS3>(), options));
        services.AddSingleton<IObjectEventSource>(sp => new S3ObjectEventSource(
            sp.GetRequiredService<IMessageQueue>(),
            options,
            sp.GetService<ILogger<S3ObjectEventSource>>() ?? NullLogger<S3ObjectEventSource>.Instance));
        return services;
    }

    /// <summary>
    /// Registers the Redshift Data API <see cref="IWarehouse"/> from the <c>Redshift</c> section (endpoint, region and
    /// credentials from <c>Aws</c>); throws now, naming the setting, when it is invalid.
    /// </summary>
    public static IServiceCollection AddRedshiftWarehouse(this IServiceCollection services, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var aws = BindAwsOptions(configuration);
        var redshift = new RedshiftOptions();
        configuration.GetSection(RedshiftOptions.SectionName).Bind(redshift);
        redshift.Validate();
        services.AddSingleton(redshift);
        if (!services.Any(d => d.ServiceType == typeof(AwsOptions)))
        {
            services.AddSingleton(aws);
            AddCommon(services);
        }

        services.AddSingleton(sp => RedshiftDataClient.Create(sp.GetRequiredService<AwsHttp>().Client, aws, sp.GetRequiredService<AwsCredentialSource>()));
        services.AddSingleton<IWarehouse>(sp => new RedshiftDataWarehouse(sp.GetRequiredService<RedshiftDataClient>(), redshift));
        return services;
    }

    internal static AwsOptions BindAwsOptions(IConfiguration configuration)
    {
        var options = new AwsOptions();
        configuration.GetSection(AwsOptions.SectionName).Bind(options);
        options.Validate();
        return options;
    }

    internal static void AddCommon(IServiceCollection services)
    {
        services.AddSingleton<AwsHttp>();
        services.AddSingleton(sp => new AwsCredentialSource(sp.GetRequiredService<AwsOptions>()));
    }
}

/// <summary>One HttpClient for the thin JSON-protocol client (Redshift Data API); the timeout exceeds the 20 s long poll.</summary>
internal sealed class AwsHttp : IDisposable
{
    public HttpClient Client { get; } = new(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) }) { Timeout = TimeSpan.FromSeconds(70) };

    public void Dispose() => Client.Dispose();
}
