using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary>The main job: upload files and reference data, run the worker app's functions through the host until idle, print a reconciled summary.</summary>
public static class RunCommand
{
    /// <summary>Uploads in flight at once.</summary>
    private const int UploadParallelism = 16;

    /// <summary>Uploads (unless the same content is already there), runs, summarises. Exit code 0 only when reconciled.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> paths, bool json, string? dataRoot, string? contentRootOption, TextWriter output, TextWriter error, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        string contentRoot;
        try
        {
            contentRoot = PipelineApp.FindContentRoot(contentRootOption);
        }
        catch (DirectoryNotFoundException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }

        var files = new List<(string Path, string Key)>();
        var inputs = paths.Count > 0 ? paths : [Path.Combine(contentRoot, "local", "samples")];
        foreach (var input in inputs)
        {
            if (Directory.Exists(input))
            {
                foreach (var file in Directory.GetFiles(input, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
                {
                    files.Add((file, PipelineSettings.RawPrefix + Path.GetRelativePath(input, file).Replace('\\', '/')));
                }
            }
            else if (File.Exists(input))
            {
                files.Add((input, PipelineSettings.RawPrefix + Path.GetFileName(input)));
            }
            else
            {
                await error.WriteLineAsync($"'{input}' is neither a file nor a folder; pass transaction files or folders (default: {Path.Combine(contentRoot, "local", "samples")}).");
                return 2;
            }
        }

        // The host runs the worker app (src/Functions) as a child process over the worker protocol, as `start` does.
        FunctionsHost host;
        try
        {
            host = await PipelineApp.BuildPipelineHostAsync(PipelineApp.Options(contentRoot, dataRoot, consoleLogging: false), cancellationToken: cancellationToken);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or HostConfigurationException or Pipeline.Host.WorkerProtocol.WorkerUnavailableException)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }

        await using var disposeHost = host;
        var store = host.Services.GetRequiredService<IObjectStore>();
        var settings = host.Services.GetRequiredService<PipelineSettings>();

        // One listing per zone tells what is there already (no HEAD per file).
        var references = await ListAsync(store, settings.ReferenceZone, string.Empty, cancellationToken);
        foreach (var key in ReferenceData.Keys)
        {
            await UploadIfChangedAsync(store, settings.ReferenceZone, key, Path.Combine(contentRoot, "local", "reference", key), references, cancellationToken);
        }

        // Uploads side by side (each PUT is a round trip; the raw zone's events carry no order anyway), while the host
        // runs: the first objects are enriched while the last are still uploading.
        var uploaded = 0;
        var existing = await ListAsync(store, settings.RawZone, PipelineSettings.RawPrefix, cancellationToken);
        async Task UploadAsync(CancellationToken ct) =>
            await Parallel.ForEachAsync(files, new ParallelOptions { MaxDegreeOfParallelism = UploadParallelism, CancellationToken = ct }, async (file, ct) =>
            {
                if (await UploadIfChangedAsync(store, settings.RawZone, file.Key, file.Path, existing, ct))
                {
                    Interlocked.Increment(ref uploaded);
                }
            });

        await host.Services.GetRequiredService<WarehouseTables>().EnsureAsync(cancellationToken);
        var summary = RunProgress.ShouldShow(json, output)
            ? await RunProgress.TrackAsync(
                Spectre.Console.AnsiConsole.Console,
                () => RunUntilAccountedAsync(host, store, settings, timeout, error, cancellationToken, UploadAsync),
                await RunProgress.PollerAsync(store, host.Services.GetRequiredService<IWarehouse>(), settings, cancellationToken),
                cancellationToken)
            : await RunUntilAccountedAsync(host, store, settings, timeout, error, cancellationToken, UploadAsync);

        if (json)
        {
            await output.WriteLineAsync(ToJson(summary, files.Count, uploaded));
        }
        else
        {
            await WriteTextAsync(output, summary, files.Count, uploaded);
        }

        return summary.Reconciled ? 0 : 1;
    }

