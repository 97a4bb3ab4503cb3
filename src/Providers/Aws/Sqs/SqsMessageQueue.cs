using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.SQS;
using Amazon.SQS.Model;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Internal;
using QueueNotFoundException = Pipeline.Providers.Abstractions.QueueNotFoundException;

namespace Pipeline.Providers.Aws.Sqs;

/// <summary>
/// <see cref="IMessageQueue"/> on SQS through AWSSDK.SQS. SDK errors become <see cref="AwsServiceException"/>s that say
/// what to do. Queue names resolve to URLs once (GetQueueUrl) and are cached.
/// Dead-lettering is the queue's RedrivePolicy (set by <see cref="EnsureQueueAsync"/> or the deployment).
/// </summary>
internal sealed partial class SqsMessageQueue : IMessageQueue
{
    private static readonly string[] DepthAttributes =
        ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible", "ApproximateNumberOfMessagesDelayed"];

    private static readonly List<string> SystemAttributes = ["ApproximateReceiveCount", "SentTimestamp", "MessageGroupId", "MessageDeduplicationId"];

    private readonly IAmazonSQS _client;
    private readonly ConcurrentDictionary<string, string> _urls = new(StringComparer.Ordinal);

    private readonly ILogger _logger;

    public SqsMessageQueue(IAmazonSQS client, AwsOptions options, ILogger<SqsMessageQueue>? logger = null)
    {
        _client = client;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        Capabilities = new QueueCapabilities { DeduplicationAfterDelete = options.SqsDeduplicationAfterDelete, DeadLetterAfterMaxReceives = true };
    }

    public QueueCapabilities Capabilities { get; }

    public async Task EnsureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        var attributes = new Dictionary<string, string>(StringComparer.Ordinal);
        if (definition.IsFifo)
        {
            // No content-based dedup: the contract requires explicit deduplication ids.
            attributes["FifoQueue"] = "true";
        }

        if (definition.DefaultVisibilityTimeout is { } visibility)
        {
            attributes["VisibilityTimeout"] = Seconds(visibility).ToString(CultureInfo.InvariantCulture);
        }

