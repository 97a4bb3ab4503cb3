using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Functions.Ingestion;
using Pipeline.Cli.SampleApi;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary><c>ingest</c>, <c>backfill</c>, <c>status</c> and <c>serve-sample-api</c>.</summary>
public static class IngestionCommands
{
    /// <summary><c>ingest</c>: one incremental run now, exactly what the IngestTrades timer does.</summary>
    public static Task<int> IngestAsync(DateTimeOffset? until, bool json, string? dataRoot, string? contentRoot, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        WithIngestorAsync(dataRoot, contentRoot, json, error, (ingestor, ct) => ingestor.RunIncrementalAsync(until ?? DateTimeOffset.UtcNow, ct), json, output, cancellationToken);

    /// <summary><c>backfill --from --to</c>: fetch a date range without touching the cursor.</summary>
    public static Task<int> BackfillAsync(DateOnly from, DateOnly to, bool json, string? dataRoot, string? contentRoot, TextWriter output, TextWriter error, CancellationToken cancellationToken) =>
        WithIngestorAsync(
            dataRoot,
            contentRoot,
            json,
            error,
            (ingestor, ct) => RunProgress.ShouldShow(json, output)
                ? RunProgress.TrackReadingsAsync(Spectre.Console.AnsiConsole.Console, () => ingestor.RunBackfillAsync(from, to, ct), poll => BackfillReadingAsync(ingestor, from, to, poll), ct)
                : ingestor.RunBackfillAsync(from, to, ct),
            json,
            output,
            cancellationToken);

    /// <summary>
    /// Backfill is one window fetched page by page in executed_at order with no total known up front, so the honest
    /// measure is the pages written so far (the count and the rate) against the days asked for.
    /// </summary>
    public static async Task<ProgressReading> BackfillReadingAsync(TradeIngestor ingestor, DateOnly from, DateOnly to, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(ingestor);
        var pages = await ingestor.CountBackfillPagesAsync(from, to, cancellationToken);
        return BackfillReading(from, to, pages);
    }

    public static ProgressReading BackfillReading(DateOnly from, DateOnly to, long pages) =>
        new(0, 0, string.Create(CultureInfo.InvariantCulture, $"backfill {from:yyyy-MM-dd}..{to:yyyy-MM-dd} ({to.DayNumber - from.DayNumber + 1} days)"), pages, "pages fetched");

    /// <summary><c>status</c>: cursor, last runs with their audit figures, queue depths, dead letters, quarantine.</summary>
    public static async Task<int> StatusAsync(int runs, bool json, string? dataRoot, string? contentRootOption, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var host = await PipelineApp.TryBuildHostAsync(dataRoot, contentRootOption, consoleLogging: false, error);
        if (host is null)
        {
            return 2;
        }

        await using (host)
        {
            var report = await PipelineStatus.CollectAsync(host, runs, cancellationToken);
            await output.WriteLineAsync(json ? report.ToJson() : report.ToText());
            return 0;
        }
    }

    /// <summary><c>serve-sample-api</c>: runs until Ctrl+C.</summary>
    public static async Task<int> ServeSampleApiAsync(SampleApiOptions options, int tradesPerDay, DateOnly? from, DateOnly? to, string? contentRootOption, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        SampleTrades trades;
        try
        {
            var root = PipelineApp.FindContentRoot(contentRootOption);
            trades = SampleTrades.FromReference(Path.Combine(root, "local", "reference"), tradesPerDay, from, to);
        }
        catch (Exception ex) when (ex is DirectoryNotFoundException or ArgumentException or IOException)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }

        await using var server = new SampleTradeServer(trades, options);
        try
        {
            server.Start();
        }
        catch (System.Net.HttpListenerException ex)
        {
            await error.WriteLineAsync($"Cannot listen on port {options.Port}: {ex.Message}. Pass --port with a free port.");
            return 2;
        }

        var b = server.BaseUrl.ToString().TrimEnd('/');
        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"""
            Sample trades API on {b}: {trades.Count:N0} trades, {trades.TradesPerDay:N0} per day on {trades.Dates.Count} dates ({trades.Dates[0]:yyyy-MM-dd} … {trades.Dates[^1]:yyyy-MM-dd}).
              page number  {b}/trades?page=1&page_size=100         Ingestion:Pagination=PageNumber  Ingestion:Path=/trades
              offset/limit {b}/trades?offset=0&limit=100           Ingestion:Pagination=OffsetLimit Ingestion:Path=/trades
              cursor       {b}/cursor/trades?limit=100             Ingestion:Pagination=Cursor      Ingestion:Path=/cursor/trades Ingestion:RecordsField=data
              link header  {b}/link/trades?limit=100               Ingestion:Pagination=LinkHeader  Ingestion:Path=/link/trades
              filters      updated_since (inclusive), updated_before (exclusive) on updated_at (incremental runs);
                           executed_after (exclusive), executed_from (inclusive), executed_before (exclusive) on executed_at (backfill)
              late changes curl -X POST -d '' '{b}/admin/late-changes?ties=3'   (an AMEND and a CANCEL of older trades, 3 trades tied at the latest updated_at)
            Rate limit {(options.RequestsPerSecond > 0 ? options.RequestsPerSecond.ToString(CultureInfo.InvariantCulture) + " requests/s, then 429 + Retry-After (" + options.RetryAfterFormat + ")" : "off")}; failures: {(options.FailEvery > 0 ? $"{options.FailBurst} × {options.FailStatus} every {options.FailEvery} requests" : "none")}; API key {(string.IsNullOrEmpty(options.ApiKey) ? "not required" : "required (X-Api-Key)")}.
            Ctrl+C stops.
            """));
        try
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Ctrl+C.
        }

        await output.WriteLineAsync(string.Create(CultureInfo.InvariantCulture, $"Served {server.Requests.Count:N0} requests ({server.Requests.Count(r => r.Status == 429):N0} throttled)."));
        return 0;
    }

    private static async Task<int> WithIngestorAsync(
        string? dataRoot,
        string? contentRootOption,
        bool json,
        TextWriter error,
        Func<TradeIngestor, CancellationToken, Task<IngestionAudit>> run,
        bool printJson,
        TextWriter output,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var host = await PipelineApp.TryBuildHostAsync(dataRoot, contentRootOption, consoleLogging: !json, error);
        if (host is null)
        {
            return 2;
        }

        await using (host)
        {
            var ingestor = host.Services.GetRequiredService<TradeIngestor>();
            IngestionAudit audit;
            try
            {
                audit = await run(ingestor, cancellationToken);
            }
            catch (IngestionFailedException ex)
            {
                await error.WriteLineAsync(ex.Message);
                audit = ex.Audit;
                await output.WriteLineAsync(printJson ? Json(audit) : PipelineStatus.Describe(audit));
                return 1;
            }
            catch (InvalidOperationException ex) when (ex.Message.StartsWith("Setting 'Ingestion:", StringComparison.Ordinal))
            {
                await error.WriteLineAsync(ex.Message);
                return 2;
            }

            await output.WriteLineAsync(printJson ? Json(audit) : PipelineStatus.Describe(audit));
            var source = host.Services.GetRequiredService<IOptions<IngestionOptions>>().Value.Source;
            if (!printJson)
            {
                await output.WriteLineAsync($"Audit stored under {host.Services.GetRequiredService<PipelineSettings>().RawZone}/{TradeIngestor.RunsPrefix(source)}; pages under {TradeIngestor.PagesPrefix}{source}/ flow through EnrichTransactions when `start` runs.");
            }

            return 0;
        }
    }

    internal static string Json(IngestionAudit audit)
    {
        var copy = audit with { Keys = [] };
        return JsonSerializer.Serialize(copy, IngestionJsonContext.Default.IngestionAudit);
    }
}
