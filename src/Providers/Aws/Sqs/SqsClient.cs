using Pipeline.Providers.Aws.Internal;

namespace Pipeline.Providers.Aws.Sqs;

/// <summary>
/// Thin SQS client over the AWS JSON 1.0 protocol (AWSSDK.SQS is not available here). Each operation
/// checks the answer has the documented shape. Swapping to AWSSDK.SQS later touches this folder only.
/// </summary>
internal sealed class SqsClient
{
    public const int MaxWaitSeconds = 20;

    private readonly AwsJsonClient _json;

    public SqsClient(AwsJsonClient json)
    {
        _json = json;
    }

    public AwsJsonClient Protocol => _json;

    public static SqsClient Create(HttpClient http, AwsOptions options, AwsCredentialSource credentials)
    {
        var region = options.ResolveRegion();
        var endpoint = options.Endpoint(options.SqsServiceUrl) ?? new Uri($"https://sqs.{region}.amazonaws.com/");
        return new SqsClient(new AwsJsonClient(http, credentials, endpoint, region, "sqs", "AmazonSQS", "1.0", options.MaxRetries, options.RetryBaseDelay));
    }

    public async Task<string> GetQueueUrlAsync(string queueName, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync<GetQueueUrlRequest, QueueUrlResponse>("GetQueueUrl", new(queueName), cancellationToken).ConfigureAwait(false);
        return Require(response.QueueUrl, "GetQueueUrl", "QueueUrl");
    }

    public async Task<string> CreateQueueAsync(string queueName, Dictionary<string, string>? attributes, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync<CreateQueueRequest, QueueUrlResponse>("CreateQueue", new(queueName, attributes), cancellationToken).ConfigureAwait(false);
        return Require(response.QueueUrl, "CreateQueue", "QueueUrl");
    }

    public async Task<IReadOnlyDictionary<string, string>> GetQueueAttributesAsync(string queueUrl, string[] names, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync<GetQueueAttributesRequest, GetQueueAttributesResponse>("GetQueueAttributes", new(queueUrl, names), cancellationToken).ConfigureAwait(false);
        return Require(response.Attributes, "GetQueueAttributes", "Attributes");
    }

    public async Task<SendMessageBatchResponse> SendMessageBatchAsync(string queueUrl, SendMessageBatchRequestEntry[] entries, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync<SendMessageBatchRequest, SendMessageBatchResponse>("SendMessageBatch", new(queueUrl, entries), cancellationToken).ConfigureAwait(false);
        RequireAccounted("SendMessageBatch", entries.Length, response.Successful?.Length ?? 0, response.Failed?.Length ?? 0);
        return response;
    }

    public async Task<SqsMessage[]> ReceiveMessageAsync(string queueUrl, int maxMessages, int waitSeconds, int visibilitySeconds, CancellationToken cancellationToken)
    {
        var request = new ReceiveMessageRequest(
            queueUrl,
            maxMessages,
            waitSeconds,
            visibilitySeconds,
            ["ApproximateReceiveCount", "SentTimestamp", "MessageGroupId", "MessageDeduplicationId"],
            ["All"]);
        var response = await _json.SendAsync<ReceiveMessageRequest, ReceiveMessageResponse>("ReceiveMessage", request, cancellationToken).ConfigureAwait(false);
        var messages = response.Messages ?? [];
        foreach (var m in messages)
        {
            Require(m.MessageId, "ReceiveMessage", "Messages[].MessageId");
            Require(m.ReceiptHandle, "ReceiveMessage", "Messages[].ReceiptHandle");
        }

        return messages;
    }

    public async Task<BatchActionResponse> DeleteMessageBatchAsync(string queueUrl, DeleteMessageBatchRequestEntry[] entries, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync<DeleteMessageBatchRequest, BatchActionResponse>("DeleteMessageBatch", new(queueUrl, entries), cancellationToken).ConfigureAwait(false);
        RequireAccounted("DeleteMessageBatch", entries.Length, response.Successful?.Length ?? 0, response.Failed?.Length ?? 0);
        return response;
    }

    public async Task<BatchActionResponse> ChangeMessageVisibilityBatchAsync(string queueUrl, ChangeMessageVisibilityBatchRequestEntry[] entries, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync<ChangeMessageVisibilityBatchRequest, BatchActionResponse>("ChangeMessageVisibilityBatch", new(queueUrl, entries), cancellationToken).ConfigureAwait(false);
        RequireAccounted("ChangeMessageVisibilityBatch", entries.Length, response.Successful?.Length ?? 0, response.Failed?.Length ?? 0);
        return response;
    }

    private static T Require<T>(T? value, string operation, string member)
        where T : class =>
        value ?? throw new AwsProtocolException($"SQS {operation}: the answer lacks '{member}'. The endpoint is not speaking the SQS JSON protocol; check Aws:ServiceUrl / Aws:SqsServiceUrl.");

    private static void RequireAccounted(string operation, int sent, int successful, int failed)
    {
        if (successful + failed != sent)
        {
            throw new AwsProtocolException($"SQS {operation}: {sent} entries sent but the answer accounts for {successful} successful + {failed} failed. The endpoint is not speaking the SQS JSON protocol; check Aws:ServiceUrl / Aws:SqsServiceUrl.");
        }
    }
}
