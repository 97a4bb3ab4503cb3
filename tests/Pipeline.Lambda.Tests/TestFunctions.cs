using System.Collections.Concurrent;
using Pipeline.Host;
using Pipeline.Lambda.Dispatch;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Lambda.Tests;

/// <summary>A function that records what the adapter hands it (the adapter is under test, not the function).</summary>
internal sealed class RecordingFunction(LambdaFunctionBinding binding) : ILambdaFunction
{
    public LambdaFunctionBinding Binding { get; } = binding;

    public ConcurrentQueue<ObjectCreatedEvent> Objects { get; } = new();

    public List<IReadOnlyList<ReceivedMessage>> Batches { get; } = [];

    public List<TimerInfo> Timers { get; } = [];

    public Func<ObjectCreatedEvent, bool> FailObject { get; init; } = _ => false;

    public Func<ReceivedMessage, bool> FailMessage { get; init; } = _ => false;

    public Func<CancellationToken, Task>? OnTimer { get; init; }

    public Task InvokeObjectCreatedAsync(ObjectCreatedEvent objectCreated, LambdaInvocationContext context, CancellationToken cancellationToken = default)
    {
        Objects.Enqueue(objectCreated);
        return FailObject(objectCreated)
            ? Task.FromException(new InvalidDataException($"cannot enrich {objectCreated.Key}"))
            : Task.CompletedTask;
    }

    public Task<QueueBatchResult> InvokeQueueBatchAsync(IReadOnlyList<ReceivedMessage> messages, LambdaInvocationContext context, CancellationToken cancellationToken = default)
    {
        Batches.Add(messages);
        var failures = messages.Where(FailMessage).Select(m => new MessageFailure(m.MessageId, "poison")).ToList();
        return Task.FromResult(new QueueBatchResult(failures));
    }

    public async Task InvokeTimerAsync(TimerInfo timer, LambdaInvocationContext context, CancellationToken cancellationToken = default)
    {
        Timers.Add(timer);
        if (OnTimer is not null)
        {
            await OnTimer(cancellationToken);
        }
    }
}

internal static class Fixture
{
    public static string Read(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", name));
}