        if (definition.DeadLetterQueue is { } dlqName)
        {
            if (dlqName.EndsWith(".fifo", StringComparison.Ordinal) != definition.IsFifo)
            {
                throw new QueueException($"Dead-letter queue '{dlqName}' of '{definition.Name}' must be FIFO exactly when the queue is FIFO (SQS rule): give both names the same '.fifo' suffix or neither.");
            }

            var dlqAttributes = definition.IsFifo ? new Dictionary<string, string> { ["FifoQueue"] = "true" } : null;
            var dlqUrl = await CreateAsync(dlqName, dlqAttributes, cancellationToken).ConfigureAwait(false);
            var arnAnswer = await CallAsync("GetQueueAttributes", ct => _client.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = dlqUrl, AttributeNames = ["QueueArn"] }, ct), cancellationToken).ConfigureAwait(false);
            var dlqArn = arnAnswer.Attributes?.GetValueOrDefault("QueueArn")
                ?? throw new AwsProtocolException($"SQS GetQueueAttributes: no QueueArn for '{dlqName}'.");
            attributes["RedrivePolicy"] = new JsonObject
            {
                ["deadLetterTargetArn"] = dlqArn,
                ["maxReceiveCount"] = definition.MaxReceiveCount.ToString(CultureInfo.InvariantCulture),
            }.ToJsonString();
        }

        await CreateAsync(definition.Name, attributes.Count == 0 ? null : attributes, cancellationToken).ConfigureAwait(false);
    }

    public async Task<SendBatchResult> SendBatchAsync(string queue, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count is 0 or > QueueLimits.MaxBatchSize)
        {
            throw new ArgumentException($"A batch holds 1 to {QueueLimits.MaxBatchSize} messages (got {messages.Count}); split or skip the batch.", nameof(messages));
        }

        var sent = new List<SentMessage>();
        var failed = new List<FailedEntry>();

        var url = await UrlAsync(queue, cancellationToken).ConfigureAwait(false);
        var fifo = queue.EndsWith(".fifo", StringComparison.Ordinal);
        var callerIds = new string[messages.Count];
        var chunk = new List<SendMessageBatchRequestEntry>();
        long chunkBytes = 0;
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            callerIds[i] = m.EntryId ?? i.ToString(CultureInfo.InvariantCulture);
            var size = MessageSize(m);
            if (size > QueueLimits.MaxMessageBytes)
            {
                failed.Add(new FailedEntry(callerIds[i], "MessageTooLong", $"Message is {size} bytes (body + attributes); SQS allows {QueueLimits.MaxMessageBytes}. Send large payloads as a claim check (object + small message).", SenderFault: true));
                continue;
            }

            if (fifo && (m.GroupId is null || m.DeduplicationId is null))
            {
                failed.Add(new FailedEntry(callerIds[i], "MissingParameter", "FIFO queues need GroupId and DeduplicationId on every message.", SenderFault: true));
                continue;
            }

            if (chunkBytes + size > QueueLimits.MaxBatchBytes)
            {
                await SendChunkAsync(url, chunk, callerIds, sent, failed, cancellationToken).ConfigureAwait(false);
                chunk.Clear();
                chunkBytes = 0;
            }

            // Wire ids are the index: caller ids may hold characters SQS rejects in batch entry ids.
            chunk.Add(new SendMessageBatchRequestEntry
            {
                Id = i.ToString(CultureInfo.InvariantCulture),
                MessageBody = m.Body,
                MessageGroupId = fifo ? m.GroupId : null,
                MessageDeduplicationId = fifo ? m.DeduplicationId : null,
                MessageAttributes = m.Attributes is { Count: > 0 } a
                    ? a.ToDictionary(kv => kv.Key, kv => new MessageAttributeValue { DataType = "String", StringValue = kv.Value }, StringComparer.Ordinal)
                    : null,
            });
            chunkBytes += size;
        }

        await SendChunkAsync(url, chunk, callerIds, sent, failed, cancellationToken).ConfigureAwait(false);
        return new SendBatchResult(sent, failed);
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, ReceiveOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        var url = await UrlAsync(queue, cancellationToken).ConfigureAwait(false);
        var max = Math.Clamp(options.MaxMessages, 1, QueueLimits.MaxBatchSize);
        var request = new ReceiveMessageRequest
        {
            QueueUrl = url,
            MaxNumberOfMessages = max,
            WaitTimeSeconds = Math.Clamp(Seconds(options.WaitTime), 0, SqsClientFactory.MaxWaitSeconds),
            VisibilityTimeout = Seconds(options.VisibilityTimeout),
            MessageSystemAttributeNames = SystemAttributes,
            MessageAttributeNames = ["All"],
        };
        var response = await CallAsync("ReceiveMessage", ct => _client.ReceiveMessageAsync(request, ct), cancellationToken).ConfigureAwait(false);
        var messages = response.Messages ?? [];
        return messages.Select(ToReceived).ToList();
    }

    public async Task<IReadOnlyList<string>> DeleteBatchAsync(string queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receiptHandles);
        var failedHandles = new List<string>();
        if (receiptHandles.Count == 0)
        {
            return failedHandles;
        }

        var url = await UrlAsync(queue, cancellationToken).ConfigureAwait(false);
        foreach (var chunk in receiptHandles.Chunk(QueueLimits.MaxBatchSize))
        {
            var entries = chunk.Select((h, i) => new DeleteMessageBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), ReceiptHandle = h }).ToList();
            var response = await CallAsync("DeleteMessageBatch", ct => _client.DeleteMessageBatchAsync(url, entries, ct), cancellationToken).ConfigureAwait(false);
            RequireAccounted("DeleteMessageBatch", entries.Count, response.Successful?.Count ?? 0, response.Failed?.Count ?? 0);
            foreach (var f in response.Failed ?? [])
            {
                failedHandles.Add(chunk[int.Parse(f.Id, CultureInfo.InvariantCulture)]);
            }
        }

        return failedHandles;
    }

    public async Task ChangeVisibilityBatchAsync(string queue, IReadOnlyList<VisibilityChange> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        if (changes.Count == 0)
        {
            return;
        }

        var url = await UrlAsync(queue, cancellationToken).ConfigureAwait(false);
        var failures = new List<string>();
        foreach (var chunk in changes.Chunk(QueueLimits.MaxBatchSize))
        {
            var entries = chunk.Select((c, i) => new ChangeMessageVisibilityBatchRequestEntry { Id = i.ToString(CultureInfo.InvariantCulture), ReceiptHandle = c.ReceiptHandle, VisibilityTimeout = Seconds(c.VisibilityTimeout) }).ToList();
            var response = await CallAsync("ChangeMessageVisibilityBatch", ct => _client.ChangeMessageVisibilityBatchAsync(url, entries, ct), cancellationToken).ConfigureAwait(false);
            RequireAccounted("ChangeMessageVisibilityBatch", entries.Count, response.Successful?.Count ?? 0, response.Failed?.Count ?? 0);
            failures.AddRange((response.Failed ?? []).Select(f => $"{f.Code}: {f.Message}"));
        }

        if (failures.Count > 0)
        {
            throw new QueueException($"Changing the visibility of {failures.Count} message(s) on '{queue}' failed ({string.Join("; ", failures)}). The receipt handles may have expired: the messages will be redelivered; make the handler idempotent or heartbeat earlier.");
        }
    }

    public async Task<QueueDepth> GetDepthAsync(string queue, CancellationToken cancellationToken = default)
    {
        var url = await UrlAsync(queue, cancellationToken).ConfigureAwait(false);
        var response = await CallAsync("GetQueueAttributes", ct => _client.GetQueueAttributesAsync(new GetQueueAttributesRequest { QueueUrl = url, AttributeNames = [.. DepthAttributes] }, ct), cancellationToken).ConfigureAwait(false);
        var attributes = response.Attributes ?? [];
        return new QueueDepth(Long(attributes, DepthAttributes[0]), Long(attributes, DepthAttributes[1]), Long(attributes, DepthAttributes[2]));
    }

    internal async Task<string> UrlAsync(string queue, CancellationToken cancellationToken)
    {
        if (_urls.TryGetValue(queue, out var url))
        {
            return url;
        }

        try
        {
            var response = await CallAsync("GetQueueUrl", ct => _client.GetQueueUrlAsync(queue, ct), cancellationToken).ConfigureAwait(false);
            url = Require(response.QueueUrl, "GetQueueUrl", "QueueUrl");
        }
        catch (AwsServiceException e) when (e.Code is "QueueDoesNotExist" or "NonExistentQueue")
        {
            throw new QueueNotFoundException(queue, e);
        }

        return _urls.GetOrAdd(queue, url);
    }

    private async Task<string> CreateAsync(string name, Dictionary<string, string>? attributes, CancellationToken cancellationToken)
    {
        try
        {
            var request = new CreateQueueRequest { QueueName = name, Attributes = attributes };
            var response = await CallAsync("CreateQueue", ct => _client.CreateQueueAsync(request, ct), cancellationToken).ConfigureAwait(false);
            var url = Require(response.QueueUrl, "CreateQueue", "QueueUrl");
            _urls[name] = url;
            return url;
        }
        catch (AwsServiceException e) when (e.Code is "QueueNameExists" or "QueueAlreadyExists")
        {
            // The queue exists with other attributes (made by the deployment template or local/ scripts):
            // the deployed definition wins; this only makes sure the queue is there.
            LogQueueExists(_logger, name);
            return await UrlAsync(name, cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task SendChunkAsync(string url, List<SendMessageBatchRequestEntry> chunk, string[] callerIds, List<SentMessage> sent, List<FailedEntry> failed, CancellationToken cancellationToken)
    {
        if (chunk.Count == 0)
        {
            return;
        }

        var entries = chunk.ToList();
        var response = await CallAsync("SendMessageBatch", ct => _client.SendMessageBatchAsync(url, entries, ct), cancellationToken).ConfigureAwait(false);
        RequireAccounted("SendMessageBatch", entries.Count, response.Successful?.Count ?? 0, response.Failed?.Count ?? 0);
        foreach (var s in response.Successful ?? [])
        {
            sent.Add(new SentMessage(callerIds[int.Parse(s.Id, CultureInfo.InvariantCulture)], s.MessageId));
        }

        foreach (var f in response.Failed ?? [])
        {
            failed.Add(new FailedEntry(callerIds[int.Parse(f.Id, CultureInfo.InvariantCulture)], f.Code, f.Message ?? f.Code, f.SenderFault ?? false));
        }
    }

    private static ReceivedMessage ToReceived(Message m)
    {
        var system = m.Attributes ?? new Dictionary<string, string>();
        var receiveCount = system.TryGetValue("ApproximateReceiveCount", out var rc) && int.TryParse(rc, CultureInfo.InvariantCulture, out var n) ? n : 1;
        var sentAt = system.TryGetValue("SentTimestamp", out var ts) && long.TryParse(ts, CultureInfo.InvariantCulture, out var ms)
            ? DateTimeOffset.FromUnixTimeMilliseconds(ms)
            : DateTimeOffset.UtcNow;
        var attributes = (m.MessageAttributes ?? [])
            .Where(kv => kv.Value.StringValue is not null)
            .ToDictionary(kv => kv.Key, kv => kv.Value.StringValue!, StringComparer.Ordinal);
        return new ReceivedMessage(
            Require(m.MessageId, "ReceiveMessage", "Messages[].MessageId"),
            Require(m.ReceiptHandle, "ReceiveMessage", "Messages[].ReceiptHandle"),
            m.Body ?? string.Empty,
            receiveCount,
            system.GetValueOrDefault("MessageGroupId"),
            system.GetValueOrDefault("MessageDeduplicationId"),
            attributes,
            sentAt);
    }

    private static long MessageSize(OutgoingMessage m)
    {
        long size = Encoding.UTF8.GetByteCount(m.Body);
        foreach (var (key, value) in m.Attributes ?? new Dictionary<string, string>())
        {
            size += Encoding.UTF8.GetByteCount(key) + Encoding.UTF8.GetByteCount(value) + "String".Length;
        }

        return size;
    }

    private static long Long(IReadOnlyDictionary<string, string> attributes, string name) =>
        attributes.TryGetValue(name, out var v) && long.TryParse(v, CultureInfo.InvariantCulture, out var n) ? n : 0;

    /// <summary>Runs one SDK call; an SQS error answer becomes an <see cref="AwsServiceException"/> that says what to do.</summary>
    private static async Task<T> CallAsync<T>(string operation, Func<CancellationToken, Task<T>> call, CancellationToken cancellationToken)
    {
        try
        {
            return await call(cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonUnmarshallingException e)
        {
            throw new AwsProtocolException($"SQS {operation}: the answer is not an SQS response ({e.Message}). The endpoint is not speaking the SQS protocol; check Aws:ServiceUrl / Aws:SqsServiceUrl.", e);
        }
        catch (AmazonServiceException e)
        {
            // ErrorCode is "QueueDoesNotExist" from JSON answers, "AWS.SimpleQueueService.NonExistentQueue" from query-style ones.
            var code = AwsJsonClient.ShortCode(e.ErrorCode) ?? "HttpError" + (int)e.StatusCode;
            throw new AwsServiceException("sqs", operation, e.StatusCode, code, e.Message, e.RequestId, e);
        }
    }

    private static T Require<T>(T? value, string operation, string member)
        where T : class =>
        value ?? throw new AwsProtocolException($"SQS {operation}: the answer lacks '{member}'. The endpoint is not speaking the SQS protocol; check Aws:ServiceUrl / Aws:SqsServiceUrl.");

    private static void RequireAccounted(string operation, int sent, int successful, int failed)
    {
        if (successful + failed != sent)
        {
            throw new AwsProtocolException($"SQS {operation}: {sent} entries sent but the answer accounts for {successful} successful + {failed} failed. The endpoint is not speaking the SQS protocol; check Aws:ServiceUrl / Aws:SqsServiceUrl.");
        }
    }

    private static int Seconds(TimeSpan t) => (int)Math.Ceiling(Math.Max(0, t.TotalSeconds));

    [LoggerMessage(Level = LogLevel.Information, Message = "Queue {Queue} already exists with other attributes; keeping the deployed attributes")]
    private static partial void LogQueueExists(ILogger logger, string queue);
}
