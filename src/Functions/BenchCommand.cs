namespace Pipeline.Functions;

/// <summary>Placeholder replaced below.</summary>
public static class BenchCommand
{
    public static Task<int> RunAsync(int records, int files, bool keep, string? contentRoot, TextWriter output, CancellationToken cancellationToken) =>
        Task.FromResult(2);
}
