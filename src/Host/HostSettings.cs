using Microsoft.Extensions.Logging;

namespace Pipeline.Host;

/// <summary>Host behaviour from host.json (Azure Functions v2 schema, the parts this host implements).</summary>
public sealed record HostSettings
{
    public const string SupportedVersion = "2.0";

    public QueueSettings Queues { get; init; } = new();

    /// <summary>host.json <c>extensions.blobs</c> (Azure's name): object-created events.</summary>
    public ObjectEventSettings Objects { get; init; } = new();

    /// <summary>Retry policy, or null for none (a failure is final for the invocation; queue messages return at once).</summary>
    public RetrySettings? Retry { get; init; }

    /// <summary>Longest an invocation may run before it is cancelled and counted as failed; null = unlimited ("-1").</summary>
    public TimeSpan? FunctionTimeout { get; init; } = TimeSpan.FromMinutes(30);

    /// <summary>logging.logLevel: category prefix ("default" for all) → minimum level.</summary>
    public IReadOnlyDictionary<string, LogLevel> LogLevels { get; init; } = new Dictionary<string, LogLevel>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Paths of host.json keys Azure Functions documents but this host does not implement (e.g.
    /// <c>logging.applicationInsights</c>): accepted so Azure apps run unchanged, without effect; the host logs each as a
    /// warning when it starts.
    /// </summary>
    public IReadOnlyList<string> IgnoredAzureKeys { get; init; } = [];

    /// <summary>Reads host.json; a missing file yields the defaults.</summary>
    /// <exception cref="HostConfigurationException">When a field is invalid; the message names it and what was expected.</exception>
    public static HostSettings Load(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        return File.Exists(path) ? Parse(File.ReadAllText(path), path) : new HostSettings();
    }

    /// <exception cref="HostConfigurationException">When a field is invalid; the message names it and what was expected.</exception>
    public static HostSettings Parse(string json, string source = "host.json") => Internal.HostJsonParser.Parse(json, source);
}

/// <summary>host.json <c>extensions.queues</c>.</summary>
public sealed record QueueSettings
{
    /// <summary>Messages per batch handed to a queue function (1..10, the SQS receive limit).</summary>
    public int BatchSize { get; init; } = 10;

    /// <summary>Deliveries after which a failing message goes to the dead-letter queue.</summary>
    public int MaxDequeueCount { get; init; } = 5;

    /// <summary>How long a received message stays invisible; the host heartbeats at half of it while a batch runs.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// As Azure's: a queue function gets another batch while the messages in flight are at most this many
    /// (0 = one batch at a time, the default; batchSize/2 overlaps fetching with work).
    /// </summary>
    public int NewBatchThreshold { get; init; }

    /// <summary>Longest wait between polls of an idle queue or zone.</summary>
    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromSeconds(2);
}

/// <summary>host.json <c>extensions.blobs</c>: how object-created events (S3 or filesystem) are run.</summary>
public sealed record ObjectEventSettings
{
    /// <summary>
    /// As Azure's blob trigger setting: object events in flight at once per zone. The listener fetches more (up to
    /// <see cref="QueueSettings.BatchSize"/> per poll) whenever fewer run, so many small objects overlap their I/O
    /// instead of waiting batch by batch.
    /// </summary>
    public int MaxDegreeOfParallelism { get; init; } = 16;
}

public enum RetryStrategy
{
    FixedDelay,
    ExponentialBackoff,
}

/// <summary>host.json <c>retry</c>.</summary>
public sealed record RetrySettings
{
    public RetryStrategy Strategy { get; init; } = RetryStrategy.FixedDelay;

    /// <summary>Retries after the first attempt; -1 = unlimited.</summary>
    public int MaxRetryCount { get; init; }

    /// <summary>fixedDelay: the delay between attempts.</summary>
    public TimeSpan DelayInterval { get; init; }

    /// <summary>exponentialBackoff: the first delay.</summary>
    public TimeSpan MinimumInterval { get; init; }

    /// <summary>exponentialBackoff: the largest delay.</summary>
    public TimeSpan MaximumInterval { get; init; }

    /// <summary>The delay before retry number <paramref name="retry"/> (1-based).</summary>
    public TimeSpan GetDelay(int retry)
    {
        if (Strategy == RetryStrategy.FixedDelay)
        {
            return DelayInterval;
        }

        var exponent = Math.Clamp(retry - 1, 0, 30);
        var ticks = Math.Min(MinimumInterval.Ticks * Math.Pow(2, exponent), MaximumInterval.Ticks);
        return TimeSpan.FromTicks((long)ticks);
    }
}
