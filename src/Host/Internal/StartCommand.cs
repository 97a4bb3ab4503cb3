using System.CommandLine;
using System.Runtime.InteropServices;

namespace Pipeline.Host.Internal;

/// <summary><c>start</c>, like <c>func start</c>: list the functions, run until Ctrl+C/SIGTERM, stop gracefully.</summary>
internal static class StartCommand
{
    public static Command Create(FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure)
    {
        var functions = new Option<string[]>("--functions")
        {
            Description = "Run only these functions (names separated by spaces).",
            AllowMultipleArgumentsPerToken = true,
            Arity = ArgumentArity.OneOrMore,
        };
        var contentRoot = new Option<string?>("--content-root") { Description = "Folder with host.json and local.settings.json." };
        var dataRoot = new Option<string?>("--data-root") { Description = "Data folder of the embedded providers (default .pipeline)." };
        var command = new Command("start", "Run the functions host (like 'func start') until Ctrl+C.")
        {
            functions,
            contentRoot,
            dataRoot,
        };
        command.SetAction(async (parse, _) =>
        {
            var effective = new FunctionsHostOptions
            {
                Args = options.Args,
                ContentRoot = parse.GetValue(contentRoot) ?? options.ContentRoot,
                DataRoot = parse.GetValue(dataRoot) ?? options.DataRoot,
                FunctionAssemblies = options.FunctionAssemblies,
                Functions = parse.GetValue(functions) is { Length: > 0 } names ? names : options.Functions,
                Settings = options.Settings,
                LoadLocalSettings = options.LoadLocalSettings,
                ConsoleLogging = options.ConsoleLogging,
                ShutdownTimeout = options.ShutdownTimeout,
                MinPollingInterval = options.MinPollingInterval,
                IdleQuietPeriod = options.IdleQuietPeriod,
            };
            return await RunHostAsync(effective, configure, parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error);
        });
        return command;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args, FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure)
    {
        var root = new RootCommand("Pipeline functions host.") { Create(options, configure) };

        // The host handles Ctrl+C/SIGTERM itself to shut down gracefully (longer than System.CommandLine's default wait).
        return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
    }

    internal static async Task<int> RunHostAsync(FunctionsHostOptions options, Action<FunctionsHostBuilder>? configure, TextWriter output, TextWriter error)
    {
        FunctionsHost host;
        try
        {
            var builder = FunctionsHost.CreateBuilder(options);
            configure?.Invoke(builder);
            host = builder.Build();
        }
        catch (Exception ex) when (ex is HostConfigurationException or FunctionDefinitionException)
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
