using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Refine;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary>
/// <c>bench-refine [--records N] [--days D]</c>: merges N deterministic synthetic enriched trades (10 % amended to
/// version 2, 2 % cancelled) straight into the embedded warehouse's <c>transactions</c> table, then times
/// RefineDaily's work: the last day alone (which still reads every trade for the cumulative positions), the
/// whole range, and a rerun of the last day. Prints seconds, trades/s and peak RSS.
/// </summary>
public static class RefineBenchCommand
{
    private static readonly string[] Isins = ["US0378331005", "US5949181045", "DE0007164600", "GB0002634946", "NL0010273215", "FR0000131104", "JP3633400001", "US912828ZT04", "XS2021234567"];
    private static readonly (string Currency, decimal Fx)[] Currencies = [("USD", 1m), ("EUR", 1.0842m), ("GBP", 1.2631m), ("JPY", 0.006489m), ("CHF", 1.1287m)];

    public static async Task<int> RunAsync(int records, int days, bool keep, string? contentRootOption, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var contentRoot = PipelineApp.FindContentRoot(contentRootOption);
        var dataRoot = Path.Combine(Path.GetTempPath(), "pipeline-bench-refine-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        var builder = FunctionsHost.CreateBuilder(PipelineApp.Options(contentRoot, dataRoot, consoleLogging: false, settings: new Dictionary<string, string?> { ["Provider"] = "Embedded" }));
        PipelineApp.Configure(builder);
        try
        {
            await using var host = builder.Build();
            var warehouse = host.Services.GetRequiredService<IWarehouse>();
            var refiner = host.Services.GetRequiredService<DailyRefiner>();
            var first = new DateOnly(2026, 11, 2);
            var last = first.AddDays(days - 1);

            await warehouse.EnsureTableAsync(WarehouseSchema.Transactions, cancellationToken);
            var sw = Stopwatch.StartNew();
            const int Chunk = 20_000;
            var batch = new List<object?[]>(Chunk);
            for (var n = 0; n < records; n++)
            {
                batch.Add(WarehouseSchema.TransactionRow(Synthetic(n, first, days)));
                if (batch.Count == Chunk || n == records - 1)
                {
                    await warehouse.MergeAsync([new MergeBatch(WarehouseSchema.Transactions, batch)], cancellationToken);
                    batch = new List<object?[]>(Chunk);
                }
            }

            await output.WriteLineAsync($"Loaded {records:N0} trade versions over {days} trade dates into transactions in {sw.Elapsed.TotalSeconds:F1} s (setup, not refine).");

            await MeasureAsync("refine last day   ", last, last);
            await MeasureAsync("refine all days   ", first, last);
            await MeasureAsync("rerun last day    ", last, last);
            await ReportZoneAsync(host.Services.GetRequiredService<IObjectStore>(), host.Services.GetRequiredService<PipelineSettings>().RequireRefineZone(), output, cancellationToken);
            await output.WriteLineAsync($"Peak RSS {BenchCommand.PeakRssMb():F0} MB. Data root {(keep ? dataRoot : "(deleted; --keep keeps it)")}.");
            return 0;

            async Task MeasureAsync(string label, DateOnly from, DateOnly to)
            {
                var timer = Stopwatch.StartNew();
                var report = await refiner.RefineAsync(from, to, cancellationToken);
                var seconds = timer.Elapsed.TotalSeconds;
                await output.WriteLineAsync(
                    $"{label} {from:yyyy-MM-dd}..{to:yyyy-MM-dd}: {seconds,6:F2} s, {report.TradesRead:N0} live trades read ({report.TradesRead / Math.Max(seconds, 1e-9):N0}/s), "
                    + $"{report.Days.Sum(d => d.Trades):N0} trades on the refined days, {report.Days.Sum(d => d.CounterpartyRows):N0} counterparty rows, {report.Days.Sum(d => d.PositionRows):N0} position rows");
            }
        }
        finally
        {
            if (!keep && Directory.Exists(dataRoot))
            {
                Directory.Delete(dataRoot, recursive: true);
            }
        }
    }

    /// <summary>
    /// Size of the refine zone's Parquet files, beside the same rows as NDJSON (the layout refine wrote before Parquet:
    /// one object per line, dates and decimals as strings) and that NDJSON gzip-compressed, for comparison.
    /// </summary>
    private static async Task ReportZoneAsync(IObjectStore store, string zone, TextWriter output, CancellationToken cancellationToken)
    {
        long objects = 0, rows = 0, parquet = 0, ndjson = 0, gzip = 0;
        await foreach (var info in store.ListAsync(zone, string.Empty, cancellationToken))
        {
            objects++;
            parquet += info.Size;
            using var content = new MemoryStream();
            await using (var stream = await store.OpenReadAsync(zone, info.Key, cancellationToken))
            {
                await stream.CopyToAsync(content, cancellationToken);
            }

            content.Position = 0;
            var lines = await AsNdjsonAsync(content, cancellationToken);
            rows += lines.Rows;
            ndjson += lines.Bytes.Length;
            using var compressed = new MemoryStream();
            await using (var zip = new System.IO.Compression.GZipStream(compressed, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
            {
                await zip.WriteAsync(lines.Bytes, cancellationToken);
            }

            gzip += compressed.Length;
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"refine zone: {objects:N0} objects, {rows:N0} rows; Parquet (zstd) {parquet / 1024.0:N1} KiB, as NDJSON {ndjson / 1024.0:N1} KiB, NDJSON + gzip {gzip / 1024.0:N1} KiB"));
    }

    private static async Task<(long Rows, byte[] Bytes)> AsNdjsonAsync(Stream parquet, CancellationToken cancellationToken)
    {
        await using var reader = await Parquet.ParquetReader.CreateAsync(parquet, new Parquet.ParquetOptions { UseDateOnlyTypeForDates = true }, cancellationToken: cancellationToken);
        using var buffer = new MemoryStream();
        long total = 0;
        for (var g = 0; g < reader.RowGroupCount; g++)
        {
            using var group = reader.OpenRowGroupReader(g);
            var n = (int)group.RowCount;
            var columns = new List<(string Name, Func<int, string?> Text, Func<int, long>? Number)>();
            foreach (var field in reader.Schema.DataFields)
            {
                if (field.ClrType == typeof(string) || field.ClrType == typeof(ReadOnlyMemory<char>))
                {
                    var v = new string?[n];
                    await group.ReadAsync(field, v, cancellationToken: cancellationToken);
                    columns.Add((field.Name, i => v[i], null));
                }
                else if (field.ClrType == typeof(DateOnly))
                {
                    var v = new DateOnly[n];
                    await group.ReadAsync<DateOnly>(field, v, cancellationToken: cancellationToken);
                    columns.Add((field.Name, i => v[i].ToString("yyyy-MM-dd", CultureInfo.InvariantCulture), null));
                }
                else if (field.ClrType == typeof(decimal))
                {
                    var v = new decimal[n];
                    await group.ReadAsync<decimal>(field, v, cancellationToken: cancellationToken);
                    columns.Add((field.Name, i => v[i].ToString(CultureInfo.InvariantCulture), null));
                }
                else
                {
                    var v = new long[n];
                    await group.ReadAsync<long>(field, v, cancellationToken: cancellationToken);
                    columns.Add((field.Name, _ => null, i => v[i]));
                }
            }

            await using var writer = new System.Text.Json.Utf8JsonWriter(buffer);
            for (var i = 0; i < n; i++)
            {
                writer.WriteStartObject();
                foreach (var (name, text, number) in columns)
                {
                    if (number is null)
                    {
                        writer.WriteString(name, text(i));
                    }
                    else
                    {
                        writer.WriteNumber(name, number(i));
                    }
                }

                writer.WriteEndObject();
                writer.Flush();
                buffer.WriteByte((byte)'\n');
                writer.Reset();
            }

            total += n;
        }

        return (total, buffer.ToArray());
    }

    /// <summary>The n-th synthetic trade version (seeded by n): every 10th amends the previous id, every 50th cancels it.</summary>
    private static EnrichedTransaction Synthetic(int n, DateOnly first, int days)
    {
        var random = new Random(n);
        var amend = n % 10 == 9;
        var cancel = n % 50 == 49;
        var id = amend || cancel ? n - 1 : n;
        var date = first.AddDays(id % days);
        var (currency, fx) = Currencies[random.Next(Currencies.Length)];
        var quantity = random.Next(1, 100_000);
        var price = random.Next(1, 500) + (random.Next(100) / 100m);
        var notional = quantity * price;
        var status = cancel ? "CANCEL" : amend ? "AMEND" : "NEW";
        return new EnrichedTransaction
        {
            TransactionId = "TX-R-" + id.ToString("D9", CultureInfo.InvariantCulture),
            Version = amend || cancel ? 2 : 1,
            Status = status,
            TradeDate = date,
            ExecutedAt = new DateTimeOffset(date.ToDateTime(new TimeOnly(9 + random.Next(8), random.Next(60))), TimeSpan.Zero),
            AccountId = "ACC-" + (id % 1000).ToString("D5", CultureInfo.InvariantCulture),
            TraderId = "trader-" + random.Next(50).ToString(CultureInfo.InvariantCulture),
            CounterpartyLei = "LEI-" + random.Next(40).ToString("D16", CultureInfo.InvariantCulture),
            CounterpartyName = "Counterparty " + (id % 40).ToString(CultureInfo.InvariantCulture),
            CounterpartyCountry = "DE",
            Isin = Isins[random.Next(Isins.Length)],
            AssetClass = "EQUITY",
            Side = random.Next(2) == 0 ? "BUY" : "SELL",
            Quantity = quantity,
            Price = price,
            Currency = currency,
            VenueMic = "XETR",
            Notional = notional,
            FxRateUsd = fx,
            NotionalUsd = Math.Round(notional * fx, 2, MidpointRounding.ToEven),
            SettlementDate = date.AddDays(1),
            Cancelled = cancel,
            FlagLargeNotional = false,
            FlagWatchlistCountry = false,
            FlagUnknownCounterparty = false,
            RiskFlags = string.Empty,
            Reportable = false,
            ReportableReason = "none",
            ContentHash = $"{id}-{(amend || cancel ? 2 : 1)}",
            DedupId = $"{id}-{(amend || cancel ? 2 : 1)}",
            GroupId = "g",
            SourceKey = "bench",
            SourceEtag = "bench",
            RecordNumber = n,
            IngestedAt = new DateTimeOffset(2026, 11, 22, 0, 0, 0, TimeSpan.Zero),
            PipelineVersion = "bench",
        };
    }
}
