using System.CommandLine;
using Pipeline.Functions;
using Pipeline.Host;

// The pipeline app: run (the main job), start (the long-running host), query, bench.
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
var bench = new Command("bench", "Benchmark the embedded pipeline end to end beside a parse-only baseline.") { records, files, keep, contentRoot };
bench.SetAction((parse, ct) => BenchCommand.RunAsync(
    parse.GetValue(records), parse.GetValue(files), parse.GetValue(keep), parse.GetValue(contentRoot),
    parse.InvocationConfiguration.Output, ct));

string root;
try
{
    root = PipelineApp.FindContentRoot(ContentRootArgument(args));
}
catch (DirectoryNotFoundException)
{
    root = Directory.GetCurrentDirectory();
}

var start = FunctionsHost.CreateStartCommand(PipelineApp.Options(root, null, consoleLogging: true, args), PipelineApp.Configure);
var rootCommand = new RootCommand("Pipeline: enrich → FIFO → load, on the embedded providers by default.") { run, start, query, bench };
return await rootCommand.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

static string? ContentRootArgument(string[] args)
{
    var i = Array.IndexOf(args, "--content-root");
    return i >= 0 && i + 1 < args.Length ? args[i + 1] : null;
}
