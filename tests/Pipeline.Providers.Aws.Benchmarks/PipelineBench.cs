using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.S3;
using Amazon.S3.Model;
using Npgsql;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.S3;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Benchmarks;

/// <summary>
/// <c>pipeline [--objects N] [--records R] [--naive-records M] [--runs K]</c>: the pipeline app's <c>run</c> in
/// emulated-AWS mode against a moto and a PostgreSQL this command starts itself, in two shapes — N single-trade
/// objects, and one NDJSON file of R trades — beside a naive per-record pipeline measured on the same emulators in the
/// same run (one GET per object, one SQS send per record, one receive+delete and one INSERT+commit per message).
/// Every S3/SQS request is counted in moto's request log (all processes). Prints records/s, requests per object and
/// per 1,000 records by service, and peak RSS (largest process of the run, from /usr/bin/time); medians of K runs.
/// </summary>
internal static class PipelineBench
{
    private static readonly string[] Zones = ["raw", "prepare", "refine", "quarantine", "reference"];
    private static readonly string[] Isins = ["US0378331005", "US5949181045", "DE0007164600", "GB0002634946", "NL0010273215", "FR0000131104", "JP3633400001", "US912828ZT04"];
    private static readonly string[] Currencies = ["USD", "EUR", "GBP", "JPY", "CHF"];
    private static readonly string[] Venues = ["XNAS", "XNYS", "XETR", "XPAR", "XAMS", "XLON", "XTKS", "XMIL"];
    private static readonly string[] Classes = ["EQUITY", "EQUITY", "BOND", "FX", "DERIVATIVE"];

    /// <param name="CpuSeconds">The design's own processes (the run's host and worker; the naive design's threads in this process).</param>
    /// <param name="MotoCpuSeconds">moto's CPU time during the measurement.</param>
    private sealed record Measure(string Shape, string Design, int Objects, long Records, double Seconds, RequestCounts Counts, long PeakRssKb, double CpuSeconds, double MotoCpuSeconds);

