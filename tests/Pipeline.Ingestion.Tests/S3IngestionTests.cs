using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Ingestion;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Ingestion.Tests;

/// <summary>The same ingestion on the AWS provider against moto's S3: conditional puts, metadata, listing.</summary>
public sealed class S3IngestionTests(MotoFixture moto)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task RunAsync_OnS3_StoresPagesOnceWithMetadataAndRerunAddsNothing()
    {
        moto.RequireAvailable();
        var prefix = "ing-" + Guid.NewGuid().ToString("N")[..8];
        using (var http = new HttpClient())
        {
            foreach (var zone in new[] { "raw", "prepare", "quarantine", "reference" })
            {
                // moto routes an unsigned path-style PUT to CreateBucket.
                using var created = await http.PutAsync(new Uri(moto.Endpoint, $"/{prefix}-{zone}"), null, Ct);
                created.EnsureSuccessStatusCode();
            }
        }

        await using var h = new IngestionHarness(tradesPerDay: 20);
        var settings = h.Settings(Pipeline.Functions.Ingestion.PaginationStyle.OffsetLimit, pageSize: 10);
        settings["Provider"] = "Aws";
        settings["Warehouse"] = "Redshift";
        settings["Redshift:WorkgroupName"] = "unused";
        settings["Redshift:Database"] = "unused";
        settings["Aws:ServiceUrl"] = moto.Endpoint.ToString().TrimEnd('/');
        settings["Aws:ForcePathStyle"] = "true";
        settings["Aws:Region"] = MotoFixture.Region;
        settings["Aws:AccessKeyId"] = MotoFixture.AccessKeyId;
        settings["Aws:SecretAccessKey"] = MotoFixture.SecretAccessKey;
        settings["Zones:Raw"] = $"{prefix}-raw";
        settings["Zones:Prepare"] = $"{prefix}-prepare";
        settings["Zones:Quarantine"] = $"{prefix}-quarantine";
        settings["Zones:Reference"] = $"{prefix}-reference";
        settings["Queues:AutoCreate"] = "false";
        await using var host = await h.BuildAsync(settings, [Pipeline.Functions.Functions.IngestTrades.Name]);
        var store = host.Services.GetRequiredService<IObjectStore>();
        var ingestor = host.Services.GetRequiredService<TradeIngestor>();

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        var again = await ingestor.RunBackfillAsync(IngestionHarness.Dates[0], IngestionHarness.Dates[^1], Ct);
        var twice = await ingestor.RunBackfillAsync(IngestionHarness.Dates[0], IngestionHarness.Dates[^1], Ct);

        var pages = new List<ObjectInfo>();
        await foreach (var info in store.ListAsync($"{prefix}-raw", TradeIngestor.PagesPrefix, Ct))
        {
            pages.Add(info);
        }

        Assert.Equal(12, pages.Count); // 6 incremental + 6 backfill
        Assert.Equal(6, again.PagesNew);
        Assert.Equal(0, twice.PagesNew);
        Assert.Equal(6, twice.PagesUnchanged);
        var head = (await store.HeadAsync($"{prefix}-raw", pages[0].Key, Ct))!;
        Assert.Equal("200", head.Metadata["http-status"]);
        Assert.Equal(64, head.Metadata["content-sha256"].Length);
        var state = await ingestor.ReadStateAsync(Ct);
        Assert.Equal(h.Trades.MaxUpdatedAt, state!.Cursor);
    }
}
