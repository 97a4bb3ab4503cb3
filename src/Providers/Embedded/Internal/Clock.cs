namespace Pipeline.Providers.Embedded.Internal;

internal static class Clock
{
    public static long NowMs() => DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

    public static DateTimeOffset FromMs(long ms) => DateTimeOffset.FromUnixTimeMilliseconds(ms);
}

/// <summary>Wakes in-process long-pollers when something may have become receivable.</summary>
internal sealed class Pulse
{
    private TaskCompletionSource signal = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Set() => Interlocked.Exchange(ref signal, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();

    /// <summary>Waits for a pulse or <paramref name="max"/>, whichever is first (other processes are only seen by polling).</summary>
    public async Task WaitAsync(TimeSpan max, CancellationToken cancellationToken)
    {
        if (max <= TimeSpan.Zero)
        {
            return;
        }

        var current = Volatile.Read(ref signal).Task;
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(max, cts.Token);
        await Task.WhenAny(current, delay).ConfigureAwait(false);
        await cts.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
