namespace Pipeline.Conformance;

/// <summary>Unique resource names per test, valid on disk, SQS, S3 and PostgreSQL alike, so suites can share one emulator.</summary>
public static class ConformanceNames
{
    public static string Queue(string stem, bool fifo = false) => $"{stem}-{Guid.NewGuid():N}" + (fifo ? ".fifo" : string.Empty);

    public static string Zone() => $"zone-{Guid.NewGuid():N}";

    public static string Table(string stem) => $"{stem}_{Guid.NewGuid():N}";
}

internal static class Disposal
{
    public static async ValueTask DisposeAsync(object? provider)
    {
        switch (provider)
        {
            case IAsyncDisposable a:
                await a.DisposeAsync().ConfigureAwait(false);
                break;
            case IDisposable d:
                d.Dispose();
                break;
        }
    }
}
