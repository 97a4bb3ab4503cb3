using Microsoft.Azure.Functions.Worker.Converters;
using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;

namespace Pipeline.WorkerExtensions;

/// <summary>
/// Runs the function for every object created in <see cref="Zone"/> whose key starts with <see cref="Prefix"/>
/// (binding type <c>objectCreatedTrigger</c>). The parameter is an ObjectCreatedEvent; '%Setting%' in the zone
/// or prefix is resolved by the host from configuration.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter)]
[InputConverter(typeof(ObjectCreatedEventConverter))]
[ConverterFallbackBehavior(ConverterFallbackBehavior.Disallow)]
public sealed class ObjectCreatedTriggerAttribute(string zone) : TriggerBindingAttribute
{
    public string Zone { get; } = zone;

    public string? Prefix { get; set; }
}

/// <summary>
/// Runs the function for messages of the host's message queue <see cref="QueueName"/> (binding type
/// <c>messageQueueTrigger</c>; named apart from Azure Storage's <c>queueTrigger</c>). With <see cref="IsBatched"/>
/// the parameter is IReadOnlyList&lt;ReceivedMessage&gt; (host.json extensions.queues.batchSize) and the function may
/// return a <see cref="BatchResult"/> listing the messages that failed; otherwise it is one ReceivedMessage.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter)]
[InputConverter(typeof(ReceivedMessageConverter))]
[ConverterFallbackBehavior(ConverterFallbackBehavior.Disallow)]
public sealed class MessageQueueTriggerAttribute(string queueName) : TriggerBindingAttribute
{
    public string QueueName { get; } = queueName;

    /// <summary>Deliver a batch (cardinality many). The Sdk's generator needs the Abstractions' DefaultValue here.</summary>
    [DefaultValue(false)]
    public bool IsBatched { get; set; }
}
