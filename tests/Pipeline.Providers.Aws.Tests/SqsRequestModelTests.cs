using System.Collections.Concurrent;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

public sealed class SqsRequestModelTests(MotoFixture moto)
{
    [Fact]
    public async Task EveryOperation_RequestBody_MatchesBotocoreSqsModel()
    {
        moto.RequireAvailable();
        var bodies = new ConcurrentQueue<(string, string, byte[])>();
        var options = AwsTestSupport.Options(moto);
        var client = AwsTestSupport.Sqs(options);
        client.Protocol.OnRequestBody = (op, body) => bodies.Enqueue(("sqs", op, body));
        var queue = new SqsMessageQueue(client, options);
        var ct = TestContext.Current.CancellationToken;
        var name = AwsTestSupport.UniqueName("model") + ".fifo";

        await queue.EnsureQueueAsync(new QueueDefinition(name, name.Replace(".fifo", "-dlq.fifo", StringComparison.Ordinal), 4, TimeSpan.FromSeconds(45)), ct);
        await queue.SendBatchAsync(name, [new OutgoingMessage("{}", "g", "d", new Dictionary<string, string> { ["a"] = "b" })], ct);
        var received = await queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1) }, ct);
        await queue.ChangeVisibilityBatchAsync(name, [.. received.Select(r => new VisibilityChange(r.ReceiptHandle, TimeSpan.FromSeconds(60)))], ct);
        await queue.DeleteBatchAsync(name, [.. received.Select(r => r.ReceiptHandle)], ct);
        await queue.GetDepthAsync(name, ct);
        var fresh = new SqsMessageQueue(client, options);
        await fresh.GetDepthAsync(name, ct); // GetQueueUrl

        Assert.Equal(
            ["ChangeMessageVisibilityBatch", "CreateQueue", "DeleteMessageBatch", "GetQueueAttributes", "GetQueueUrl", "ReceiveMessage", "SendMessageBatch"],
            bodies.Select(b => b.Item2).Distinct().Order(StringComparer.Ordinal));
        await RequestModelValidation.AssertValidAsync(bodies);
    }
}
