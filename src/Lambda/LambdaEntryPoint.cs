using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Lambda.RuntimeApi;

namespace Pipeline.Lambda;

/// <summary>Init (composition, reported to init/error on failure), then the invocation loop.</summary>
public static class LambdaEntryPoint
{
    public const string HandlerVariable = "_HANDLER";

    /// <returns>The process exit code: 1 after an init error or a Runtime API failure.</returns>
    public static async Task<int> RunAsync(RuntimeApiClient client, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(client);
        LambdaApplication? app = null;
        LambdaRuntimeLoop loop;
        try
        {
            var handler = Environment.GetEnvironmentVariable(HandlerVariable);
            if (string.IsNullOrWhiteSpace(handler))
            {
                throw new InvalidOperationException(
                    $"{HandlerVariable} is not set: set the Lambda function's Handler to the name of the function to run (for example EnrichTransactions).");
            }

            // Returns once the worker has loaded the function: the first 'next' is asked for only then.
            app = await LambdaApplication.CreateAsync(handler.Trim(), cancellationToken: cancellationToken);
            loop = new LambdaRuntimeLoop(
                client,
                app.Dispatcher,
                app.Host.Services.GetRequiredService<ILogger<LambdaRuntimeLoop>>(),
                TimeProvider.System);
        }
        catch (Exception ex)
        {
            await Console.Error.WriteLineAsync($"Init failed: {ex}");
            if (app is not null)
            {
                await app.DisposeAsync();
            }

            await client.PostInitErrorAsync(LambdaError.From(ex), cancellationToken: cancellationToken);
            return 1;
        }

        await using (app)
        {
            try
            {
                await loop.RunAsync(cancellationToken);
                return 0;
            }
            catch (RuntimeApiException ex)
            {
                await Console.Error.WriteLineAsync($"Runtime API failure, exiting: {ex.Message}");
                return 1;
            }
            catch (HttpRequestException ex)
            {
                await Console.Error.WriteLineAsync($"Runtime API unreachable, exiting: {ex.Message}");
                return 1;
            }
        }
    }
}
