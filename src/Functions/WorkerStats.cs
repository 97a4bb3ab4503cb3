using System.Globalization;

namespace Pipeline.Functions;

/// <summary>
/// For the benchmark: when <see cref="Variable"/> names a file, the worker appends one line to it as it exits — bytes
/// allocated, collections per generation, GC pause time, CPU and peak RSS — so `bench` counts the worker's figures beside
/// its own (the functions run here, not in the bench process).
/// </summary>
public static class WorkerStats
{
    /// <summary>The environment variable with the file to append to (unset: nothing is written).</summary>
    public const string Variable = "PIPELINE_WORKER_STATS";

    public static void WriteOnExit()
    {
        if (Environment.GetEnvironmentVariable(Variable) is not { Length: > 0 } path)
        {
            return;
        }

        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            using var process = System.Diagnostics.Process.GetCurrentProcess();
            var line = string.Create(
                CultureInfo.InvariantCulture,
                $"allocated={GC.GetTotalAllocatedBytes()} gen0={GC.CollectionCount(0)} gen1={GC.CollectionCount(1)} gen2={GC.CollectionCount(2)} pause_ms={GC.GetTotalPauseDuration().TotalMilliseconds:F0} cpu_ms={process.TotalProcessorTime.TotalMilliseconds:F0} peak_rss={process.PeakWorkingSet64}\n");
            File.AppendAllText(path, line);
        };
    }
}
