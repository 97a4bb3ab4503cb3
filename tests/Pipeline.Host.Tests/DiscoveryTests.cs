using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Tests;

public sealed class DiscoveryTests
{
    [Fact]
    public void AddFromType_ValidFunctions_DescribesTriggers()
    {
        var table = new FunctionTable().AddFromType(typeof(ValidFunctions));

        Assert.Equal(
            ["Objects: objectTrigger (zone=%Zones:Raw%, prefix=transactions/)", "Batch: queueTrigger (queue=q)", "PerMessage: queueTrigger (queue=q)", "Daily: timerTrigger (schedule=0 0 6 * * *, runOnStartup)"],
            table.Select(f => f.ToString()));
        Assert.True(table["PerMessage"].ReportsMessageFailures);
        Assert.False(table["Batch"].ReportsMessageFailures);
        Assert.Null(table["Daily"].FunctionType); // static
        Assert.Equal(typeof(ValidFunctions), table["Objects"].FunctionType);
    }

    public static TheoryData<Type, string> Invalid => new()
    {
        { typeof(NoTrigger), "Function 'NoTrigger' (Pipeline.Host.Tests.DiscoveryTests+NoTrigger.Run): no trigger parameter" },
        { typeof(TwoTriggers), "2 trigger parameters (a, b); a function has exactly one" },
        { typeof(WrongTriggerType), "trigger parameter 'message' is String; a queue trigger parameter must be IReadOnlyList<ReceivedMessage>" },
        { typeof(UnsupportedParameter), "parameter 'store' (IObjectStore) cannot be bound" },
        { typeof(SyncMethod), "returns Void; a function returns Task" },
        { typeof(BatchResultOnTimer), "returns Task<QueueBatchResult>, which only queue-triggered functions may" },
        { typeof(PrivateMethod), "(Pipeline.Host.Tests.DiscoveryTests+PrivateMethod.Run): the method and its class must be public" },
        { typeof(DuplicateNames), "Function name 'same' is used twice (Pipeline.Host.Tests.DiscoveryTests+DuplicateNames.A and Pipeline.Host.Tests.DiscoveryTests+DuplicateNames.B)" },
        { typeof(TwoAttributesOnOneParameter), "has 2 trigger attributes" },
    };

    [Theory]
    [MemberData(nameof(Invalid))]
    public void AddFromType_InvalidFunction_ThrowsNamingMethodAndProblem(Type type, string expected)
    {
        var error = Assert.Throws<FunctionDefinitionException>(() => new FunctionTable().AddFromType(type));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Add_ExplicitDuplicateOfDiscovered_Throws()
    {
        var table = new FunctionTable().AddFromType(typeof(ValidFunctions));

        var error = Assert.Throws<FunctionDefinitionException>(() =>
            table.AddTimerFunction("daily", new TimerTriggerBinding("* * * * * *"), (_, _, _) => Task.CompletedTask));

        Assert.Contains("used twice", error.Message, StringComparison.Ordinal);
    }

    public sealed class ValidFunctions
    {
        [Function("Objects")]
        public Task RunAsync([ObjectTrigger("%Zones:Raw%", Prefix = "transactions/")] ObjectCreatedEvent e, ILogger logger, CancellationToken ct) => Task.CompletedTask;

        [Function("Batch")]
        public Task BatchAsync([QueueTrigger("q")] IReadOnlyList<ReceivedMessage> messages, FunctionContext context) => Task.CompletedTask;

        [Function("PerMessage")]
        public Task<QueueBatchResult> PerMessageAsync([QueueTrigger("q")] IReadOnlyList<ReceivedMessage> messages) => Task.FromResult(QueueBatchResult.Success);

        [Function("Daily")]
        public static ValueTask DailyAsync([TimerTrigger("0 0 6 * * *", RunOnStartup = true)] TimerInfo timer) => ValueTask.CompletedTask;
    }

    public sealed class NoTrigger
    {
        [Function("NoTrigger")]
        public Task Run(string text) => Task.CompletedTask;
    }

    public sealed class TwoTriggers
    {
        [Function("Two")]
        public Task Run([QueueTrigger("q")] IReadOnlyList<ReceivedMessage> a, [TimerTrigger("* * * * * *")] TimerInfo b) => Task.CompletedTask;
    }

    public sealed class WrongTriggerType
    {
        [Function("Wrong")]
        public Task Run([QueueTrigger("q")] string message) => Task.CompletedTask;
    }

    public sealed class UnsupportedParameter
    {
        [Function("Unsupported")]
        public Task Run([QueueTrigger("q")] IReadOnlyList<ReceivedMessage> messages, IObjectStore store) => Task.CompletedTask;
    }

    public sealed class SyncMethod
    {
        [Function("Sync")]
        public void Run([TimerTrigger("* * * * * *")] TimerInfo timer)
        {
        }
    }

    public sealed class BatchResultOnTimer
    {
        [Function("BatchResultOnTimer")]
        public Task<QueueBatchResult> Run([TimerTrigger("* * * * * *")] TimerInfo timer) => Task.FromResult(QueueBatchResult.Success);
    }

    public sealed class PrivateMethod
    {
        [Function("Private")]
        private Task Run([TimerTrigger("* * * * * *")] TimerInfo timer) => Task.CompletedTask;

        public Task Use(TimerInfo timer) => Run(timer);
    }

    public sealed class DuplicateNames
    {
        [Function("Same")]
        public Task A([TimerTrigger("* * * * * *")] TimerInfo timer) => Task.CompletedTask;

        [Function("same")]
        public Task B([TimerTrigger("* * * * * *")] TimerInfo timer) => Task.CompletedTask;
    }

    public sealed class TwoAttributesOnOneParameter
    {
        [Function("TwoAttributes")]
        public Task Run([QueueTrigger("q")][TimerTrigger("* * * * * *")] TimerInfo timer) => Task.CompletedTask;
    }
}
