using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>
/// <c>bench-worker</c>: measures an isolated-worker app over the protocol — process start to first function ready,
/// the invocation round trip (sequential, median and p95), and the worker's resident memory.
/// </summary>
internal static class WorkerBench
{
    public static async Task<int> RunAsync(string scriptRoot, string functionName, string payload, int invocations, TextWriter output, CancellationToken cancellationToken = default)
    {
        var started = Stopwatch.GetTimestamp();
        await using var channel = await WorkerChannel.StartAsync(new WorkerChannelOptions { ScriptRoot = scriptRoot }, NullLoggerFactory.Instance, cancellationToken);
        var handshake = Stopwatch.GetElapsedTime(started);
        var function = channel.Functions.FirstOrDefault(f => f.Name.Equals(functionName, StringComparison.OrdinalIgnoreCase));
        if (function is null)
        {
            await output.WriteLineAsync($"error: no function '{functionName}'; the app has {string.Join(", ", channel.Functions.Select(f => f.Name))}.");
            return 1;
        }

        await channel.LoadAsync([function], cancellationToken);
        var ready = Stopwatch.GetElapsedTime(started);
        var rssAtReady = Rss(channel.ProcessId);

        // Warm-up (JIT on both sides), then timed sequential round trips.
        for (var i = 0; i < Math.Min(100, invocations); i++)
        {
            await channel.InvokeJsonAsync(function, payload, cancellationToken: cancellationToken);
        }

        var samples = new double[invocations];
        var total = Stopwatch.GetTimestamp();
        for (var i = 0; i < invocations; i++)
        {
            var one = Stopwatch.GetTimestamp();
            await channel.InvokeJsonAsync(function, payload, cancellationToken: cancellationToken);
            samples[i] = Stopwatch.GetElapsedTime(one).TotalMicroseconds;
        }

        var elapsed = Stopwatch.GetElapsedTime(total);
        Array.Sort(samples);
        var rss = Rss(channel.ProcessId);
        var c = CultureInfo.InvariantCulture;
        await output.WriteLineAsync(string.Create(c, $"worker start → handshake + metadata: {handshake.TotalMilliseconds:F0} ms"));
        await output.WriteLineAsync(string.Create(c, $"worker start → first function ready (loaded): {ready.TotalMilliseconds:F0} ms"));
        await output.WriteLineAsync(string.Create(c, $"invocation round trip of '{function.Name}' ({invocations} sequential): median {samples[invocations / 2]:F0} µs, p95 {samples[(int)(invocations * 0.95)]:F0} µs, min {samples[0]:F0} µs ({invocations / elapsed.TotalSeconds:F0}/s)"));
        await output.WriteLineAsync(string.Create(c, $"worker RSS: {rssAtReady / 1024.0 / 1024:F1} MiB when ready, {rss / 1024.0 / 1024:F1} MiB after the invocations"));
        return 0;
    }

    /// <summary>Resident set size in bytes (Linux /proc), or 0 where unavailable.</summary>
    private static long Rss(int processId)
    {
        try
        {
            using var process = Process.GetProcessById(processId);
            process.Refresh();
            return process.WorkingSet64;
        }
        catch (ArgumentException)
        {
            return 0;
        }
    }
}
