using Pipeline.Functions.Functions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>
/// Sends of invocations running at once share batches (one request per 10 messages, not one per object), nobody
/// returns before their messages are on the queue, and a refused message fails only its own caller. On the real
/// embedded queue, with the send calls counted.
/// </summary>
public sealed class EnrichedQueueSenderTests : IDisposable
{
    private const string Queue = "enriched.fifo";
    private readonly string root = Path.Combine(Path.GetTempPath(), "pipeline-sender-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly SqliteMessageQueue inner;
    private readonly CountingQueue queue;
    private readonly EnrichedQueueSender sender;

    public EnrichedQueueSenderTests()
    {
        inner = new SqliteMessageQueue(new EmbeddedOptions { DataRoot = root });
        queue = new CountingQueue(inner);
        sender = new EnrichedQueueSender(queue, new PipelineSettings("raw", "quarantine", "reference", "prepare", Queue));
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendAsync_TwentyInvocationsAtOnce_ShareBatchesAndAllArrive()
    {
        await inner.EnsureQueueAsync(new QueueDefinition(Queue), Ct);
        var scopes = Enumerable.Range(0, 20).Select(_ => sender.Enter()).ToList();

        await Task.WhenAll(Enumerable.Range(0, 20).Select(async i =>
        {
            using var scope = scopes[i];
            await sender.SendAsync([Message(i)], Ct);
        }));

        Assert.Equal(2, queue.Sends);
        Assert.Equal(20, (await inner.GetDepthAsync(Queue, Ct)).Visible);
    }

    [Fact]
    public async Task SendAsync_OneInvocationAlone_SendsAtOnce()
    {
        await inner.EnsureQueueAsync(new QueueDefinition(Queue), Ct);

        // With an hour's linger, a send that waited for company would not finish within the test's minute.
        var lingering = new EnrichedQueueSender(queue, new PipelineSettings("raw", "quarantine", "reference", "prepare", Queue)) { Linger = TimeSpan.FromHours(1) };
        using (lingering.Enter())
        {
            var send = lingering.SendAsync([Message(1)], Ct);
            Assert.True(await Task.WhenAny(send, Task.Delay(TimeSpan.FromMinutes(1), Ct)) == send, "a lone invocation must not wait for company");
            await send;
        }

        Assert.Equal(1, queue.Sends);
    }

    [Fact]
    public async Task SendAsync_OneMessageRefused_FailsOnlyItsCaller()
    {
        await inner.EnsureQueueAsync(new QueueDefinition(Queue), Ct);
        var scopes = Enumerable.Range(0, 3).Select(_ => sender.Enter()).ToList();
        var sends = Enumerable.Range(0, 3).Select(async i =>
        {
            using var scope = scopes[i];

            // A FIFO message without a group id is refused by the queue (SenderFault).
            await sender.SendAsync([i == 1 ? new OutgoingMessage("{}") : Message(i)], Ct);
        }).ToList();

        await sends[0];
        await Assert.ThrowsAsync<QueueException>(() => sends[1]);
        await sends[2];
        Assert.Equal(2, (await inner.GetDepthAsync(Queue, Ct)).Visible);
    }

    public void Dispose()
    {
        inner.Dispose();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static OutgoingMessage Message(int i) => new($"{{\"n\":{i}}}", $"g{i % 3}", $"d{i}");

    /// <summary>Counts send requests made of the real queue.</summary>
    private sealed class CountingQueue(IMessageQueue inner) : IMessageQueue
    {
        private int sends;

        public int Sends => Volatile.Read(ref sends);

        public QueueCapabilities Capabilities => inner.Capabilities;

        public Task EnsureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default) => inner.EnsureQueueAsync(definition, cancellationToken);

        public Task<SendBatchResult> SendBatchAsync(string queue, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref sends);
            return inner.SendBatchAsync(queue, messages, cancellationToken);
        }

        public Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, ReceiveOptions options, CancellationToken cancellationToken = default) => inner.ReceiveAsync(queue, options, cancellationToken);

        public Task<IReadOnlyList<string>> DeleteBatchAsync(string queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken = default) => inner.DeleteBatchAsync(queue, receiptHandles, cancellationToken);

        public Task ChangeVisibilityBatchAsync(string queue, IReadOnlyList<VisibilityChange> changes, CancellationToken cancellationToken = default) => inner.ChangeVisibilityBatchAsync(queue, changes, cancellationToken);

        public Task<QueueDepth> GetDepthAsync(string queue, CancellationToken cancellationToken = default) => inner.GetDepthAsync(queue, cancellationToken);
    }
}
