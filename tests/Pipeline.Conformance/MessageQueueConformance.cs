using Pipeline.Providers.Abstractions;

namespace Pipeline.Conformance;

/// <summary>
/// What every <see cref="IMessageQueue"/> must do. Timings are whole seconds (SQS granularity); each test
/// uses its own Guid-named queues so the suite can run against a shared emulator.
/// </summary>
public abstract class MessageQueueConformance : IAsyncLifetime
{
    private IMessageQueue? queue;

    protected IMessageQueue Queue => queue ?? throw new InvalidOperationException("InitializeAsync has not run.");

    /// <summary>Creates (or connects to) the provider under test; called once per test.</summary>
    protected abstract ValueTask<IMessageQueue> CreateQueueAsync();

    /// <summary>Disposes what <see cref="CreateQueueAsync"/> made; by default disposes the queue if it is disposable.</summary>
    protected virtual ValueTask DisposeQueueAsync(IMessageQueue queue) => Disposal.DisposeAsync(queue);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    public virtual async ValueTask InitializeAsync() => queue = await CreateQueueAsync();

    public virtual async ValueTask DisposeAsync()
    {
        if (queue is not null)
        {
            await DisposeQueueAsync(queue);
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task SendBatch_FifoOneGroup_ReceivedInSendOrder()
    {
        var name = await NewQueueAsync(fifo: true);
        for (var b = 0; b < 2; b++)
        {
            var batch = Enumerable.Range(b * 10, 10).Select(i => new OutgoingMessage($"m{i}", "g1", $"d{i}")).ToList();
            Assert.True((await Queue.SendBatchAsync(name, batch, Ct)).AllSucceeded);
        }

        var bodies = new List<string>();
        while (bodies.Count < 20)
        {
            var got = await Queue.ReceiveAsync(name, new ReceiveOptions { MaxMessages = 3, WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromSeconds(30) }, Ct);
            Assert.NotEmpty(got);
            bodies.AddRange(got.Select(m => m.Body));
            Assert.Empty(await Queue.DeleteBatchAsync(name, got.Select(m => m.ReceiptHandle).ToList(), Ct));
        }

        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"m{i}"), bodies);
    }

    [Fact]
    public async Task Receive_FifoGroupInFlight_OtherGroupsStillFlow()
    {
        var name = await NewQueueAsync(fifo: true);
        await SendAsync(name, new OutgoingMessage("a1", "A", "a1"), new OutgoingMessage("a2", "A", "a2"), new OutgoingMessage("b1", "B", "b1"));
        var one = new ReceiveOptions { MaxMessages = 1, WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromSeconds(30) };

        var first = Assert.Single(await Queue.ReceiveAsync(name, one, Ct));
        Assert.Equal("a1", first.Body);
        var second = Assert.Single(await Queue.ReceiveAsync(name, one, Ct));
        Assert.Equal("b1", second.Body); // a2 is held behind a1, group B is not

        Assert.Empty(await Queue.ReceiveAsync(name, one with { WaitTime = TimeSpan.Zero }, Ct));
        Assert.Empty(await Queue.DeleteBatchAsync(name, [first.ReceiptHandle], Ct));
        var third = Assert.Single(await Queue.ReceiveAsync(name, one, Ct));
        Assert.Equal("a2", third.Body);
        Assert.Equal("A", third.GroupId);
    }

    [Fact]
    public async Task SendBatch_SameDeduplicationId_DeliveredOnce()
    {
        var name = await NewQueueAsync(fifo: true);
        await SendAsync(name, new OutgoingMessage("first", "g", "same"));
        var again = await Queue.SendBatchAsync(name, [new OutgoingMessage("second", "g", "same")], Ct);
        Assert.True(again.AllSucceeded); // a duplicate is accepted, not an error

        var got = await ReceiveAllAsync(name, TimeSpan.FromSeconds(30));
        Assert.Equal("first", Assert.Single(got).Body);
    }

