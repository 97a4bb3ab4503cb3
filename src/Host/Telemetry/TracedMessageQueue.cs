using System.Diagnostics;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Telemetry;

/// <summary>
/// Spans for queue calls made inside a traced operation (an invocation), and <c>traceparent</c> on every
/// sent message so the consumer's invocation continues the producer's trace.
/// </summary>
internal sealed class TracedMessageQueue(IMessageQueue inner, string system) : IMessageQueue
{
    public QueueCapabilities Capabilities => inner.Capabilities;

    public Task EnsureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default) =>
        inner.EnsureQueueAsync(definition, cancellationToken);

    public async Task<SendBatchResult> SendBatchAsync(string queue, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        using var activity = Start("send", queue, ActivityKind.Producer, messages.Count);

        // The context of the send span is each message's creation context (no separate "create" spans).
        var context = activity ?? Activity.Current;
        if (context is not null)
        {
            var stamped = new OutgoingMessage[messages.Count];
            for (var i = 0; i < messages.Count; i++)
            {
                var m = messages[i];
                var attributes = PipelineTelemetry.Inject(context, m.Attributes);
                stamped[i] = ReferenceEquals(attributes, m.Attributes) ? m : m with { Attributes = attributes };
            }

            messages = stamped;
        }

        try
        {
            var result = await inner.SendBatchAsync(queue, messages, cancellationToken);
            if (activity is not null && !result.AllSucceeded)
            {
                activity.SetStatus(ActivityStatusCode.Error, $"{result.Failed.Count} of {messages.Count} messages failed: {result.Failed[0].Code}");
            }

            return result;
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, ReceiveOptions options, CancellationToken cancellationToken = default)
    {
        using var activity = Start("receive", queue, ActivityKind.Client, null);
        try
        {
            var received = await inner.ReceiveAsync(queue, options, cancellationToken);
            activity?.SetTag("messaging.batch.message_count", received.Count);
            return received;
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task<IReadOnlyList<string>> DeleteBatchAsync(string queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken = default)
    {
        using var activity = Start("settle", queue, ActivityKind.Client, receiptHandles.Count, "delete");
        try
        {
            return await inner.DeleteBatchAsync(queue, receiptHandles, cancellationToken);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task ChangeVisibilityBatchAsync(string queue, IReadOnlyList<VisibilityChange> changes, CancellationToken cancellationToken = default)
    {
        using var activity = Start("settle", queue, ActivityKind.Client, changes.Count, "change_visibility");
        try
        {
            await inner.ChangeVisibilityBatchAsync(queue, changes, cancellationToken);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public Task<QueueDepth> GetDepthAsync(string queue, CancellationToken cancellationToken = default) =>
        inner.GetDepthAsync(queue, cancellationToken);

    private Activity? Start(string operationType, string queue, ActivityKind kind, int? count, string? operationName = null)
    {
        // Only inside a traced operation: the listeners' idle polling would otherwise fill the trace store.
        if (Activity.Current is null)
        {
            return null;
        }

        var activity = PipelineTelemetry.Source.StartActivity($"{operationName ?? operationType} {queue}", kind);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("messaging.system", system);
            activity.SetTag("messaging.destination.name", queue);
            activity.SetTag("messaging.operation.type", operationType);
            activity.SetTag("messaging.operation.name", operationName ?? operationType);
            if (count is { } n)
            {
                activity.SetTag("messaging.batch.message_count", n);
            }
        }

        return activity;
    }
}
