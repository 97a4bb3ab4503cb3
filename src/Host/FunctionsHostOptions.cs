namespace Pipeline.Host;

/// <summary>How <see cref="FunctionsHost.CreateBuilder"/> sets up a host.</summary>
public sealed class FunctionsHostOptions
{
    /// <summary>The process arguments (kept for the app; <c>start</c> parses its own options).</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>Folder holding host.json and local.settings.json. Default: the current directory when it has
    /// a host.json, otherwise the app's base directory.</summary>
    public string? ContentRoot { get; init; }

    /// <summary>Root folder of the embedded providers' data (setting <c>Embedded:DataRoot</c>, default <c>.pipeline</c>).</summary>
    public string? DataRoot { get; init; }

    /// <summary>Runs only these functions (like <c>func start --functions A B</c>); null or empty = all.</summary>
    public IReadOnlyList<string>? Functions { get; init; }

    /// <summary>Configuration overrides, above environment variables and local.settings.json (tests use these).</summary>
    public IReadOnlyDictionary<string, string?> Settings { get; init; } = new Dictionary<string, string?>();

    /// <summary>
    /// Registers the providers the <c>Provider</c> setting selects on the host side (listeners, queue gauges). False for a host
    /// that only invokes its worker (the Lambda bootstrap: the event source mapping receives and deletes, the worker does the I/O);
    /// the worker still gets the setting. Default true.
    /// </summary>
    public bool AddProviders { get; init; } = true;

    /// <summary>Reads local.settings.json from the content root (func does; set false in production-like runs).</summary>
    public bool LoadLocalSettings { get; init; } = true;

    /// <summary>Adds the readable single-line console logger.</summary>
    public bool ConsoleLogging { get; init; } = true;

    /// <summary>How long <see cref="FunctionsHost.StopAsync"/> lets in-flight invocations finish before cancelling them.</summary>
    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Shortest wait between polls of an idle queue or zone (the wait doubles up to host.json maxPollingInterval).</summary>
    public TimeSpan MinPollingInterval { get; init; } = TimeSpan.FromMilliseconds(100);

    /// <summary>How long <see cref="FunctionsHost.WaitUntilIdleAsync"/> needs to see no work before it returns.</summary>
    public TimeSpan IdleQuietPeriod { get; init; } = TimeSpan.FromMilliseconds(250);
}
