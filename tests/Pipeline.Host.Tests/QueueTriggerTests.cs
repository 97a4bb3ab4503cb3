using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host.Testing;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Tests;

public sealed class QueueTriggerTests
{
    private const string Queue = "work";

    private static string HostJson(int maxDequeue = 3, string visibility = "00:00:10", string timeout = "00:01:00") => $$"""
        {
          "version": "2.0",
          "extensions": { "queues": { "batchSize": 10, "maxDequeueCount": {{maxDequeue}}, "visibilityTimeout": "{{visibility}}", "maxPollingInterval": "00:00:00.200" } },
          "functionTimeout": "{{timeout}}"
        }
        """;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestFunctionsHost> StartAsync(Probe probe, Type functions, string hostJson, bool start = true) =>
        TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [functions],
            HostJson = hostJson,
            StartListeners = start,
            ShutdownTimeout = TimeSpan.FromMilliseconds(500),
            Settings = new Dictionary<string, string?> { ["Queues:Work"] = Queue },
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);

    private static async Task SendAsync(TestFunctionsHost host, params string[] bodies)
    {
        var queue = host.Services.GetRequiredService<IMessageQueue>();
        var result = await queue.SendBatchAsync(Queue, bodies.Select(b => new OutgoingMessage(b)).ToList(), Ct);
        Assert.True(result.AllSucceeded);
    }

    [Fact]
    public async Task PerMessageResult_SomeFail_OnlyFailuresAreRedelivered()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(FailOnFirstDelivery), HostJson());
        await SendAsync(host, "ok-1", "fail-1", "ok-2", "fail-2");

        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        var calls = probe.Calls.ToList();
        Assert.Equal(1, calls.Count(c => c == "ok-1#1"));
        Assert.Equal(1, calls.Count(c => c == "ok-2#1"));
        Assert.DoesNotContain(calls, c => c.StartsWith("ok-", StringComparison.Ordinal) && c.EndsWith("#2", StringComparison.Ordinal));
        Assert.Contains("fail-1#2", calls);
        Assert.Contains("fail-2#2", calls);
        Assert.Equal(0, (await host.Services.GetRequiredService<IMessageQueue>().GetDepthAsync(Queue, Ct)).Total);
    }

    [Fact]
    public async Task AllOrNothing_Throws_WholeBatchIsDeadLetteredAfterMaxDequeueCount()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(AlwaysThrows), HostJson(maxDequeue: 3));
        await SendAsync(host, "poison");

        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        Assert.Equal(["poison#1", "poison#2", "poison#3"], probe.Calls.ToList());
        var queue = host.Services.GetRequiredService<IMessageQueue>();
        var dead = await queue.ReceiveAsync("work-dlq", new ReceiveOptions { MaxMessages = 10 }, Ct);
        var message = Assert.Single(dead);
        Assert.Equal("poison", message.Body);
        Assert.Equal("boom on poison", message.Attributes["pipeline-error"]);
        Assert.Equal(typeof(InvalidOperationException).FullName, message.Attributes["pipeline-error-type"]);
        Assert.Equal("3", message.Attributes["pipeline-receive-count"]);
        Assert.Equal("Throws", message.Attributes["pipeline-function"]);
        Assert.Equal(Queue, message.Attributes["pipeline-source-queue"]);
        Assert.Equal(0, (await queue.GetDepthAsync(Queue, Ct)).Total);
    }

    [Fact]
    public async Task SlowBatch_LongerThanVisibilityTimeout_HeartbeatKeepsItInvisible()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(Slow), HostJson(visibility: "00:00:02"));
        await SendAsync(host, "slow");
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);

        // Past the 2 s visibility timeout a competing consumer must still see nothing.
        await Task.Delay(TimeSpan.FromSeconds(3), Ct);
        var queue = host.Services.GetRequiredService<IMessageQueue>();
        var stolen = await queue.ReceiveAsync(Queue, new ReceiveOptions { VisibilityTimeout = TimeSpan.FromSeconds(1) }, Ct);
        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        Assert.Empty(stolen);
        Assert.Equal(["slow#1"], probe.Calls.ToList());
        Assert.Equal(0, (await queue.GetDepthAsync(Queue, Ct)).Total);
    }

    [Fact]
    public async Task FunctionTimeout_DirectInvocation_ThrowsAndCancelsFunction()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(Hangs), HostJson(timeout: "00:00:01"), start: false);
        var message = new ReceivedMessage("m1", "r1", "body", 1, null, null, new Dictionary<string, string>(), DateTimeOffset.UtcNow);

        var error = await Assert.ThrowsAsync<FunctionTimeoutException>(() => host.InvokeAsync("Hangs", message, Ct));

        Assert.Equal("Hangs", error.FunctionName);
        await Probe.WaitForAsync(() => probe.Calls.Contains("cancelled"), TimeSpan.FromSeconds(10), "the function to see its cancellation");
    }

    [Fact]
    public async Task FunctionTimeout_QueueTrigger_CountsAsFailureAndDeadLetters()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(Hangs), HostJson(maxDequeue: 2, timeout: "00:00:01"));
        await SendAsync(host, "stuck");

        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        var dead = await host.Services.GetRequiredService<IMessageQueue>().ReceiveAsync("work-dlq", new ReceiveOptions(), Ct);
        var message = Assert.Single(dead);
        Assert.Equal(typeof(FunctionTimeoutException).FullName, message.Attributes["pipeline-error-type"]);
        Assert.Contains("functionTimeout", message.Attributes["pipeline-error"], StringComparison.Ordinal);
    }

    [Fact]
    public async Task StopAsync_InFlightBatchExceedsGracePeriod_ReleasesMessages()
    {
        var probe = new Probe();
        var host = await StartAsync(probe, typeof(Hangs), HostJson());
        await using (host)
        {
            await SendAsync(host, "in-flight");
            await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);

            await host.StopAsync(Ct);

            var queue = host.Services.GetRequiredService<IMessageQueue>();
            var depth = await queue.GetDepthAsync(Queue, Ct);
            Assert.Equal(1, depth.Visible);
            var again = Assert.Single(await queue.ReceiveAsync(Queue, new ReceiveOptions(), Ct));
            Assert.Equal("in-flight", again.Body);
            Assert.Equal(2, again.ReceiveCount);
            Assert.Contains("cancelled", probe.Calls);
        }
    }

    [Fact]
    public async Task StopAsync_InFlightBatchFinishesWithinGrace_CompletesAndDeletes()
    {
        var probe = new Probe();
        var host = await TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(Slow)],
            HostJson = HostJson(),
            ShutdownTimeout = TimeSpan.FromSeconds(30),
            Settings = new Dictionary<string, string?> { ["Queues:Work"] = Queue },
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);
        await using (host)
        {
            await SendAsync(host, "finish-me");
            await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20), Ct);

            await host.StopAsync(Ct);

            Assert.Equal(["finish-me#1"], probe.Calls.ToList());
            Assert.Equal(0, (await host.Services.GetRequiredService<IMessageQueue>().GetDepthAsync(Queue, Ct)).Total);
        }
    }

    [Fact]
    public async Task NewBatchThreshold_Positive_RunsBatchesConcurrently()
    {
        var probe = new Probe();
        await using var host = await TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(Rendezvous)],
            HostJson = """
                { "version": "2.0",
                  "extensions": { "queues": { "batchSize": 1, "newBatchThreshold": 4, "maxPollingInterval": "00:00:00.100" } } }
                """,
            Settings = new Dictionary<string, string?> { ["Queues:Work"] = Queue },
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);

        await SendAsync(host, "a", "b");
        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        // Each batch (of one) waits until both are running: only concurrent batches get past the rendezvous.
        Assert.Equal(["a:met", "b:met"], probe.Calls.Order(StringComparer.Ordinal).ToList());
    }

    public sealed class Rendezvous(Probe probe)
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Probe, CountdownEvent> Meetings = new();

        [Function("Rendezvous")]
        public async Task RunAsync([QueueTrigger("%Queues:Work%")] IReadOnlyList<ReceivedMessage> messages)
        {
            var meeting = Meetings.GetOrAdd(probe, _ => new CountdownEvent(2));
            meeting.Signal();
            var met = await Task.Run(() => meeting.Wait(TimeSpan.FromSeconds(10)));
            probe.Record($"{messages[0].Body}:{(met ? "met" : "alone")}");
        }
    }

    public sealed class FailOnFirstDelivery(Probe probe)
    {
        [Function("FailFirst")]
        public Task<QueueBatchResult> RunAsync([QueueTrigger("%Queues:Work%")] IReadOnlyList<ReceivedMessage> messages)
        {
            var failures = new List<MessageFailure>();
            foreach (var m in messages)
            {
                probe.Record($"{m.Body}#{m.ReceiveCount}");
                if (m.Body.StartsWith("fail", StringComparison.Ordinal) && m.ReceiveCount == 1)
                {
                    failures.Add(new MessageFailure(m.MessageId, "first delivery fails"));
                }
            }

            return Task.FromResult(new QueueBatchResult(failures));
        }
    }

    public sealed class AlwaysThrows(Probe probe)
    {
        [Function("Throws")]
        public Task RunAsync([QueueTrigger("%Queues:Work%")] IReadOnlyList<ReceivedMessage> messages)
        {
            foreach (var m in messages)
            {
                probe.Record($"{m.Body}#{m.ReceiveCount}");
            }

            throw new InvalidOperationException("boom on " + messages[0].Body);
        }
    }

    public sealed class Slow(Probe probe)
    {
        [Function("Slow")]
        public async Task RunAsync([QueueTrigger("%Queues:Work%")] IReadOnlyList<ReceivedMessage> messages)
        {
            probe.Started.TrySetResult();
            await Task.Delay(TimeSpan.FromSeconds(4), CancellationToken.None);
            foreach (var m in messages)
            {
                probe.Record($"{m.Body}#{m.ReceiveCount}");
            }
        }
    }

    public sealed class Hangs(Probe probe)
    {
        [Function("Hangs")]
        public async Task RunAsync([QueueTrigger("%Queues:Work%")] IReadOnlyList<ReceivedMessage> messages, CancellationToken cancellationToken)
        {
            probe.Started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.Infinite, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.Record("cancelled");
                throw;
            }
        }
    }
}
