using System.Diagnostics;
using System.Globalization;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Harness;

/// <summary>
/// Measures the embedded providers: object streaming memory, queue send / receive+ack rates in batches of 10,
/// warehouse merge rows/s. Run: dotnet run -c Release --project tests/Pipeline.Providers.Embedded.Harness -- bench
/// </summary>
internal static class ProviderBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var dataRoot = args.Length > 0 ? args[0] : Path.Combine(Path.GetTempPath(), "pipeline-bench-" + Guid.NewGuid().ToString("N"));
        var messages = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 20_000;
        var rows = args.Length > 2 ? int.Parse(args[2], CultureInfo.InvariantCulture) : 200_000;
        var objectMiB = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : 100;
        var options = new EmbeddedOptions { DataRoot = dataRoot };
        Console.WriteLine($"data root: {Path.GetFullPath(dataRoot)}  (synchronous={options.Synchronous}, {Environment.ProcessorCount} cores, {RuntimeInfo()}, load average {LoadAverage()})");
        try
        {
            await ObjectAsync(options, objectMiB * 1024L * 1024L);
            await QueueAsync(options, messages, fifo: false);
            await QueueAsync(options, messages, fifo: true);
            await WarehouseAsync(options, rows);
        }
        finally
        {
            Directory.Delete(dataRoot, recursive: true);
        }

        return 0;
    }

    private static async Task ObjectAsync(EmbeddedOptions options, long size)
    {
        using var store = new FileSystemObjectStore(options);
        var rssBefore = PeakRss();
        var managedBase = GC.GetTotalMemory(true);
        long managedPeak = managedBase;
        using var stop = new CancellationTokenSource();
        var sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                managedPeak = Math.Max(managedPeak, GC.GetTotalMemory(false));
                await Task.Delay(5).ConfigureAwait(false);
            }
        });
        var allocatedBefore = GC.GetTotalAllocatedBytes(precise: true);
        var sw = Stopwatch.StartNew();
        await using (var source = new PatternStream(size))
        {
            await store.PutAsync("bench", "big/object.bin", source);
        }

        var putSeconds = sw.Elapsed.TotalSeconds;
        sw.Restart();
        long read = 0;
        await using (var stream = await store.OpenReadAsync("bench", "big/object.bin"))
        {
            var buffer = new byte[128 * 1024];
            int n;
            while ((n = await stream.ReadAsync(buffer)) > 0)
            {
                read += n;
            }
        }

        var getSeconds = sw.Elapsed.TotalSeconds;
        var allocated = GC.GetTotalAllocatedBytes(precise: true) - allocatedBefore;
        await stop.CancelAsync();
        await sampler;
        Console.WriteLine($"object  {size / 1048576} MiB: put {size / 1048576.0 / putSeconds:F0} MiB/s, get {read / 1048576.0 / getSeconds:F0} MiB/s; "
            + $"managed heap peak +{(managedPeak - managedBase) / 1048576.0:F1} MiB, allocated {allocated / 1048576.0:F1} MiB, "
            + $"peak RSS {rssBefore / 1048576.0:F0} -> {PeakRss() / 1048576.0:F0} MiB");
    }

    private static async Task QueueAsync(EmbeddedOptions options, int count, bool fifo)
    {
        using var queue = new SqliteMessageQueue(options);
        var name = fifo ? "bench.fifo" : "bench";
        await queue.EnsureQueueAsync(new QueueDefinition(name));
        var body = new string('x', 200);
        var sw = Stopwatch.StartNew();
        var cpu0 = Cpu();
        for (var i = 0; i < count; i += 10)
        {
            var batch = Enumerable.Range(i, 10).Select(k => fifo ? new OutgoingMessage(body, $"g{k % 16}", $"d{k}") : new OutgoingMessage(body)).ToList();
            var result = await queue.SendBatchAsync(name, batch);
            if (!result.AllSucceeded)
            {
                throw new InvalidOperationException(result.Failed[0].Message);
            }
        }

        var sendRate = count / sw.Elapsed.TotalSeconds;
        var sendCpu = count / (Cpu() - cpu0).TotalSeconds;
        sw.Restart();
        var cpu1 = Cpu();
        var received = 0;
        while (received < count)
        {
            var batch = await queue.ReceiveAsync(name, new ReceiveOptions { MaxMessages = 10, VisibilityTimeout = TimeSpan.FromSeconds(60) });
            if (batch.Count == 0)
            {
                throw new InvalidOperationException($"Queue ran dry after {received} of {count} messages.");
            }

            var failed = await queue.DeleteBatchAsync(name, batch.Select(m => m.ReceiptHandle).ToList());
            if (failed.Count > 0)
            {
                throw new InvalidOperationException("Delete failed.");
            }

            received += batch.Count;
        }

        var receiveRate = count / sw.Elapsed.TotalSeconds;
        var receiveCpu = count / (Cpu() - cpu1).TotalSeconds;
        Console.WriteLine($"queue   {(fifo ? "FIFO (16 groups)" : "standard")}, {count} msgs of 200 B, batches of 10: send {sendRate:N0} msg/s ({sendCpu:N0}/CPU-s), receive+ack {receiveRate:N0} msg/s ({receiveCpu:N0}/CPU-s)");
    }

    private static async Task WarehouseAsync(EmbeddedOptions options, int count)
    {
        using var warehouse = new SqliteWarehouse(options);
        var table = new TableDefinition("bench_transactions",
        [
            new ColumnDefinition("transaction_id", ColumnType.Text),
            new ColumnDefinition("version", ColumnType.Integer),
            new ColumnDefinition("account", ColumnType.Text),
            new ColumnDefinition("amount", ColumnType.Decimal),
            new ColumnDefinition("currency", ColumnType.Text),
            new ColumnDefinition("trade_date", ColumnType.Date),
            new ColumnDefinition("booked_at", ColumnType.Timestamp),
            new ColumnDefinition("reportable", ColumnType.Boolean),
        ], ["transaction_id"], "version");
        await warehouse.EnsureTableAsync(table);
        const int perMerge = 10_000;
        var now = DateTimeOffset.UtcNow;
        List<object?[]> Rows(int start, long version) => Enumerable.Range(start, Math.Min(perMerge, count - start))
            .Select(i => new object?[] { $"T{i:D9}", version, $"ACC{i % 997:D4}", i * 0.01m + 100m, "EUR", new DateOnly(2024, 1, 1).AddDays(i % 365), now.AddSeconds(i), i % 3 == 0 })
            .ToList();

        foreach (var (label, version) in ((string, long)[])[("insert", 1L), ("update (higher version)", 2L), ("skip (older version)", 1L)])
        {
            // Rows are built before the clock starts: only the merge is measured.
            var merges = Enumerable.Range(0, (count + perMerge - 1) / perMerge).Select(m => Rows(m * perMerge, version)).ToList();
            var (wall, cpu) = (Stopwatch.StartNew(), Cpu());
            long written = 0;
            foreach (var rows in merges)
            {
                var result = await warehouse.MergeAsync([new MergeBatch(table, rows)]);
                written += result.Tables[table.Name].Written;
            }

            Console.WriteLine($"merge   {label}: {count:N0} rows in merges of {perMerge:N0}: {count / wall.Elapsed.TotalSeconds:N0} rows/s wall, {count / (Cpu() - cpu).TotalSeconds:N0} rows per CPU-second ({written:N0} written)");
        }
    }

    private static TimeSpan Cpu()
    {
        using var self = Process.GetCurrentProcess();
        return self.TotalProcessorTime;
    }

    private static long PeakRss()
    {
        using var self = Process.GetCurrentProcess();
        return self.PeakWorkingSet64;
    }

    private static string LoadAverage() => File.Exists("/proc/loadavg") ? File.ReadAllText("/proc/loadavg").Split(' ')[0] : "n/a";

    private static string RuntimeInfo() => System.Runtime.InteropServices.RuntimeInformation.FrameworkDescription;

    /// <summary>Endless-looking content produced on the fly; only one small pattern buffer exists.</summary>
    private sealed class PatternStream(long length) : Stream
    {
        private readonly byte[] pattern = Enumerable.Range(0, 4099).Select(i => (byte)(i * 31 + 7)).ToArray();
        private long position;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => length;

        public override long Position { get => position; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = (int)Math.Min(buffer.Length, length - position);
            for (var done = 0; done < n;)
            {
                var at = (int)((position + done) % pattern.Length);
                var chunk = Math.Min(n - done, pattern.Length - at);
                pattern.AsSpan(at, chunk).CopyTo(buffer[done..]);
                done += chunk;
            }

            position += n;
            return n;
        }

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    }
}
