using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Functions.Transactions.Reading;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary>
/// <c>bench [--records N] [--files F]</c>: N deterministic synthetic transactions, as one big NDJSON
/// file and, separately, as F small files; each runs through the embedded pipeline end to end
/// (raw zone → enrich → FIFO → load → warehouse). Beside it, baselines measured in the same run:
/// parse only, and parse + validate + enrich (no I/O besides reading). Prints records/s and peak RSS.
/// </summary>
public static class BenchCommand
{
    private static readonly string[] Isins = ["US0378331005", "US5949181045", "DE0007164600", "GB0002634946", "NL0010273215", "FR0000131104", "JP3633400001", "US912828ZT04", "XS2021234567"];
    private static readonly string[] Currencies = ["USD", "EUR", "GBP", "JPY", "CHF"];
    private static readonly string[] Venues = ["XNAS", "XNYS", "XETR", "XPAR", "XAMS", "XLON", "XTKS", "XMIL"];
    private static readonly string[] Classes = ["EQUITY", "EQUITY", "BOND", "FX", "DERIVATIVE"];

    public static async Task<int> RunAsync(int records, int files, bool keep, string? contentRootOption, TextWriter output, CancellationToken cancellationToken, long megabytes = 0, bool quick = false)
    {
        ArgumentNullException.ThrowIfNull(output);
        var contentRoot = PipelineApp.FindContentRoot(contentRootOption);
        var work = Path.Combine(Path.GetTempPath(), "pipeline-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        Directory.CreateDirectory(work);
        try
        {
            var reference = ReferenceData.Parse(ReferenceData.Keys.ToDictionary(k => k, k => File.ReadAllBytes(Path.Combine(contentRoot, "local", "reference", k))));
            var leis = reference.Leis.Keys.Order(StringComparer.Ordinal).ToArray();
            var dates = reference.UsdPerUnit.Keys.Order().ToArray();

            var big = Path.Combine(work, "big.ndjson");
            var sw = Stopwatch.StartNew();
            if (megabytes > 0)
            {
                // --megabytes: as many records as fill the size (the peak-RSS case: e.g. 1024 for a 1 GB input).
                records = GenerateBytes(big, megabytes << 20, leis, dates);
            }
            else
            {
                Generate(big, 0, records, leis, dates);
            }

            var bytes = new FileInfo(big).Length;
            await output.WriteLineAsync($"Generated {records:N0} records, {bytes / 1048576.0:F1} MB NDJSON in {sw.Elapsed.TotalSeconds:F1} s (peak RSS so far {PeakRssMb():F0} MB)");

            // CPU time beside wall time: on a shared machine, records per CPU-second is the figure that does not depend
            // on what else runs (records/s on N free cores is at most N times it).
            // On a terminal each phase shows a live "phase k/n: name, elapsed" line (nothing is counted inside a phase).
            var show = RunProgress.ShouldShow(json: false, output);
            var phases = 1 + (quick ? 0 : 5) + 1 + (files > 0 ? 1 : 0);
            var phase = 0;
            Task<T> PhaseAsync<T>(string name, Func<Task<T>> work)
            {
                var reading = PhaseReading(++phase, phases, name, records);
                return show ? RunProgress.TrackReadingsAsync(Spectre.Console.AnsiConsole.Console, work, _ => Task.FromResult(reading), cancellationToken) : work();
            }

            var cpu = Cpu();
            var allocated = GC.GetTotalAllocatedBytes(precise: true);
            var parse = await PhaseAsync("baseline parse only", () => BaselineAsync(big, reference, enrich: false, cancellationToken));
            await output.WriteLineAsync($"baseline parse only                 {Rate(records, parse),12:N0} records/s  ({parse.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {AllocatedPerRecord(records, ref allocated),7:N0} B/record)");
            if (!quick)
            {
                var enrichOnly = await PhaseAsync("baseline parse+validate+enrich", () => BaselineAsync(big, reference, enrich: true, cancellationToken));
                await output.WriteLineAsync($"baseline parse+validate+enrich      {Rate(records, enrichOnly),12:N0} records/s  ({enrichOnly.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {AllocatedPerRecord(records, ref allocated),7:N0} B/record)");

                var chunks = Path.Combine(work, "chunks.bin");
                var chunked = await PhaseAsync("baseline + write chunks", () => ChunkBaselineAsync(big, chunks, reference, cancellationToken));
                await output.WriteLineAsync($"baseline ... + write chunks (file)   {Rate(records, chunked),12:N0} records/s  ({chunked.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {AllocatedPerRecord(records, ref allocated),7:N0} B/record)");
                var decoded = await PhaseAsync("baseline read chunks only", () => ReadChunksBaselineAsync(chunks, cancellationToken, decodeOnly: true));
                await output.WriteLineAsync($"baseline read chunks only (decode)  {Rate(records, decoded),12:N0} records/s  ({decoded.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {AllocatedPerRecord(records, ref allocated),7:N0} B/record)");
                var reread = await PhaseAsync("baseline read chunks", () => ReadChunksBaselineAsync(chunks, cancellationToken));
                await output.WriteLineAsync($"baseline read chunks+check+rows     {Rate(records, reread),12:N0} records/s  ({reread.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {AllocatedPerRecord(records, ref allocated),7:N0} B/record)");
                var mergeBuilder = FunctionsHost.CreateBuilder(PipelineApp.Options(contentRoot, Path.Combine(work, "data-merge"), consoleLogging: false));
                PipelineApp.Configure(mergeBuilder);
                await using (var mergeHost = mergeBuilder.Build())
                {
                    var merged = await PhaseAsync("baseline + SQLite merge", () => ReadChunksBaselineAsync(chunks, cancellationToken, mergeHost.Services.GetRequiredService<IWarehouse>()));
                    await output.WriteLineAsync($"baseline ... + SQLite merge ({WarehouseSchema.All.Count} tables){Rate(records, merged),11:N0} records/s  ({merged.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {AllocatedPerRecord(records, ref allocated),7:N0} B/record)");
                }

                Directory.Delete(Path.Combine(work, "data-merge"), recursive: true);
                File.Delete(chunks);
            }

            var hostAllocated = GC.GetTotalAllocatedBytes();
            var (oneFile, loadedOne, workerOne) = await PhaseAsync("end to end, 1 NDJSON file", () => EndToEndAsync(contentRoot, Path.Combine(work, "data-one"), [big], work, cancellationToken));
            await output.WriteLineAsync($"end to end, 1 NDJSON file           {Rate(records, oneFile),12:N0} records/s  ({oneFile.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {loadedOne:N0} versions loaded)");
            await WriteAllocationsAsync(output, records, GC.GetTotalAllocatedBytes() - hostAllocated, workerOne);
            await output.WriteLineAsync($"peak RSS after one-file run         {PeakRssMb(),12:F0} MB (this process; the worker has its own)");
            await output.WriteLineAsync($"GC so far: {GC.CollectionCount(0):N0} gen0, {GC.CollectionCount(1):N0} gen1, {GC.CollectionCount(2):N0} gen2, pauses {GC.GetTotalPauseDuration().TotalSeconds:F1} s, allocated {GC.GetTotalAllocatedBytes() / 1048576.0:N0} MB");
            File.Delete(big);
            Directory.Delete(Path.Combine(work, "data-one"), recursive: true);

            if (files > 0)
            {
                var small = new List<string>();
                var per = Math.Max(1, records / files);
                for (var f = 0; f * per < records; f++)
                {
                    var path = Path.Combine(work, $"small-{f:D5}.ndjson");
                    Generate(path, f * per, Math.Min(per, records - (f * per)), leis, dates);
                    small.Add(path);
                }

                cpu = Cpu();
                hostAllocated = GC.GetTotalAllocatedBytes();
                var (manyFiles, loadedMany, workerMany) = await PhaseAsync($"end to end, {small.Count} small files", () => EndToEndAsync(contentRoot, Path.Combine(work, "data-many"), small, work, cancellationToken));
                await output.WriteLineAsync($"end to end, {small.Count,5} small files       {Rate(records, manyFiles),12:N0} records/s  ({manyFiles.TotalSeconds:F2} s, {CpuRate(records, ref cpu),9:N0} records/CPU-s, {loadedMany:N0} versions loaded)");
                await WriteAllocationsAsync(output, records, GC.GetTotalAllocatedBytes() - hostAllocated, workerMany);
            }

            await output.WriteLineAsync($"peak RSS (VmHWM, this process)      {PeakRssMb(),12:F0} MB (the worker has its own)");
            await output.WriteLineAsync($"cores: {Environment.ProcessorCount}, input {bytes / 1048576.0:F1} MB");
            return 0;
        }
        finally
        {
            if (!keep)
            {
                Directory.Delete(work, recursive: true);
            }
            else
            {
                await output.WriteLineAsync($"kept {work}");
            }
        }
    }

    private static double Rate(long records, TimeSpan elapsed) => records / Math.Max(elapsed.TotalSeconds, 1e-9);

    /// <summary>
    /// CPU of this process plus its exited children (the end-to-end phases run the functions in the worker process,
    /// which has exited and been reaped when a phase ends): /proc/self/stat cutime + cstime on Linux.
    /// </summary>
    private static TimeSpan Cpu()
    {
        using var process = Process.GetCurrentProcess();
        return process.TotalProcessorTime + ReapedChildrenCpu();
    }

    private static TimeSpan ReapedChildrenCpu()
    {
        const string stat = "/proc/self/stat";
        if (!File.Exists(stat))
        {
            return TimeSpan.Zero;
        }

        // Fields after the ")" that closes the command name: state is field 3, cutime 16 and cstime 17 (clock ticks, 100/s on Linux).
        var text = File.ReadAllText(stat);
        var fields = text[(text.LastIndexOf(')') + 2)..].Split(' ');
        const double ticksPerSecond = 100;
        return long.TryParse(fields[13], CultureInfo.InvariantCulture, out var cutime) && long.TryParse(fields[14], CultureInfo.InvariantCulture, out var cstime)
            ? TimeSpan.FromSeconds((cutime + cstime) / ticksPerSecond)
            : TimeSpan.Zero;
    }

    /// <summary>Bytes this process allocated per record since <paramref name="since"/> (all threads); moves it to now.</summary>
    private static double AllocatedPerRecord(long records, ref long since)
    {
        var now = GC.GetTotalAllocatedBytes(precise: true);
        var perRecord = (now - since) / (double)Math.Max(records, 1);
        since = now;
        return perRecord;
    }

    /// <summary>Records per CPU-second since <paramref name="since"/> (the whole process: all threads); moves it to now.</summary>
    private static double CpuRate(long records, ref TimeSpan since)
    {
        var now = Cpu();
        var rate = Rate(records, now - since);
        since = now;
        return rate;
    }

    /// <summary>Deterministic records (as <see cref="Generate"/>) until the file holds at least <paramref name="bytes"/>; returns the count.</summary>
    public static int GenerateBytes(string path, long bytes, IReadOnlyList<string> leis, IReadOnlyList<DateOnly> dates)
    {
        ArgumentNullException.ThrowIfNull(leis);
        ArgumentNullException.ThrowIfNull(dates);
        using var stream = new FileStream(path, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        using var writer = new StreamWriter(stream, new UTF8Encoding(false), 1 << 20);
        var line = new StringBuilder(512);
        var n = 0;
        long written = 0;
        while (written < bytes)
        {
            Line(line.Clear(), n++, leis, dates);
            writer.Write(line);
            written += line.Length;
        }

        return n;
    }

    /// <summary>Deterministic synthetic records (seeded by position): mostly NEW, some amendments, all valid.</summary>
    public static void Generate(string path, int first, int count, IReadOnlyList<string> leis, IReadOnlyList<DateOnly> dates)
    {
        ArgumentNullException.ThrowIfNull(leis);
        ArgumentNullException.ThrowIfNull(dates);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var line = new StringBuilder(512);
        for (var n = first; n < first + count; n++)
        {
            Line(line.Clear(), n, leis, dates);
            writer.Write(line);
        }
    }

    /// <summary>One synthetic NDJSON line (ASCII), a function of <paramref name="n"/> only.</summary>
    private static void Line(StringBuilder line, int n, IReadOnlyList<string> leis, IReadOnlyList<DateOnly> dates)
    {
        var random = new Random(n);
        var date = dates[n % dates.Count];
        var amend = n % 10 == 9;
        var id = amend ? n - 1 : n;
        line
            .Append("{\"transaction_id\":\"TX-B-").Append(id.ToString("D9", CultureInfo.InvariantCulture))
            .Append("\",\"version\":").Append(amend ? 2 : 1)
            .Append(",\"status\":\"").Append(amend ? "AMEND" : "NEW")
            .Append("\",\"trade_date\":\"").Append(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            .Append("\",\"executed_at\":\"").Append(date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture))
            .Append('T').Append((random.Next(8, 17)).ToString("D2", CultureInfo.InvariantCulture)).Append(':')
            .Append(random.Next(60).ToString("D2", CultureInfo.InvariantCulture)).Append(":00.000Z\"")
            .Append(",\"account_id\":\"ACC-").Append((id % 1000).ToString("D5", CultureInfo.InvariantCulture))
            .Append("\",\"trader_id\":\"trader-").Append(random.Next(50))
            .Append("\",\"counterparty_lei\":\"").Append(leis[random.Next(leis.Count)])
            .Append("\",\"isin\":\"").Append(Isins[random.Next(Isins.Length)])
            .Append("\",\"asset_class\":\"").Append(Classes[random.Next(Classes.Length)])
            .Append("\",\"side\":\"").Append(random.Next(2) == 0 ? "BUY" : "SELL")
            .Append("\",\"quantity\":\"").Append(random.Next(1, 100_000))
            .Append("\",\"price\":\"").Append(random.Next(1, 500)).Append('.').Append(random.Next(100).ToString("D2", CultureInfo.InvariantCulture))
            .Append("\",\"currency\":\"").Append(Currencies[random.Next(Currencies.Length)])
            .Append("\",\"venue_mic\":\"").Append(Venues[random.Next(Venues.Length)])
            .Append("\"}\n");
    }

    /// <summary>The live line of one bench phase: which of how many, and the records it works through.</summary>
    public static ProgressReading PhaseReading(int phase, int phases, string name, int records) =>
        new(0, 0, string.Create(CultureInfo.InvariantCulture, $"{records:N0} records"), 0, string.Empty, string.Create(CultureInfo.InvariantCulture, $"phase {phase}/{phases}: {name} · "));

    private static async Task<TimeSpan> BaselineAsync(string path, ReferenceData reference, bool enrich, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var enricher = new Enricher(reference, new EnrichmentOptions());
        var reader = await TransactionFileReader.OpenAsync("big.ndjson", ct => Task.FromResult<Stream>(File.OpenRead(path)), cancellationToken);
        var failures = new List<ValidationFailure>();
        long count = 0;
        await foreach (var record in reader.ReadAsync(cancellationToken))
        {
            count++;
            if (enrich)
            {
                failures.Clear();
                var valid = TransactionValidator.Validate(record, reference, failures);
                if (valid is not null)
                {
                    _ = enricher.Enrich(valid, new Lineage("k", "e", record.RecordNumber, DateTimeOffset.UnixEpoch));
                }
            }
        }

        return sw.Elapsed;
    }

    /// <summary>Parse + validate + enrich + claim-check chunks, appended length-prefixed to one local file (no store, no queue).</summary>
    private static async Task<TimeSpan> ChunkBaselineAsync(string path, string chunksPath, ReferenceData reference, CancellationToken cancellationToken)
    {
        var sw = Stopwatch.StartNew();
        var options = new EnrichmentOptions();
        var enricher = new Enricher(reference, options);
        var reader = await TransactionFileReader.OpenAsync("big.ndjson", ct => Task.FromResult<Stream>(File.OpenRead(path)), cancellationToken);
        var failures = new List<ValidationFailure>();
        using var builder = new ChunkBuilder();
        await using var chunks = new FileStream(chunksPath, FileMode.Create, FileAccess.Write, FileShare.None, 1 << 20);
        var count = 0;
        async Task SealAsync()
        {
            var content = (await builder.SealAsync("prepare", "k", "e", count++, 0, cancellationToken)).Content;
            await chunks.WriteAsync(BitConverter.GetBytes(content.Length), cancellationToken);
            await chunks.WriteAsync(content, cancellationToken);
        }

        await foreach (var record in reader.ReadAsync(cancellationToken))
        {
            failures.Clear();
            var valid = TransactionValidator.Validate(record, reference, failures);
            if (valid is not null)
            {
                builder.Add(enricher.Enrich(valid, new Lineage("k", "e", record.RecordNumber, DateTimeOffset.UnixEpoch)));
                if (builder.Count >= options.ChunkRecords)
                {
                    await SealAsync();
                }
            }
        }

        if (builder.Count > 0)
        {
            await SealAsync();
        }

        return sw.Elapsed;
    }

    /// <summary>
    /// The load side without the warehouse: read chunks back, re-validate, build the rows of every table
    /// (<paramref name="decodeOnly"/>: only the Parquet decode, so the check and the rows show apart from it).
    /// </summary>
    private static async Task<TimeSpan> ReadChunksBaselineAsync(string chunksPath, CancellationToken cancellationToken, IWarehouse? warehouse = null, bool decodeOnly = false)
    {
        if (warehouse is not null)
        {
            foreach (var table in WarehouseSchema.All)
            {
                await warehouse.EnsureTableAsync(table, cancellationToken);
            }
        }

        var sw = Stopwatch.StartNew();
        await using var chunks = File.OpenRead(chunksPath);
        var prefix = new byte[4];
        var rows = new WarehouseRows();
        while (await chunks.ReadAtLeastAsync(prefix, 4, throwOnEndOfStream: false, cancellationToken) == 4)
        {
            var chunk = new byte[BitConverter.ToInt32(prefix)];
            await chunks.ReadExactlyAsync(chunk, cancellationToken);
            var records = (await ParquetChunkFormat.ReadAsync(new MemoryStream(chunk, writable: false), cancellationToken)).Records;
            if (decodeOnly)
            {
                continue;
            }

            foreach (var record in records)
            {
                if (EnrichedRecordValidator.Check(record).Count > 0)
                {
                    throw new InvalidOperationException("A generated record failed the load-side check.");
                }
            }

            // As LoadTransactions: the rows go into arrays kept from one merge to the next.
            var batches = rows.Fill([records]);
            if (warehouse is not null)
            {
                await warehouse.MergeAsync(batches, cancellationToken);
            }
        }

        return sw.Elapsed;
    }

    /// <summary>
    /// Bytes allocated per record in the end-to-end phase, both processes: this one (host: listeners, queue, object
    /// events) and the worker (the functions), with the worker's collections and peak RSS (<see cref="WorkerStats"/>).
    /// </summary>
    private static async Task WriteAllocationsAsync(TextWriter output, long records, long hostBytes, IReadOnlyDictionary<string, long>? worker)
    {
        if (worker is null)
        {
            await output.WriteLineAsync($"  allocated: host {hostBytes / 1048576.0:N0} MB; the worker wrote no figures");
            return;
        }

        var workerBytes = worker.GetValueOrDefault("allocated");
        await output.WriteLineAsync(
            $"  allocated {(hostBytes + workerBytes) / (double)Math.Max(records, 1):N0} bytes/record (host {hostBytes / 1048576.0:N0} MB + worker {workerBytes / 1048576.0:N0} MB); "
            + $"worker GC {worker.GetValueOrDefault("gen0"):N0} gen0, {worker.GetValueOrDefault("gen1"):N0} gen1, {worker.GetValueOrDefault("gen2"):N0} gen2, "
            + $"pauses {worker.GetValueOrDefault("pause_ms") / 1000.0:F1} s, CPU {worker.GetValueOrDefault("cpu_ms") / 1000.0:F1} s, peak RSS {worker.GetValueOrDefault("peak_rss") / 1048576.0:F0} MB");
    }

    /// <summary>The figures the worker appended to <paramref name="path"/> as it exited (last line), or null.</summary>
    private static Dictionary<string, long>? ReadWorkerStats(string path)
    {
        if (!File.Exists(path) || File.ReadAllLines(path).LastOrDefault(l => l.Length > 0) is not { } line)
        {
            return null;
        }

        var figures = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (var pair in line.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            if (at > 0 && long.TryParse(pair[(at + 1)..], CultureInfo.InvariantCulture, out var value))
            {
                figures[pair[..at]] = value;
            }
        }

        return figures;
    }

    private static async Task<(TimeSpan Elapsed, long Loaded, IReadOnlyDictionary<string, long>? Worker)> EndToEndAsync(string contentRoot, string dataRoot, IReadOnlyList<string> inputs, string work, CancellationToken cancellationToken)
    {
        // The worker (a child process) inherits this variable and appends its GC figures to the file as it exits.
        var statsPath = Path.Combine(work, "worker-stats-" + Path.GetFileName(dataRoot) + ".txt");
        File.Delete(statsPath);
        Environment.SetEnvironmentVariable(WorkerStats.Variable, statsPath);
        var (elapsed, loaded) = await RunEndToEndAsync(contentRoot, dataRoot, inputs, cancellationToken);
        Environment.SetEnvironmentVariable(WorkerStats.Variable, null);
        return (elapsed, loaded, ReadWorkerStats(statsPath));
    }

    private static async Task<(TimeSpan Elapsed, long Loaded)> RunEndToEndAsync(string contentRoot, string dataRoot, IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        // Through the worker app, as `run` does (the worker's CPU is its own process's).
        await using var host = await PipelineApp.BuildPipelineHostAsync(
            PipelineApp.Options(contentRoot, dataRoot, consoleLogging: false, functions: ["EnrichTransactions", "LoadTransactions"]), cancellationToken: cancellationToken);
        var store = host.Services.GetRequiredService<IObjectStore>();
        var settings = host.Services.GetRequiredService<PipelineSettings>();
        foreach (var key in ReferenceData.Keys)
        {
            await RunCommand.UploadIfChangedAsync(store, settings.ReferenceZone, key, Path.Combine(contentRoot, "local", "reference", key), cancellationToken);
        }

        await host.Services.GetRequiredService<WarehouseTables>().EnsureAsync(cancellationToken);
        var sw = Stopwatch.StartNew();
        foreach (var input in inputs)
        {
            await using var content = File.OpenRead(input);
            await store.PutAsync(settings.RawZone, PipelineSettings.RawPrefix + Path.GetFileName(input), content, null, cancellationToken);
        }

        await host.StartAsync(cancellationToken);
        await host.WaitUntilIdleAsync(TimeSpan.FromHours(2), cancellationToken);
        var elapsed = sw.Elapsed;
        await host.StopAsync(cancellationToken);
        var loaded = await host.Services.GetRequiredService<IWarehouse>().QueryAsync("SELECT COUNT(*) FROM transaction_versions", null, cancellationToken);
        return (elapsed, Convert.ToInt64(loaded.Rows[0][0], CultureInfo.InvariantCulture));
    }

    /// <summary>Peak resident set size of this process (VmHWM) in MB, or NaN where /proc is absent.</summary>
    public static double PeakRssMb()
    {
        const string status = "/proc/self/status";
        if (!File.Exists(status))
        {
            return double.NaN;
        }

        foreach (var line in File.ReadLines(status))
        {
            if (line.StartsWith("VmHWM:", StringComparison.Ordinal))
            {
                var kb = long.Parse(line["VmHWM:".Length..].Trim().Split(' ')[0], CultureInfo.InvariantCulture);
                return kb / 1024.0;
            }
        }

        return double.NaN;
    }
}
