using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Lambda.Dispatch;

namespace Pipeline.Lambda;

/// <summary>
/// Composes the app as the host does (configuration from environment variables, the same
/// providers and functions), then picks the function named by _HANDLER.
/// </summary>
public static class LambdaComposition
{
    /// <summary>Builds the container with the function's <see cref="LambdaEventDispatcher"/>; throws when anything required is missing.</summary>
    public static ServiceProvider BuildServices(string functionName, IConfiguration? configuration = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(functionName);
        configuration ??= new ConfigurationBuilder().AddEnvironmentVariables().Build();
        var services = new ServiceCollection();
        services.AddSingleton(configuration);
        services.AddLogging(logging => logging
            .AddConfiguration(configuration.GetSection("Logging"))
            .AddSimpleConsole(console =>
            {
                // One line per entry: CloudWatch Logs shows each stdout line as one event.
                console.SingleLine = true;
                console.IncludeScopes = true;
            }));
        services.AddSingleton(TimeProvider.System);
        services.AddSingleton<LambdaEventDispatcher>();

        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        try
        {
            throw new InvalidOperationException(
                $"Function '{functionName}' is not part of this bootstrap (the host's function table is not wired in yet).");
        }
        catch
        {
            provider.Dispose();
            throw;
        }
    }
}
