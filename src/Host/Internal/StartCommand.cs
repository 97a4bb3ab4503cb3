using System.CommandLine;
using System.Runtime.InteropServices;

namespace Pipeline.Host.Internal;

/// <summary><c>start</c>, like <c>func start</c>: list the functions, run until Ctrl+C/SIGTERM, stop gracefully.</summary>
internal static class StartCommand
{
    /// <param name="isolatedByDefault">
    /// True for the standalone host (src/Host's Program): like <c>func start</c>, it runs the isolated-worker app in the
    /// current folder unless <c>--script-root</c> names another. False for an in-process app's own <c>start</c> verb,
    /// which runs its own functions unless <c>--script-root</c> is given.
    /// </param>
    public static Command Create(FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure, bool isolatedByDefault = false)
    {
        var functions = new Option<string[]>("--functions")
        {
            Description = "Run only these functions (names separated by spaces).",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var contentRoot = new Option<string?>("--content-root") { Description = "Folder with host.json and local.settings.json." };
        var dataRoot = new Option<string?>("--data-root") { Description = "Data folder of the embedded providers (default .pipeline)." };
        var scriptRoot = new Option<string?>("--script-root")
        {
            Description = "Run the isolated-worker app built into this folder (worker.config.json, functions.metadata); default: "
                + (isolatedByDefault ? "the current folder." : "this app's own functions."),
        };
        var command = new Command("start", "Run the functions host (like 'func start') until Ctrl+C.")
        {
            functions,
            contentRoot,
            dataRoot,
            scriptRoot,
        };
        command.SetAction(async (parse, _) =>
        {
            var effective = new FunctionsHostOptions
            {
                Args = options.Args,
                ContentRoot = parse.GetValue(contentRoot) ?? options.ContentRoot,
                DataRoot = parse.GetValue(dataRoot) ?? options.DataRoot,
                Functions = parse.GetValue(functions) is { Length: > 0 } names ? names : options.Functions,
                Settings = options.Settings,
                LoadLocalSettings = options.LoadLocalSettings,
                ConsoleLogging = options.ConsoleLogging,
                ShutdownTimeout = options.ShutdownTimeout,
                MinPollingInterval = options.MinPollingInterval,
                IdleQuietPeriod = options.IdleQuietPeriod,
            };
            var script = parse.GetValue(scriptRoot) ?? (isolatedByDefault ? Directory.GetCurrentDirectory() : null);
            return await RunHostAsync(effective, configure, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, script);
        });
        return command;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure, bool isolatedByDefault = false)
    {
        var root = new RootCommand("Pipeline functions host: runs an isolated-worker app (like 'func start').") { Create(options, configure, isolatedByDefault) };

        // The host handles Ctrl+C/SIGTERM itself to shut down gracefully (longer than System.CommandLine's default wait).
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    internal static async Task<int> RunHostAsync(FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure, TextWriter output, TextWriter error, string? scriptRoot = null)
    {
        FunctionsHost host;
        try
        {
            if (scriptRoot is not null)
            {
                host = await WorkerProtocol.IsolatedWorkerHost.BuildAsync(scriptRoot, options, configure);
            }
            else
            {
                var builder = FunctionsHost.CreateBuilder(options);
                configure?.Invoke(builder);
                host = builder.Build();
            }
        }
        catch (Exception ex) when (ex is HostConfigurationException or FunctionDefinitionException or WorkerProtocol.WorkerUnavailableException)
        {
            await error.WriteLineAsync($"error: {ex.Message}");
            return 1;
        }

        await using (host)
        {
            await output.WriteLineAsync("Functions:");
            await output.WriteLineAsync();
            foreach (var function in host.Functions)
            {
                await output.WriteLineAsync($"  {function}");
            }

            await output.WriteLineAsync();
            await output.FlushAsync();

            using var shutdown = new CancellationTokenSource();
            void OnSignal(PosixSignalContext context)
            {
                context.Cancel = true;
                shutdown.Cancel();
            }

            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
            try
            {
                await host.StartAsync(shutdown.Token);
            }
            catch (HostConfigurationException ex)
            {
                await error.WriteLineAsync($"error: {ex.Message}");
                return 1;
            }

            try
            {
                await Task.Delay(Timeout.Infinite, shutdown.Token);
            }
            catch (OperationCanceledException)
            {
                // Ctrl+C or SIGTERM.
            }

            await host.StopAsync(CancellationToken.None);
        }

        return 0;
    }
}
