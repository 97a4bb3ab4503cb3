using System.Text.Json.Serialization;

namespace Pipeline.Lambda.Events;

/// <summary>The event Lambda's SQS event source mapping invokes the function with.</summary>
/// <remarks>Settable properties: source-generated JSON sets every init-only property, wiping defaults when a field is absent.</remarks>
public sealed class SqsEvent
{
    [JsonPropertyName("Records")]
    [JsonRequired]
    public IReadOnlyList<SqsRecord> Records { get; set; } = [];
}

/// <summary>One SQS message of a batch.</summary>
public sealed class SqsRecord
{
    [JsonPropertyName("messageId")]
    public string MessageId { get; set; } = string.Empty;

    [JsonPropertyName("receiptHandle")]
    public string ReceiptHandle { get; set; } = string.Empty;

    [JsonPropertyName("body")]
    public string Body { get; set; } = string.Empty;

    /// <summary>System attributes: ApproximateReceiveCount, SentTimestamp, MessageGroupId, MessageDeduplicationId, ...</summary>
    [JsonPropertyName("attributes")]
    public IReadOnlyDictionary<string, string> Attributes { get; set; } = new Dictionary<string, string>();

    [JsonPropertyName("messageAttributes")]
    public IReadOnlyDictionary<string, SqsMessageAttribute> MessageAttributes { get; set; } = new Dictionary<string, SqsMessageAttribute>();

    [JsonPropertyName("md5OfBody")]
    public string? Md5OfBody { get; set; }

    [JsonPropertyName("eventSource")]
    public string? EventSource { get; set; }

    [JsonPropertyName("eventSourceARN")]
    public string? EventSourceArn { get; set; }

    [JsonPropertyName("awsRegion")]
    public string? AwsRegion { get; set; }

    /// <summary>True when the message comes from a FIFO queue (the queue name in the ARN ends in ".fifo").</summary>
    [JsonIgnore]
    public bool IsFromFifoQueue => EventSourceArn?.EndsWith(".fifo", StringComparison.Ordinal) == true
        || Attributes.ContainsKey(SqsAttributeNames.MessageGroupId);
}

/// <summary>A user message attribute as Lambda passes it (camel-cased, unlike the SQS API).</summary>
public sealed class SqsMessageAttribute
{
    [JsonPropertyName("stringValue")]
    public string? StringValue { get; set; }

    [JsonPropertyName("binaryValue")]
    public string? BinaryValue { get; set; }

    [JsonPropertyName("stringListValues")]
    public IReadOnlyList<string>? StringListValues { get; set; }

    [JsonPropertyName("binaryListValues")]
    public IReadOnlyList<string>? BinaryListValues { get; set; }

    [JsonPropertyName("dataType")]
    public string DataType { get; set; } = "String";
}

public static class SqsAttributeNames
{
    public const string ApproximateReceiveCount = "ApproximateReceiveCount";
    public const string SentTimestamp = "SentTimestamp";
    public const string MessageGroupId = "MessageGroupId";
    public const string MessageDeduplicationId = "MessageDeduplicationId";
    public const string SequenceNumber = "SequenceNumber";
}

/// <summary>
/// The partial batch response (function response type ReportBatchItemFailures): the listed
/// messages stay on the queue, every other message of the batch is deleted.
/// </summary>
public sealed class SqsBatchResponse
{
    [JsonPropertyName("batchItemFailures")]
    public IReadOnlyList<SqsBatchItemFailure> BatchItemFailures { get; set; } = [];
}

public sealed class SqsBatchItemFailure
{
    [JsonPropertyName("itemIdentifier")]
    public string ItemIdentifier { get; set; } = string.Empty;
}
