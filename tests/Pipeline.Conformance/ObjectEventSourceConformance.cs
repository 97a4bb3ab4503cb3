using System.Text;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Conformance;

/// <summary>
/// What every <see cref="IObjectEventSource"/> must do together with its store: an object-created event per put,
/// at least once, with visibility timeouts and acknowledgements. Events may repeat, so checks de-duplicate by key.
/// </summary>
public abstract class ObjectEventSourceConformance : IAsyncLifetime
{
    private (IObjectStore Store, IObjectEventSource Events)? providers;

    protected IObjectStore Store => providers?.Store ?? throw new InvalidOperationException("InitializeAsync has not run.");

    protected IObjectEventSource Events => providers?.Events ?? throw new InvalidOperationException("InitializeAsync has not run.");

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>How long to wait for events to arrive (S3 → SQS notifications are slower than disk).</summary>
    protected virtual TimeSpan EventWait => TimeSpan.FromSeconds(5);

    protected abstract ValueTask<(IObjectStore Store, IObjectEventSource Events)> CreateProvidersAsync();

    protected virtual async ValueTask DisposeProvidersAsync(IObjectStore store, IObjectEventSource events)
    {
        await Disposal.DisposeAsync(events);
        await Disposal.DisposeAsync(store);
    }

    /// <summary>A fresh zone for one test, wired for notifications (S3 providers create the bucket and its notification here).</summary>
    protected virtual ValueTask<string> CreateZoneAsync() => ValueTask.FromResult(ConformanceNames.Zone());

    public virtual async ValueTask InitializeAsync() => providers = await CreateProvidersAsync();

