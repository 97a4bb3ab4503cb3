using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host.Testing;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Host.Tests;

/// <summary>
/// FIFO order after a failure, through the host, on the embedded SQLite queue and on SQS (moto): group G holds m1, m2,
/// m3 in one batch; when m2 fails, m3 (which the function handled fine) must not be acknowledged before m2 succeeds,
/// so the group's effects end in send order. The function is a last-writer-wins store per group, like a merge without
/// versions: acknowledging m3 first leaves m2's value behind.
/// </summary>
public sealed class FifoOrderTests(MotoFixture moto) : IClassFixture<MotoFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Queues => new() { "embedded", "sqs" };

    [Theory]
    [MemberData(nameof(Queues))]
    public async Task ProcessBatch_SecondOfGroupFailsOnce_LaterOfGroupWaitsAndEffectsEndInSendOrder(string provider)
    {
        var probe = new Probe();
        await using var host = await StartAsync(provider, probe);
        await SendAsync(host, ("G", "m1"), ("G", "fail-once-m2"), ("G", "m3"), ("H", "h1"));

        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);

        var effects = probe.Calls.ToList();
        Assert.Equal("m3", LastWriterWins.Of(probe)["G"]);
        Assert.Equal("h1", LastWriterWins.Of(probe)["H"]);

        // m3 ran in the first batch but was not acknowledged: it ran again after m2 succeeded.
        Assert.True(effects.LastIndexOf("G:m3") > effects.IndexOf("G:fail-once-m2"), string.Join(", ", effects));
        Assert.Equal(["G:m1", "G:fail-once-m2", "G:m3"], effects.Where(e => e.StartsWith("G:", StringComparison.Ordinal)).Reverse().Distinct().Reverse());
        Assert.Equal(1, effects.Count(e => e == "H:h1"));
        await AssertDrainedAsync(host);
        Assert.Empty(await DeadLetteredAsync(host));
    }

    [Theory]
    [MemberData(nameof(Queues))]
    public async Task ProcessBatch_SecondOfGroupAlwaysFails_ItAloneIsDeadLetteredAndTheLaterOneLoads(string provider)
    {
        var probe = new Probe();
        await using var host = await StartAsync(provider, probe);
        await SendAsync(host, ("G", "m1"), ("G", "fail-always-m2"), ("G", "m3"));

        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);

        // m3 is held back while m2 is retried, and acknowledged when m2 is dead-lettered: it is not dragged along.
        Assert.Equal("m3", LastWriterWins.Of(probe)["G"]);
        var dead = Assert.Single(await DeadLetteredAsync(host));
        Assert.Equal("fail-always-m2", dead.Body);
        Assert.Equal("m2 refused", dead.Attributes["pipeline-error"]);
        await AssertDrainedAsync(host);
    }

    private string QueueName { get; } = "fifo-" + Guid.NewGuid().ToString("N")[..8] + ".fifo";

    private async Task<TestFunctionsHost> StartAsync(string provider, Probe probe)
    {
        var settings = new Dictionary<string, string?> { ["Queues:Work"] = QueueName, ["Queues:AutoCreate"] = "true" };
        if (provider == "sqs")
        {
            moto.RequireAvailable();
            settings["Provider"] = "Aws";
            settings["Aws:Region"] = MotoFixture.Region;
            settings["Aws:ServiceUrl"] = moto.Endpoint.ToString();
            settings["Aws:AccessKeyId"] = MotoFixture.AccessKeyId;
            settings["Aws:SecretAccessKey"] = MotoFixture.SecretAccessKey;
            settings["Aws:SqsDeduplicationAfterDelete"] = "false";

            // The Aws provider needs a warehouse setting; these functions never touch it.
            settings["Warehouse"] = "Postgres";
            settings["Postgres:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=unused;Database=unused";
        }

        return await TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(LastWriterWins)],
            HostJson = """
                {
                  "version": "2.0",
                  "extensions": { "queues": { "batchSize": 10, "maxDequeueCount": 3, "visibilityTimeout": "00:00:10", "maxPollingInterval": "00:00:00.200" } },
                  "functionTimeout": "00:01:00"
                }
                """,
            ShutdownTimeout = TimeSpan.FromMilliseconds(500),
            Settings = settings,
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);
    }

    private async Task SendAsync(TestFunctionsHost host, params (string Group, string Body)[] messages)
    {
        // One batch, so the host receives the whole group at once (the case where order can break).
        var sent = await host.Services.GetRequiredService<IMessageQueue>().SendBatchAsync(
            QueueName,
            messages.Select(m => new OutgoingMessage(m.Body, m.Group, m.Group + "-" + m.Body)).ToList(),
            Ct);
        Assert.True(sent.AllSucceeded);
    }

    private async Task AssertDrainedAsync(TestFunctionsHost host) =>
        Assert.Equal(0, (await host.Services.GetRequiredService<IMessageQueue>().GetDepthAsync(QueueName, Ct)).Total);

    private async Task<IReadOnlyList<ReceivedMessage>> DeadLetteredAsync(TestFunctionsHost host) =>
        await host.Services.GetRequiredService<IMessageQueue>().ReceiveAsync(host.Host.DeadLetterQueueFor(QueueName), new ReceiveOptions { MaxMessages = 10 }, Ct);

    /// <summary>Stores each message's body as its group's value, in batch order; "fail-once" fails its first delivery, "fail-always" every one.</summary>
    public sealed class LastWriterWins(Probe probe)
    {
        private static readonly ConditionalWeakTable<Probe, ConcurrentDictionary<string, string>> Stores = new();

        public static ConcurrentDictionary<string, string> Of(Probe probe) => Stores.GetOrCreateValue(probe);

        [Function("LastWriterWins")]
        public Task<QueueBatchResult> RunAsync([QueueTrigger("%Queues:Work%")] IReadOnlyList<ReceivedMessage> messages)
        {
            var failures = new List<MessageFailure>();
            foreach (var m in messages)
            {
                if ((m.Body.StartsWith("fail-once", StringComparison.Ordinal) && m.ReceiveCount == 1) || m.Body.StartsWith("fail-always", StringComparison.Ordinal))
                {
                    failures.Add(new MessageFailure(m.MessageId, "m2 refused"));
                    continue;
                }

                Of(probe)[m.GroupId!] = m.Body;
                probe.Record($"{m.GroupId}:{m.Body}");
            }

            return Task.FromResult(new QueueBatchResult(failures));
        }
    }
}
