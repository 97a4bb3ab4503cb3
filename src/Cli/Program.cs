using System.CommandLine;
using Pipeline.Cli;
using Pipeline.Functions;
using Pipeline.Host;

// The pipeline's commands: run (the main job), review (a transform change against the warehouse), start (the long-running host), query, bench,
// ingest / backfill / status / serve-sample-api (the scheduled API ingestion).
var dataRoot = new Option<string?>("--data-root") { Description = "Data folder of the embedded providers (default .pipeline)." };
var contentRoot = new Option<string?>("--content-root") { Description = "Repository root with host.json, local.settings.json and local/ (found automatically)." };
var json = new Option<bool>("--json") { Description = "Print one JSON object instead of text." };

var paths = new Argument<string[]>("PATH") { Arity = ArgumentArity.ZeroOrMore, Description = "Transaction files or folders (default: the bundled samples in local/samples)." };
var timeout = new Option<TimeSpan>("--timeout") { Description = "Give up waiting for the pipeline to drain after this long.", DefaultValueFactory = _ => TimeSpan.FromMinutes(30) };
var run = new Command("run", "Put files into the raw zone, run the pipeline until the queue is drained, print a reconciled summary.")
{
    paths, json, dataRoot, contentRoot, timeout,
};
run.SetAction((parse, ct) => RunCommand.RunAsync(
    parse.GetValue(paths) ?? [], parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, parse.GetValue(timeout), ct));

