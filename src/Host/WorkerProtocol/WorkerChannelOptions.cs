namespace Pipeline.Host.WorkerProtocol;

/// <summary>How a <see cref="WorkerChannel"/> starts an isolated-worker app.</summary>
public sealed class WorkerChannelOptions
{
    /// <summary>The app's build output: worker.config.json, functions.metadata, host.json, local.settings.json.</summary>
    public required string ScriptRoot { get; init; }

    /// <summary>Settings for the worker's environment, above local.settings.json and the real environment ("A:B" becomes A__B).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Give the worker local.settings.json's Values as environment (a real environment variable wins), as func does.</summary>
    public bool LoadLocalSettings { get; init; } = true;

    /// <summary>The gRPC message size limit, both ways (Azure's host uses int.MaxValue).</summary>
    public int MaxMessageLength { get; init; } = int.MaxValue;

    /// <summary>How long the worker may take from process start to a finished handshake.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>How long the worker gets to exit after WorkerTerminate before it is killed.</summary>
    public TimeSpan TerminateGracePeriod { get; init; } = TimeSpan.FromSeconds(5);
}
