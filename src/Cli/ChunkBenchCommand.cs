using System.Diagnostics;
using System.Globalization;
using Pipeline.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Functions.Transactions.Reading;

namespace Pipeline.Cli;

/// <summary>
/// <c>bench-chunks [--records N] [--chunk-records C]</c>: the claim-check chunk formats side by side on the same enriched records — Parquet
/// (zstd, what EnrichTransactions writes) and NDJSON + gzip (v2, still read). N deterministic synthetic trades (the
/// <c>bench</c> generator) are parsed, validated and enriched once, untimed; then, per chunk of
/// <c>Enrichment:ChunkRecords</c> (1,000) records, each format's encode and decode (with its checks) is timed alone.
/// Prints seconds (wall and process CPU: on a shared machine the CPU figure is the stable one), records/s, bytes and
/// bytes per record, bytes allocated per record (write; read including the records it returns), and peak RSS. <c>--chunk-records</c> sets the chunk size (Parquet's cost is largely per file and column).
/// </summary>
public static class ChunkBenchCommand
{
    public static async Task<int> RunAsync(int records, int chunkRecords, string? contentRootOption, TextWriter output, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        var contentRoot = PipelineApp.FindContentRoot(contentRootOption);
        var reference = ReferenceData.Parse(ReferenceData.Keys.ToDictionary(k => k, k => File.ReadAllBytes(Path.Combine(contentRoot, "local", "reference", k))));
        var input = Path.Combine(Path.GetTempPath(), "pipeline-bench-chunks-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture) + ".ndjson");
        BenchCommand.Generate(input, 0, records, reference.Leis.Keys.Order(StringComparer.Ordinal).ToArray(), reference.UsdPerUnit.Keys.Order().ToArray());
        try
        {
            var options = new EnrichmentOptions();
            if (chunkRecords > 0)
            {
                options.ChunkRecords = chunkRecords;
            }

            var enricher = new Enricher(reference, options);
            var reader = await TransactionFileReader.OpenAsync("big.ndjson", _ => Task.FromResult<Stream>(File.OpenRead(input)), cancellationToken);
            var failures = new List<ValidationFailure>();
            var parquet = new Format("Parquet (zstd)");
            var ndjson = new Format("NDJSON + gzip");
            var batch = new List<EnrichedTransaction>(options.ChunkRecords);
            var ingestedAt = new DateTimeOffset(2026, 11, 20, 9, 15, 3, TimeSpan.Zero).AddTicks(1234567);
            long valid = 0;

            async Task EncodeAsync()
            {
                var cpu = Environment.CpuUsage.TotalTime;
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                parquet.Clock.Start();
                parquet.Chunks.Add(await ParquetChunkFormat.WriteAsync(batch, new Dictionary<string, string>(), cancellationToken));
                parquet.Clock.Stop();
                parquet.WriteCpu += Environment.CpuUsage.TotalTime - cpu;
                parquet.WriteAllocated += GC.GetTotalAllocatedBytes(precise: true) - allocated;
                cpu = Environment.CpuUsage.TotalTime;
                allocated = GC.GetTotalAllocatedBytes(precise: true);
                ndjson.Clock.Start();
                ndjson.Chunks.Add(NdjsonChunkFormat.Write(batch));
                ndjson.Clock.Stop();
                ndjson.WriteCpu += Environment.CpuUsage.TotalTime - cpu;
                ndjson.WriteAllocated += GC.GetTotalAllocatedBytes(precise: true) - allocated;
                batch.Clear();
            }

            await foreach (var record in reader.ReadAsync(cancellationToken))
            {
                failures.Clear();
                if (TransactionValidator.Validate(record, reference, failures) is { } ok)
                {
                    batch.Add(enricher.Enrich(ok, new Lineage("transactions/big.ndjson", "\"etag\"", record.RecordNumber, ingestedAt)));
                    valid++;
                    if (batch.Count == options.ChunkRecords)
                    {
                        await EncodeAsync();
                    }
                }
            }

            if (batch.Count > 0)
            {
                await EncodeAsync();
            }

            // Decode: every chunk of each format, with the checks the loader makes on it (Parquet: framing, columns, content checksum).
            foreach (var format in new[] { parquet, ndjson })
            {
                var read = 0L;
                var cpu = Environment.CpuUsage.TotalTime;
                var allocated = GC.GetTotalAllocatedBytes(precise: true);
                var clock = Stopwatch.StartNew();
                foreach (var chunk in format.Chunks)
                {
                    using var content = new MemoryStream(chunk, writable: false);
                    read += format == parquet
                        ? (await ParquetChunkFormat.ReadAsync(content, cancellationToken)).Records.Count
                        : (await NdjsonChunkFormat.ReadAsync(content, options.ChunkRecords, cancellationToken)).Count;
                }

                format.ReadSeconds = clock.Elapsed.TotalSeconds;
                format.ReadCpu = Environment.CpuUsage.TotalTime - cpu;
                format.ReadAllocated = GC.GetTotalAllocatedBytes(precise: true) - allocated;
                if (read != valid)
                {
                    throw new InvalidOperationException($"{format.Name}: read {read} records, wrote {valid}.");
                }
            }

            await output.WriteLineAsync($"{valid:N0} enriched records in {parquet.Chunks.Count:N0} chunks of {options.ChunkRecords:N0} (encode and decode timed alone; enrichment untimed)");
            await output.WriteLineAsync($"{"format",-16} {"write s",8} {"records/s",11} {"CPU s",7} {"read s",8} {"records/s",11} {"CPU s",7} {"MiB",8} {"bytes/record",13} {"write B/rec",12} {"read B/rec",11}");
            foreach (var f in new[] { parquet, ndjson })
            {
                var bytes = f.Chunks.Sum(c => (long)c.Length);
                var write = f.Clock.Elapsed.TotalSeconds;
                await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
                    $"{f.Name,-16} {write,8:F2} {valid / Math.Max(write, 1e-9),11:N0} {f.WriteCpu.TotalSeconds,7:F2} {f.ReadSeconds,8:F2} {valid / Math.Max(f.ReadSeconds, 1e-9),11:N0} {f.ReadCpu.TotalSeconds,7:F2} {bytes / 1048576.0,8:F1} {bytes / (double)Math.Max(valid, 1),13:F1} {f.WriteAllocated / (double)Math.Max(valid, 1),12:N0} {f.ReadAllocated / (double)Math.Max(valid, 1),11:N0}"));
            }

            await output.WriteLineAsync($"peak RSS (VmHWM, whole process) {BenchCommand.PeakRssMb():F0} MB; cores: {Environment.ProcessorCount}");
            return 0;
        }
        finally
        {
            File.Delete(input);
        }
    }

    private sealed class Format(string name)
    {
        public string Name { get; } = name;

        public Stopwatch Clock { get; } = new();

        public List<byte[]> Chunks { get; } = [];

        public double ReadSeconds { get; set; }

        public TimeSpan WriteCpu { get; set; }

        public TimeSpan ReadCpu { get; set; }

        /// <summary>Bytes allocated while writing (process-wide; nothing else runs meanwhile).</summary>
        public long WriteAllocated { get; set; }

        /// <summary>Bytes allocated while reading, including the records returned.</summary>
        public long ReadAllocated { get; set; }
    }
}