    [Fact]
    public async Task SendBatch_DeduplicationIdAfterDelete_StillDeduplicated()
    {
        if (!Queue.Capabilities.DeduplicationAfterDelete)
        {
            Assert.Skip("Provider does not remember deduplication ids after delete (QueueCapabilities.DeduplicationAfterDelete = false).");
        }

        var name = await NewQueueAsync(fifo: true);
        await SendAsync(name, new OutgoingMessage("first", "g", "same"));
        var got = await ReceiveAllAsync(name, TimeSpan.FromSeconds(30));
        Assert.Empty(await Queue.DeleteBatchAsync(name, got.Select(m => m.ReceiptHandle).ToList(), Ct));

        await SendAsync(name, new OutgoingMessage("again", "g", "same"));
        Assert.Empty(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1) }, Ct));
    }

    [Fact]
    public async Task Receive_VisibilityExpires_RedeliveredWithHigherReceiveCount()
    {
        var name = await NewQueueAsync(fifo: false);
        await SendAsync(name, new OutgoingMessage("x"));
        var first = Assert.Single(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromSeconds(1) }, Ct));
        Assert.Equal(1, first.ReceiveCount);

        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        var second = Assert.Single(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(2), VisibilityTimeout = TimeSpan.FromSeconds(30) }, Ct));
        Assert.Equal(first.MessageId, second.MessageId);
        Assert.Equal(2, second.ReceiveCount);
        Assert.NotEqual(first.ReceiptHandle, second.ReceiptHandle);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Receive_MaxReceiveCountReached_MovedToDeadLetterQueue(bool fifo)
    {
        if (!Queue.Capabilities.DeadLetterAfterMaxReceives)
        {
            Assert.Skip("Provider does not dead-letter by itself (QueueCapabilities.DeadLetterAfterMaxReceives = false).");
        }

        var dlq = ConformanceNames.Queue("dlq", fifo);
        var name = ConformanceNames.Queue("src", fifo);
        await Queue.EnsureQueueAsync(new QueueDefinition(dlq), Ct);
        await Queue.EnsureQueueAsync(new QueueDefinition(name, dlq, MaxReceiveCount: 2), Ct);
        await SendAsync(name, fifo ? new OutgoingMessage("poison", "g", "p") : new OutgoingMessage("poison"));

        var immediate = new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.Zero };
        var counts = new List<int>();
        for (var attempt = 0; attempt < 6; attempt++)
        {
            var got = await Queue.ReceiveAsync(name, immediate, Ct);
            if (got.Count == 0 && counts.Count >= 2)
            {
                break;
            }

            counts.AddRange(got.Select(m => m.ReceiveCount));
        }

        Assert.Equal([1, 2], counts);
        var dead = Assert.Single(await ReceiveAllAsync(dlq, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(3)));
        Assert.Equal("poison", dead.Body);
    }

    [Fact]
    public async Task Receive_TwoConcurrentConsumers_NeverHoldTheSameMessage()
    {
        var name = await NewQueueAsync(fifo: false);
        const int total = 40;
        for (var b = 0; b < total / 10; b++)
        {
            await SendAsync(name, Enumerable.Range(b * 10, 10).Select(i => new OutgoingMessage($"m{i}")).ToArray());
        }

        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        async Task ConsumeAsync()
        {
            var empty = 0;
            while (empty < 2)
            {
                var got = await Queue.ReceiveAsync(name, new ReceiveOptions { MaxMessages = 3, WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromSeconds(60) }, Ct);
                empty = got.Count == 0 ? empty + 1 : 0;
                foreach (var m in got)
                {
                    seen.Add(m.MessageId);
                }
            }
        }

        await Task.WhenAll(ConsumeAsync(), ConsumeAsync());
        Assert.Equal(total, seen.Count);
        Assert.Equal(total, seen.Distinct().Count());
    }

    [Fact]
    public async Task DeleteBatch_ReceivedMessage_NotDeliveredAgain()
    {
        var name = await NewQueueAsync(fifo: false);
        await SendAsync(name, new OutgoingMessage("x"), new OutgoingMessage("y"));
        var got = await ReceiveAllAsync(name, TimeSpan.FromSeconds(2));
        Assert.Equal(2, got.Count);
        Assert.Empty(await Queue.DeleteBatchAsync(name, got.Select(m => m.ReceiptHandle).ToList(), Ct));

        await Task.Delay(TimeSpan.FromSeconds(2.5), Ct); // past the 2 s visibility: only a delete keeps them away
        Assert.Empty(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1) }, Ct));
        Assert.Equal(0, (await Queue.GetDepthAsync(name, Ct)).Total);
    }

    [Fact]
    public async Task ChangeVisibility_Heartbeat_KeepsMessageHidden()
    {
        var name = await NewQueueAsync(fifo: false);
        await SendAsync(name, new OutgoingMessage("x"));
        var m = Assert.Single(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromSeconds(1) }, Ct));
        await Queue.ChangeVisibilityBatchAsync(name, [new VisibilityChange(m.ReceiptHandle, TimeSpan.FromSeconds(4))], Ct);

        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        Assert.Empty(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.Zero }, Ct));
        Assert.Empty(await Queue.DeleteBatchAsync(name, [m.ReceiptHandle], Ct)); // the receipt is still the current one
    }

    [Fact]
    public async Task ChangeVisibility_ReleaseToZero_RedeliveredAtOnce()
    {
        var name = await NewQueueAsync(fifo: false);
        await SendAsync(name, new OutgoingMessage("x"));
        var m = Assert.Single(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromSeconds(60) }, Ct));
        await Queue.ChangeVisibilityBatchAsync(name, [new VisibilityChange(m.ReceiptHandle, TimeSpan.Zero)], Ct);

        var again = Assert.Single(await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = TimeSpan.FromSeconds(2) }, Ct));
        Assert.Equal(m.MessageId, again.MessageId);
        Assert.Equal(2, again.ReceiveCount);
    }

    [Fact]
    public async Task GetDepth_AfterSendAndReceive_CountsVisibleAndInFlight()
    {
        var name = await NewQueueAsync(fifo: false);
        await SendAsync(name, new OutgoingMessage("a"), new OutgoingMessage("b"), new OutgoingMessage("c"));
        Assert.Single(await Queue.ReceiveAsync(name, new ReceiveOptions { MaxMessages = 1, WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = TimeSpan.FromSeconds(60) }, Ct));

        var depth = await Queue.GetDepthAsync(name, Ct);
        Assert.Equal(2, depth.Visible);
        Assert.Equal(1, depth.InFlight);
        Assert.Equal(3, depth.Total);
    }

    [Fact]
    public async Task SendBatch_MoreThanTenEntries_ThrowsArgumentException()
    {
        var name = await NewQueueAsync(fifo: false);
        var eleven = Enumerable.Range(0, QueueLimits.MaxBatchSize + 1).Select(i => new OutgoingMessage($"m{i}")).ToList();
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Queue.SendBatchAsync(name, eleven, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => Queue.SendBatchAsync(name, [], Ct));
    }

    [Fact]
    public async Task SendBatch_OneInvalidEntry_ReportedPerEntryOthersSent()
    {
        var name = await NewQueueAsync(fifo: false);
        var tooBig = new string('x', QueueLimits.MaxMessageBytes + 1);
        var result = await Queue.SendBatchAsync(name, [
            new OutgoingMessage("ok-1") { EntryId = "e1" },
            new OutgoingMessage(tooBig) { EntryId = "e2" },
            new OutgoingMessage("ok-3") { EntryId = "e3" },
        ], Ct);

        Assert.Equal(["e1", "e3"], result.Sent.Select(s => s.EntryId).Order(StringComparer.Ordinal));
        var failed = Assert.Single(result.Failed);
        Assert.Equal("e2", failed.EntryId);
        Assert.True(failed.SenderFault);
        Assert.Equal(2, (await ReceiveAllAsync(name, TimeSpan.FromSeconds(30))).Count);
    }

    [Fact]
    public async Task SendBatch_FifoEntryWithoutGroup_ReportedAsFailed()
    {
        var name = await NewQueueAsync(fifo: true);
        var result = await Queue.SendBatchAsync(name, [new OutgoingMessage("ok", "g", "d1"), new OutgoingMessage("no-group", null, "d2")], Ct);
        Assert.Single(result.Sent);
        Assert.Equal("1", Assert.Single(result.Failed).EntryId);
    }

    [Fact]
    public async Task Receive_Message_CarriesBodyAttributesGroupAndDedupId()
    {
        var name = await NewQueueAsync(fifo: true);
        var attributes = new Dictionary<string, string> { ["kind"] = "trade", ["source"] = "raw/x.json" };
        var before = DateTimeOffset.UtcNow.AddSeconds(-5);
        await SendAsync(name, new OutgoingMessage("{\"id\":1}", "g", "d", attributes));

        var m = Assert.Single(await ReceiveAllAsync(name, TimeSpan.FromSeconds(30)));
        Assert.Equal("{\"id\":1}", m.Body);
        Assert.Equal("g", m.GroupId);
        Assert.Equal("d", m.DeduplicationId);
        Assert.Equal("trade", m.Attributes["kind"]);
        Assert.Equal("raw/x.json", m.Attributes["source"]);
        Assert.InRange(m.SentAt, before, DateTimeOffset.UtcNow.AddSeconds(5));
    }

    [Fact]
    public async Task Receive_UnknownQueue_ThrowsQueueNotFound()
    {
        await Assert.ThrowsAsync<QueueNotFoundException>(() => Queue.ReceiveAsync(ConformanceNames.Queue("missing"), new ReceiveOptions(), Ct));
        await Assert.ThrowsAsync<QueueNotFoundException>(() => Queue.SendBatchAsync(ConformanceNames.Queue("missing"), [new OutgoingMessage("x")], Ct));
    }

    [Fact]
    public async Task EnsureQueue_Twice_IsIdempotent()
    {
        var name = await NewQueueAsync(fifo: true);
        await Queue.EnsureQueueAsync(new QueueDefinition(name), Ct);
        await SendAsync(name, new OutgoingMessage("x", "g", "d"));
        await Queue.EnsureQueueAsync(new QueueDefinition(name), Ct);
        Assert.Single(await ReceiveAllAsync(name, TimeSpan.FromSeconds(30)));
    }

    protected async Task<string> NewQueueAsync(bool fifo)
    {
        var name = ConformanceNames.Queue("q", fifo);
        await Queue.EnsureQueueAsync(new QueueDefinition(name), Ct);
        return name;
    }

    protected async Task SendAsync(string name, params OutgoingMessage[] messages)
    {
        var result = await Queue.SendBatchAsync(name, messages, Ct);
        Assert.True(result.AllSucceeded, string.Join("; ", result.Failed.Select(f => $"{f.EntryId}: {f.Code} {f.Message}")));
    }

    /// <summary>Receives until a receive comes back empty.</summary>
    protected async Task<List<ReceivedMessage>> ReceiveAllAsync(string name, TimeSpan visibility, TimeSpan? firstWait = null)
    {
        var all = new List<ReceivedMessage>();
        var wait = firstWait ?? TimeSpan.FromSeconds(1);
        while (true)
        {
            var got = await Queue.ReceiveAsync(name, new ReceiveOptions { WaitTime = wait, VisibilityTimeout = visibility }, Ct);
            if (got.Count == 0)
            {
                return all;
            }

            all.AddRange(got);
            Assert.True(all.Count <= 1000, "ReceiveAllAsync: more than 1000 deliveries; is the visibility timeout shorter than the receive wait?");
            wait = TimeSpan.FromSeconds(1);
        }
    }
}
