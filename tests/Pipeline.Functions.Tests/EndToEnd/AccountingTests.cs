using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>
/// States constructed by hand that must make the summary say "not reconciled" and name what is missing, and the
/// object-event dead letter: a file whose enrichment keeps failing ends dead-lettered with its error, and redrive
/// brings it back.
/// </summary>
public sealed class AccountingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Summary_CleanRun_ReconciledWithEveryObjectProcessed()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        var summary = await harness.SummaryAsync(Ct);
        Assert.True(summary.Reconciled, string.Join("\n", summary.Problems));
        Assert.Empty(summary.Problems);
        Assert.Equal(PipelineHarness.SampleFiles().Count(), summary.Objects);
        Assert.Equal(summary.Objects, summary.ProcessedObjects);
        Assert.Empty(summary.PendingObjects);
    }

    [Fact]
    public async Task Summary_ObjectNeverProcessed_NotReconciledAndPendingListed()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        await using (var host = await harness.BuildAsync())
        {
            // Uploaded, but no host runs: its event waits.
            await PipelineHarness.PutAsync(host, "transactions/late.json", System.Text.Encoding.UTF8.GetBytes(TestData.Valid().ToJsonString()), Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.False(summary.Reconciled);
        Assert.Equal(["transactions/late.json"], summary.PendingObjects);
        Assert.Contains(summary.Problems, p => p.Contains("transactions/late.json", StringComparison.Ordinal) && p.Contains("pending", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Summary_ManifestDeleted_ObjectPendingNotReconciled()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        await using (var host = await harness.BuildAsync())
        {
            var store = host.Services.GetRequiredService<IObjectStore>();
            var info = await store.HeadAsync("raw", "transactions/trades-2026-11-24.ndjson", Ct);
            Assert.True(await UnclaimAsync(store, info!.Key, info.ETag));
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.False(summary.Reconciled);
        Assert.Equal(["transactions/trades-2026-11-24.ndjson"], summary.PendingObjects);

        // Its records are loaded but no manifest lists them any more: each is named.
        Assert.Contains(summary.Problems, p => p.Contains("in the warehouse, but no manifest lists it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Summary_BatchManifestClaimsObjectWhoseEffectsWereNotWritten_NotReconciledAndVersionNamed()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        await using (var host = await harness.BuildAsync())
        {
            // Uploaded, never enriched (no messages, nothing loaded), yet a batch manifest claims it beside a real one.
            var record = TestData.Valid();
            record["transaction_id"] = "TX-2026-CLAIMED";
            await PipelineHarness.PutAsync(host, "transactions/claimed.json", System.Text.Encoding.UTF8.GetBytes(record.ToJsonString()), Ct);
            var store = host.Services.GetRequiredService<IObjectStore>();
            var info = await store.HeadAsync("raw", "transactions/claimed.json", Ct);
            var claimed = new Manifest { SourceKey = info!.Key, SourceEtag = info.ETag, Format = "json", Records = 1, Valid = 1, Quarantined = 0, Messages = 1, Versions = ["TX-2026-CLAIMED\u001f1"] };
            var batch = new BatchManifest { Objects = [claimed] };
            using var body = new MemoryStream(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(batch, ManifestJsonContext.Default.BatchManifest));
            await store.PutAsync("prepare", BatchManifest.KeyFor(batch.Objects), body, null, Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.False(summary.Reconciled);
        Assert.Empty(summary.PendingObjects);
        Assert.Equal(1, summary.Missing);
        Assert.Contains(summary.Problems, p => p.Contains("TX-2026-CLAIMED v1 from transactions/claimed.json: valid, but neither in the warehouse nor dead-lettered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Summary_ObjectInTwoBatchManifests_CountedOnce()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        await using (var host = await harness.BuildAsync())
        {
            // A redelivered event after the batch was written: the same object version in a second batch.
            var store = host.Services.GetRequiredService<IObjectStore>();
            var again = new List<Manifest>();
            await foreach (var info in store.ListAsync("prepare", Manifest.BatchPrefix, Ct))
            {
                await using var stream = await store.OpenReadAsync("prepare", info.Key, Ct);
                again.Add((await System.Text.Json.JsonSerializer.DeserializeAsync(stream, ManifestJsonContext.Default.BatchManifest, Ct))!.Objects[0]);
            }

            Assert.NotEmpty(again);
            var batch = new BatchManifest { Objects = again };
            using var body = new MemoryStream(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(batch, ManifestJsonContext.Default.BatchManifest));
            await store.PutAsync("prepare", Manifest.BatchPrefix + "redelivered.json", body, null, Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.True(summary.Reconciled, string.Join("\n", summary.Problems));
        Assert.Equal(summary.Objects, summary.ProcessedObjects);
    }

    [Fact]
    public async Task Summary_QuarantineEntryDeleted_NotReconciledAndObjectNamed()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        string deleted;
        await using (var host = await harness.BuildAsync())
        {
            var store = host.Services.GetRequiredService<IObjectStore>();
            var entries = new List<string>();
            await foreach (var info in store.ListAsync("quarantine", "transactions/", Ct))
            {
                entries.Add(info.Key);
            }

            deleted = entries.First(k => k.EndsWith(".json", StringComparison.Ordinal) && k.Contains("/record-", StringComparison.Ordinal));
            Assert.True(await store.DeleteAsync("quarantine", deleted, Ct));
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.False(summary.Reconciled);
        var source = deleted[..deleted.LastIndexOf('/')];
        source = source[..source.LastIndexOf('/')];
        Assert.Contains(summary.Problems, p => p.StartsWith(source, StringComparison.Ordinal) && p.Contains("quarantine zone holds", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Summary_UnreadableFileEntryDeleted_NotReconciled()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        await using (var host = await harness.BuildAsync())
        {
            var store = host.Services.GetRequiredService<IObjectStore>();
            var info = await store.HeadAsync("raw", "transactions/unreadable-truncated.json", Ct);
            Assert.True(await store.DeleteAsync("quarantine", QuarantineKeys.For(info!.Key, info.ETag, null), Ct));
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.False(summary.Reconciled);
        Assert.Contains(summary.Problems, p => p.Contains("unreadable-truncated.json", StringComparison.Ordinal) && p.Contains("file.json", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Summary_LoadedVersionRemovedFromWarehouse_NotReconciledAndVersionNamed()
    {
        await using var harness = new PipelineHarness();
        await harness.RunAsync(PipelineHarness.SampleFiles(), Ct);
        using (var db = new SqliteConnection($"Data Source={Path.Combine(harness.DataRoot, "warehouse.db")};Pooling=False"))
        {
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "DELETE FROM transaction_versions WHERE rowid = (SELECT MIN(rowid) FROM transaction_versions) RETURNING transaction_id";
            Assert.NotNull(cmd.ExecuteScalar());
        }

        var summary = await harness.SummaryAsync(Ct);
        Assert.False(summary.Reconciled);
        Assert.Equal(1, summary.Missing);
        Assert.Contains(summary.Problems, p => p.Contains("neither in the warehouse nor dead-lettered", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ObjectEvent_EnrichmentKeepsFailing_DeadLetteredWithErrorThenRedrivenAndLoaded()
    {
        await using var harness = new PipelineHarness();
        var file = System.Text.Encoding.UTF8.GetBytes(TestData.Valid().ToJsonString());

        // No reference data: EnrichTransactions throws on every delivery (maxDequeueCount 2 in the harness).
        await using (var host = await harness.BuildAsync())
        {
            await PipelineHarness.PutAsync(host, "transactions/needs-reference.json", file, Ct);
            await host.StartAsync(Ct);
            await WaitForAsync(async () => (await harness.SummaryAsync(Ct)).DeadLetteredObjects.Count == 1, TimeSpan.FromSeconds(30));
            await host.StopAsync(Ct);
        }

        var summary = await harness.SummaryAsync(Ct);
        var dead = Assert.Single(summary.DeadLetteredObjects);
        Assert.Equal("transactions/needs-reference.json", dead.Event.Key);
        Assert.Equal(2, dead.ReceiveCount);
        Assert.Contains("Reference object", dead.Error, StringComparison.Ordinal);
        Assert.Empty(summary.PendingObjects);
        Assert.True(summary.Reconciled, string.Join("\n", summary.Problems)); // accounted for: dead-lettered with its error

        // Fix the cause, redrive, run: the object is processed and the dead letter is empty.
        await using (var host = await harness.BuildAsync())
        {
            await PipelineHarness.UploadReferenceAsync(host, Ct);
            var deadLetters = (IObjectEventDeadLetters)host.Services.GetRequiredService<IObjectEventSource>();
            Assert.Equal(1, await deadLetters.RedriveAsync("raw", Ct));
            await host.Services.GetRequiredService<WarehouseTables>().EnsureAsync(Ct);
            await host.StartAsync(Ct);
            await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
            await host.StopAsync(Ct);
        }

        var after = await harness.SummaryAsync(Ct);
        Assert.True(after.Reconciled, string.Join("\n", after.Problems));
        Assert.Empty(after.DeadLetteredObjects);
        Assert.Equal(1, after.ProcessedObjects);
        Assert.Equal(1, after.Loaded);
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"condition not met within {timeout}");
            await Task.Delay(100, Ct);
        }
    }

    /// <summary>Takes the object version out of whichever manifest claims it: its own, or a batch (rewritten without it).</summary>
    private static async Task<bool> UnclaimAsync(IObjectStore store, string key, string etag)
    {
        if (await store.DeleteAsync("prepare", Manifest.KeyFor(key, etag), Ct))
        {
            return true;
        }

        var id = Manifest.KeyFor(key, etag);
        var found = false;
        var batches = new List<string>();
        await foreach (var info in store.ListAsync("prepare", Manifest.BatchPrefix, Ct))
        {
            batches.Add(info.Key);
        }

        foreach (var batchKey in batches)
        {
            BatchManifest batch;
            await using (var stream = await store.OpenReadAsync("prepare", batchKey, Ct))
            {
                batch = (await System.Text.Json.JsonSerializer.DeserializeAsync(stream, ManifestJsonContext.Default.BatchManifest, Ct))!;
            }

            var rest = batch.Objects.Where(m => Manifest.KeyFor(m.SourceKey, m.SourceEtag) != id).ToList();
            if (rest.Count == batch.Objects.Count)
            {
                continue;
            }

            found = true;
            await store.DeleteAsync("prepare", batchKey, Ct);
            if (rest.Count > 0)
            {
                using var body = new MemoryStream(System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new BatchManifest { Objects = rest }, ManifestJsonContext.Default.BatchManifest));
                await store.PutAsync("prepare", batchKey, body, null, Ct);
            }
        }

        return found;
    }
}
