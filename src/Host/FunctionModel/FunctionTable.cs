using System.Collections;
using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Pipeline.Host.Internal;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host;

/// <summary>
/// The functions an app offers: discovered from <c>[Function]</c> methods (reflection) or
/// registered explicitly as delegates (trimming/AOT friendly, e.g. for the Lambda adapter).
/// </summary>
public sealed class FunctionTable : IReadOnlyCollection<FunctionDescriptor>
{
    private readonly List<FunctionDescriptor> _functions = [];

    public int Count => _functions.Count;

    public FunctionDescriptor this[string name] =>
        TryGet(name, out var descriptor)
            ? descriptor
            : throw new KeyNotFoundException($"No function named '{name}'. Known functions: {string.Join(", ", _functions.Select(f => f.Name))}.");

    public bool TryGet(string name, [NotNullWhen(true)] out FunctionDescriptor? descriptor)
    {
        descriptor = _functions.Find(f => string.Equals(f.Name, name, StringComparison.OrdinalIgnoreCase));
        return descriptor is not null;
    }

    /// <exception cref="FunctionDefinitionException">When a function with the same name exists.</exception>
    public FunctionTable Add(FunctionDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (string.IsNullOrWhiteSpace(descriptor.Name))
        {
            throw new FunctionDefinitionException("A function name must not be empty.");
        }

        if (TryGet(descriptor.Name, out var existing))
        {
            throw new FunctionDefinitionException(
                $"Function name '{descriptor.Name}' is used twice ({Where(existing)} and {Where(descriptor)}). Function names must be unique.");
        }

        _functions.Add(descriptor);
        return this;
    }

    public FunctionTable AddObjectFunction(string name, ObjectTriggerBinding trigger, Func<FunctionContext, ObjectCreatedEvent, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new FunctionDescriptor(name, trigger, async (context, value, ct) =>
        {
            await handler(context, (ObjectCreatedEvent)value, ct);
            return QueueBatchResult.Success;
        }));
    }

    /// <summary>A queue function with an all-or-nothing outcome: an exception returns the whole batch to the queue.</summary>
    public FunctionTable AddQueueFunction(string name, QueueTriggerBinding trigger, Func<FunctionContext, IReadOnlyList<ReceivedMessage>, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new FunctionDescriptor(name, trigger, async (context, value, ct) =>
        {
            await handler(context, (IReadOnlyList<ReceivedMessage>)value, ct);
            return QueueBatchResult.Success;
        }));
    }

    /// <summary>A queue function with a per-message outcome: only the failures it lists return to the queue.</summary>
    public FunctionTable AddQueueFunction(string name, QueueTriggerBinding trigger, Func<FunctionContext, IReadOnlyList<ReceivedMessage>, CancellationToken, Task<QueueBatchResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new FunctionDescriptor(name, trigger, (context, value, ct) => handler(context, (IReadOnlyList<ReceivedMessage>)value, ct))
        {
            ReportsMessageFailures = true,
        });
    }

    public FunctionTable AddTimerFunction(string name, TimerTriggerBinding trigger, Func<FunctionContext, TimerInfo, CancellationToken, Task> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        return Add(new FunctionDescriptor(name, trigger, async (context, value, ct) =>
        {
            await handler(context, (TimerInfo)value, ct);
            return QueueBatchResult.Success;
        }));
    }

    /// <summary>Adds every <c>[Function]</c> method of <paramref name="type"/>.</summary>
    /// <exception cref="FunctionDefinitionException">When a method breaks a rule; the message names the method.</exception>
    public FunctionTable AddFromType(
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods | DynamicallyAccessedMemberTypes.PublicConstructors)]
        Type type)
    {
        foreach (var descriptor in FunctionDiscovery.FromType(type))
        {
            Add(descriptor);
        }

        return this;
    }

    public IEnumerator<FunctionDescriptor> GetEnumerator() => _functions.GetEnumerator();

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    private static string Where(FunctionDescriptor d) =>
        d.Method is { } m ? $"{m.DeclaringType?.FullName}.{m.Name}" : "an explicit registration";
}

/// <summary>A function is declared wrongly (attributes, parameters, return type, duplicate name).</summary>
public sealed class FunctionDefinitionException(string message) : Exception(message);

/// <summary>Host configuration is missing or invalid (host.json, local.settings.json, a '%Setting%', Provider).</summary>
public sealed class HostConfigurationException(string message, Exception? innerException = null) : Exception(message, innerException);
