using System.Diagnostics;

namespace Pipeline.Host.Internal;

/// <summary>Counts work in progress (invocations, batches held by listeners) for WaitUntilIdle.</summary>
internal sealed class ActivityTracker
{
    private int _busy;
    private long _lastActivity = Stopwatch.GetTimestamp();

    public int Busy => Volatile.Read(ref _busy);

    /// <summary>Stopwatch timestamp of the last start or end of work.</summary>
    public long LastActivity => Interlocked.Read(ref _lastActivity);

    public Scope Begin()
    {
        Interlocked.Increment(ref _busy);
        Touch();
        return new Scope(this);
    }

    public void Touch() => Interlocked.Exchange(ref _lastActivity, Stopwatch.GetTimestamp());

    public readonly struct Scope(ActivityTracker tracker) : IDisposable
    {
        public void Dispose()
        {
            tracker.Touch();
            Interlocked.Decrement(ref tracker._busy);
        }
    }
}
