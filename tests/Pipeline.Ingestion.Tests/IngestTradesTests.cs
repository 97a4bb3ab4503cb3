using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Functions.Ingestion;
using Pipeline.Cli.SampleApi;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Ingestion.Tests;

/// <summary>IngestTrades through the host against the real sample API on loopback, on the embedded providers.</summary>
public sealed class IngestTradesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(PaginationStyle.PageNumber)]
    [InlineData(PaginationStyle.OffsetLimit)]
    [InlineData(PaginationStyle.Cursor)]
    [InlineData(PaginationStyle.LinkHeader)]
    public async Task RunAsync_EachPaginationStyle_StoresEveryTradeOnceAndAdvancesCursor(PaginationStyle style)
    {
        await using var h = new IngestionHarness();
        await using var host = await h.BuildAsync(h.Settings(style, pageSize: 10));

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);

        var pages = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);
        Assert.Equal(12, pages.Count);
        Assert.All(pages, p => Assert.StartsWith("transactions/api/sample/2026-11-19/run-20261119T000000Z/page-", p.Key, StringComparison.Ordinal));
        Assert.Equal(h.ServedVersions(), await IngestionHarness.StoredVersionsAsync(host, Ct));

        var state = await IngestionHarness.StateAsync(host, Ct);
        Assert.NotNull(state);
        Assert.Null(state.Pending);
        Assert.Equal(h.Trades.MaxUpdatedAt, state.Cursor);

        var audit = Assert.Single(await IngestionHarness.AuditsAsync(host, Ct));
        Assert.Equal("succeeded", audit.Status);
        Assert.Equal(12, audit.Pages);
        Assert.Equal(120, audit.Records);
        Assert.Null(audit.CursorBefore);
        Assert.Equal(state.Cursor, audit.CursorAfter);

        // Request metadata travels with each page; an envelope (cursor style) is also kept byte-exact.
        var store = host.Services.GetRequiredService<IObjectStore>();
        var first = (await store.HeadAsync("raw", pages[0].Key, Ct))!;
        Assert.Equal("200", first.Metadata["http-status"]);
        Assert.Equal("1", first.Metadata["attempts"]);
        Assert.StartsWith(h.Server.BaseUrl.ToString(), first.Metadata["request-url"], StringComparison.Ordinal);
        if (style == PaginationStyle.Cursor)
        {
            var envelope = await IngestionHarness.ReadAsync(host, first.Metadata["envelope-key"], Ct);
            Assert.StartsWith("{\"data\":[", Encoding.UTF8.GetString(envelope), StringComparison.Ordinal);
            var records = await IngestionHarness.ReadAsync(host, pages[0].Key, Ct);
            Assert.True(envelope.AsSpan().IndexOf(records) == "{\"data\":".Length, "the stored page is the envelope's array, byte for byte");
        }
    }

    [Theory]
    [InlineData("seconds")]
    [InlineData("date")]
    public async Task RunAsync_ApiThrottles_HonoursRetryAfterAndCompletes(string retryAfterFormat)
    {
        // The API accepts 1 request/s (burst 2); the client is configured far faster, so it is throttled and must wait
        // (at 4 requests/s a client slowed down by a loaded machine was sometimes never throttled).
        await using var h = new IngestionHarness(tradesPerDay: 10, new SampleApiOptions { RequestsPerSecond = 1, RetryAfterFormat = retryAfterFormat });
        var settings = h.Settings(PaginationStyle.LinkHeader, pageSize: 10);
        settings["Ingestion:MaxAttempts"] = "5";
        await using var host = await h.BuildAsync(settings);

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);

        Assert.Equal(h.ServedVersions(), await IngestionHarness.StoredVersionsAsync(host, Ct));
        var requests = h.Server.Requests.OrderBy(r => r.Number).ToList();
        var throttled = requests.Where(r => r.Status == 429).ToList();
        Assert.NotEmpty(throttled);
        foreach (var t in throttled.Where(t => t.Number < requests[^1].Number))
        {
            // The retry of a throttled request comes no sooner than its Retry-After: whole seconds after the answer, or the HTTP-date.
            var retry = requests.First(r => r.Number > t.Number && r.PathAndQuery == t.PathAndQuery);
            var earliest = retryAfterFormat == "seconds"
                ? t.At.AddSeconds(int.Parse(t.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture))
                : DateTimeOffset.Parse(t.RetryAfter!, System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(retry.At >= earliest.AddMilliseconds(-50), $"retried {t.PathAndQuery} at {retry.At:O}, Retry-After {t.RetryAfter} (earliest {earliest:O})");
        }

        var audit = Assert.Single(await IngestionHarness.AuditsAsync(host, Ct));
        Assert.Equal(throttled.Count, audit.Retries);
    }

    [Fact]
    public async Task RunAsync_BurstsOf5xxShorterThanMaxAttempts_RetriesAndCompletes()
    {
        // Two failures out of every three requests: each page needs up to 3 attempts, MaxAttempts is 4.
        await using var h = new IngestionHarness(api: new SampleApiOptions { RequestsPerSecond = 0, FailEvery = 3, FailBurst = 2, FailStatus = 503 });
        var settings = h.Settings(PaginationStyle.Cursor, pageSize: 20);
        await using var host = await h.BuildAsync(settings);

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);

        Assert.Equal(h.ServedVersions(), await IngestionHarness.StoredVersionsAsync(host, Ct));
        var audit = Assert.Single(await IngestionHarness.AuditsAsync(host, Ct));
        Assert.Equal(h.Server.Requests.Count(r => r.Status == 503), audit.Retries);
        Assert.True(audit.Retries >= 6);
    }

    [Fact]
    public async Task RunAsync_PersistentFailure_FailsNamingUrlAndStatusAndKeepsCursor()
    {
        await using var h = new IngestionHarness(api: new SampleApiOptions
        {
            RequestsPerSecond = 0,
            Inject = (_, url) => url.Query.Contains("page=3&", StringComparison.Ordinal) ? 502 : null,
        });
        var settings = h.Settings(PaginationStyle.PageNumber, pageSize: 10);
        settings["Ingestion:MaxConcurrency"] = "1";
        settings["Ingestion:MaxAttempts"] = "3";
        await using var host = await h.BuildAsync(settings);

        var ex = await Assert.ThrowsAnyAsync<Exception>(() => IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct));

        var failed = IngestionFailure(ex);
        Assert.Contains("page=3&page_size=10", failed.Message, StringComparison.Ordinal);
        Assert.Contains(h.Server.BaseUrl.ToString(), failed.Message, StringComparison.Ordinal);
        Assert.Contains("answered 502 after 3 attempt(s)", failed.Message, StringComparison.Ordinal);
        Assert.Equal(3, h.Server.Requests.Count(r => r.Status == 502));

        var state = await IngestionHarness.StateAsync(host, Ct);
        Assert.Null(state!.Cursor);
        Assert.NotNull(state.Pending);
        var audit = Assert.Single(await IngestionHarness.AuditsAsync(host, Ct));
        Assert.Equal("failed", audit.Status);
        Assert.Equal(2, audit.Pages);
        Assert.Contains("502", audit.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task RunAsync_CrashMidRunThenRerun_ResumesSameWindowWithoutDuplicates()
    {
        using var crash = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        await using var h = new IngestionHarness(api: new SampleApiOptions
        {
            RequestsPerSecond = 0,

            // The process "dies" while the 5th request is in flight: nothing after it runs, not even the audit.
            Inject = (n, _) =>
            {
                if (n == 5)
                {
                    crash.Cancel();
                }

                return null;
            },
        });
        var settings = h.Settings(PaginationStyle.Cursor, pageSize: 10);
        await using (var dying = await h.BuildAsync(settings))
        {
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => IngestionHarness.IngestAsync(dying, IngestionHarness.AfterAll, crash.Token));
            var state = await IngestionHarness.StateAsync(dying, Ct);
            Assert.Null(state!.Cursor);
            Assert.NotNull(state.Pending);
            Assert.InRange((await IngestionHarness.ListAsync(dying, TradeIngestor.PagesPrefix, Ct)).Count, 3, 5);
        }

        h.Server.Options.Inject = null;
        await using var host = await h.BuildAsync(settings);

        // The next occurrence is a day later, yet the pending window (and its keys) is what runs.
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(1), Ct);

        Assert.Equal(h.ServedVersions(), await IngestionHarness.StoredVersionsAsync(host, Ct));
        var state2 = await IngestionHarness.StateAsync(host, Ct);
        Assert.Null(state2!.Pending);
        Assert.Equal(h.Trades.MaxUpdatedAt, state2.Cursor);
        var audit = Assert.Single(await IngestionHarness.AuditsAsync(host, Ct));
        Assert.True(audit.Resumed);
        Assert.Equal("run-20261119T000000Z", audit.WindowId);
        Assert.Equal(12, audit.Pages);
        Assert.Equal(12, audit.PagesNew + audit.PagesUnchanged);
        Assert.InRange(audit.PagesUnchanged, 3, 5);
    }

    [Fact]
    public async Task BackfillAsync_DateRange_FetchesOnlyThoseDatesAndLeavesCursorAlone()
    {
        await using var h = new IngestionHarness();
        await using var host = await h.BuildAsync(h.Settings(PaginationStyle.OffsetLimit, pageSize: 15));

        // An incremental run up to the end of the first date sets the cursor.
        await IngestionHarness.IngestAsync(host, new DateTimeOffset(2026, 11, 17, 0, 0, 0, TimeSpan.Zero), Ct);
        var stateKey = TradeIngestor.StateKey("sample");
        var before = await IngestionHarness.ReadAsync(host, stateKey, Ct);

        var audit = await host.Services.GetRequiredService<TradeIngestor>().RunBackfillAsync(new DateOnly(2026, 11, 17), new DateOnly(2026, 11, 18), Ct);

        Assert.Equal(before, await IngestionHarness.ReadAsync(host, stateKey, Ct));
        Assert.Equal("backfill", audit.Kind);
        Assert.Equal(audit.CursorBefore, audit.CursorAfter);
        Assert.Equal(80, audit.Records);
        var backfilled = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix + "sample/backfill/backfill-20261117-20261118/", Ct);
        Assert.Equal(6, backfilled.Count);
        Assert.Equal(h.ServedVersions(), await IngestionHarness.StoredVersionsAsync(host, Ct));
    }

    [Fact]
    public async Task RunAsync_RerunAfterCompletion_AddsNothing()
    {
        await using var h = new IngestionHarness();
        await using var host = await h.BuildAsync(h.Settings(PaginationStyle.PageNumber, pageSize: 10));
        var ingestor = host.Services.GetRequiredService<TradeIngestor>();

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        await ingestor.RunBackfillAsync(IngestionHarness.Dates[0], IngestionHarness.Dates[^1], Ct);
        var objects = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);

        // Same occurrence again, a later one, and the same backfill again.
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll.AddDays(1), Ct);
        var again = await ingestor.RunBackfillAsync(IngestionHarness.Dates[0], IngestionHarness.Dates[^1], Ct);

        var after = await IngestionHarness.ListAsync(host, TradeIngestor.PagesPrefix, Ct);
        Assert.Equal(objects.Select(o => (o.Key, o.ETag)), after.Select(o => (o.Key, o.ETag)));
        Assert.Equal(0, again.PagesNew);
        Assert.Equal(12, again.PagesUnchanged);
        var audits = await IngestionHarness.AuditsAsync(host, Ct);
        Assert.Equal(5, audits.Count);
        Assert.All(audits.Skip(2), a => Assert.Equal(0, a.RecordsNew)); // the first incremental run and the first backfill stored pages
    }

    [Fact]
    public async Task RunAsync_ApiKeyFromConfiguration_IsSentButNeverLoggedOrStored()
    {
        const string Secret = "sk-test-7f3a9c2e51d84b6b";
        await using var h = new IngestionHarness(api: new SampleApiOptions { RequestsPerSecond = 0, ApiKey = Secret, FailEvery = 4 });
        var settings = h.Settings(PaginationStyle.LinkHeader, pageSize: 30);
        settings["Ingestion:ApiKey"] = Secret;
        await using var host = await h.BuildAsync(settings);

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);

        Assert.All(h.Server.Requests, r => Assert.True(r.HadApiKey));
        Assert.Contains(h.Logs, l => l.Contains("retrying", StringComparison.Ordinal)); // the retry path logged too
        Assert.DoesNotContain(h.Logs, l => l.Contains(Secret, StringComparison.Ordinal));
        var store = host.Services.GetRequiredService<IObjectStore>();
        foreach (var info in await IngestionHarness.ListAsync(host, string.Empty, Ct))
        {
            var head = (await store.HeadAsync("raw", info.Key, Ct))!;
            Assert.DoesNotContain(head.Metadata.Values, v => v.Contains(Secret, StringComparison.Ordinal));
            Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(await IngestionHarness.ReadAsync(host, info.Key, Ct)), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task RunAsync_WrongApiKey_FailsAtOnceWithHint()
    {
        await using var h = new IngestionHarness(api: new SampleApiOptions { RequestsPerSecond = 0, ApiKey = "right" });
        var settings = h.Settings();
        settings["Ingestion:ApiKey"] = "wrong-key-value";
        await using var host = await h.BuildAsync(settings);

        var ex = IngestionFailure(await Assert.ThrowsAnyAsync<Exception>(() => IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct)));

        Assert.Contains("answered 401 after 1 attempt(s)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Ingestion:ApiKey", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("wrong-key-value", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(h.Logs, l => l.Contains("wrong-key-value", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Start_IngestedPages_FlowThroughEnrichmentAndLoad()
    {
        await using var h = new IngestionHarness();
        await using var host = await h.BuildAsync(h.Settings(PaginationStyle.PageNumber, pageSize: 25));
        var store = host.Services.GetRequiredService<IObjectStore>();
        foreach (var key in Pipeline.Functions.Transactions.ReferenceData.Keys)
        {
            await Pipeline.Cli.RunCommand.UploadIfChangedAsync(store, "reference", key, Path.Combine(RepoPaths.Reference, key), Ct);
        }

        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        await host.StartAsync(Ct);
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
        await host.StopAsync(Ct);

        var rows = await host.Services.GetRequiredService<IWarehouse>().QueryAsync("SELECT COUNT(*), SUM(version) FROM transactions", null, Ct);
        var distinct = h.ServedVersions().Select(v => v.Split('#')[0]).Distinct().Count();
        Assert.Equal(distinct, Convert.ToInt64(rows.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture));
        Assert.Empty(await ListQuarantineAsync(store));
    }

    [Fact]
    public void LinkHeader_SeveralLinks_FindsNext()
    {
        var links = LinkHeader.Parse("<https://api.example/t?page=1>; rel=\"prev\", <https://api.example/t?a=1,2&page=3>; title=\"x;y\"; rel=\"next last\"").ToList();
        Assert.Equal(2, links.Count);
        Assert.Equal(("https://api.example/t?a=1,2&page=3", "next last"), links[1]);
    }

    private static async Task<List<string>> ListQuarantineAsync(IObjectStore store)
    {
        var keys = new List<string>();
        await foreach (var info in store.ListAsync("quarantine", string.Empty, Ct))
        {
            keys.Add(info.Key);
        }

        return keys;
    }

    /// <summary>The function ran in the worker process: its IngestionFailedException arrives as the worker's type and message.</summary>
    private static Pipeline.Host.WorkerProtocol.WorkerInvocationException IngestionFailure(Exception ex)
    {
        var failure = Assert.IsType<Pipeline.Host.WorkerProtocol.WorkerInvocationException>(ex);
        Assert.Equal(typeof(IngestionFailedException).FullName, failure.WorkerExceptionType);
        return failure;
    }
}

/// <summary>The status command's report over a real data root.</summary>
public sealed class PipelineStatusTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task CollectAsync_AfterRunsAndPipeline_ReportsRunsQueuesAndQuarantine()
    {
        await using var h = new IngestionHarness(tradesPerDay: 10);
        await using var host = await h.BuildAsync(h.Settings(PaginationStyle.PageNumber, pageSize: 10));
        await IngestionHarness.IngestAsync(host, IngestionHarness.AfterAll, Ct);
        await host.Services.GetRequiredService<TradeIngestor>().RunBackfillAsync(IngestionHarness.Dates[0], IngestionHarness.Dates[0], Ct);
        var store = host.Services.GetRequiredService<IObjectStore>();
        using (var junk = new MemoryStream("{\"transaction_id\":\"\"}"u8.ToArray()))
        {
            await store.PutAsync("raw", "transactions/bad.json", junk, cancellationToken: Ct);
        }

        foreach (var key in Pipeline.Functions.Transactions.ReferenceData.Keys)
        {
            await Pipeline.Cli.RunCommand.UploadIfChangedAsync(store, "reference", key, Path.Combine(RepoPaths.Reference, key), Ct);
        }

        await host.StartAsync(Ct);
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
        await host.StopAsync(Ct);

        var status = await Pipeline.Cli.PipelineStatus.CollectAsync(host, runs: 1, Ct);

        Assert.Equal("sample", status.Source);
        var latest = Assert.Single(status.Runs);
        Assert.Equal("backfill", latest.Kind);
        Assert.Equal(h.Trades.MaxUpdatedAt, status.State!.Cursor);
        Assert.Equal(2, status.Queues.Count);
        Assert.All(status.Queues, q => Assert.Equal(0, q.Depth!.Total));
        Assert.Equal(1, status.QuarantinedRecords);
        var text = status.ToText();
        Assert.Contains("backfill backfill-20261116-20261116: SUCCEEDED", text, StringComparison.Ordinal);
        Assert.Contains("Quarantine: 1 records", text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(status.ToJson());
        Assert.Equal(0, json.RootElement.GetProperty("dead_lettered").GetInt64());
        Assert.Equal(1, json.RootElement.GetProperty("quarantined_records").GetInt64());
    }
}

/// <summary>The client alone against an address nothing listens on.</summary>
public sealed class TradeApiClientTests
{
    [Fact]
    public async Task GetAsync_NothingListening_FailsAfterMaxAttemptsNamingTheUrl()
    {
        int port;
        using (var probe = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0))
        {
            probe.Start();
            port = ((System.Net.IPEndPoint)probe.LocalEndpoint).Port;
        }

        var options = new IngestionOptions { BaseUrl = new Uri($"http://127.0.0.1:{port}"), MaxAttempts = 3, BaseDelay = TimeSpan.FromMilliseconds(5), MaxDelay = TimeSpan.FromMilliseconds(20), RequestsPerSecond = 1000 };
        var logs = new System.Collections.Concurrent.ConcurrentQueue<string>();
        await using var client = new TradeApiClient(options, new ListLogger(logs));
        var url = options.ResourceUrl([new("page", "1")]);

        var ex = await Assert.ThrowsAsync<IngestionHttpException>(() => client.GetAsync(url, TestContext.Current.CancellationToken));

        Assert.Equal(3, ex.Attempts);
        Assert.Null(ex.Status);
        Assert.Contains(url.ToString(), ex.Message, StringComparison.Ordinal);
        Assert.Equal(2, client.Retries);
        Assert.All(logs, l => Assert.Contains(url.ToString(), l, StringComparison.Ordinal));
    }

    private sealed class ListLogger(System.Collections.Concurrent.ConcurrentQueue<string> sink) : Microsoft.Extensions.Logging.ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(Microsoft.Extensions.Logging.LogLevel logLevel) => true;

        public void Log<TState>(Microsoft.Extensions.Logging.LogLevel logLevel, Microsoft.Extensions.Logging.EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            sink.Enqueue(formatter(state, exception));
    }
}
