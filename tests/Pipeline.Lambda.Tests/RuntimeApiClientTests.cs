using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Lambda.Dispatch;
using Pipeline.Lambda.RuntimeApi;
using Pipeline.Lambda.Tests.Emulator;

namespace Pipeline.Lambda.Tests;

/// <summary>The client and the loop against the loopback Runtime API emulator (in process).</summary>
public sealed class RuntimeApiClientTests : IAsyncLifetime
{
    private readonly RuntimeApiEmulator _emulator = new();
    private readonly RuntimeApiClient _client;

    public RuntimeApiClientTests() => _client = new RuntimeApiClient(_emulator.Address);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        _client.Dispose();
        await _emulator.DisposeAsync();
    }

    [Fact]
    public async Task GetNextInvocationAsync_EventQueued_ReturnsPayloadAndHeaders()
    {
        var ct = TestContext.Current.CancellationToken;
        var outcome = _emulator.InvokeAsync("""{"hello":"world"}""", TimeSpan.FromSeconds(30), "Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1");

        var invocation = await _client.GetNextInvocationAsync(ct);
        await _client.PostResponseAsync(invocation.RequestId, "\"done\""u8.ToArray(), ct);

        Assert.Equal("""{"hello":"world"}""", Encoding.UTF8.GetString(invocation.Payload.Span));
        Assert.Equal("Root=1-5bef4de7-ad49b0e87f6ef6c87fc2e700;Parent=9a9197af755a6419;Sampled=1", invocation.TraceId);
        Assert.Equal("arn:aws:lambda:eu-west-1:123456789012:function:pipeline-test", invocation.InvokedFunctionArn);
        Assert.InRange(invocation.Deadline, DateTimeOffset.UtcNow.AddSeconds(20), DateTimeOffset.UtcNow.AddSeconds(31));
        var answer = await outcome;
        Assert.False(answer.IsError);
        Assert.Equal("\"done\"", answer.Body);
    }

    [Fact]
    public async Task PostInvocationErrorAsync_Exception_SendsDocumentedErrorDocument()
    {
        var ct = TestContext.Current.CancellationToken;
        var outcome = _emulator.InvokeAsync("{}");
        var invocation = await _client.GetNextInvocationAsync(ct);

        await _client.PostInvocationErrorAsync(invocation.RequestId, LambdaError.From(new InvalidDataException("bad row 7")), cancellationToken: ct);

        var answer = await outcome;
        Assert.True(answer.IsError);
        Assert.Equal("Function.Unhandled", answer.ErrorType);
        using var json = answer.Json();
        Assert.Equal("bad row 7", json.RootElement.GetProperty("errorMessage").GetString());
        Assert.Equal("System.IO.InvalidDataException", json.RootElement.GetProperty("errorType").GetString());
        Assert.Equal(JsonValueKind.Array, json.RootElement.GetProperty("stackTrace").ValueKind);
    }

    [Fact]
    public async Task PostResponseAsync_AlreadyAnswered_ThrowsRuntimeApiException()
    {
        var ct = TestContext.Current.CancellationToken;
        _ = _emulator.InvokeAsync("{}");
        var invocation = await _client.GetNextInvocationAsync(ct);
        await _client.PostResponseAsync(invocation.RequestId, "{}"u8.ToArray(), ct);

        var ex = await Assert.ThrowsAsync<RuntimeApiException>(() => _client.PostResponseAsync(invocation.RequestId, "{}"u8.ToArray(), ct));

        Assert.Contains("400", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task HandleAsync_Invocation_SetsTraceIdEnvironmentVariable()
    {
        var ct = TestContext.Current.CancellationToken;
        string? seen = null;
        var function = new RecordingFunction(new LambdaFunctionBinding("Daily", LambdaTriggerKind.Timer))
        {
            OnTimer = _ =>
            {
                seen = Environment.GetEnvironmentVariable("_X_AMZN_TRACE_ID");
                return Task.CompletedTask;
            },
        };
        var loop = Loop(function);
        var outcome = _emulator.InvokeAsync(Fixture.Read("eventbridge-scheduled.json"), traceId: "Root=1-00000001-000000000000000000000001;Sampled=0");

        await loop.HandleAsync(await _client.GetNextInvocationAsync(ct), ct);

        Assert.Equal("Root=1-00000001-000000000000000000000001;Sampled=0", seen);
        Assert.False((await outcome).IsError);
    }

    [Fact]
    public async Task HandleAsync_FunctionOutlivesDeadline_IsCancelledAndReportedAsTimeout()
    {
        var ct = TestContext.Current.CancellationToken;
        var function = new RecordingFunction(new LambdaFunctionBinding("Daily", LambdaTriggerKind.Timer))
        {
            OnTimer = token => Task.Delay(TimeSpan.FromMinutes(5), token),
        };
        var loop = Loop(function);
        var outcome = _emulator.InvokeAsync(Fixture.Read("eventbridge-scheduled.json"), TimeSpan.FromSeconds(2));

        await loop.HandleAsync(await _client.GetNextInvocationAsync(ct), ct);

        var answer = await outcome;
        Assert.True(answer.IsError);
        Assert.Equal("Function.Timeout", answer.ErrorType);
        using var json = answer.Json();
        Assert.Equal("Pipeline.DeadlineExceeded", json.RootElement.GetProperty("errorType").GetString());
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(2_000, 200)]
    [InlineData(900_000, 1_000)]
    public void DeadlineMargin_Remaining_IsATenthAtMostOneSecond(int remainingMs, int expectedMs)
        => Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), LambdaRuntimeLoop.DeadlineMargin(TimeSpan.FromMilliseconds(remainingMs)));

    private LambdaRuntimeLoop Loop(ILambdaFunction function)
        => new(_client, new LambdaEventDispatcher(function, NullLogger<LambdaEventDispatcher>.Instance), NullLogger<LambdaRuntimeLoop>.Instance);
}
