namespace Pipeline.Functions.Refine;

/// <summary>What a refine has done so far, written by the refiner and read by the progress poll on another thread.</summary>
public sealed class RefineProgress
{
    private long trades;
    private int days;

    public long Trades => Interlocked.Read(ref trades);

    public int Days => Volatile.Read(ref days);

    internal void TradesRead(int count) => Interlocked.Add(ref trades, count);

    internal void DayWritten() => Interlocked.Increment(ref days);
}
