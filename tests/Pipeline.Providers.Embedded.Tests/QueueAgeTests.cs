using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Tests;

/// <summary><see cref="IQueueAge"/> on the embedded queue: null when empty, the oldest message's age otherwise, gone once deleted.</summary>
public sealed class QueueAgeTests : IDisposable
{
    private readonly TempDataRoot root = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GetOldestMessageAge_EmptyThenSentThenDeleted_NullAgeNull()
    {
        using var queue = new SqliteMessageQueue(root.Options());
        IQueueAge ages = queue;
        await queue.EnsureQueueAsync(new QueueDefinition("ages"), Ct);
        Assert.Null(await ages.GetOldestMessageAgeAsync("ages", Ct));

        await queue.SendBatchAsync("ages", [new OutgoingMessage("old")], Ct);
        await Task.Delay(TimeSpan.FromSeconds(1.2), Ct);
        await queue.SendBatchAsync("ages", [new OutgoingMessage("new")], Ct);

        var age = await ages.GetOldestMessageAgeAsync("ages", Ct);
        Assert.NotNull(age);
        Assert.InRange(age.Value, TimeSpan.FromSeconds(1.1), TimeSpan.FromSeconds(30));

        var got = await queue.ReceiveAsync("ages", new ReceiveOptions { MaxMessages = 10, WaitTime = TimeSpan.FromSeconds(1) }, Ct);
        Assert.Equal(2, got.Count);
        Assert.NotNull(await ages.GetOldestMessageAgeAsync("ages", Ct)); // in flight still counts: not yet done
        Assert.Empty(await queue.DeleteBatchAsync("ages", got.Select(m => m.ReceiptHandle).ToList(), Ct));
        Assert.Null(await ages.GetOldestMessageAgeAsync("ages", Ct));
    }

    [Fact]
    public async Task GetOldestMessageAge_NoSuchQueue_QueueNotFound()
    {
        using var queue = new SqliteMessageQueue(root.Options());

        await Assert.ThrowsAsync<QueueNotFoundException>(() => queue.GetOldestMessageAgeAsync("missing", Ct));
    }

    public void Dispose() => root.Dispose();
}
