using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host.Testing;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Tests;

public sealed class ObjectAndTimerTriggerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Task<TestFunctionsHost> StartAsync(Probe probe, params Type[] functions) =>
        TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = functions,
            Settings = new Dictionary<string, string?> { ["Zones:Raw"] = "raw" },
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);

    [Fact]
    public async Task ObjectTrigger_Prefixes_DispatchOnlyMatchingFunctions()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(ZoneFunctions));

        await host.PutObjectAsync("raw", "transactions/t1.json", "{}", Ct);
        await host.PutObjectAsync("raw", "reference/r1.csv", "a,b", Ct);
        await host.PutObjectAsync("raw", "misc/m1.txt", "x", Ct);
        await host.PutObjectAsync("other", "transactions/t2.json", "{}", Ct);
        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        Assert.Equal(
            ["All:misc/m1.txt", "All:reference/r1.csv", "All:transactions/t1.json", "Reference:reference/r1.csv", "Transactions:transactions/t1.json"],
            probe.Calls.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task ObjectTrigger_ManySmallObjects_RunUpToMaxDegreeOfParallelismAtOnce()
    {
        // Each invocation waits until all 24 run (or 3 s): one batch of batchSize at a time would never get there.
        var probe = new Probe();
        await using var host = await TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(GatedObjectFunctions)],
            Settings = new Dictionary<string, string?> { ["Zones:Raw"] = "raw" },
            HostJson = """{ "version": "2.0", "extensions": { "queues": { "batchSize": 10 }, "blobs": { "maxDegreeOfParallelism": 24 } } }""",
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);

        for (var i = 0; i < GatedObjectFunctions.Objects; i++)
        {
            await host.PutObjectAsync("raw", $"in/{i:D2}.json", "{}", Ct);
        }

        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        Assert.Equal(GatedObjectFunctions.Objects, probe.Calls.Distinct().Count());
        Assert.Equal(GatedObjectFunctions.Objects, GatedObjectFunctions.MaxRunning(probe));
    }

    [Fact]
    public async Task ObjectTrigger_SlowEventInABatch_FinishedEventsSlotsTakeNewEvents()
    {
        // Two slots, three events waiting before the listener starts. The held event finishes only once both others
        // have: with a slot freed per batch, a batch of [held, other] would keep the third event out until the minute ends.
        var probe = new Probe();
        await using var host = TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(HeldObjectFunctions)],
            Settings = new Dictionary<string, string?> { ["Zones:Raw"] = "raw" },
            HostJson = """{ "version": "2.0", "extensions": { "queues": { "batchSize": 2 }, "blobs": { "maxDegreeOfParallelism": 2 } } }""",
            Configure = b => b.Services.AddSingleton(probe),
        });
        await host.PutObjectAsync("raw", "in/held.json", "{}", Ct);
        await host.PutObjectAsync("raw", "in/a.json", "{}", Ct);
        await host.PutObjectAsync("raw", "in/b.json", "{}", Ct);

        await host.Host.StartAsync(Ct);
        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        Assert.Equal(["in/a.json", "in/b.json", "in/held.json released"], probe.Calls.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task ObjectTrigger_OneFunctionFails_EventIsDeliveredAgain()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(FlakyZoneFunctions));

        await host.PutObjectAsync("raw", "in/a.json", "{}", Ct);
        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        // The healthy function runs on both deliveries (at-least-once); the flaky one fails once, then succeeds.
        Assert.Equal(["Flaky:in/a.json#1", "Flaky:in/a.json#2", "Healthy:in/a.json", "Healthy:in/a.json"], probe.Calls.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task ObjectTrigger_RetryPolicy_RetriesInProcessBeforeReleasing()
    {
        var probe = new Probe();
        await using var host = await TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(FlakyZoneFunctions)],
            HostJson = """
                { "version": "2.0",
                  "extensions": { "queues": { "maxPollingInterval": "00:00:00.200" } },
                  "retry": { "strategy": "fixedDelay", "maxRetryCount": 2, "delayInterval": "00:00:00.050" } }
                """,
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);

        await host.PutObjectAsync("raw", "in/b.json", "{}", Ct);
        await host.WaitUntilIdleAsync(cancellationToken: Ct);

        // One delivery: the flaky function fails, is retried in-process and succeeds; the healthy one runs once.
        Assert.Equal(["Flaky:in/b.json#1", "Flaky:in/b.json#2", "Healthy:in/b.json"], probe.Calls.Order(StringComparer.Ordinal).ToList());
    }

    [Fact]
    public async Task DispatchObjectCreatedAsync_MatchingFunctions_RunWithoutListeners()
    {
        var probe = new Probe();
        await using var host = await TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(ZoneFunctions)],
            StartListeners = false,
            Settings = new Dictionary<string, string?> { ["Zones:Raw"] = "raw" },
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);

        var ran = await host.Host.DispatchObjectCreatedAsync(new ObjectCreatedEvent("raw", "reference/r.csv", 1, "e", null, DateTimeOffset.UtcNow), Ct);

        Assert.Equal(["Reference", "All"], ran);
    }

    [Fact]
    public async Task TimerTrigger_RunOnStartup_RunsOnceAtStart()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(TimerFunctions));

        await Probe.WaitForAsync(() => probe.Calls.Contains("startup"), TimeSpan.FromSeconds(20), "the RunOnStartup invocation");

        Assert.Single(probe.Calls, c => c == "startup");
    }

    [Fact]
    public async Task TimerTrigger_EverySecond_FiresOnSchedule()
    {
        var probe = new Probe();
        await using var host = await StartAsync(probe, typeof(TickFunctions));

        await Probe.WaitForAsync(() => probe.Calls.Count >= 2, TimeSpan.FromSeconds(20), "two ticks");

        Assert.All(probe.Calls, c => Assert.EndsWith(":000", c, StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvokeAsync_ObjectFunction_RunsWithoutListeners()
    {
        var probe = new Probe();
        await using var host = await TestFunctionsHost.StartAsync(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(ZoneFunctions)],
            StartListeners = false,
            Settings = new Dictionary<string, string?> { ["Zones:Raw"] = "raw" },
            Configure = b => b.Services.AddSingleton(probe),
        }, Ct);

        await host.InvokeAsync("Transactions", new ObjectCreatedEvent("raw", "transactions/x.json", 2, "etag", null, DateTimeOffset.UtcNow), Ct);
        var wrong = await Assert.ThrowsAsync<ArgumentException>(() => host.InvokeAsync("Transactions", "not an event", Ct));

        Assert.Equal(["Transactions:transactions/x.json"], probe.Calls.ToList());
        Assert.Contains("pass an ObjectCreatedEvent", wrong.Message, StringComparison.Ordinal);
    }

    public sealed class ZoneFunctions(Probe probe)
    {
        [Function("Transactions")]
        public Task TransactionsAsync([ObjectTrigger("%Zones:Raw%", Prefix = "transactions/")] ObjectCreatedEvent e) => Record("Transactions", e);

        [Function("Reference")]
        public Task ReferenceAsync([ObjectTrigger("%Zones:Raw%", Prefix = "reference/")] ObjectCreatedEvent e) => Record("Reference", e);

        [Function("All")]
        public Task AllAsync([ObjectTrigger("raw")] ObjectCreatedEvent e) => Record("All", e);

        private Task Record(string name, ObjectCreatedEvent e)
        {
            probe.Record($"{name}:{e.Key}");
            return Task.CompletedTask;
        }
    }

    public sealed class GatedObjectFunctions(Probe probe)
    {
        public const int Objects = 24;

        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Probe, Gate> Gates = new();

        public static int MaxRunning(Probe probe) => Gates[probe].Max;

        [Function("Gated")]
        public async Task RunAsync([ObjectTrigger("%Zones:Raw%")] ObjectCreatedEvent e)
        {
            var gate = Gates.GetOrAdd(probe, _ => new Gate());
            lock (gate)
            {
                gate.Running++;
                gate.Max = Math.Max(gate.Max, gate.Running);
                if (gate.Running >= Objects)
                {
                    gate.All.TrySetResult();
                }
            }

            // Released when all are running at once; the minute only bounds a failing run (no timing in the assertion).
            await Task.WhenAny(gate.All.Task, Task.Delay(TimeSpan.FromMinutes(1)));
            lock (gate)
            {
                gate.Running--;
            }

            probe.Record(e.Key);
        }

        private sealed class Gate
        {
            public int Running { get; set; }

            public int Max { get; set; }

            public TaskCompletionSource All { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public sealed class HeldObjectFunctions(Probe probe)
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Probe, (TaskCompletionSource Others, int[] Done)> States = new();

        [Function("Held")]
        public async Task RunAsync([ObjectTrigger("%Zones:Raw%")] ObjectCreatedEvent e)
        {
            var (others, done) = States.GetOrAdd(probe, _ => (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new int[1]));
            if (e.Key != "in/held.json")
            {
                probe.Record(e.Key);
                if (Interlocked.Increment(ref done[0]) == 2)
                {
                    others.TrySetResult();
                }

                return;
            }

            // The minute only bounds a failing run; the assertion names how the wait ended, not how long it took.
            var released = await Task.WhenAny(others.Task, Task.Delay(TimeSpan.FromMinutes(1))) == others.Task;
            probe.Record(released ? $"{e.Key} released" : $"{e.Key} timed out");
        }
    }

    public sealed class FlakyZoneFunctions(Probe probe)
    {
        private static readonly System.Collections.Concurrent.ConcurrentDictionary<Probe, int> Attempts = new();

        [Function("Healthy")]
        public Task HealthyAsync([ObjectTrigger("raw", Prefix = "in/")] ObjectCreatedEvent e)
        {
            probe.Record($"Healthy:{e.Key}");
            return Task.CompletedTask;
        }

        [Function("Flaky")]
        public Task FlakyAsync([ObjectTrigger("raw", Prefix = "in/")] ObjectCreatedEvent e, FunctionContext context)
        {
            var attempt = Attempts.AddOrUpdate(probe, 1, (_, n) => n + 1);
            probe.Record($"Flaky:{e.Key}#{attempt}");
            return attempt == 1 ? throw new InvalidOperationException("first attempt fails") : Task.CompletedTask;
        }
    }

    public sealed class TimerFunctions(Probe probe)
    {
        [Function("Yearly")]
        public Task RunAsync([TimerTrigger("0 0 0 1 1 *", RunOnStartup = true)] TimerInfo timer)
        {
            probe.Record(timer.IsStartupRun ? "startup" : "scheduled");
            return Task.CompletedTask;
        }
    }

    public sealed class TickFunctions(Probe probe)
    {
        [Function("Tick")]
        public Task RunAsync([TimerTrigger("* * * * * *")] TimerInfo timer)
        {
            probe.Record($"{timer.ScheduledTime:HH:mm:ss}:{timer.ScheduledTime.Millisecond:000}");
            return Task.CompletedTask;
        }
    }
}
