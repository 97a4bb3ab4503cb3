namespace Pipeline.Providers.Aws.Sqs;

// Request/response shapes of the SQS JSON protocol (botocore sqs/2012-11-05 service-2.json).
// Property names are the wire names. Null members are omitted.
#pragma warning disable CA1819, CA2227 // wire DTOs: arrays and settable dictionaries mirror the JSON shape

internal sealed record GetQueueUrlRequest(string QueueName);

internal sealed record QueueUrlResponse
{
    public string? QueueUrl { get; init; }
}

internal sealed record CreateQueueRequest(string QueueName, Dictionary<string, string>? Attributes);

internal sealed record GetQueueAttributesRequest(string QueueUrl, string[] AttributeNames);

internal sealed record GetQueueAttributesResponse
{
    public Dictionary<string, string>? Attributes { get; init; }
}

internal sealed record MessageAttributeValue(string DataType, string? StringValue);

internal sealed record SendMessageBatchRequestEntry(
    string Id,
    string MessageBody,
    string? MessageGroupId,
    string? MessageDeduplicationId,
    Dictionary<string, MessageAttributeValue>? MessageAttributes);

internal sealed record SendMessageBatchRequest(string QueueUrl, SendMessageBatchRequestEntry[] Entries);

internal sealed record BatchResultErrorEntry
{
    public string Id { get; init; } = string.Empty;

    public bool SenderFault { get; init; }

    public string Code { get; init; } = string.Empty;

    public string? Message { get; init; }
}

internal sealed record SendMessageBatchResultEntry
{
    public string Id { get; init; } = string.Empty;

    public string MessageId { get; init; } = string.Empty;
}

internal sealed record SendMessageBatchResponse
{
    public SendMessageBatchResultEntry[]? Successful { get; init; }

    public BatchResultErrorEntry[]? Failed { get; init; }
}

internal sealed record ReceiveMessageRequest(
    string QueueUrl,
    int MaxNumberOfMessages,
    int WaitTimeSeconds,
    int VisibilityTimeout,
    string[] MessageSystemAttributeNames,
    string[] MessageAttributeNames);

internal sealed record SqsMessage
{
    public string? MessageId { get; init; }

    public string? ReceiptHandle { get; init; }

    public string? Body { get; init; }

    public Dictionary<string, string>? Attributes { get; init; }

    public Dictionary<string, MessageAttributeValue>? MessageAttributes { get; init; }
}

internal sealed record ReceiveMessageResponse
{
    public SqsMessage[]? Messages { get; init; }
}

internal sealed record DeleteMessageBatchRequestEntry(string Id, string ReceiptHandle);

internal sealed record DeleteMessageBatchRequest(string QueueUrl, DeleteMessageBatchRequestEntry[] Entries);

internal sealed record ChangeMessageVisibilityBatchRequestEntry(string Id, string ReceiptHandle, int VisibilityTimeout);

internal sealed record ChangeMessageVisibilityBatchRequest(string QueueUrl, ChangeMessageVisibilityBatchRequestEntry[] Entries);

internal sealed record BatchIdEntry
{
    public string Id { get; init; } = string.Empty;
}

internal sealed record BatchActionResponse
{
    public BatchIdEntry[]? Successful { get; init; }

    public BatchResultErrorEntry[]? Failed { get; init; }
}
#pragma warning restore CA1819, CA2227
