using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Pipeline.Host;

/// <summary>Passed to timer-triggered functions.</summary>
/// <param name="ScheduledTime">The occurrence this invocation is for (UTC).</param>
/// <param name="IsPastDue">True when the invocation starts later than one interval after its occurrence.</param>
/// <param name="IsStartupRun">True for the RunOnStartup invocation.</param>
public sealed record TimerInfo(DateTimeOffset ScheduledTime, DateTimeOffset? Next, bool IsPastDue, bool IsStartupRun);

/// <summary>The per-message outcome of a queue-triggered batch: listed messages return to the queue, the rest are deleted.</summary>
public sealed record QueueBatchResult(IReadOnlyList<MessageFailure> Failures)
{
    public static QueueBatchResult Success { get; } = new(Array.Empty<MessageFailure>());
}

/// <param name="MessageId">The failed message's <see cref="Pipeline.Providers.Abstractions.ReceivedMessage.MessageId"/>.</param>
public sealed record MessageFailure(string MessageId, string Reason, Exception? Exception = null)
{
    /// <summary>The error's type name when the failure crossed without its exception (a worker's batch result).</summary>
    public string? ErrorType { get; init; }
}

/// <summary>Optional function parameter: who is being invoked and why.</summary>
public sealed class FunctionContext
{
    public required string FunctionName { get; init; }

    public required string InvocationId { get; init; }

    public required IServiceProvider Services { get; init; }

    public IReadOnlyDictionary<string, string> TriggerMetadata { get; init; } = new Dictionary<string, string>();

    /// <summary>The invocation's logger (category "Function.&lt;Name&gt;").</summary>
    public ILogger Logger { get; init; } = NullLogger.Instance;

    /// <summary>The function's trigger, with settings resolved.</summary>
    public TriggerBinding? Trigger { get; init; }
}
