using System.CommandLine;

namespace Pipeline.Host;

/// <summary>
/// The standalone Functions host: <c>dotnet run --project src/Host -- start [--script-root DIR] [--functions A B]</c> runs
/// any isolated-worker app's build output, as <c>func start</c> does, until Ctrl+C.
/// </summary>
internal static class Program
{
    public static async Task<int> Main(string[] args)
    {
        var options = new FunctionsHostOptions { Args = args };
        var scriptRoot = new Option<string>("--script-root") { Description = "The app's build output (default: the current folder).", DefaultValueFactory = _ => Directory.GetCurrentDirectory() };
        var function = new Option<string>("--function") { Description = "The function to invoke.", DefaultValueFactory = _ => "Echo" };
        var payload = new Option<string>("--payload")
        {
            Description = "The trigger payload (JSON).",
            DefaultValueFactory = _ => """{"messageId":"m-1","receiptHandle":"r-1","body":"hello","receiveCount":1,"attributes":{},"sentAt":"2026-12-06T00:00:00Z"}""",
        };
        var invocations = new Option<int>("--invocations") { Description = "Timed invocations (after 100 warm-up ones).", DefaultValueFactory = _ => 1000 };
        var bench = new Command("bench-worker", "Measure an isolated-worker app over the protocol: start to first function ready, invocation round trip, worker memory.")
        {
            scriptRoot, function, payload, invocations,
        };
        bench.SetAction((parse, ct) => WorkerProtocol.WorkerBench.RunAsync(
            parse.GetValue(scriptRoot)!, parse.GetValue(function)!, parse.GetValue(payload)!, parse.GetValue(invocations), parse.InvocationConfiguration.Output, ct));

        var root = new RootCommand("Pipeline functions host: runs an isolated-worker app (like 'func start').")
        {
            Internal.StartCommand.Create(options, configure: null, isolatedByDefault: true),
            bench,
        };

        // The host handles Ctrl+C/SIGTERM itself to shut down gracefully.
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }
}