    public static async Task<int> RunAsync(string[] args)
    {
        var objects = Option(args, "--objects", 400);
        var records = Option(args, "--records", 20_000);
        var naiveRecords = Option(args, "--naive-records", 1_000);
        var runs = Option(args, "--runs", 3);
        var root = RepositoryRoot();
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var app = Path.Combine(root, "src", "Cli", "bin", configuration, "net10.0", "Pipeline.Cli.dll");
        if (!File.Exists(app))
        {
            await Console.Error.WriteLineAsync($"The pipeline app is not built: {app} (dotnet build -c {configuration} src/Cli).");
            return 2;
        }

        await using var moto = new RecordingMotoFixture();
        await moto.InitializeAsync();
        await using var postgres = new PostgresFixture();
        await postgres.InitializeAsync();
        if ((moto.UnavailableReason ?? postgres.UnavailableReason) is { } reason)
        {
            await Console.Error.WriteLineAsync(reason);
            return 1;
        }

        var work = Path.Combine(Path.GetTempPath(), "pipeline-aws-bench-" + Environment.ProcessId.ToString(CultureInfo.InvariantCulture));
        try
        {
            var (leis, dates) = Reference(root);
            var small = Path.Combine(work, "small");
            Directory.CreateDirectory(small);
            for (var i = 0; i < objects; i++)
            {
                File.WriteAllText(Path.Combine(small, $"trade-{i:D6}.ndjson"), Line(i, leis, dates));
            }

            var big = Path.Combine(work, "big");
            Directory.CreateDirectory(big);
            await using (var writer = new StreamWriter(Path.Combine(big, "trades.ndjson"), false, new UTF8Encoding(false), 1 << 20))
            {
                for (var i = 0; i < records; i++)
                {
                    await writer.WriteAsync(Line(1_000_000 + i, leis, dates));
                }
            }

            var naiveBig = Path.Combine(work, "naive-big");
            Directory.CreateDirectory(naiveBig);
            await File.WriteAllLinesAsync(Path.Combine(naiveBig, "trades.ndjson"), File.ReadLines(Path.Combine(big, "trades.ndjson")).Take(naiveRecords));
            var empty = Path.Combine(work, "empty");
            Directory.CreateDirectory(empty);

            Console.WriteLine($"moto {moto.Endpoint}, PostgreSQL on loopback; {objects} single-trade objects; one file of {records:N0} trades (naive: its first {naiveRecords:N0}); {runs} run(s); requests counted in moto's log (recording on for every design).");
            var results = new List<Measure>();
            var starts = new List<double>();
            var startCpu = new List<double>();
            var capacities = new List<double>();
            var floors = new List<(double PutsPerSecond, double GetsPerSecond, double MotoMsPerPut, double MotoMsPerGet)>();
            for (var run = 1; run <= runs; run++)
            {
                capacities.Add(await MotoCapacityAsync(moto, postgres));
                floors.Add(await FloorAsync(moto, postgres, small));
                var start = await RunAppAsync(moto, postgres, root, app, empty, "start", 0, 0);
                starts.Add(start.Seconds);
                startCpu.Add(start.CpuSeconds);
                var measures = new List<Measure>
                {
                    await RunAppAsync(moto, postgres, root, app, small, "single-trade objects", objects, objects),
                    await NaiveAsync(moto, postgres, small, "single-trade objects", objects),
                };

                // --records 0: the single-trade shape only.
                if (records > 0)
                {
                    measures.Add(await RunAppAsync(moto, postgres, root, app, big, "one big file", 1, records));
                    measures.Add(await NaiveAsync(moto, postgres, naiveBig, "one big file", 1));
                }

                foreach (var measure in measures)
                {
                    results.Add(measure);
                    Console.WriteLine($"run {run}: {measure.Shape,-22} {measure.Design,-8} {measure.Records,7:N0} records in {measure.Seconds,7:F2} s = {measure.Records / measure.Seconds,8:F1} records/s, {(double)measure.Counts.Total / measure.Objects,8:F2} requests/object (S3 {measure.Counts.S3}, SQS {measure.Counts.Sqs}); CPU s: design {measure.CpuSeconds:F1}, moto {measure.MotoCpuSeconds:F1} ({measure.Counts.Total / Math.Max(0.001, measure.MotoCpuSeconds):F0} requests per moto CPU-second)");
                }
            }

            Console.WriteLine();
            Console.WriteLine($"app start + empty run (host, worker, summary): median {Median(starts):F2} s, {Median(startCpu):F1} CPU s — included in the pipeline's figures below");
            Console.WriteLine($"moto's capacity on this machine now: median {Median(capacities):F0} S3 HEADs/s with 16 in flight (recording on) — a design needing r requests per record tops out near capacity / r records/s");
            var putRate = Median(floors.Select(f => f.PutsPerSecond));
            var getRate = Median(floors.Select(f => f.GetsPerSecond));
            Console.WriteLine($"the floor for single-trade objects, alone on moto (16 in flight): uploads {putRate:F0}/s (moto {Median(floors.Select(f => f.MotoMsPerPut)):F1} CPU ms each), GETs {getRate:F0}/s (moto {Median(floors.Select(f => f.MotoMsPerGet)):F1} CPU ms each) — upload + one GET, nothing else, tops out near {1 / (1 / putRate + 1 / getRate):F0} objects/s");
            Console.WriteLine();
            Console.WriteLine("| shape | design | records | records/s | requests/object S3 | SQS | requests/1,000 records S3 | SQS | peak RSS | CPU s design / moto |");
            Console.WriteLine("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var group in results.GroupBy(r => (r.Shape, r.Design)))
            {
                var m = group.OrderBy(r => r.Records / r.Seconds).ElementAt(group.Count() / 2);
                var rate = Median(group.Select(r => r.Records / r.Seconds));
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"| {m.Shape} | {m.Design} | {m.Records:N0} | {rate:F1} | {(double)m.Counts.S3 / m.Objects:F2} | {(double)m.Counts.Sqs / m.Objects:F2} | {1000.0 * m.Counts.S3 / m.Records:F1} | {1000.0 * m.Counts.Sqs / m.Records:F1} | {(m.PeakRssKb > 0 ? $"{m.PeakRssKb / 1024} MiB" : "in-process")} | {m.CpuSeconds:F1} / {m.MotoCpuSeconds:F1} |"));
            }

            foreach (var group in results.GroupBy(r => (r.Shape, r.Design)))
            {
                var m = group.OrderBy(r => r.Records / r.Seconds).ElementAt(group.Count() / 2);
                Console.WriteLine();
                Console.WriteLine($"{m.Shape}, {m.Design} (median run), requests by operation (total, per object):");
                Console.WriteLine(m.Counts.Describe(m.Objects));
            }

            var shapes = results.GroupBy(r => r.Shape).Select(g => (g.Key, Ours: Median(g.Where(r => r.Design == "pipeline").Select(r => r.Records / r.Seconds)), Naive: Median(g.Where(r => r.Design == "naive").Select(r => r.Records / r.Seconds))));
            Console.WriteLine();
            foreach (var (shape, ours, naive) in shapes)
            {
                Console.WriteLine($"{shape}: pipeline {ours:F1} records/s = {ours / naive:F1}x the naive per-record pipeline ({naive:F1} records/s)");
            }

            return 0;
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>
    /// The requests every design makes for a single-trade object, alone on moto, 16 in flight: the upload (a PUT that
    /// also notifies the event queue) and one GET. Objects/s for each, and moto's CPU per request.
    /// </summary>
    private static async Task<(double PutsPerSecond, double GetsPerSecond, double MotoMsPerPut, double MotoMsPerGet)> FloorAsync(RecordingMotoFixture moto, PostgresFixture postgres, string folder)
    {
        var deployment = await Deployment.CreateAsync(moto, postgres, repositoryRoot: null);
        var bucket = deployment.Options.Buckets["raw"];
        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToList();
        var options = new ParallelOptions { MaxDegreeOfParallelism = 16 };
        await moto.StartRecordingAsync();
        var cpu = moto.ProcessorTime;
        var sw = Stopwatch.StartNew();
        await Parallel.ForEachAsync(files, options, async (file, ct) => await deployment.S3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "transactions/" + Path.GetFileName(file), FilePath = file }, ct));
        var puts = (files.Count / sw.Elapsed.TotalSeconds, (moto.ProcessorTime - cpu).TotalMilliseconds / files.Count);
        cpu = moto.ProcessorTime;
        sw.Restart();
        await Parallel.ForEachAsync(files, options, async (file, ct) =>
        {
            using var got = await deployment.S3.GetObjectAsync(bucket, "transactions/" + Path.GetFileName(file), ct);
            await got.ResponseStream.CopyToAsync(Stream.Null, ct);
        });
        var gets = (files.Count / sw.Elapsed.TotalSeconds, (moto.ProcessorTime - cpu).TotalMilliseconds / files.Count);
        await moto.StopRecordingAsync(deployment.ZoneOf);
        return (puts.Item1, gets.Item1, puts.Item2, gets.Item2);
    }

    /// <summary>Requests/s moto answers with 16 in flight (S3 HEADs of one small object): the ceiling every design shares.</summary>
    private static async Task<double> MotoCapacityAsync(RecordingMotoFixture moto, PostgresFixture postgres)
    {
        var deployment = await Deployment.CreateAsync(moto, postgres, repositoryRoot: null);
        var bucket = deployment.Options.Buckets["prepare"];
        await deployment.S3.PutObjectAsync(new PutObjectRequest { BucketName = bucket, Key = "probe", ContentBody = "{}" });
        await moto.StartRecordingAsync();
        var sw = Stopwatch.StartNew();
        await Parallel.ForAsync(0, 400, new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (_, ct) => await deployment.S3.GetObjectMetadataAsync(bucket, "probe", ct));
        var rate = 400 / sw.Elapsed.TotalSeconds;
        await moto.StopRecordingAsync(deployment.ZoneOf);
        return rate;
    }

    /// <summary>`run` of the built app on <paramref name="folder"/> against a fresh deployment; counted and timed.</summary>
    private static async Task<Measure> RunAppAsync(RecordingMotoFixture moto, PostgresFixture postgres, string root, string app, string folder, string shape, int objects, long records)
    {
        var deployment = await Deployment.CreateAsync(moto, postgres, root);
        var rss = Path.GetTempFileName();
        var timeBinary = File.Exists("/usr/bin/time") ? "/usr/bin/time" : null;
        var start = new ProcessStartInfo(timeBinary ?? "dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, WorkingDirectory = root };
        if (timeBinary is not null)
        {
            foreach (var a in new[] { "-f", "%M %U %S", "-o", rss, "dotnet" })
            {
                start.ArgumentList.Add(a);
            }
        }

        foreach (var a in new[] { app, "run", folder, "--json", "--timeout", "00:20:00", "--content-root", root })
        {
            start.ArgumentList.Add(a);
        }

        foreach (var (key, value) in deployment.Environment)
        {
            start.Environment[key] = value;
        }

        await moto.StartRecordingAsync();
        var motoCpu = moto.ProcessorTime;
        var sw = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        var seconds = sw.Elapsed.TotalSeconds;
        var motoSeconds = (moto.ProcessorTime - motoCpu).TotalSeconds;
        var counts = await moto.StopRecordingAsync(deployment.ZoneOf);
        var summary = JsonNode.Parse(await output);
        if (process.ExitCode != 0 || summary?["reconciled"]?.GetValue<bool>() != true || summary["loaded"]!.GetValue<long>() != records)
        {
            throw new InvalidOperationException($"run on {folder} exited {process.ExitCode} without loading {records} reconciled records:\n{await output}\n{await error}");
        }

        // "%M %U %S": peak RSS in KiB, user and system CPU seconds of the run and the children it reaped (the worker).
        var time = (await File.ReadAllTextAsync(rss)).Split((char[])[' ', '\n'], StringSplitOptions.RemoveEmptyEntries);
        File.Delete(rss);
        var peak = time.Length > 0 && long.TryParse(time[0], CultureInfo.InvariantCulture, out var kb) ? kb : 0;
        var cpu = time.Length > 2 ? double.Parse(time[1], CultureInfo.InvariantCulture) + double.Parse(time[2], CultureInfo.InvariantCulture) : double.NaN;
        return new Measure(shape, objects == 0 ? "start" : "pipeline", Math.Max(1, objects), records, seconds, counts, peak, cpu, motoSeconds);
    }

    /// <summary>
    /// The naive design on the same emulators: the files uploaded one PUT each; a producer reads the S3 notifications
    /// (receive 10), GETs each object and sends each record alone (a one-entry SendMessageBatch, as SendMessage), deletes
    /// each notification alone; a consumer receives 10 at a time and, per message, INSERTs with its own commit and
    /// deletes it alone. No validation or enrichment (that only flatters it).
    /// </summary>
    private static async Task<Measure> NaiveAsync(RecordingMotoFixture moto, PostgresFixture postgres, string folder, string shape, int objects)
    {
        var deployment = await Deployment.CreateAsync(moto, postgres, repositoryRoot: null);
        var queue = deployment.Queue;
        var fifo = deployment.Id + "-naive.fifo";
        await queue.EnsureQueueAsync(new QueueDefinition(fifo));
        var schema = "naive_" + deployment.Id.Replace('-', '_');
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync();
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}; CREATE TABLE {schema}.trades (transaction_id text, version bigint, body jsonb, PRIMARY KEY (transaction_id, version))", connection);
            await create.ExecuteNonQueryAsync();
        }

        var files = Directory.GetFiles(folder).Order(StringComparer.Ordinal).ToList();
        var total = files.Sum(f => File.ReadLines(f).Count(l => l.Length > 0));
        await moto.StartRecordingAsync();
        var motoCpu = moto.ProcessorTime;
        var ownCpu = Process.GetCurrentProcess().TotalProcessorTime;
        var sw = Stopwatch.StartNew();
        foreach (var file in files)
        {
            await deployment.S3.PutObjectAsync(new PutObjectRequest { BucketName = deployment.Options.Buckets["raw"], Key = "transactions/" + Path.GetFileName(file), FilePath = file });
        }

        using var done = new CancellationTokenSource();
        var loaded = 0;
        var producer = Task.Run(async () =>
        {
            var wait = new ReceiveOptions { MaxMessages = 10, WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromMinutes(5) };
            while (!done.IsCancellationRequested)
            {
                foreach (var message in await queue.ReceiveAsync(deployment.EventQueue, wait, done.Token))
                {
                    var (_, events) = S3EventParser.Parse(message.Body);
                    foreach (var e in events)
                    {
                        using var got = await deployment.S3.GetObjectAsync(e.Bucket, e.Key);
                        using var reader = new StreamReader(got.ResponseStream);
                        while (await reader.ReadLineAsync() is { Length: > 0 } line)
                        {
                            using var json = JsonDocument.Parse(line);
                            var id = json.RootElement.GetProperty("transaction_id").GetString()!;
                            var version = json.RootElement.GetProperty("version").GetInt64();
                            var account = json.RootElement.GetProperty("account_id").GetString()!;
                            var sent = await queue.SendBatchAsync(fifo, [new OutgoingMessage(line, account, $"{id}-{version}")]);
                            if (!sent.AllSucceeded)
                            {
                                throw new InvalidOperationException(sent.Failed[0].Message);
                            }
                        }
                    }

                    await queue.DeleteBatchAsync(deployment.EventQueue, [message.ReceiptHandle]);
                }
            }
        });
        var consumer = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(postgres.ConnectionString);
            await connection.OpenAsync();
            var wait = new ReceiveOptions { MaxMessages = 10, WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromMinutes(5) };
            while (Volatile.Read(ref loaded) < total)
            {
                foreach (var message in await queue.ReceiveAsync(fifo, wait))
                {
                    using var json = JsonDocument.Parse(message.Body);
                    await using var insert = new NpgsqlCommand($"INSERT INTO {schema}.trades VALUES (@id, @v, @b::jsonb) ON CONFLICT DO NOTHING", connection);
                    insert.Parameters.AddWithValue("id", json.RootElement.GetProperty("transaction_id").GetString()!);
                    insert.Parameters.AddWithValue("v", json.RootElement.GetProperty("version").GetInt64());
                    insert.Parameters.AddWithValue("b", message.Body);
                    await insert.ExecuteNonQueryAsync();
                    await queue.DeleteBatchAsync(fifo, [message.ReceiptHandle]);
                    Interlocked.Increment(ref loaded);
                }
            }
        });
        await consumer;
        var seconds = sw.Elapsed.TotalSeconds;
        var motoSeconds = (moto.ProcessorTime - motoCpu).TotalSeconds;
        var cpuSeconds = (Process.GetCurrentProcess().TotalProcessorTime - ownCpu).TotalSeconds;
        await done.CancelAsync();
        try
        {
            await producer;
        }
        catch (OperationCanceledException)
        {
            // Stopped after the last record loaded.
        }

        var counts = await moto.StopRecordingAsync(deployment.ZoneOf);
        return new Measure(shape, "naive", objects, total, seconds, counts, 0, cpuSeconds, motoSeconds);
    }

    private sealed class Deployment
    {
        public required string Id { get; init; }

        public required AwsOptions Options { get; init; }

        public required AmazonS3Client S3 { get; init; }

        public required SqsMessageQueue Queue { get; init; }

        public required string EventQueue { get; init; }

        public required Dictionary<string, string> Environment { get; init; }

        public string ZoneOf(string name) => name.StartsWith(Id + "-", StringComparison.Ordinal) ? name[(Id.Length + 1)..] : name;

        public static async Task<Deployment> CreateAsync(MotoFixture moto, PostgresFixture postgres, string? repositoryRoot)
        {
            var id = "b" + Guid.NewGuid().ToString("N")[..8];
            var options = new AwsOptions { Region = MotoFixture.Region, ServiceUrl = moto.Endpoint.ToString(), AccessKeyId = MotoFixture.AccessKeyId, SecretAccessKey = MotoFixture.SecretAccessKey, ForcePathStyle = true };
            foreach (var zone in Zones)
            {
                options.Buckets[zone] = $"{id}-{zone}";
            }

            var events = $"{id}-events";
            options.EventQueues["raw"] = events;
            var s3 = S3ClientFactory.Create(options, new AwsCredentialSource(options));
            foreach (var zone in Zones)
            {
                await s3.PutBucketAsync(options.Buckets[zone]);
            }

            var queue = new SqsMessageQueue(SqsClientFactory.Create(options, new AwsCredentialSource(options)), options);
            await queue.EnsureQueueAsync(new QueueDefinition(events + "-dlq"));
            await queue.EnsureQueueAsync(new QueueDefinition(events, events + "-dlq"));
            await s3.PutBucketNotificationAsync(new PutBucketNotificationRequest
            {
                BucketName = options.Buckets["raw"],
                QueueConfigurations = [new QueueConfiguration { Queue = $"arn:aws:sqs:{MotoFixture.Region}:123456789012:{events}", Events = [EventType.ObjectCreatedAll] }],
            });
            if (repositoryRoot is not null)
            {
                foreach (var file in Directory.GetFiles(Path.Combine(repositoryRoot, "local", "reference")))
                {
                    await s3.PutObjectAsync(new PutObjectRequest { BucketName = options.Buckets["reference"], Key = Path.GetFileName(file), FilePath = file });
                }
            }

            var environment = new Dictionary<string, string>
            {
                ["Provider"] = "Aws",
                ["Warehouse"] = "Postgres",
                ["Aws__Region"] = MotoFixture.Region,
                ["Aws__ServiceUrl"] = moto.Endpoint.ToString(),
                ["Aws__ForcePathStyle"] = "true",
                ["Aws__AccessKeyId"] = MotoFixture.AccessKeyId,
                ["Aws__SecretAccessKey"] = MotoFixture.SecretAccessKey,
                ["Aws__SqsDeduplicationAfterDelete"] = "false",
                ["Aws__EventQueues__raw"] = events,
                ["Queues__Enriched"] = $"{id}-enriched.fifo",
                ["Postgres__ConnectionString"] = postgres.ConnectionString,
                ["Postgres__Schema"] = "bench_" + id,
                ["AWS_ACCESS_KEY_ID"] = MotoFixture.AccessKeyId,
                ["AWS_SECRET_ACCESS_KEY"] = MotoFixture.SecretAccessKey,
                ["AWS_DEFAULT_REGION"] = MotoFixture.Region,
            };
            foreach (var zone in Zones)
            {
                environment[$"Aws__Buckets__{zone}"] = options.Buckets[zone];
            }

            return new Deployment { Id = id, Options = options, S3 = s3, Queue = queue, EventQueue = events, Environment = environment };
        }
    }

    private static (string[] Leis, string[] Dates) Reference(string root)
    {
        using var leis = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "local", "reference", "lei-directory.json")));
        using var fx = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(root, "local", "reference", "fx-rates.json")));
        return (
            [.. leis.RootElement.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("lei").GetString()!)],
            [.. fx.RootElement.GetProperty("rates").EnumerateObject().Select(p => p.Name)]);
    }

    /// <summary>One synthetic NDJSON trade, a function of <paramref name="n"/> only (many accounts: many FIFO groups).</summary>
    private static string Line(int n, string[] leis, string[] dates)
    {
        var random = new Random(n);
        var date = dates[n % dates.Length];
        return string.Create(CultureInfo.InvariantCulture, $$"""{"transaction_id":"TX-A-{{n:D9}}","version":1,"status":"NEW","trade_date":"{{date}}","executed_at":"{{date}}T{{random.Next(8, 17):D2}}:{{random.Next(60):D2}}:00.000Z","account_id":"ACC-{{n % 1000:D5}}","trader_id":"trader-{{random.Next(50)}}","counterparty_lei":"{{leis[random.Next(leis.Length)]}}","isin":"{{Isins[random.Next(Isins.Length)]}}","asset_class":"{{Classes[random.Next(Classes.Length)]}}","side":"{{(random.Next(2) == 0 ? "BUY" : "SELL")}}","quantity":"{{random.Next(1, 100_000)}}","price":"{{random.Next(1, 500)}}.{{random.Next(100):D2}}","currency":"{{Currencies[random.Next(Currencies.Length)]}}","venue_mic":"{{Venues[random.Next(Venues.Length)]}}"}""") + "\n";
    }

    private static int Option(string[] args, string name, int fallback)
    {
        var i = Array.IndexOf(args, name);
        return i >= 0 && i + 1 < args.Length ? int.Parse(args[i + 1], CultureInfo.InvariantCulture) : fallback;
    }

    private static double Median(IEnumerable<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count == 0 ? double.NaN : sorted[sorted.Count / 2];
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "host.json")) && Directory.Exists(Path.Combine(dir.FullName, "local")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Repository root (host.json + local/) not found above the benchmark.");
    }
}
