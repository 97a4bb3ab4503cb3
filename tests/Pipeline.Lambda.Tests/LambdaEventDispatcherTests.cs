using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Lambda.Dispatch;
using Pipeline.Lambda.Events;
using Pipeline.Lambda.RuntimeApi;

namespace Pipeline.Lambda.Tests;

public sealed class LambdaEventDispatcherTests
{
    private static readonly LambdaFunctionBinding Enrich = new("EnrichTransactions", LambdaTriggerKind.ObjectCreated, Zone: "pipeline-raw", Prefix: "transactions/");
    private static readonly LambdaFunctionBinding Load = new("LoadTransactions", LambdaTriggerKind.Queue, Queue: "pipeline-enriched.fifo");
    private static readonly LambdaFunctionBinding Daily = new("IngestDaily", LambdaTriggerKind.Timer);

    [Fact]
    public async Task DispatchAsync_S3NotificationBatch_InvokesOncePerObjectWithDecodedKeysAndSkipsTestEvent()
    {
        var function = new RecordingFunction(Enrich);

        var response = await DispatchAsync(function, Fixture.Read("sqs-s3-notifications.json"));

        // The dispatcher invokes the objects of a batch concurrently: the order of the calls is not the batch's.
        var objects = function.Objects.OrderBy(o => o.Size).ToList();
        Assert.Equal(2, objects.Count);
        Assert.Equal("transactions/2026/11/20/desk A/book 1.json", objects[0].Key);
        Assert.Equal("pipeline-raw", objects[0].Zone);
        Assert.Equal(2048, objects[0].Size);
        Assert.Equal("096fKKXTRTtl3on89fVO.nfljtsv6qko", objects[0].VersionId);
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 9, 15, 2, 117, TimeSpan.Zero), objects[0].EventTime);
        Assert.Equal(1_073_741_824, objects[1].Size);
        Assert.Empty(Failures(response));
    }

    [Fact]
    public async Task DispatchAsync_ObjectFunctionThrows_ReportsThatMessageOnly()
    {
        var function = new RecordingFunction(Enrich) { FailObject = o => o.Key.EndsWith(".ndjson", StringComparison.Ordinal) };

        var response = await DispatchAsync(function, Fixture.Read("sqs-s3-notifications.json"));

        Assert.Equal(["5b0f8f1e-2e6a-4f0e-bc36-1c0a4a6f9b02"], Failures(response));
    }

    [Fact]
    public async Task DispatchAsync_KeyOutsidePrefix_IsSkipped()
    {
        var function = new RecordingFunction(Enrich with { Prefix = "confirmations/" });

        var response = await DispatchAsync(function, Fixture.Read("sqs-s3-notifications.json"));

        Assert.Empty(function.Objects);
        Assert.Empty(Failures(response));
    }

    [Fact]
    public async Task DispatchAsync_MessageNotAnS3Notification_IsReportedFailed()
    {
        var function = new RecordingFunction(Enrich);
        var sqs = Fixture.Read("sqs-fifo-batch.json").Replace("pipeline-enriched.fifo", "pipeline-raw-events", StringComparison.Ordinal);

        var response = await DispatchAsync(function, sqs);

        Assert.Equal(4, Failures(response).Count);
    }

    [Fact]
    public async Task DispatchAsync_FifoBatch_MapsMessagesToReceivedMessages()
    {
        var function = new RecordingFunction(Load);

        var response = await DispatchAsync(function, Fixture.Read("sqs-fifo-batch.json"));

        var batch = Assert.Single(function.Batches);
        Assert.Equal(4, batch.Count);
        var second = batch[1];
        Assert.Equal("22e7ff62-5dd8-4413-8f33-8de9b0ebbe06", second.MessageId);
        Assert.StartsWith("AQEBC9oef", second.ReceiptHandle, StringComparison.Ordinal);
        Assert.Equal(3, second.ReceiveCount);
        Assert.Equal("desk-A", second.GroupId);
        Assert.Equal("T-1002-v3", second.DeduplicationId);
        Assert.Equal(DateTimeOffset.FromUnixTimeMilliseconds(1763630110050), second.SentAt);
        Assert.Contains("\"T-1002\"", second.Body, StringComparison.Ordinal);
        Assert.Equal("transactions/2026/11/20/desk-A.json", batch[0].Attributes["source-key"]);
        Assert.Empty(Failures(response));
    }

    [Fact]
    public async Task DispatchAsync_FifoMessageFails_ReportsItAndTheLaterMessagesOfItsGroupOnly()
    {
        // T-1002 (desk-A) is poison: T-1003 (desk-A, later) must wait for it; T-2001 (desk-B) is done.
        var function = new RecordingFunction(Load) { FailMessage = m => m.Body.Contains("T-1002", StringComparison.Ordinal) };

        var response = await DispatchAsync(function, Fixture.Read("sqs-fifo-batch.json"));

        Assert.Equal(["22e7ff62-5dd8-4413-8f33-8de9b0ebbe06", "44091184-7ffa-4635-a155-a0fbd2d0d028"], Failures(response));
    }

    [Fact]
    public async Task DispatchAsync_StandardQueueMessageFails_ReportsExactlyThatMessage()
    {
        var function = new RecordingFunction(Load with { Queue = "pipeline-enriched" }) { FailMessage = m => m.Body.Contains("T-1002", StringComparison.Ordinal) };
        var standard = StripFifo(Fixture.Read("sqs-fifo-batch.json"));

        var response = await DispatchAsync(function, standard);

        Assert.Equal(["22e7ff62-5dd8-4413-8f33-8de9b0ebbe06"], Failures(response));
    }

    [Fact]
    public async Task DispatchAsync_ScheduledEvent_RunsTimerWithScheduledTime()
    {
        var function = new RecordingFunction(Daily);

        var response = await DispatchAsync(function, Fixture.Read("eventbridge-scheduled.json"));

        var timer = Assert.Single(function.Timers);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 6, 0, 0, TimeSpan.Zero), timer.ScheduledTime);
        Assert.False(timer.IsStartupRun);
        Assert.Equal("{}", response);
    }

    [Fact]
    public async Task DispatchAsync_QueueFunctionGivenScheduledEvent_ThrowsNamingTheExpectedShape()
    {
        var function = new RecordingFunction(Load);

        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => DispatchAsync(function, Fixture.Read("eventbridge-scheduled.json")));

        Assert.Contains("expects an SQS event", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SqsBatchResponse_Serialized_MatchesTheDocumentedShape()
    {
        var response = new SqsBatchResponse { BatchItemFailures = [new SqsBatchItemFailure { ItemIdentifier = "22e7ff62-5dd8-4413-8f33-8de9b0ebbe06" }] };

        var json = JsonSerializer.Serialize(response, LambdaEventsJsonContext.Default.SqsBatchResponse);

        var expected = JsonSerializer.Serialize(JsonDocument.Parse(Fixture.Read("batch-response-partial.json")).RootElement);
        Assert.Equal(expected, json);
    }

    private static string StripFifo(string json)
    {
        var node = System.Text.Json.Nodes.JsonNode.Parse(json)!;
        foreach (var record in node["Records"]!.AsArray())
        {
            record!["eventSourceARN"] = "arn:aws:sqs:eu-west-1:123456789012:pipeline-enriched";
            var attributes = record["attributes"]!.AsObject();
            attributes.Remove("MessageGroupId");
            attributes.Remove("MessageDeduplicationId");
            attributes.Remove("SequenceNumber");
        }

        return node.ToJsonString();
    }

    private static async Task<string> DispatchAsync(RecordingFunction function, string eventJson)
    {
        var dispatcher = new LambdaEventDispatcher(function, NullLogger<LambdaEventDispatcher>.Instance);
        var invocation = new LambdaInvocation("req-1", DateTimeOffset.UtcNow.AddMinutes(1), null, null, Encoding.UTF8.GetBytes(eventJson));
        var bytes = await dispatcher.DispatchAsync(invocation, TestContext.Current.CancellationToken);
        return Encoding.UTF8.GetString(bytes);
    }

    private static List<string> Failures(string response)
        => JsonDocument.Parse(response).RootElement.GetProperty("batchItemFailures").EnumerateArray()
            .Select(f => f.GetProperty("itemIdentifier").GetString()!).ToList();
}
