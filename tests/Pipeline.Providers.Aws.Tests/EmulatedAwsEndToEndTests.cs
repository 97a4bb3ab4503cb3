using System.Diagnostics;
using System.Text;
using Amazon.S3.Model;
using Npgsql;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// Emulated-AWS mode end to end: the built pipeline app runs `start` with Provider=Aws against moto and
/// PostgreSQL, a real client (awscli) uploads a sample file to the raw bucket, and rows arrive in PostgreSQL
/// through S3 notification → standard queue → EnrichTransactions → FIFO queue → LoadTransactions.
/// </summary>
public sealed class EmulatedAwsEndToEndTests(MotoFixture moto, PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task AwsCliUpload_ToRawBucket_EndsAsRowsInPostgres()
    {
        moto.RequireAvailable();
        postgres.RequireAvailable();
        var root = RepositoryRoot();
        var app = FunctionsApp(root);
        var awsCli = EmulatorProcess.FindOnPath("aws");
        EmulatorProcess.RequireAvailable(app is null ? "The pipeline app is not built (dotnet build src/Functions)." : awsCli is null ? "awscli ('aws') is not on PATH." : null);

        var id = Guid.NewGuid().ToString("N")[..8];
        var zones = new[] { "raw", "prepare", "refine", "quarantine", "reference" };
        var options = AwsTestSupport.Options(moto);
        foreach (var zone in zones)
        {
            options.Buckets[zone] = $"e2e-{id}-{zone}";
        }

        var rawEvents = $"e2e-{id}-raw-events";
        var enriched = $"e2e-{id}-enriched.fifo";
        options.EventQueues["raw"] = rawEvents;
        var s3 = S3Tests.S3Client(options);
        foreach (var zone in zones)
        {
            await s3.PutBucketAsync(options.Buckets[zone], Ct);
        }

        var sqs = new SqsMessageQueue(AwsTestSupport.Sqs(options), options);
        await sqs.EnsureQueueAsync(new QueueDefinition(rawEvents, rawEvents + "-dlq"), Ct);
        await s3.PutBucketNotificationAsync(
            new PutBucketNotificationRequest
            {
                BucketName = options.Buckets["raw"],
                QueueConfigurations = [new QueueConfiguration { Queue = $"arn:aws:sqs:{MotoFixture.Region}:123456789012:{rawEvents}", Events = [Amazon.S3.EventType.ObjectCreatedAll] }],
            },
            Ct);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "local", "reference")))
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = options.Buckets["reference"], Key = Path.GetFileName(file), FilePath = file }, Ct);
        }

        var schema = "e2e_" + id;
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
            ["Aws__EventQueues__raw"] = rawEvents,
            ["Queues__Enriched"] = enriched,
            ["Postgres__ConnectionString"] = postgres.ConnectionString,
            ["Postgres__Schema"] = schema,
            ["AWS_ACCESS_KEY_ID"] = MotoFixture.AccessKeyId,
            ["AWS_SECRET_ACCESS_KEY"] = MotoFixture.SecretAccessKey,
            ["AWS_DEFAULT_REGION"] = MotoFixture.Region,
        };
        foreach (var zone in zones)
        {
            environment[$"Aws__Buckets__{zone}"] = options.Buckets[zone];
        }

        var output = new StringBuilder();
        using var host = EmulatorProcess.Start("dotnet", [app!, "start", "--content-root", root], output, environment);
        try
        {
            await WaitForAsync(() => Task.FromResult(EmulatorProcess.Snapshot(output).Contains("Host started", StringComparison.Ordinal)), host, output, "the host to start");

            var sample = Path.Combine(root, "local", "samples", "trades-2026-11-20.json");
            var uploadOutput = new StringBuilder();
            using (var upload = EmulatorProcess.Start(awsCli!, ["--endpoint-url", moto.Endpoint.ToString(), "--region", MotoFixture.Region, "s3", "cp", sample, $"s3://{options.Buckets["raw"]}/transactions/"], uploadOutput, environment))
            {
                await upload.WaitForExitAsync(Ct);
                Assert.True(upload.ExitCode == 0, EmulatorProcess.Snapshot(uploadOutput));
            }

            await WaitForAsync(async () => await CountAsync(postgres.ConnectionString, schema) >= 7, host, output, "7 rows in PostgreSQL");
            Assert.Equal(7, await CountAsync(postgres.ConnectionString, schema));
        }
        finally
        {
            EmulatorProcess.Kill(host);
        }
    }

    private static async Task<long> CountAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM pg_tables WHERE schemaname = @s AND tablename = 'transactions'", connection);
        command.Parameters.AddWithValue("s", schema);
        if ((long)(await command.ExecuteScalarAsync(Ct))! == 0)
        {
            return 0;
        }

        await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{schema}\".transactions", connection);
        return (long)(await count.ExecuteScalarAsync(Ct))!;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, Process host, StringBuilder output, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            if (host.HasExited)
            {
                Assert.Fail($"The pipeline app exited ({host.ExitCode}) while waiting for {what}:\n{EmulatorProcess.Snapshot(output)}");
            }

            await Task.Delay(250, Ct);
        }

        Assert.Fail($"Timed out waiting for {what}. App output:\n{EmulatorProcess.Snapshot(output)}");
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

        throw new DirectoryNotFoundException("Repository root (host.json + local/) not found above the test output.");
    }

    /// <summary>The app built beside this test run (same configuration), or null.</summary>
    private static string? FunctionsApp(string root)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(root, "src", "Functions", "bin", configuration, "net10.0", "Pipeline.Functions.dll");
        return File.Exists(path) ? path : null;
    }
}
