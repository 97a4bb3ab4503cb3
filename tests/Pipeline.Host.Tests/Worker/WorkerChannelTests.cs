using System.Text.Json;
using Pipeline.Host.WorkerProtocol;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Tests.Worker;

/// <summary>The host↔worker protocol against the real isolated-worker app (Microsoft.Azure.Functions.Worker 2.52) as a child process.</summary>
public sealed class WorkerChannelTests(WorkerChannelFixture fixture) : IClassFixture<WorkerChannelFixture>
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    [Fact]
    public void StartAsync_RealWorker_HandshakeReportsCapabilitiesAndFunctionsWithBindings()
    {
        Assert.NotEmpty(fixture.Channel.WorkerCapabilities);
        var triggers = fixture.Channel.Functions.ToDictionary(f => f.Name, f => f.Trigger!);
        Assert.Equal(["Boom", "Echo", "OnUpload", "ProcessOrders", "Tick"], triggers.Keys.Order(StringComparer.Ordinal));
        Assert.Equal("timerTrigger", triggers["Tick"].Type);
        Assert.Equal("0 0 3 * * *", triggers["Tick"].Get("schedule"));
        Assert.Equal("messageQueueTrigger", triggers["ProcessOrders"].Type);
        Assert.Equal("orders", triggers["ProcessOrders"].Get("queueName"));
        Assert.Equal("Many", triggers["ProcessOrders"].Get("cardinality"));
        Assert.Equal("objectCreatedTrigger", triggers["OnUpload"].Type);
        Assert.Equal("%UploadZone%", triggers["OnUpload"].Get("zone"));
        Assert.Equal("uploads/", triggers["OnUpload"].Get("prefix"));
    }

    [Fact]
    public async Task InvokeJsonAsync_TimerFunction_RunsAndRelaysItsLogsWithTheInvocationId()
    {
        var invocationId = Guid.NewGuid().ToString();
        var timer = """{"ScheduleStatus":{"Last":"2026-12-06T03:00:00Z","Next":"2026-12-07T03:00:00Z","LastUpdated":"2026-12-06T03:00:00Z"},"IsPastDue":true}""";

        await fixture.Channel.InvokeJsonAsync(fixture.Function("Tick"), timer, invocationId, TestContext.Current.CancellationToken);

        Assert.Contains("Tick: ran", await File.ReadAllTextAsync(fixture.EffectsFile, TestContext.Current.CancellationToken), StringComparison.Ordinal);
        // The worker's log arrives as RpcLog, possibly just after the response: wait for it briefly.
        var line = await Eventually(() => fixture.Logs.Lines.FirstOrDefault(l => l.Message.Contains(invocationId, StringComparison.Ordinal) && l.Message.Contains("Tick ran", StringComparison.Ordinal)));
        Assert.Equal("Function.Tick.User", line.Category);
        Assert.Contains("past due: True", line.Message, StringComparison.Ordinal);
        Assert.Contains("greeting: hello from local.settings.json", line.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeJsonAsync_FunctionThrows_FailsWithTheWorkersExceptionMessage()
    {
        var message = Message("m-boom", "anything");

        var error = await Assert.ThrowsAsync<WorkerInvocationException>(() =>
            fixture.Channel.InvokeJsonAsync(fixture.Function("Boom"), JsonSerializer.Serialize(message, Json), cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("Boom: message m-boom cannot be processed.", error.Message, StringComparison.Ordinal);
        Assert.Equal("System.InvalidOperationException", error.WorkerExceptionType);
    }

    [Fact]
    public async Task InvokeJsonAsync_MalformedPayload_FailsNamingTheConversion()
    {
        var error = await Assert.ThrowsAsync<WorkerInvocationException>(() =>
            fixture.Channel.InvokeJsonAsync(fixture.Function("ProcessOrders"), "{not json", cancellationToken: TestContext.Current.CancellationToken));

        Assert.Contains("messages", error.Message, StringComparison.Ordinal);
        Assert.Contains("not a batch of queue messages as JSON", error.Message, StringComparison.Ordinal);

        // The channel still works afterwards.
        var ok = await fixture.Channel.InvokeJsonAsync(fixture.Function("Echo"), JsonSerializer.Serialize(Message("m-ok", "still here"), Json), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal("still here", ok);
    }

    [Fact]
    public async Task InvokeJsonAsync_BatchWithOneBadMessage_ReturnsThatFailureAsJson()
    {
        ReceivedMessage[] batch = [Message("m-1", "order 1"), Message("m-2", "please fail"), Message("m-3", "order 3")];

        var returned = await fixture.Channel.InvokeJsonAsync(fixture.Function("ProcessOrders"), JsonSerializer.Serialize(batch, Json), cancellationToken: TestContext.Current.CancellationToken);

        using var document = JsonDocument.Parse(returned!);
        var failures = document.RootElement.EnumerateObject().Single(p => p.Name.Equals("failures", StringComparison.OrdinalIgnoreCase)).Value;
        var failure = Assert.Single(failures.EnumerateArray());
        Assert.Equal("m-2", failure.EnumerateObject().Single(p => p.Name.Equals("messageId", StringComparison.OrdinalIgnoreCase)).Value.GetString());
        var effects = await File.ReadAllTextAsync(fixture.EffectsFile, TestContext.Current.CancellationToken);
        Assert.Contains("ProcessOrders: order 1", effects, StringComparison.Ordinal);
        Assert.Contains("ProcessOrders: order 3", effects, StringComparison.Ordinal);
        Assert.DoesNotContain("please fail", effects, StringComparison.Ordinal);
    }

    [Fact]
    public async Task InvokeJsonAsync_PayloadNearTheMaxMessageLength_RoundTripsAndOneOverItFailsClearly()
    {
        const int limit = 4 * 1024 * 1024;
        await using var channel = await WorkerChannel.StartAsync(new WorkerChannelOptions { ScriptRoot = WorkerApp.ScriptRoot(), MaxMessageLength = limit }, fixture.Loggers, TestContext.Current.CancellationToken);
        var echo = channel.Functions.Single(f => f.Name == "Echo");
        await channel.LoadAsync([echo], TestContext.Current.CancellationToken);

        var body = new string('x', limit - 16 * 1024);
        var returned = await channel.InvokeJsonAsync(echo, JsonSerializer.Serialize(Message("m-big", body), Json), cancellationToken: TestContext.Current.CancellationToken);
        Assert.Equal(body.Length, returned!.Length);

        var tooBig = JsonSerializer.Serialize(Message("m-too-big", new string('x', limit)), Json);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => channel.InvokeJsonAsync(echo, tooBig, cancellationToken: TestContext.Current.CancellationToken));
        Assert.Contains("over the gRPC max message length of 4194304 bytes", error.Message, StringComparison.Ordinal);

        Assert.Equal("small", await channel.InvokeJsonAsync(echo, JsonSerializer.Serialize(Message("m-small", "small"), Json), cancellationToken: TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task DisposeAsync_SendsWorkerTerminate_WorkerExitsByItself()
    {
        var channel = await WorkerChannel.StartAsync(new WorkerChannelOptions { ScriptRoot = WorkerApp.ScriptRoot(), TerminateGracePeriod = TimeSpan.FromSeconds(20) }, fixture.Loggers, TestContext.Current.CancellationToken);

        await channel.DisposeAsync();

        Assert.True(channel.Exited.IsCompleted);
        Assert.Equal(0, await channel.Exited);
    }

    internal static ReceivedMessage Message(string id, string body) =>
        new(id, "receipt-" + id, body, 1, null, null, new Dictionary<string, string>(), DateTimeOffset.UtcNow);

    private static async Task<T> Eventually<T>(Func<T?> probe)
    {
        for (var i = 0; i < 200; i++)
        {
            if (probe() is { } value && !EqualityComparer<T>.Default.Equals(value, default!))
            {
                return value;
            }

            await Task.Delay(25);
        }

        Assert.Fail("The expected log line did not arrive within 5 s.");
        return default!;
    }
}
