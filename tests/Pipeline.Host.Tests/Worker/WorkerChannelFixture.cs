using Microsoft.Extensions.Logging;
using Pipeline.Host.WorkerProtocol;

namespace Pipeline.Host.Tests.Worker;

/// <summary>One real worker process (tests/Pipeline.Host.WorkerApp) with every function loaded, shared by a test class.</summary>
public sealed class WorkerChannelFixture : IAsyncLifetime
{
    public CapturingLoggerProvider Logs { get; } = new();

    public string EffectsFile { get; } = Path.Combine(Directory.CreateTempSubdirectory("pipeline-worker-").FullName, "effects.txt");

    public WorkerChannel Channel { get; private set; } = null!;

    public ILoggerFactory Loggers { get; private set; } = null!;

    public async ValueTask InitializeAsync()
    {
        Loggers = LoggerFactory.Create(logging => logging.SetMinimumLevel(LogLevel.Trace).AddProvider(Logs));
        Channel = await WorkerChannel.StartAsync(
            new WorkerChannelOptions
            {
                ScriptRoot = WorkerApp.ScriptRoot(),
                Settings = new Dictionary<string, string?> { ["WORKERAPP_EFFECTS"] = EffectsFile },
            },
            Loggers);
        await Channel.LoadAsync(Channel.Functions);
    }

    public WorkerFunction Function(string name) => Channel.Functions.Single(f => f.Name == name);

    public async ValueTask DisposeAsync()
    {
        await Channel.DisposeAsync();
        Loggers.Dispose();
        Directory.Delete(Path.GetDirectoryName(EffectsFile)!, recursive: true);
    }
}
