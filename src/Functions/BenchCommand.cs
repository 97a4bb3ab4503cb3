using System.Diagnostics;
using System.Globalization;
using System.Text;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Functions.Transactions.Reading;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions;

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

    public static async Task<int> RunAsync(int records, int files, bool keep, string? contentRootOption, TextWriter output, CancellationToken cancellationToken)
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
            Generate(big, 0, records, leis, dates);
            var bytes = new FileInfo(big).Length;
            await output.WriteLineAsync($"Generated {records:N0} records, {bytes / 1048576.0:F1} MB NDJSON in {sw.Elapsed.TotalSeconds:F1} s (peak RSS so far {PeakRssMb():F0} MB)");

            var parse = await BaselineAsync(big, reference, enrich: false, cancellationToken);
            await output.WriteLineAsync($"baseline parse only                 {Rate(records, parse),12:N0} records/s  ({parse.TotalSeconds:F2} s)");
            var enrichOnly = await BaselineAsync(big, reference, enrich: true, cancellationToken);
            await output.WriteLineAsync($"baseline parse+validate+enrich      {Rate(records, enrichOnly),12:N0} records/s  ({enrichOnly.TotalSeconds:F2} s)");

            var (oneFile, loadedOne) = await EndToEndAsync(contentRoot, Path.Combine(work, "data-one"), [big], cancellationToken);
            await output.WriteLineAsync($"end to end, 1 NDJSON file           {Rate(records, oneFile),12:N0} records/s  ({oneFile.TotalSeconds:F2} s, {loadedOne:N0} versions loaded)");
            await output.WriteLineAsync($"peak RSS after one-file run         {PeakRssMb(),12:F0} MB");
            File.Delete(big);

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

                var (manyFiles, loadedMany) = await EndToEndAsync(contentRoot, Path.Combine(work, "data-many"), small, cancellationToken);
                await output.WriteLineAsync($"end to end, {small.Count,5} small files       {Rate(records, manyFiles),12:N0} records/s  ({manyFiles.TotalSeconds:F2} s, {loadedMany:N0} versions loaded)");
            }

            await output.WriteLineAsync($"peak RSS (VmHWM, whole process)     {PeakRssMb(),12:F0} MB");
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

    /// <summary>Deterministic synthetic records (seeded by position): mostly NEW, some amendments, all valid.</summary>
    public static void Generate(string path, int first, int count, IReadOnlyList<string> leis, IReadOnlyList<DateOnly> dates)
    {
        ArgumentNullException.ThrowIfNull(leis);
        ArgumentNullException.ThrowIfNull(dates);
        using var writer = new StreamWriter(path, false, new UTF8Encoding(false), 1 << 20);
        var line = new StringBuilder(512);
        for (var n = first; n < first + count; n++)
        {
            var random = new Random(n);
            var date = dates[n % dates.Count];
            var amend = n % 10 == 9;
            var id = amend ? n - 1 : n;
            line.Clear()
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
            writer.Write(line);
        }
    }

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

    private static async Task<(TimeSpan Elapsed, long Loaded)> EndToEndAsync(string contentRoot, string dataRoot, IReadOnlyList<string> inputs, CancellationToken cancellationToken)
    {
        var builder = FunctionsHost.CreateBuilder(PipelineApp.Options(contentRoot, dataRoot, consoleLogging: false));
        PipelineApp.Configure(builder);
        await using var host = builder.Build();
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