    /// <summary>
    /// Runs the host until it is idle and no raw object is pending — work a killed run left behind becomes
    /// deliverable again (a dead lease holder is detected, or the visibility timeout expires) — or until the timeout;
    /// then summarises. A timeout is not an error here: the summary lists what is still pending.
    /// </summary>
    /// <param name="whileRunning">Work done once the host has started (the run's uploads), awaited before waiting for idle.</param>
    public static async Task<PipelineSummary> RunUntilAccountedAsync(FunctionsHost host, IObjectStore store, PipelineSettings settings, TimeSpan timeout, TextWriter error, CancellationToken cancellationToken, Func<CancellationToken, Task>? whileRunning = null)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(error);
        var warehouse = host.Services.GetRequiredService<IWarehouse>();
        var queue = host.Services.GetRequiredService<IMessageQueue>();
        var deadLetters = host.Services.GetService<IObjectEventSource>() as IObjectEventDeadLetters;
        var deadLetterQueue = host.DeadLetterQueueFor(settings.EnrichedQueue);
        var began = System.Diagnostics.Stopwatch.GetTimestamp();
        var reads = new SummaryReads();
        await host.StartAsync(cancellationToken);
        try
        {
            if (whileRunning is not null)
            {
                await whileRunning(cancellationToken);
            }

            while (true)
            {
                var left = timeout - System.Diagnostics.Stopwatch.GetElapsedTime(began);
                try
                {
                    await host.WaitUntilIdleAsync(left > TimeSpan.Zero ? left : TimeSpan.Zero, cancellationToken);
                }
                catch (TimeoutException ex)
                {
                    await error.WriteLineAsync(ex.Message);
                    break;
                }

                var summary = await PipelineSummary.ComputeAsync(store, warehouse, queue, settings, deadLetterQueue, cancellationToken, deadLetters, reads);
                if (summary.PendingObjects.Count == 0 && !await InFlightAsync(queue, settings.EnrichedQueue, cancellationToken))
                {
                    return summary;
                }

                if (System.Diagnostics.Stopwatch.GetElapsedTime(began) >= timeout)
                {
                    await error.WriteLineAsync($"Gave up after {timeout}: {summary.PendingObjects.Count} object(s) still pending (held by another process, or waiting out a visibility timeout).");
                    return summary;
                }

                // Held by a live process or delayed for a retry: poll until deliverable.
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }
        }
        finally
        {
            await host.StopAsync(CancellationToken.None);
        }

