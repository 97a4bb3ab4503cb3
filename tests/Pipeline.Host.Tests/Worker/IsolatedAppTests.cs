using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host.Testing;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Tests.Worker;

/// <summary>The real isolated-worker app through the host's listeners on the embedded providers (temp data root).</summary>
public sealed class IsolatedAppTests : IAsyncLifetime
{
    private readonly string _effects = Path.Combine(Directory.CreateTempSubdirectory("pipeline-app-").FullName, "effects.txt");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public ValueTask DisposeAsync()
    {
        Directory.Delete(Path.GetDirectoryName(_effects)!, recursive: true);
        return ValueTask.CompletedTask;
    }

    private Task<TestFunctionsHost> StartAsync(IReadOnlyList<string>? functions = null, Dictionary<string, string?>? settings = null)
    {
        var all = new Dictionary<string, string?> { ["WORKERAPP_EFFECTS"] = _effects };
        foreach (var (key, value) in settings ?? [])
        {
            all[key] = value;
        }

        return TestFunctionsHost.StartAsync(new TestFunctionsHostOptions { ScriptRoot = WorkerApp.ScriptRoot(), Functions = functions, Settings = all, ShutdownTimeout = TimeSpan.FromSeconds(5) }, Ct);
    }

    private string Effects() => File.Exists(_effects) ? File.ReadAllText(_effects) : string.Empty;

    [Fact]
    public async Task Start_WorkerApp_ListsFunctionsWithTheirBindingTypesAndResolvedSettings()
    {
        await using var host = await StartAsync();

        var listed = host.Host.Functions.Select(f => f.ToString()).Order(StringComparer.Ordinal).ToList();

        Assert.Equal(
            [
                "Boom: messageQueueTrigger (queue=boom)",
                "Echo: messageQueueTrigger (queue=echo)",
                "OnUpload: objectCreatedTrigger (zone=raw, prefix=uploads/)",
                "ProcessOrders: messageQueueTrigger (queue=orders)",
                "Tick: timerTrigger (schedule=0 0 3 * * *)",
            ],
            listed);
    }

    [Fact]
    public async Task Listeners_QueueMessagesAndAnObject_RunInTheWorkerAndTheBadMessageIsDeadLettered()
    {
        await using var host = await StartAsync();

        await host.SendAsync("orders", "order A", "order B - please fail", "order C");
        await host.PutObjectAsync("raw", "uploads/report.csv", "a,b\n1,2\n", Ct);
        await host.PutObjectAsync("raw", "elsewhere/ignored.csv", "x", Ct);
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);

        var effects = Effects();
        Assert.Contains("ProcessOrders: order A", effects, StringComparison.Ordinal);
        Assert.Contains("ProcessOrders: order C", effects, StringComparison.Ordinal);
        Assert.Contains("OnUpload: uploads/report.csv", effects, StringComparison.Ordinal);
        Assert.DoesNotContain("ignored", effects, StringComparison.Ordinal);
        Assert.Equal(1, effects.Split('\n').Count(l => l == "ProcessOrders: order A"));

        // host.json maxDequeueCount 2: the message the function reported failed twice is dead-lettered, the others are deleted.
        var queues = host.Services.GetRequiredService<IMessageQueue>();
        Assert.Equal(0, (await queues.GetDepthAsync("orders", Ct)).Total);
        var dead = await queues.ReceiveAsync("orders-dlq", new ReceiveOptions { MaxMessages = 10, VisibilityTimeout = TimeSpan.FromSeconds(30) }, Ct);
        var message = Assert.Single(dead);
        Assert.Equal("order B - please fail", message.Body);
        Assert.Contains(host.Logs, l => l.Message.Contains("the body asks to fail", StringComparison.Ordinal));
        Assert.Contains(host.Logs, l => l.Category == "Function.ProcessOrders.User" && l.Message.Contains("rejected", StringComparison.Ordinal));
    }

    [Fact]
    public async Task InvokeAsync_ThrowingSingleMessageFunction_FailsThatMessageWithTheWorkersMessage()
    {
        await using var host = await StartAsync();

        // cardinality one: one invocation per message, so a throw fails only its message.
        var result = await host.InvokeAsync("Boom", Message("m-1", "x"), Ct);

        var failure = Assert.Single(result.Failures);
        Assert.Equal("m-1", failure.MessageId);
        Assert.Contains("Boom: message m-1 cannot be processed.", failure.Reason, StringComparison.Ordinal);
        Assert.IsType<WorkerProtocol.WorkerInvocationException>(failure.Exception);
    }

    [Fact]
    public async Task FireTimerAsync_TimerFunction_RunsInTheWorker()
    {
        await using var host = await StartAsync();

        await host.FireTimerAsync("Tick", Ct);

        Assert.Contains("Tick: ran", Effects(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Start_FunctionsOptionAndDisabledSetting_RunOnlyTheRest()
    {
        await using var host = await StartAsync(["Tick", "ProcessOrders", "Echo"], new() { ["AzureWebJobs.Echo.Disabled"] = "true" });

        Assert.Equal(["ProcessOrders", "Tick"], host.Host.Functions.Select(f => f.Name).Order(StringComparer.Ordinal));
    }

    internal static ReceivedMessage Message(string id, string body) =>
        new(id, "receipt-" + id, body, 1, null, null, new Dictionary<string, string>(), DateTimeOffset.UtcNow);

    [Fact]
    public async Task WorkerKilledMidBatch_IsRestartedAndTheBatchIsRedelivered()
    {
        await using var host = await StartAsync(["ProcessOrders"]);
        var first = host.WorkerProcessId;

        await host.SendAsync("orders", "slow order");
        await Eventually(() => Effects().Contains("ProcessOrders-started: slow order", StringComparison.Ordinal));
        host.KillWorker(); // SIGKILL, mid-invocation
        await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(90), Ct);

        Assert.Contains("ProcessOrders: slow order", Effects(), StringComparison.Ordinal);
        Assert.Equal(1, host.WorkerRestarts);
        Assert.NotEqual(first, host.WorkerProcessId);
        var queues = host.Services.GetRequiredService<IMessageQueue>();
        Assert.Equal(0, (await queues.GetDepthAsync("orders", Ct)).Total);
        Assert.Equal(0, (await queues.GetDepthAsync("orders-dlq", Ct)).Total);
        Assert.Contains(host.Logs, l => l.Message.Contains("restarting it", StringComparison.Ordinal));
    }

    private static async Task Eventually(Func<bool> condition)
    {
        for (var i = 0; i < 600 && !condition(); i++)
        {
            await Task.Delay(50, Ct);
        }

        Assert.True(condition(), "The condition did not become true within 30 s.");
    }
}
