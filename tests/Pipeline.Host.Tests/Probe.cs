using System.Collections.Concurrent;

namespace Pipeline.Host.Tests;

/// <summary>Records what test functions saw; registered as a singleton per test host.</summary>
public sealed class Probe
{
    public ConcurrentQueue<string> Calls { get; } = new();

    public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Record(string call) => Calls.Enqueue(call);

    public static async Task WaitForAsync(Func<bool> condition, TimeSpan timeout, string what)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (!condition())
        {
            if (cts.IsCancellationRequested)
            {
                throw new TimeoutException($"Timed out after {timeout} waiting for {what}.");
            }

            await Task.Delay(20, CancellationToken.None);
        }
    }
}
