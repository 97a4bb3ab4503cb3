using System.Text.Json;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using Npgsql;
using Pipeline.Lambda.Tests.Emulator;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The published bootstrap against moto (S3, SQS) and PostgreSQL (the warehouse stand-in), driven
/// through the Runtime API emulator with events shaped from what moto really delivered.
/// </summary>
public sealed class AwsPipelineTests(BootstrapFixture bootstrap, MotoFixture moto, PostgresFixture postgres)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private readonly string _prefix = "l" + Guid.NewGuid().ToString("N")[..10];

    [Fact]
    public async Task S3NotificationBatch_Enrich_PublishesEnrichedFifoMessages_ThenPoisonFifoBatch_Load_ReportsExactlyThePoison()
    {
        await bootstrap.RequireAvailableAsync();
        moto.RequireAvailable();
        postgres.RequireAvailable();
        var ct = TestContext.Current.CancellationToken;
        var python = Tools.FindOnPath("python3")!;
        var helper = Path.Combine(AppContext.BaseDirectory, "Template", "moto_sqs_events.py");
        var endpoint = moto.Endpoint.ToString().TrimEnd('/');

        // 1. Real S3 -> SQS notifications from moto (the s3:TestEvent and the object's event), as Lambda would pass them.
        var sample = Path.Combine(bootstrap.RepositoryRoot, "local", "samples", "trades-2026-11-20.json");
        var (exit, notifications, error) = await Tools.RunAsync(python, [helper, "setup", endpoint, _prefix, bootstrap.RepositoryRoot, sample], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, error);
        Assert.Contains("ObjectCreated:Put", notifications, StringComparison.Ordinal);

        await using (var emulator = new RuntimeApiEmulator())
        {
            using var enrich = bootstrap.Start(emulator, "EnrichTransactions", Settings());
            var outcome = await emulator.InvokeAsync(notifications).WaitAsync(Patience, ct);

            Assert.False(outcome.IsError, outcome.Body + enrich.Output);
            using var response = outcome.Json();
            Assert.Empty(response.RootElement.GetProperty("batchItemFailures").EnumerateArray());
        }

        // 2. What enrichment published, plus one poison message in its own group, as one FIFO batch.
        (exit, var fifo, error) = await Tools.RunAsync(
            python, [helper, "fifo-event", endpoint, $"{_prefix}-enriched.fifo", """{"schema":"not-an-enriched-batch"}"""], TimeSpan.FromMinutes(1));
        Assert.True(exit == 0, error);
        using var fifoDocument = JsonDocument.Parse(fifo);
        var fifoEvent = fifoDocument.RootElement.GetProperty("event");
        var poisonId = fifoDocument.RootElement.GetProperty("poisonMessageId").GetString()!;
        var records = fifoEvent.GetProperty("Records").EnumerateArray().ToList();
        Assert.True(records.Count >= 2, "enrichment published no FIFO messages: " + fifo);
        Assert.All(records, r => Assert.True(r.GetProperty("attributes").TryGetProperty("MessageGroupId", out _)));
        Assert.All(records, r => Assert.True(r.GetProperty("attributes").TryGetProperty("MessageDeduplicationId", out _)));

        await using (var emulator = new RuntimeApiEmulator())
        {
            using var load = bootstrap.Start(emulator, "LoadTransactions", Settings());
            var outcome = await emulator.InvokeAsync(fifoEvent.GetRawText()).WaitAsync(Patience, ct);

            Assert.False(outcome.IsError, outcome.Body + load.Output);
            using var response = outcome.Json();
            var failed = response.RootElement.GetProperty("batchItemFailures").EnumerateArray().Select(f => f.GetProperty("itemIdentifier").GetString()).ToList();
            Assert.Equal([poisonId], failed);
        }

        // 3. The good messages reached the warehouse.
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(ct);
        await using var count = new NpgsqlCommand($"select count(*) from \"{_prefix}\".transactions", connection);
        Assert.True((long)(await count.ExecuteScalarAsync(ct))! > 0);
    }

    [Fact]
    public async Task ScheduledEvent_IngestTrades_PullsTheSampleApiIntoTheRawBucketThroughTheWorker()
    {
        await bootstrap.RequireAvailableAsync();
        moto.RequireAvailable();
        var ct = TestContext.Current.CancellationToken;
        using var s3 = new AmazonS3Client(
            new BasicAWSCredentials(MotoFixture.AccessKeyId, MotoFixture.SecretAccessKey),
            new AmazonS3Config { ServiceURL = moto.Endpoint.ToString(), ForcePathStyle = true, AuthenticationRegion = MotoFixture.Region });
        await s3.PutBucketAsync($"{_prefix}-raw", ct);
        var reference = Path.Combine(bootstrap.RepositoryRoot, "local", "reference");
        var trades = Pipeline.Cli.SampleApi.SampleTrades.FromReference(reference, 5, new DateOnly(2026, 11, 19), new DateOnly(2026, 11, 20));
        await using var api = new Pipeline.Cli.SampleApi.SampleTradeServer(trades, new Pipeline.Cli.SampleApi.SampleApiOptions { RequestsPerSecond = 0 });
        api.Start();

        await using var emulator = new RuntimeApiEmulator();
        var settings = Settings();
        settings["Ingestion__BaseUrl"] = api.BaseUrl.ToString();
        settings["Ingestion__Source"] = "sample";
        settings["Ingestion__PageSize"] = "4";
        using var ingest = bootstrap.Start(emulator, "IngestTrades", settings);

        // The scheduled event's time (2026-11-21T06:00Z) ends the window: all 10 trades, 3 pages.
        var outcome = await emulator.InvokeAsync(Fixture.Read("eventbridge-scheduled.json")).WaitAsync(Patience, ct);

        Assert.False(outcome.IsError, outcome.Body + ingest.Output);
        Assert.Equal("{}", outcome.Body);
        var listed = await s3.ListObjectsV2Async(new ListObjectsV2Request { BucketName = $"{_prefix}-raw" }, ct);
        var pages = (listed.S3Objects ?? []).Select(o => o.Key).Where(k => k.Contains("/page-", StringComparison.Ordinal)).ToList();
        Assert.True(pages.Count == 3, $"expected 3 pages in {_prefix}-raw, found {string.Join(", ", pages)}: {ingest.Output}");
        Assert.All(pages, p => Assert.Contains("run-20261121T060000Z", p, StringComparison.Ordinal));
    }

    private Dictionary<string, string> Settings() => new()
    {
        ["Provider"] = "Aws",
        ["Warehouse"] = "Postgres",
        ["Postgres__ConnectionString"] = postgres.ConnectionString,
        ["Postgres__Schema"] = _prefix,
        ["Aws__ServiceUrl"] = moto.Endpoint.ToString().TrimEnd('/'),
        ["Aws__ForcePathStyle"] = "true",
        ["Aws__SqsDeduplicationAfterDelete"] = "false",
        ["AWS_REGION"] = MotoFixture.Region,
        ["AWS_ACCESS_KEY_ID"] = MotoFixture.AccessKeyId,
        ["AWS_SECRET_ACCESS_KEY"] = MotoFixture.SecretAccessKey,
        ["AWS_SESSION_TOKEN"] = "lambda-session-token",
        ["Zones__Raw"] = $"{_prefix}-raw",
        ["Zones__Prepare"] = $"{_prefix}-prepare",
        ["Zones__Quarantine"] = $"{_prefix}-quarantine",
        ["Zones__Reference"] = $"{_prefix}-reference",
        ["Queues__Enriched"] = $"{_prefix}-enriched.fifo",
    };
}
