using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.Providers.Postgres;
using Pipeline.TestKit.Emulators;

// Measures SQS messages/s (batches of 10, against moto) and PostgreSQL merge rows/s (100,000-row batch),
// each beside a baseline from the same run. Usage: dotnet run -c Release --project tests/Pipeline.Providers.Aws.Benchmarks [messages] [rows]
// The whole pipeline against the emulators (both shapes, naive baseline, requests, cost inputs):
//   dotnet run -c Release --project tests/Pipeline.Providers.Aws.Benchmarks -- pipeline [--objects N] [--records R] [--naive-records M] [--runs K]
if (args.Length > 0 && args[0] == "pipeline")
{
    return await Pipeline.Providers.Aws.Benchmarks.PipelineBench.RunAsync(args[1..]);
}

var messages = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 500;
var rows = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 100_000;

await using var moto = new MotoFixture();
await moto.InitializeAsync();
await using var postgres = new PostgresFixture();
await postgres.InitializeAsync();
if ((moto.UnavailableReason ?? postgres.UnavailableReason) is { } reason)
{
    Console.Error.WriteLine(reason);
    return 1;
}

await BenchSqsAsync(moto, messages);
await BenchPostgresAsync(postgres, rows);
Console.WriteLine($"peak working set: {Process.GetCurrentProcess().PeakWorkingSet64 / 1024 / 1024} MiB");
return 0;

static async Task BenchSqsAsync(MotoFixture moto, int count)
{
    var options = new AwsOptions { Region = MotoFixture.Region, ServiceUrl = moto.Endpoint.ToString(), AccessKeyId = MotoFixture.AccessKeyId, SecretAccessKey = MotoFixture.SecretAccessKey };
    using var client = SqsClientFactory.Create(options, new AwsCredentialSource(options));
    var queue = new SqsMessageQueue(client, options);
    await queue.EnsureQueueAsync(new QueueDefinition("bench"));
    await queue.EnsureQueueAsync(new QueueDefinition("bench.fifo"));

    // Baseline: one signed round trip with no payload (GetQueueAttributes).
    var sw = Stopwatch.StartNew();
    for (var i = 0; i < 200; i++)
    {
        await queue.GetDepthAsync("bench");
    }

    Console.WriteLine($"sqs baseline: {200 / sw.Elapsed.TotalSeconds:F0} signed round trips/s (GetQueueAttributes)");

    var cpuTotal = TimeSpan.Zero;
    var wallTotal = TimeSpan.Zero;
    foreach (var name in new[] { "bench", "bench.fifo" })
    {
        var cpu0 = Process.GetCurrentProcess().TotalProcessorTime;
        var wall0 = Stopwatch.GetTimestamp();
        var fifo = name.EndsWith(".fifo", StringComparison.Ordinal);
        var body = new string('x', 512);
        sw.Restart();
        for (var i = 0; i < count; i += 10)
        {
            var batch = Enumerable.Range(i, 10).Select(n => new OutgoingMessage(body, fifo ? $"g{n % 4}" : null, fifo ? $"d{n}" : null)).ToList();
            var result = await queue.SendBatchAsync(name, batch);
            if (!result.AllSucceeded)
            {
                throw new InvalidOperationException(string.Join(", ", result.Failed));
            }
        }

        var send = sw.Elapsed;
        sw.Restart();
        var received = 0;
        while (received < count)
        {
            var got = await queue.ReceiveAsync(name, new ReceiveOptions { MaxMessages = 10, VisibilityTimeout = TimeSpan.FromMinutes(5) });
            if (got.Count == 0)
            {
                break;
            }

            await queue.DeleteBatchAsync(name, [.. got.Select(m => m.ReceiptHandle)]);
            received += got.Count;
        }

        Console.WriteLine($"sqs {name}: send {count / send.TotalSeconds:F0} msg/s, receive+delete {received / sw.Elapsed.TotalSeconds:F0} msg/s ({count} x 512 B in batches of 10, sequential)");
        cpuTotal += Process.GetCurrentProcess().TotalProcessorTime - cpu0;
        wallTotal += Stopwatch.GetElapsedTime(wall0);
    }

    // CPU of this process only (moto runs in its own): what the client costs per message sent, received and deleted.
    Console.WriteLine($"sqs client cpu: {cpuTotal.TotalMilliseconds / (2 * count):F2} ms/msg ({cpuTotal.TotalMilliseconds:F0} ms over {wallTotal.TotalSeconds:F1} s wall, {2 * count} msgs)");
}

static async Task BenchPostgresAsync(PostgresFixture postgres, int count)
{
    var table = new TableDefinition(
        "transactions",
        [
            new("transaction_id", ColumnType.Text),
            new("version", ColumnType.Integer),
            new("amount", ColumnType.Decimal),
            new("currency", ColumnType.Text),
            new("trade_date", ColumnType.Date),
            new("executed_at", ColumnType.Timestamp),
            new("reportable", ColumnType.Boolean),
        ],
        ["transaction_id"],
        "version");
    var data = Enumerable.Range(0, count).Select(i => new object?[] { $"TX{i:D9}", 1L, i * 1.25m, "EUR", new DateOnly(2026, 11, 21), DateTimeOffset.UnixEpoch.AddSeconds(i), i % 2 == 0 }).ToList();
    await using var warehouse = new PostgresWarehouse(new PostgresWarehouseOptions { ConnectionString = postgres.ConnectionString, Schema = "bench" });
    await warehouse.EnsureTableAsync(table);

    // Baseline: plain binary COPY of the same rows into an unkeyed table, no merge.
    await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
    {
        await connection.OpenAsync();
        await using (var create = new NpgsqlCommand("CREATE TABLE bench.copy_baseline (transaction_id text, version bigint, amount numeric(38,10), currency text, trade_date date, executed_at timestamptz, reportable boolean)", connection))
        {
            await create.ExecuteNonQueryAsync();
        }

        var sw0 = Stopwatch.StartNew();
        await using (var writer = await connection.BeginBinaryImportAsync("COPY bench.copy_baseline FROM STDIN (FORMAT BINARY)"))
        {
            foreach (var r in data)
            {
                await writer.WriteRowAsync(default, r[0], r[1], r[2], r[3], r[4], ((DateTimeOffset)r[5]!).UtcDateTime, r[6]);
            }

            await writer.CompleteAsync();
        }

        Console.WriteLine($"postgres baseline: plain binary COPY {count / sw0.Elapsed.TotalSeconds:F0} rows/s");
    }

    var sw = Stopwatch.StartNew();
    var inserted = await warehouse.MergeAsync([new MergeBatch(table, data)]);
    Console.WriteLine($"postgres merge (all new): {count / sw.Elapsed.TotalSeconds:F0} rows/s, {inserted.Tables["transactions"]}");
    sw.Restart();
    var again = await warehouse.MergeAsync([new MergeBatch(table, data)]);
    Console.WriteLine($"postgres merge (all existing, same version): {count / sw.Elapsed.TotalSeconds:F0} rows/s, {again.Tables["transactions"]}");
}
