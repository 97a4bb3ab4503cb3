namespace Pipeline.Host.Internal;

/// <summary>Keeps received work invisible while it runs: beats at half the visibility timeout until cancelled.</summary>
internal static class Heartbeat
{
    public static async Task RunAsync(TimeSpan visibility, Func<CancellationToken, Task> beatAsync, Action<Exception> onFailure, CancellationToken cancellationToken)
    {
        using var timer = new PeriodicTimer(visibility / 2);
        try
        {
            while (await timer.WaitForNextTickAsync(cancellationToken))
            {
                try
                {
                    await beatAsync(cancellationToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // A missed beat only risks a redelivery, which is safe; the batch goes on.
                    onFailure(ex);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The batch ended.
        }
    }
}
