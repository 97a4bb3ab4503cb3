namespace Pipeline.Host;

/// <summary>Marks a method as a function the host runs, as in the Azure Functions isolated worker.</summary>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class FunctionAttribute(string name) : Attribute
{
    public string Name { get; } = name;
}

/// <summary>
/// Runs the function for every object created in <see cref="Zone"/> under <see cref="Prefix"/>.
/// The parameter type is <see cref="Pipeline.Providers.Abstractions.ObjectCreatedEvent"/>.
/// '%Setting%' in the zone or prefix resolves from configuration.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class ObjectTriggerAttribute(string zone) : Attribute
{
    public string Zone { get; } = zone;

    public string Prefix { get; init; } = string.Empty;
}

/// <summary>
/// Runs the function for batches of messages from <see cref="QueueName"/> (host.json
/// extensions.queues.batchSize). The parameter type is IReadOnlyList&lt;ReceivedMessage&gt;;
/// the method returns Task (all succeed or all fail) or Task&lt;QueueBatchResult&gt; (per message).
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class QueueTriggerAttribute(string queueName) : Attribute
{
    public string QueueName { get; } = queueName;
}

/// <summary>
/// Runs the function on a schedule: a six-field cron expression with seconds
/// ("0 0 6 * * *", as Azure Functions) or '%Setting%'. The parameter type is <see cref="TimerInfo"/>.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false, Inherited = false)]
public sealed class TimerTriggerAttribute(string schedule) : Attribute
{
    public string Schedule { get; } = schedule;

    public bool RunOnStartup { get; init; }
}