var sql = new Argument<string>("SQL") { Description = "One read-only SQL statement." };
var query = new Command("query", "Run a read-only query against the warehouse.") { sql, json, dataRoot, contentRoot };
query.SetAction((parse, ct) => QueryCommand.RunAsync(
    parse.GetValue(sql)!, parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

var records = new Option<int>("--records") { Description = "Synthetic transactions to generate.", DefaultValueFactory = _ => 100_000 };
var files = new Option<int>("--files") { Description = "Number of small files for the many-files case.", DefaultValueFactory = _ => 200 };
var keep = new Option<bool>("--keep") { Description = "Keep the benchmark's data root." };
var megabytes = new Option<long>("--megabytes") { Description = "Generate the one big file by size instead of --records (e.g. 1024 for the 1 GB peak-RSS case)." };
var quick = new Option<bool>("--quick") { Description = "Only the parse-only baseline before the end-to-end runs (for very large inputs)." };
var bench = new Command("bench", "Benchmark the embedded pipeline end to end beside a parse-only baseline.") { records, files, keep, megabytes, quick, contentRoot };
bench.SetAction((parse, ct) => BenchCommand.RunAsync(
    parse.GetValue(records), parse.GetValue(files), parse.GetValue(keep), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, ct, parse.GetValue(megabytes), parse.GetValue(quick)));

var until = new Option<DateTimeOffset?>("--until") { Description = "End of the window (exclusive; default now), as the timer's scheduled time would be." };
var ingest = new Command("ingest", "Run the IngestTrades function once now: fetch the trades API from the stored cursor into the raw zone.") { until, json, dataRoot, contentRoot };
ingest.SetAction((parse, ct) => IngestionCommands.IngestAsync(
    parse.GetValue(until), parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

var fromDate = new Option<DateOnly>("--from") { Description = "First trade date (UTC, yyyy-MM-dd).", Required = true };
var toDate = new Option<DateOnly>("--to") { Description = "Last trade date (UTC, inclusive).", Required = true };
var backfill = new Command("backfill", "Fetch trades executed in a date range into the raw zone, without touching the incremental cursor.") { fromDate, toDate, json, dataRoot, contentRoot };
backfill.SetAction((parse, ct) => IngestionCommands.BackfillAsync(
    parse.GetValue(fromDate), parse.GetValue(toDate), parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

var runs = new Option<int>("--runs") { Description = "How many of the latest ingestion runs to show.", DefaultValueFactory = _ => 5 };
var status = new Command("status", "Show raw objects by state, dead-lettered objects, the ingestion cursor and last runs, queue depths, dead-letter and quarantine counts.") { runs, json, dataRoot, contentRoot };
status.SetAction((parse, ct) => IngestionCommands.StatusAsync(
    parse.GetValue(runs), parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

var redrive = new Command("redrive", "Send dead-lettered object events and messages back for processing (after fixing the cause).") { json, dataRoot, contentRoot };
redrive.SetAction((parse, ct) => RedriveCommand.RunAsync(
    parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

var port = new Option<int>("--port") { Description = "Loopback port (0 = a free one).", DefaultValueFactory = _ => 5080 };
var perDay = new Option<int>("--trades-per-day") { Description = "Trades per trade date.", DefaultValueFactory = _ => 1000 };
var apiFrom = new Option<DateOnly?>("--from") { Description = "First trade date served (default: the first date of the bundled FX rates)." };
var apiTo = new Option<DateOnly?>("--to") { Description = "Last trade date served (default: the last date of the bundled FX rates)." };
var rate = new Option<double>("--rate") { Description = "Requests per second before 429 (0 = unlimited).", DefaultValueFactory = _ => 20 };
var retryAfter = new Option<string>("--retry-after") { Description = "Retry-After on 429: seconds, date or none.", DefaultValueFactory = _ => "seconds" };
retryAfter.AcceptOnlyFromAmong("seconds", "date", "none");
var failEvery = new Option<int>("--fail-every") { Description = "Start a burst of failures every N requests (0 = never).", DefaultValueFactory = _ => 0 };
var failBurst = new Option<int>("--fail-burst") { Description = "Failures per burst.", DefaultValueFactory = _ => 1 };
var failStatus = new Option<int>("--fail-status") { Description = "Status of an injected failure.", DefaultValueFactory = _ => 503 };
var apiKey = new Option<string?>("--api-key") { Description = "Require this X-Api-Key header (default: no key). Prefer the SAMPLE_API_KEY environment variable." };
var serve = new Command("serve-sample-api", "Serve deterministic paginated trades on loopback (page, offset, cursor and Link styles), with a rate limit and injectable failures.")
{
    port, perDay, apiFrom, apiTo, rate, retryAfter, failEvery, failBurst, failStatus, apiKey, contentRoot,
};
serve.SetAction((parse, ct) => IngestionCommands.ServeSampleApiAsync(
    new Pipeline.Cli.SampleApi.SampleApiOptions
    {
        Port = parse.GetValue(port),
        RequestsPerSecond = parse.GetValue(rate),
        RetryAfterFormat = parse.GetValue(retryAfter)!,
        FailEvery = parse.GetValue(failEvery),
        FailBurst = parse.GetValue(failBurst),
        FailStatus = parse.GetValue(failStatus),
        ApiKey = parse.GetValue(apiKey) ?? Environment.GetEnvironmentVariable("SAMPLE_API_KEY"),
    },
    parse.GetValue(perDay), parse.GetValue(apiFrom), parse.GetValue(apiTo), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

var refineDate = new Option<DateOnly?>("--date") { Description = "Trade date to refine (UTC, yyyy-MM-dd; default yesterday UTC)." };
var refineFrom = new Option<DateOnly?>("--from") { Description = "First trade date of a range to refine." };
var refineTo = new Option<DateOnly?>("--to") { Description = "Last trade date of a range to refine (inclusive)." };
var refine = new Command("refine", "Run RefineDaily now: per-counterparty exposure and positions for the given days, replacing those days' results.") { refineDate, refineFrom, refineTo, json, dataRoot, contentRoot };
refine.SetAction((parse, ct) => RefineCommand.RunAsync(
    parse.GetValue(refineDate), parse.GetValue(refineFrom), parse.GetValue(refineTo), parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

var refineRecords = new Option<int>("--records") { Description = "Synthetic trade versions to merge into the warehouse.", DefaultValueFactory = _ => 1_000_000 };
var refineDays = new Option<int>("--days") { Description = "Trade dates the trades spread over.", DefaultValueFactory = _ => 5 };
var benchRefine = new Command("bench-refine", "Benchmark RefineDaily on the embedded warehouse with N synthetic trades.") { refineRecords, refineDays, keep, contentRoot };
benchRefine.SetAction((parse, ct) => RefineBenchCommand.RunAsync(
    parse.GetValue(refineRecords), parse.GetValue(refineDays), parse.GetValue(keep), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, ct));

var chunkRecords = new Option<int>("--records") { Description = "Synthetic transactions to enrich and chunk.", DefaultValueFactory = _ => 1_000_000 };
var chunkSize = new Option<int>("--chunk-records") { Description = "Records per chunk (default Enrichment:ChunkRecords' default, 1,000)." };
var benchChunks = new Command("bench-chunks", "Benchmark the claim-check chunk formats (Parquet vs NDJSON + gzip): write/read speed and size.") { chunkRecords, chunkSize, contentRoot };
benchChunks.SetAction((parse, ct) => ChunkBenchCommand.RunAsync(
    parse.GetValue(chunkRecords), parse.GetValue(chunkSize), parse.GetValue(contentRoot), parse.InvocationConfiguration.Output, ct));

var reviewKeys = new Argument<string[]>("KEY") { Arity = ArgumentArity.ZeroOrMore, Description = "Raw-zone keys or key prefixes to review (default: every object under transactions/)." };
var since = new Option<string?>("--since") { Description = "Only objects last modified on or after this day (UTC, yyyy-MM-dd)." };
var examples = new Option<int>("--examples") { Description = "Example rows shown per table.", DefaultValueFactory = _ => 3 };
var review = new Command("review", "Recompute transactions, confirmations and regulatory_reports from the raw zone with the current code and show how they differ from the warehouse (exit 1 when they do). Writes nothing.")
{
    reviewKeys, since, examples, json, dataRoot, contentRoot,
};
review.SetAction((parse, ct) => Pipeline.Cli.Review.ReviewCommand.RunAsync(
    parse.GetValue(reviewKeys) ?? [], parse.GetValue(since), parse.GetValue(examples), parse.GetValue(json), parse.GetValue(dataRoot), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, ct));

string root;
try
{
    root = PipelineApp.FindContentRoot(ContentRootArgument(args));
}
catch (DirectoryNotFoundException)
{
    root = Directory.GetCurrentDirectory();
}

// `start` runs the worker app through the host (as `dotnet run --project src/Host -- start --script-root <its output>`).
if (args.Length > 0 && args[0] == "start" && !args.Contains("--script-root"))
{
    try
    {
        args = [.. args, "--script-root", PipelineApp.WorkerScriptRoot()];
    }
    catch (DirectoryNotFoundException ex)
    {
        await Console.Error.WriteLineAsync(ex.Message);
        return 2;
    }
}

var start = FunctionsHost.CreateStartCommand(PipelineApp.Options(root, null, consoleLogging: true, args), PipelineApp.Configure);
var rootCommand = new RootCommand("Pipeline: enrich → FIFO → load, on the embedded providers by default.") { run, review, start, query, bench, ingest, backfill, status, redrive, serve, refine, benchRefine, benchChunks };
var parsed = rootCommand.Parse(args);
if (parsed.Errors.Count > 0 && parsed.CommandResult.Command == review)
{
    // review promises 1 for "differences found", so a usage error must not look like one.
    foreach (var parseError in parsed.Errors)
    {
        await Console.Error.WriteLineAsync(parseError.Message);
    }

    return 2;
}

return await parsed.InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

static string? ContentRootArgument(string[] args)
{
    var i = Array.IndexOf(args, "--content-root");
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
