namespace Pipeline.Host;

/// <summary>
/// The standalone Functions host: <c>dotnet run --project src/Host -- start [--script-root DIR] [--functions A B]</c> runs
/// any isolated-worker app's build output, as <c>func start</c> does, until Ctrl+C.
/// </summary>
internal static class Program
{
    public static Task<int> Main(string[] args) =>
        Internal.StartCommand.RunAsync(args, new FunctionsHostOptions { Args = args }, configure: null, isolatedByDefault: true);
}