        return await PipelineSummary.ComputeAsync(store, warehouse, queue, settings, deadLetterQueue, cancellationToken, deadLetters, reads);
    }

    private static async Task<bool> InFlightAsync(IMessageQueue queue, string name, CancellationToken cancellationToken)
    {
        try
        {
            var depth = await queue.GetDepthAsync(name, cancellationToken);
            return depth.Total > 0;
        }
        catch (QueueNotFoundException)
        {
            return false;
        }
    }

    /// <summary>Puts the file unless the object already holds the same bytes (ETag = MD5 on the embedded store); true when uploaded.</summary>
    public static Task<bool> UploadIfChangedAsync(IObjectStore store, string zone, string key, string path, CancellationToken cancellationToken) =>
        UploadIfChangedAsync(store, zone, key, path, null, cancellationToken);

    /// <summary>
    /// As above, with the zone's listing taken once beforehand: a listed single-part object compares its ETag (the MD5)
    /// without a request; only a multipart one (ETag "…-N", not an MD5) is asked for its content-md5 metadata (HEAD).
    /// </summary>
    public static async Task<bool> UploadIfChangedAsync(IObjectStore store, string zone, string key, string path, IReadOnlyDictionary<string, ObjectInfo>? listed, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        string md5;
        await using (var file = File.OpenRead(path))
        {
            md5 = Convert.ToHexStringLower(await MD5.HashDataAsync(file, cancellationToken));
        }

        var existing = listed is null ? await store.HeadAsync(zone, key, cancellationToken) : listed.GetValueOrDefault(key);
        if (existing is not null && listed is not null && existing.ETag.Trim('"') != md5 && existing.ETag.Contains('-', StringComparison.Ordinal))
        {
            existing = await store.HeadAsync(zone, key, cancellationToken);
        }

        if (existing is not null && (existing.ETag.Trim('"') == md5 || existing.Metadata.GetValueOrDefault("content-md5") == md5))
        {
            return false;
        }

        await using var content = File.OpenRead(path);
        await store.PutAsync(zone, key, content, new PutOptions { Metadata = new Dictionary<string, string> { ["content-md5"] = md5 } }, cancellationToken);
        return true;
    }

    private static async Task<Dictionary<string, ObjectInfo>> ListAsync(IObjectStore store, string zone, string prefix, CancellationToken cancellationToken)
    {
        var listed = new Dictionary<string, ObjectInfo>(StringComparer.Ordinal);
        await foreach (var info in store.ListAsync(zone, prefix, cancellationToken))
        {
            listed[info.Key] = info;
        }

        return listed;
    }

    public static string ToJson(PipelineSummary summary, int given, int uploaded)
    {
        ArgumentNullException.ThrowIfNull(summary);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("objects", summary.Objects);
            w.WriteNumber("processed_objects", summary.ProcessedObjects);
            w.WriteNumber("unreadable_objects", summary.UnreadableObjects);
            w.WriteNumber("dead_lettered_objects", summary.DeadLetteredObjects.Count);
            w.WriteNumber("pending_objects", summary.PendingObjects.Count);
            w.WriteNumber("files_given", given);
            w.WriteNumber("files_uploaded", uploaded);
            w.WriteNumber("records_read", summary.RecordsRead);
            w.WriteNumber("records", summary.Records);
            w.WriteNumber("duplicates", summary.Duplicates);
            w.WriteNumber("loaded", summary.Loaded);
            w.WriteNumber("quarantined", summary.Quarantined);
            w.WriteNumber("dead_lettered", summary.DeadLettered);
            w.WriteNumber("missing", summary.Missing);
            w.WriteNumber("conflicts", summary.Conflicts);
            w.WriteBoolean("reconciled", summary.Reconciled);
            w.WriteStartArray("problems");
            foreach (var problem in summary.Problems)
            {
                w.WriteStringValue(problem);
            }

            w.WriteEndArray();
            w.WriteStartArray("dead_lettered_object_list");
            foreach (var dead in summary.DeadLetteredObjects)
            {
                PipelineStatus.WriteDeadLetter(w, dead);
            }

            w.WriteEndArray();
            w.WriteStartObject("tables");
            foreach (var (table, count) in summary.Tables)
            {
                w.WriteNumber(table, count);
            }

            w.WriteEndObject();
            w.WriteStartObject("quarantine_by_field");
            foreach (var (field, count) in summary.QuarantineByField)
            {
                w.WriteNumber(field, count);
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return System.Text.Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static async Task WriteTextAsync(TextWriter o, PipelineSummary s, int given, int uploaded)
    {
        await o.WriteLineAsync($"Pipeline run: {given} file(s) given, {uploaded} uploaded (unchanged files are not re-processed).");
        await o.WriteLineAsync();
        await o.WriteLineAsync($"  objects (raw zone)    {s.Objects,8}   ({s.ProcessedObjects} processed, {s.UnreadableObjects} of them unreadable and quarantined whole; {s.DeadLetteredObjects.Count} dead-lettered; {s.PendingObjects.Count} pending)");
        await o.WriteLineAsync($"  records read          {s.RecordsRead,8}   ({s.Duplicates} exact duplicate versions)");
        await o.WriteLineAsync($"  records (distinct)    {s.Records,8}");
        await o.WriteLineAsync($"  loaded                {s.Loaded,8}");
        await o.WriteLineAsync($"  quarantined           {s.Quarantined,8}");
        await o.WriteLineAsync($"  dead-lettered         {s.DeadLettered,8}");
        await o.WriteLineAsync($"  conflicts             {s.Conflicts,8}   (versions loaded with more than one content: transaction_contents)");
        await o.WriteLineAsync($"  reconciled            {(s.Reconciled ? "yes" : "NO"),8}   (records = loaded + quarantined + dead-lettered{(s.Missing > 0 ? $"; {s.Missing} missing" : string.Empty)})");
        if (s.Problems.Count > 0)
        {
            await o.WriteLineAsync();
            await o.WriteLineAsync("NOT RECONCILED — unaccounted:");
            foreach (var problem in s.Problems)
            {
                await o.WriteLineAsync($"  - {problem}");
            }
        }

        if (s.DeadLetteredObjects.Count > 0)
        {
            await o.WriteLineAsync();
            await o.WriteLineAsync("Dead-lettered objects (send back with `redrive`):");
            foreach (var dead in s.DeadLetteredObjects)
            {
                await o.WriteLineAsync($"  - {dead.Event.Key} after {dead.ReceiveCount} deliveries: {dead.Error}");
            }
        }

        await o.WriteLineAsync();
        await o.WriteLineAsync("Warehouse tables:");
        foreach (var (table, count) in s.Tables)
        {
            await o.WriteLineAsync($"  {table,-22}{count,8} rows");
        }

        await o.WriteLineAsync();
        await o.WriteLineAsync("Quarantine reasons by field:");
        foreach (var (field, count) in s.QuarantineByField)
        {
            await o.WriteLineAsync($"  {field,-22}{count,8}");
        }

        foreach (var message in s.QuarantineMessages.Take(40))
        {
            await o.WriteLineAsync($"  - {message}");
        }

        await o.WriteLineAsync();
        await o.WriteLineAsync("First rows of transactions:");
        await WriteTableAsync(o, s.FirstTransactions);
        await o.WriteLineAsync();
        await o.WriteLineAsync("Query more: dotnet run --project src/Cli -- query \"SELECT * FROM regulatory_reports\"");
    }

    public static async Task WriteTableAsync(TextWriter o, QueryResult result)
    {
        ArgumentNullException.ThrowIfNull(o);
        ArgumentNullException.ThrowIfNull(result);
        var cells = result.Rows.Select(r => r.Select(Format).ToArray()).ToList();
        var widths = result.Columns.Select((c, i) => Math.Min(40, Math.Max(c.Length, cells.Count == 0 ? 0 : cells.Max(r => r[i].Length)))).ToArray();
        await o.WriteLineAsync("  " + string.Join("  ", result.Columns.Select((c, i) => c.PadRight(widths[i]))));
        await o.WriteLineAsync("  " + string.Join("  ", widths.Select(w => new string('-', w))));
        foreach (var row in cells)
        {
            await o.WriteLineAsync("  " + string.Join("  ", row.Select((c, i) => (c.Length > widths[i] ? c[..(widths[i] - 1)] + "…" : c).PadRight(widths[i]))));
        }

        await o.WriteLineAsync($"  ({result.Rows.Count} row{(result.Rows.Count == 1 ? string.Empty : "s")})");
    }

    public static string Format(object? value) => value switch
    {
        null => "NULL",
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset t => t.ToString("yyyy-MM-dd'T'HH:mm:ss.fffK", CultureInfo.InvariantCulture),
        bool b => b ? "true" : "false",
        IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
        _ => value.ToString() ?? string.Empty,
    };
}
