using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Lambda.Dispatch;

public enum LambdaTriggerKind
{
    /// <summary>Object created in a zone: S3 notifications arriving through a standard SQS queue.</summary>
    ObjectCreated,

    /// <summary>Batches from a queue (FIFO or standard) through an SQS event source mapping.</summary>
    Queue,

    /// <summary>A schedule: an EventBridge rule or EventBridge Scheduler.</summary>
    Timer,
}

/// <summary>What the adapter needs to know about the function named by <c>_HANDLER</c>.</summary>
/// <param name="Zone">Object trigger: the resolved zone (bucket) name.</param>
/// <param name="Prefix">Object trigger: the key prefix events must match.</param>
/// <param name="Queue">Queue trigger: the resolved queue name.</param>
/// <param name="Bucket">Object trigger: the S3 bucket behind the zone (notifications name buckets); null = the zone's name.</param>
public sealed record LambdaFunctionBinding(
    string Name,
    LambdaTriggerKind Trigger,
    string? Zone = null,
    string? Prefix = null,
    string? Queue = null,
    string? Bucket = null);

/// <summary>Per-invocation facts passed to the function (its FunctionContext trigger metadata).</summary>
public sealed record LambdaInvocationContext(string AwsRequestId, string? InvokedFunctionArn, string? TraceId)
{
    public IReadOnlyDictionary<string, string> ToMetadata(string? messageId = null)
    {
        var metadata = new Dictionary<string, string>(StringComparer.Ordinal) { ["AwsRequestId"] = AwsRequestId };
        if (InvokedFunctionArn is not null)
        {
            metadata["InvokedFunctionArn"] = InvokedFunctionArn;
        }

        if (TraceId is not null)
        {
            metadata["TraceId"] = TraceId;
        }

        if (messageId is not null)
        {
            metadata["MessageId"] = messageId;
        }

        return metadata;
    }
}

/// <summary>
/// The seam between the adapter and the function model: one function of the app, composed with the
/// same dependency injection and configuration as the host, callable directly by trigger kind.
/// </summary>
public interface ILambdaFunction
{
    LambdaFunctionBinding Binding { get; }

    Task InvokeObjectCreatedAsync(ObjectCreatedEvent objectCreated, LambdaInvocationContext context, CancellationToken cancellationToken = default);

    /// <summary>Runs the function on the batch; the result lists the messages that failed.</summary>
    Task<QueueBatchResult> InvokeQueueBatchAsync(IReadOnlyList<ReceivedMessage> messages, LambdaInvocationContext context, CancellationToken cancellationToken = default);

    Task InvokeTimerAsync(TimerInfo timer, LambdaInvocationContext context, CancellationToken cancellationToken = default);
}
