using System.Diagnostics;
using System.Globalization;
using Pipeline.Functions.Functions;
using Pipeline.Providers.Abstractions;
using Spectre.Console;

namespace Pipeline.Functions;

/// <summary>What <see cref="RunProgress"/> shows: raw objects with a manifest out of those to do, versions loaded so far.</summary>
public readonly record struct ProgressSample(int Done, int Total, long Loaded);

/// <summary>
/// The live line of <c>run</c> on a terminal: objects done / left, records/s and elapsed time, polled once a second
/// from the same sources as the summary (manifests in the prepare zone, transaction_versions in the warehouse).
/// Only for a person watching: never with --json or when output is redirected, and a failing poll never fails the run.
/// </summary>
public static class RunProgress
{
    public static readonly TimeSpan Interval = TimeSpan.FromSeconds(1);

    /// <summary>True only for text output written to the process's own stdout, which is a terminal.</summary>
    public static bool ShouldShow(bool json, TextWriter output) =>
        !json && ReferenceEquals(output, Console.Out) && !Console.IsOutputRedirected;

    /// <summary>The description line; records/s counts versions loaded since the progress started.</summary>
    public static string Describe(ProgressSample sample, long loadedAtStart, TimeSpan elapsed)
    {
        var rate = (sample.Loaded - loadedAtStart) / Math.Max(elapsed.TotalSeconds, 1e-3);
        return string.Create(
            CultureInfo.InvariantCulture,
            $"objects {sample.Done}/{sample.Total} ({Math.Max(0, sample.Total - sample.Done)} left) · {sample.Loaded - loadedAtStart:N0} records loaded, {rate:N0} records/s · {elapsed:hh\\:mm\\:ss}");
    }

    /// <summary>Runs <paramref name="work"/> while showing its progress on <paramref name="console"/>; returns its result.</summary>
    public static async Task<T> TrackAsync<T>(IAnsiConsole console, Func<Task<T>> work, Func<CancellationToken, Task<ProgressSample>> poll, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(work);
        ArgumentNullException.ThrowIfNull(poll);
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("objects", maxValue: 1);
                var began = Stopwatch.GetTimestamp();
                var running = work();
                long? loadedAtStart = null;
                while (!running.IsCompleted)
                {
                    try
                    {
                        var sample = await poll(cancellationToken);
                        loadedAtStart ??= sample.Loaded;
                        task.MaxValue = Math.Max(1, sample.Total);
                        task.Value = sample.Done;
                        task.Description = Markup.Escape(Describe(sample, loadedAtStart.Value, Stopwatch.GetElapsedTime(began)));
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // Progress is decoration: a failed listing or query must not stop the run (the summary reports).
                    }

                    await Task.WhenAny(running, Task.Delay(Interval, cancellationToken));
                }

                return await running;
            });
    }

    /// <summary>Polls the raw objects present now (their manifests mark them done) and the versions loaded.</summary>
    public static async Task<Func<CancellationToken, Task<ProgressSample>>> PollerAsync(IObjectStore store, IWarehouse warehouse, PipelineSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(warehouse);
        ArgumentNullException.ThrowIfNull(settings);
        var expected = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(settings.RawZone, PipelineSettings.RawPrefix, cancellationToken))
        {
            expected.Add(Manifest.KeyFor(info.Key, info.ETag));
        }

        return async ct =>
        {
            var done = 0;
            await foreach (var info in store.ListAsync(settings.PrepareZone, PipelineSettings.ManifestPrefix, ct))
            {
                done += expected.Contains(info.Key) ? 1 : 0;
            }

            var loaded = await warehouse.QueryAsync("SELECT COUNT(*) FROM transaction_versions", null, ct);
            return new ProgressSample(done, expected.Count, Convert.ToInt64(loaded.Rows[0][0], CultureInfo.InvariantCulture));
        };
    }
}
