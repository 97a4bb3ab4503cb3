using Pipeline.Host.WorkerProtocol;

namespace Pipeline.Host.Tests.Worker;

/// <summary>Mapping worker bindings to the host's triggers (no process: the worker is not called while mapping).</summary>
public sealed class WorkerBindingsTests
{
    private static WorkerFunction Function(string name, params string[] rawBindings) =>
        new(name, Guid.NewGuid().ToString(), "App." + name, rawBindings.Select(WorkerBinding.Parse).ToList());

    [Fact]
    public void Describe_UnknownTriggerType_ThrowsNamingTheFunctionAndTheType()
    {
        var function = Function("Upload", """{"name":"blob","direction":"In","type":"blobTrigger","path":"in/{name}"}""");

        var error = Assert.Throws<HostConfigurationException>(() => WorkerBindings.Describe(function, null!));

        Assert.Contains("Function 'Upload'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'blobTrigger'", error.Message, StringComparison.Ordinal);
        Assert.Contains("supported: timerTrigger, objectCreatedTrigger, messageQueueTrigger", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_OutputBinding_ThrowsNamingTheBinding()
    {
        var function = Function(
            "Copy",
            """{"name":"messages","direction":"In","type":"messageQueueTrigger","queueName":"q","cardinality":"One"}""",
            """{"name":"$return","direction":"Out","type":"queue","queueName":"out"}""");

        var error = Assert.Throws<HostConfigurationException>(() => WorkerBindings.Describe(function, null!));

        Assert.Contains("Function 'Copy'", error.Message, StringComparison.Ordinal);
        Assert.Contains("'$return' (queue, Out)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Describe_TheThreeTriggers_MapToTheHostsBindings()
    {
        var timer = WorkerBindings.Describe(Function("T", """{"name":"t","direction":"In","type":"timerTrigger","schedule":"%Cron%","runOnStartup":true}"""), null!);
        var objects = WorkerBindings.Describe(Function("O", """{"name":"o","direction":"In","type":"objectCreatedTrigger","zone":"raw","prefix":"in/"}"""), null!);
        var queue = WorkerBindings.Describe(Function("Q", """{"name":"q","direction":"In","type":"messageQueueTrigger","queueName":"work","cardinality":"Many"}"""), null!);

        Assert.Equal(new TimerTriggerBinding("%Cron%", RunOnStartup: true), timer.Trigger);
        Assert.Equal(new ObjectTriggerBinding("raw", "in/"), objects.Trigger);
        Assert.Equal(new QueueTriggerBinding("work"), queue.Trigger);
        Assert.True(queue.ReportsMessageFailures);
        Assert.Equal("Q: messageQueueTrigger (queue=work)", queue.ToString());
    }

    [Fact]
    public void ParseBatchResult_FailuresAsJson_BecomeMessageFailures()
    {
        var result = WorkerBindings.ParseBatchResult("F", """{"Failures":[{"MessageId":"m-2","Reason":"bad amount"}]}""");

        var failure = Assert.Single(result.Failures);
        Assert.Equal(("m-2", "bad amount"), (failure.MessageId, failure.Reason));
        Assert.Empty(WorkerBindings.ParseBatchResult("F", null).Failures);
        Assert.Empty(WorkerBindings.ParseBatchResult("F", """{"failures":[]}""").Failures);
    }

    [Fact]
    public void ParseBatchResult_FailureWithErrorType_KeepsTheTypeForTheDeadLetter()
    {
        var result = WorkerBindings.ParseBatchResult("F", """{"failures":[{"messageId":"m-1","reason":"refused","errorType":"Pipeline.X.RefusedException"},{"messageId":"m-2","reason":"bad","errorType":null}]}""");

        Assert.Equal(["Pipeline.X.RefusedException", null], result.Failures.Select(f => f.ErrorType));
        Assert.All(result.Failures, f => Assert.Null(f.Exception));
    }

    [Fact]
    public void ParseBatchResult_NotABatchResult_ThrowsNamingTheFunction()
    {
        var error = Assert.Throws<FormatException>(() => WorkerBindings.ParseBatchResult("F", "\"done\""));

        Assert.Contains("Function 'F' returned \"done\", not a batch result", error.Message, StringComparison.Ordinal);
        Assert.Throws<FormatException>(() => WorkerBindings.ParseBatchResult("F", """{"failures":[{"reason":"no id"}]}"""));
    }
}
