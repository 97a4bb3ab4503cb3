using System.Diagnostics;
using System.Globalization;
using Pipeline.Functions.Functions;
using Pipeline.Providers.Abstractions;
using Spectre.Console;

namespace Pipeline.Cli;

/// <summary>What <see cref="RunProgress"/> shows: raw objects with a manifest out of those to do, versions loaded so far.</summary>
public readonly record struct ProgressSample(int Done, int Total, long Loaded);

/// <summary>
/// A generic progress reading: <paramref name="Done"/> of <paramref name="Total"/> <paramref name="Unit"/> (Total 0 = unknown),
/// a running <paramref name="Count"/> of <paramref name="CountUnit"/> for the rate, and an optional phase prefix (e.g. "writing · ").
/// </summary>
public sealed record ProgressReading(long Done, long Total, string Unit, long Count, string CountUnit, string Phase = "");

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
    public static Task<T> TrackAsync<T>(IAnsiConsole console, Func<Task<T>> work, Func<CancellationToken, Task<ProgressSample>> poll, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(poll);
        long? loadedAtStart = null;
        return TrackCoreAsync(
            console,
            work,
            async (elapsed, ct) =>
            {
                var sample = await poll(ct);
                loadedAtStart ??= sample.Loaded;
                return (sample.Done, sample.Total, Describe(sample, loadedAtStart.Value, elapsed));
            },
            cancellationToken);
    }

    /// <summary>
    /// The same live line for other commands (backfill, refine): <paramref name="poll"/> says what is done out of what
    /// (a total of 0 when it is not known) and a running count, described by <see cref="Describe(ProgressReading, long, TimeSpan)"/>.
    /// </summary>
    public static Task<T> TrackReadingsAsync<T>(IAnsiConsole console, Func<Task<T>> work, Func<CancellationToken, Task<ProgressReading>> poll, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(poll);
        long? countAtStart = null;
        return TrackCoreAsync(
            console,
            work,
            async (elapsed, ct) =>
            {
                var reading = await poll(ct);
                countAtStart ??= reading.Count;
                return (reading.Done, reading.Total, Describe(reading, countAtStart.Value, elapsed));
            },
            cancellationToken);
    }

    /// <summary>The description line of a <see cref="ProgressReading"/>; the rate counts what was added since the progress started.</summary>
    public static string Describe(ProgressReading reading, long countAtStart, TimeSpan elapsed)
    {
        ArgumentNullException.ThrowIfNull(reading);
        var added = reading.Count - countAtStart;
        var rate = added / Math.Max(elapsed.TotalSeconds, 1e-3);
        var done = reading.Total > 0
            ? string.Create(CultureInfo.InvariantCulture, $"{reading.Unit} {reading.Done}/{reading.Total} ({Math.Max(0, reading.Total - reading.Done)} left)")
            : reading.Unit;
        if (reading.CountUnit.Length == 0)
        {
            // Nothing counted inside the step (bench's phases): what runs and for how long.
            return string.Create(CultureInfo.InvariantCulture, $"{reading.Phase}{done} · {elapsed:hh\\:mm\\:ss}");
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"{reading.Phase}{done} · {added:N0} {reading.CountUnit}, {rate:N0} {reading.CountUnit}/s · {elapsed:hh\\:mm\\:ss}");
    }

    private static async Task<T> TrackCoreAsync<T>(IAnsiConsole console, Func<Task<T>> work, Func<TimeSpan, CancellationToken, Task<(long Done, long Total, string Line)>> poll, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(console);
        ArgumentNullException.ThrowIfNull(work);
        return await console.Progress()
            .AutoClear(true)
            .Columns(new TaskDescriptionColumn { Alignment = Justify.Left }, new ProgressBarColumn())
            .StartAsync(async context =>
            {
                var task = context.AddTask("progress", maxValue: 1);
                var began = Stopwatch.GetTimestamp();
                var running = work();
                while (!running.IsCompleted)
                {
                    try
                    {
                        var (done, total, line) = await poll(Stopwatch.GetElapsedTime(began), cancellationToken);
                        task.MaxValue = Math.Max(1, total);
                        task.Value = total > 0 ? done : 0;
                        task.Description = Markup.Escape(line);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException)
                    {
                        // Progress is decoration: a failed listing or query must not stop the work (the summary reports).
                    }

                    await Task.WhenAny(running, Task.Delay(Interval, cancellationToken));
                }

                return await running;
            });
    }

    /// <summary>Polls the raw objects present now (their manifests mark them done; a batch manifest is read once) and the versions loaded.</summary>
    public static Task<Func<CancellationToken, Task<ProgressSample>>> PollerAsync(IObjectStore store, IWarehouse warehouse, PipelineSettings settings, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(warehouse);
        ArgumentNullException.ThrowIfNull(settings);
        cancellationToken.ThrowIfCancellationRequested();
        var cache = new ManifestCache();
        return Task.FromResult<Func<CancellationToken, Task<ProgressSample>>>(async ct =>
        {
            // Listed on every poll: `run` uploads while the host already runs.
            var expected = new HashSet<string>(StringComparer.Ordinal);
            await foreach (var info in store.ListAsync(settings.RawZone, PipelineSettings.RawPrefix, ct))
            {
                expected.Add(Manifest.KeyFor(info.Key, info.ETag));
            }

            var done = (await ManifestReader.ProcessedAsync(store, settings, cache, ct)).Count(expected.Contains);

            var loaded = await warehouse.QueryAsync("SELECT COUNT(*) FROM transaction_versions", null, ct);
            return new ProgressSample(done, expected.Count, Convert.ToInt64(loaded.Rows[0][0], CultureInfo.InvariantCulture));
        });
    }
}
