using System.Diagnostics.CodeAnalysis;
using System.Reflection;

namespace Pipeline.Host;

/// <summary>
/// Runs one invocation. <paramref name="trigger"/> is an ObjectCreatedEvent, an
/// IReadOnlyList&lt;ReceivedMessage&gt; or a <see cref="TimerInfo"/>, by trigger kind;
/// <paramref name="context"/>.Services is the invocation's scope. Non-queue functions and
/// all-or-nothing queue functions return <see cref="QueueBatchResult.Success"/> or throw.
/// </summary>
public delegate Task<QueueBatchResult> FunctionHandler(FunctionContext context, object trigger, CancellationToken cancellationToken);

/// <summary>One function in the <see cref="FunctionTable"/>: its name, trigger and how to run it.</summary>
public sealed record FunctionDescriptor(string Name, TriggerBinding Trigger, FunctionHandler Handler)
{
    /// <summary>The class that declares the function (registered scoped, created per invocation); null for delegates.</summary>
    [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)]
    public Type? FunctionType { get; init; }

    /// <summary>The discovered method, or null for explicitly registered delegates.</summary>
    public MethodInfo? Method { get; init; }

    /// <summary>True when a queue function returns <see cref="QueueBatchResult"/> (per-message outcome).</summary>
    public bool ReportsMessageFailures { get; init; }

    /// <summary>The binding type as the app declared it (e.g. an isolated worker's "messageQueueTrigger"); null = the host's own name.</summary>
    public string? TriggerType { get; init; }

    /// <summary>"Name: trigger", as <c>start</c> prints it.</summary>
    public override string ToString()
    {
        var described = Trigger.Describe();
        var space = described.IndexOf(' ', StringComparison.Ordinal);
        return TriggerType is null || space < 0 ? $"{Name}: {described}" : $"{Name}: {TriggerType}{described[space..]}";
    }
}