    public virtual async ValueTask DisposeAsync()
    {
        if (providers is { } p)
        {
            await DisposeProvidersAsync(p.Store, p.Events);
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Put_Objects_OneEventEachWithKeySizeAndETag()
    {
        var zone = await CreateZoneAsync();
        var a = await Store.PutAsync(zone, "in/a.json", Text("{}"), cancellationToken: Ct);
        var b = await Store.PutAsync(zone, "in/b.json", Text("[1,2]"), cancellationToken: Ct);

        var deliveries = await ReceiveUntilAsync(zone, 2, TimeSpan.FromSeconds(30));
        var byKey = deliveries.GroupBy(d => d.Event.Key).ToDictionary(g => g.Key, g => g.First().Event);
        Assert.Equal(["in/a.json", "in/b.json"], byKey.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(a.ETag, byKey["in/a.json"].ETag);
        Assert.Equal(2, byKey["in/a.json"].Size);
        Assert.Equal(b.ETag, byKey["in/b.json"].ETag);
        Assert.Equal(zone, byKey["in/b.json"].Zone);
        await Events.AcknowledgeAsync(zone, deliveries, Ct);
    }

    [Fact]
    public async Task DeadLetter_Delivery_ListedWithErrorNotDeliveredAgainUntilRedriven()
    {
        var deadLetters = Assert.IsAssignableFrom<IObjectEventDeadLetters>(Events);
        var zone = await CreateZoneAsync();
        var put = await Store.PutAsync(zone, "poison/a b+c.json", Text("{}"), cancellationToken: Ct);
        var delivery = Assert.Single(await ReceiveUntilAsync(zone, 1, TimeSpan.FromSeconds(30)));
        await deadLetters.DeadLetterAsync(zone, delivery, "EnrichTransactions: InvalidOperationException: reference data missing", Ct);

        Assert.Empty(await Events.ReceiveAsync(zone, 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(1), Ct));
        var dead = Assert.Single(await deadLetters.ListDeadLettersAsync(zone, Ct));
        Assert.Equal("poison/a b+c.json", dead.Event.Key);
        Assert.Equal(put.ETag.Trim('"'), dead.Event.ETag.Trim('"'));
        Assert.Equal(delivery.ReceiveCount, dead.ReceiveCount);
        Assert.Equal("EnrichTransactions: InvalidOperationException: reference data missing", dead.Error);

        // Listing is a peek: it changes nothing.
        Assert.Single(await deadLetters.ListDeadLettersAsync(zone, Ct));

        Assert.Equal(1, await deadLetters.RedriveAsync(zone, Ct));
        Assert.Empty(await deadLetters.ListDeadLettersAsync(zone, Ct));
        var again = Assert.Single(await ReceiveUntilAsync(zone, 1, TimeSpan.FromSeconds(30)));
        Assert.Equal("poison/a b+c.json", again.Event.Key);
        Assert.Equal(put.ETag.Trim('"'), again.Event.ETag.Trim('"'));
        Assert.Equal(1, again.ReceiveCount);
        await Events.AcknowledgeAsync(zone, [again], Ct);
    }

    [Fact]
    public async Task Acknowledge_Delivery_NotDeliveredAgain()
    {
        var zone = await CreateZoneAsync();
        await Store.PutAsync(zone, "once.txt", Text("x"), cancellationToken: Ct);
        var deliveries = await ReceiveUntilAsync(zone, 1, TimeSpan.FromSeconds(1));
        await Events.AcknowledgeAsync(zone, deliveries, Ct);

        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        Assert.Empty(await Events.ReceiveAsync(zone, 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), Ct));
    }

    [Fact]
    public async Task Receive_NotAcknowledged_RedeliveredWithHigherReceiveCount()
    {
        var zone = await CreateZoneAsync();
        await Store.PutAsync(zone, "retry.txt", Text("x"), cancellationToken: Ct);
        var first = Assert.Single(await ReceiveUntilAsync(zone, 1, TimeSpan.FromSeconds(1)));

        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        var again = await Events.ReceiveAsync(zone, 10, EventWait, TimeSpan.FromSeconds(30), Ct);
        var redelivered = Assert.Single(again, d => d.Event.Key == "retry.txt");
        Assert.True(redelivered.ReceiveCount > first.ReceiveCount);
        await Events.AcknowledgeAsync(zone, again, Ct);
    }

    [Fact]
    public async Task ChangeVisibility_Release_RedeliveredAtOnce_Heartbeat_KeepsHidden()
    {
        var zone = await CreateZoneAsync();
        await Store.PutAsync(zone, "a.txt", Text("x"), cancellationToken: Ct);
        var delivery = Assert.Single(await ReceiveUntilAsync(zone, 1, TimeSpan.FromSeconds(1)));
        await Events.ChangeVisibilityAsync(zone, delivery, TimeSpan.FromSeconds(5), Ct);

        await Task.Delay(TimeSpan.FromSeconds(1.5), Ct);
        Assert.Empty(await Events.ReceiveAsync(zone, 10, TimeSpan.Zero, TimeSpan.FromSeconds(30), Ct));

        await Events.ChangeVisibilityAsync(zone, delivery, TimeSpan.Zero, Ct);
        var again = Assert.Single(await Events.ReceiveAsync(zone, 10, EventWait, TimeSpan.FromSeconds(30), Ct));
        Assert.Equal("a.txt", again.Event.Key);
        await Events.AcknowledgeAsync(zone, [again], Ct);
    }

    [Fact]
    public async Task Receive_OtherZone_DoesNotSeeThisZonesEvents()
    {
        var zone = await CreateZoneAsync();
        var other = await CreateZoneAsync();
        await Store.PutAsync(zone, "mine.txt", Text("x"), cancellationToken: Ct);
        Assert.Empty(await Events.ReceiveAsync(other, 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), Ct));
        Assert.Single(await ReceiveUntilAsync(zone, 1, TimeSpan.FromSeconds(30)));
    }

    protected static MemoryStream Text(string text) => new(Encoding.UTF8.GetBytes(text));

    /// <summary>Receives until <paramref name="distinctKeys"/> distinct keys were delivered or <see cref="EventWait"/> passed.</summary>
    protected async Task<List<ObjectEventDelivery>> ReceiveUntilAsync(string zone, int distinctKeys, TimeSpan visibility)
    {
        var all = new List<ObjectEventDelivery>();
        var deadline = DateTime.UtcNow + EventWait;
        while (all.Select(d => d.Event.Key).Distinct().Count() < distinctKeys && DateTime.UtcNow < deadline)
        {
            all.AddRange(await Events.ReceiveAsync(zone, 10, TimeSpan.FromSeconds(1), visibility, Ct));
        }

        Assert.Equal(distinctKeys, all.Select(d => d.Event.Key).Distinct().Count());
        return all;
    }
}
