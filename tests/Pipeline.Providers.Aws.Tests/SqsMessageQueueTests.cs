using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

public sealed class SqsMessageQueueTests(MotoFixture moto)
{
    [Fact]
    public async Task SendReceiveDelete_StandardQueue_RoundTripsBodyAttributesAndReceiveCount()
    {
        moto.RequireAvailable();
        var queue = AwsTestSupport.Queue(moto);
        var name = AwsTestSupport.UniqueName("std");
        await queue.EnsureQueueAsync(new QueueDefinition(name, name + "-dlq", MaxReceiveCount: 3), TestContext.Current.CancellationToken);

        var result = await queue.SendBatchAsync(name, [new OutgoingMessage("hello", Attributes: new Dictionary<string, string> { ["kind"] = "greeting" }) { EntryId = "a.b/c" }], TestContext.Current.CancellationToken);
        Assert.True(result.AllSucceeded);
        Assert.Equal("a.b/c", Assert.Single(result.Sent).EntryId);

        var received = Assert.Single(await queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1) }, TestContext.Current.CancellationToken));
        Assert.Equal("hello", received.Body);
        Assert.Equal(1, received.ReceiveCount);
        Assert.Equal("greeting", received.Attributes["kind"]);
        Assert.True(received.SentAt > DateTimeOffset.UtcNow.AddMinutes(-5));

        Assert.Empty(await queue.DeleteBatchAsync(name, [received.ReceiptHandle], TestContext.Current.CancellationToken));
        Assert.Equal(0, (await queue.GetDepthAsync(name, TestContext.Current.CancellationToken)).Total);
    }

    /// <summary>
    /// Amplifies the conformance suite's two-consumer case: moto 5.2.1 checked visibility and marked a message
    /// received without a lock, so overlapping receives could both take it (MotoFixture patches that).
    /// </summary>
    [Fact]
    public async Task Receive_FourConcurrentConsumers_EachMessageDeliveredOnce()
    {
        moto.RequireAvailable();
        var queue = AwsTestSupport.Queue(moto);
        var name = AwsTestSupport.UniqueName("race");
        const int total = 200;
        await queue.EnsureQueueAsync(new QueueDefinition(name), TestContext.Current.CancellationToken);
        for (var b = 0; b < total / 10; b++)
        {
            Assert.True((await queue.SendBatchAsync(name, Enumerable.Range(b * 10, 10).Select(i => new OutgoingMessage($"m{i}")).ToList(), TestContext.Current.CancellationToken)).AllSucceeded);
        }

        var seen = new System.Collections.Concurrent.ConcurrentBag<ReceivedMessage>();
        async Task ConsumeAsync()
        {
            IReadOnlyList<ReceivedMessage> got;
            do
            {
                got = await queue.ReceiveAsync(name, new ReceiveOptions { MaxMessages = 10, WaitTime = TimeSpan.Zero, VisibilityTimeout = TimeSpan.FromSeconds(60) }, TestContext.Current.CancellationToken);
                foreach (var m in got)
                {
                    seen.Add(m);
                }
            }
            while (got.Count > 0);
        }

        await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => ConsumeAsync()));
        var twice = seen.GroupBy(m => m.MessageId).Where(g => g.Count() > 1).Select(g => $"{g.Key} (receive counts {string.Join("/", g.Select(m => m.ReceiveCount))})").ToList();
        Assert.True(twice.Count == 0, $"Delivered twice within a 60 s visibility timeout: {string.Join(", ", twice)}");
        Assert.Equal(total, seen.Count);
    }

    [Fact]
    public async Task SendBatch_FifoQueue_KeepsGroupAndDedupIds()
    {
        moto.RequireAvailable();
        var queue = AwsTestSupport.Queue(moto);
        var name = AwsTestSupport.UniqueName("fifo") + ".fifo";
        await queue.EnsureQueueAsync(new QueueDefinition(name, name.Replace(".fifo", "-dlq.fifo", StringComparison.Ordinal)), TestContext.Current.CancellationToken);

        var messages = Enumerable.Range(0, 10).Select(i => new OutgoingMessage($"m{i}", "g1", $"d{i}")).ToList();
        var result = await queue.SendBatchAsync(name, messages, TestContext.Current.CancellationToken);
        Assert.True(result.AllSucceeded, string.Join(",", result.Failed));

        var received = await queue.ReceiveAsync(name, new ReceiveOptions { MaxMessages = 10 }, TestContext.Current.CancellationToken);
        Assert.Equal(messages.Select(m => m.Body), received.Select(m => m.Body));
        Assert.All(received, m => Assert.Equal("g1", m.GroupId));
        Assert.Equal("d3", received[3].DeduplicationId);
    }

    [Fact]
    public async Task SendBatch_FifoWithoutGroupId_ReportsSenderFaultEntry()
    {
        moto.RequireAvailable();
        var queue = AwsTestSupport.Queue(moto);
        var name = AwsTestSupport.UniqueName("fifo") + ".fifo";
        await queue.EnsureQueueAsync(new QueueDefinition(name), TestContext.Current.CancellationToken);

        var result = await queue.SendBatchAsync(name, [new OutgoingMessage("x"), new OutgoingMessage("y", "g", "d")], TestContext.Current.CancellationToken);

        var failed = Assert.Single(result.Failed);
        Assert.Equal("0", failed.EntryId);
        Assert.True(failed.SenderFault);
        Assert.Equal("1", Assert.Single(result.Sent).EntryId);
    }

    [Fact]
    public async Task Receive_AfterMaxReceives_MovesToDeadLetterQueue()
    {
        moto.RequireAvailable();
        var queue = AwsTestSupport.Queue(moto);
        var name = AwsTestSupport.UniqueName("redrive");
        await queue.EnsureQueueAsync(new QueueDefinition(name, name + "-dlq", MaxReceiveCount: 1), TestContext.Current.CancellationToken);
        await queue.SendBatchAsync(name, [new OutgoingMessage("poison")], TestContext.Current.CancellationToken);

        var first = Assert.Single(await queue.ReceiveAsync(name, new ReceiveOptions { VisibilityTimeout = TimeSpan.FromSeconds(30) }, TestContext.Current.CancellationToken));
        await queue.ChangeVisibilityBatchAsync(name, [new VisibilityChange(first.ReceiptHandle, TimeSpan.Zero)], TestContext.Current.CancellationToken);
        Assert.Empty(await queue.ReceiveAsync(name, new ReceiveOptions(), TestContext.Current.CancellationToken));

        var dead = Assert.Single(await queue.ReceiveAsync(name + "-dlq", new ReceiveOptions(), TestContext.Current.CancellationToken));
        Assert.Equal("poison", dead.Body);
    }

    [Fact]
    public async Task Receive_UnknownQueue_ThrowsQueueNotFound()
    {
        moto.RequireAvailable();
        var queue = AwsTestSupport.Queue(moto);

        var e = await Assert.ThrowsAsync<QueueNotFoundException>(() => queue.ReceiveAsync("does-not-exist", new ReceiveOptions(), TestContext.Current.CancellationToken));
        Assert.Equal("does-not-exist", e.Queue);
    }

    [Fact]
    public async Task Send_OversizedMessage_ReportsFailureWithoutSending()
    {
        moto.RequireAvailable();
        var queue = AwsTestSupport.Queue(moto);
        var name = AwsTestSupport.UniqueName("big");
        await queue.EnsureQueueAsync(new QueueDefinition(name), TestContext.Current.CancellationToken);

        var result = await queue.SendBatchAsync(name, [new OutgoingMessage(new string('x', QueueLimits.MaxMessageBytes + 1))], TestContext.Current.CancellationToken);

        Assert.Equal("MessageTooLong", Assert.Single(result.Failed).Code);
        Assert.Equal(0, (await queue.GetDepthAsync(name, TestContext.Current.CancellationToken)).Total);
    }
}
