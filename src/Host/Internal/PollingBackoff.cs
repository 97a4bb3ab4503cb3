namespace Pipeline.Host.Internal;

/// <summary>Idle back-off between polls (doubling to a maximum) that WaitUntilIdle can cut short.</summary>
internal sealed class PollingBackoff(TimeSpan min, TimeSpan max)
{
    private readonly TimeSpan _min = min < max ? min : max;
    private TimeSpan _current = min < max ? min : max;
    private TaskCompletionSource _wake = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Reset() => _current = _min;

    /// <summary>Ends the current wait now.</summary>
    public void Wake()
    {
        var previous = Interlocked.Exchange(ref _wake, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        previous.TrySetResult();
    }

    public async Task WaitAsync(CancellationToken cancellationToken)
    {
        var wake = Volatile.Read(ref _wake).Task;
        var delay = _current;
        _current = TimeSpan.FromTicks(Math.Min(_current.Ticks * 2, max.Ticks));
        await Task.WhenAny(Task.Delay(delay, cancellationToken), wake);
        cancellationToken.ThrowIfCancellationRequested();
    }

    /// <summary>Waits like <see cref="WaitAsync"/>; stopping ends the wait without an exception.</summary>
    public async Task WaitQuietlyAsync(CancellationToken stopping)
    {
        try
        {
            await WaitAsync(stopping);
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
