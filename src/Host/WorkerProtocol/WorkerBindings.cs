using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>
/// Maps a worker function's trigger binding to the host's listeners (the part Azure's WebJobs extensions play):
/// <c>timerTrigger</c> (Worker.Extensions.Timer), <c>objectCreatedTrigger</c> and <c>messageQueueTrigger</c>
/// (Pipeline.WorkerExtensions). Trigger payloads and batch results cross as JSON.
/// </summary>
internal static class WorkerBindings
{
    public const string Timer = "timerTrigger";
    public const string ObjectCreated = "objectCreatedTrigger";
    public const string MessageQueue = "messageQueueTrigger";

    /// <exception cref="HostConfigurationException">The function has no trigger, an unsupported trigger type or other bindings; the message names them.</exception>
    public static FunctionDescriptor Describe(WorkerFunction function, WorkerSupervisor worker)
    {
        var trigger = function.Trigger
            ?? throw new HostConfigurationException($"Function '{function.Name}' has no trigger binding; this host runs functions with {Supported}.");
        var others = function.Bindings.Where(b => b != trigger).ToList();
        if (others.Count > 0)
        {
            throw new HostConfigurationException(
                $"Function '{function.Name}' has binding(s) this host does not support: {string.Join(", ", others.Select(b => $"'{b.Name}' ({b.Type}, {b.Direction})"))}. Only the trigger binding is supported; use the providers' clients in the function instead.");
        }

        switch (trigger.Type)
        {
            case var t when t.Equals(Timer, StringComparison.OrdinalIgnoreCase):
                var schedule = trigger.Get("schedule")
                    ?? throw new HostConfigurationException($"Function '{function.Name}': the timerTrigger has no schedule.");
                return new FunctionDescriptor(function.Name, new TimerTriggerBinding(schedule, trigger.GetBool("runOnStartup")), Handler(function.Name, trigger, worker, TimerPayload)) { TriggerType = trigger.Type };
            case var t when t.Equals(ObjectCreated, StringComparison.OrdinalIgnoreCase):
                var zone = trigger.Get("zone")
                    ?? throw new HostConfigurationException($"Function '{function.Name}': the objectCreatedTrigger has no zone.");
                return new FunctionDescriptor(function.Name, new ObjectTriggerBinding(zone, trigger.Get("prefix") ?? string.Empty), Handler(function.Name, trigger, worker, ObjectPayload)) { TriggerType = trigger.Type };
            case var t when t.Equals(MessageQueue, StringComparison.OrdinalIgnoreCase):
                var queue = trigger.Get("queueName")
                    ?? throw new HostConfigurationException($"Function '{function.Name}': the messageQueueTrigger has no queueName.");
                var batched = string.Equals(trigger.Get("cardinality"), "Many", StringComparison.OrdinalIgnoreCase);
                return new FunctionDescriptor(function.Name, new QueueTriggerBinding(queue), batched ? BatchHandler(function.Name, trigger, worker) : PerMessageHandler(function.Name, trigger, worker))
                {
                    ReportsMessageFailures = true,
                    TriggerType = trigger.Type,
                };
            default:
                throw new HostConfigurationException(
                    $"Function '{function.Name}' has a trigger of type '{trigger.Type}', which this host does not support (supported: {Supported}).");
        }
    }

    private static string Supported => $"{Timer}, {ObjectCreated}, {MessageQueue}";

    private static FunctionHandler Handler(string name, WorkerBinding trigger, WorkerSupervisor worker, Func<object, string> payload) =>
        async (context, value, cancellationToken) =>
        {
            await InvokeAsync(name, trigger, worker, payload(value), context, context.InvocationId, cancellationToken);
            return QueueBatchResult.Success;
        };

    /// <summary>cardinality many: one invocation per batch; the function's BatchResult (JSON) lists the failed messages.</summary>
    private static FunctionHandler BatchHandler(string name, WorkerBinding trigger, WorkerSupervisor worker) =>
        async (context, value, cancellationToken) =>
        {
            var messages = (IReadOnlyList<ReceivedMessage>)value;
            var returned = await InvokeAsync(name, trigger, worker, JsonSerializer.Serialize(messages, WorkerPayloadJsonContext.Default.IReadOnlyListReceivedMessage), context, context.InvocationId, cancellationToken);
            return ParseBatchResult(name, returned);
        };

    /// <summary>cardinality one: one invocation per message, in order (FIFO); a failure fails only that message.</summary>
    private static FunctionHandler PerMessageHandler(string name, WorkerBinding trigger, WorkerSupervisor worker) =>
        async (context, value, cancellationToken) =>
        {
            var failures = new List<MessageFailure>();
            foreach (var message in (IReadOnlyList<ReceivedMessage>)value)
            {
                try
                {
                    await InvokeAsync(name, trigger, worker, JsonSerializer.Serialize(message, WorkerPayloadJsonContext.Default.ReceivedMessage), context, Guid.NewGuid().ToString(), cancellationToken);
                }
                catch (WorkerInvocationException ex)
                {
                    failures.Add(new MessageFailure(message.MessageId, ex.WorkerMessage, ex));
                }
            }

            return failures.Count == 0 ? QueueBatchResult.Success : new QueueBatchResult(failures);
        };

    private static async Task<string?> InvokeAsync(string name, WorkerBinding trigger, WorkerSupervisor worker, string json, FunctionContext context, string invocationId, CancellationToken cancellationToken)
    {
        var channel = await worker.CurrentAsync(cancellationToken);
        var function = channel.Functions.FirstOrDefault(f => f.Name == name)
            ?? throw new WorkerUnavailableException($"The running worker no longer reports function '{name}'.");
        var inputs = new[] { new ParameterBinding { Name = trigger.Name, Data = new TypedData { Json = json } } };
        var response = await channel.InvokeAsync(function, inputs, context.TriggerMetadata, invocationId, cancellationToken);
        WorkerChannel.ThrowIfFailed(name, response);
        return response.ReturnValue?.DataCase switch
        {
            TypedData.DataOneofCase.Json => response.ReturnValue.Json,
            TypedData.DataOneofCase.String => response.ReturnValue.String,
            _ => null,
        };
    }

    /// <summary>A BatchResult as JSON: <c>{"failures":[{"messageId":"…","reason":"…","errorType":"…"}]}</c> (errorType optional); nothing returned = all succeeded.</summary>
    internal static QueueBatchResult ParseBatchResult(string functionName, string? returned)
    {
        if (string.IsNullOrWhiteSpace(returned))
        {
            return QueueBatchResult.Success;
        }

        try
        {
            using var document = JsonDocument.Parse(returned);
            if (document.RootElement.ValueKind != JsonValueKind.Object || !TryGet(document.RootElement, "failures", out var failures) || failures.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException($"Function '{functionName}' returned {Truncate(returned)}, not a batch result ({{\"failures\":[{{\"messageId\":…,\"reason\":…}}]}}).");
            }

            var list = new List<MessageFailure>();
            foreach (var failure in failures.EnumerateArray())
            {
                var id = TryGet(failure, "messageId", out var m) && m.ValueKind == JsonValueKind.String ? m.GetString() : null;
                if (string.IsNullOrEmpty(id))
                {
                    throw new FormatException($"Function '{functionName}' returned a batch failure without a messageId: {Truncate(failure.GetRawText())}.");
                }

                var reason = TryGet(failure, "reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString() : null;
                var errorType = TryGet(failure, "errorType", out var e) && e.ValueKind == JsonValueKind.String ? e.GetString() : null;
                list.Add(new MessageFailure(id, string.IsNullOrEmpty(reason) ? "reported failed by the function" : reason) { ErrorType = string.IsNullOrEmpty(errorType) ? null : errorType });
            }

            return list.Count == 0 ? QueueBatchResult.Success : new QueueBatchResult(list);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"Function '{functionName}' returned {Truncate(returned)}, which is not JSON: {ex.Message}", ex);
        }
    }

    private static bool TryGet(JsonElement element, string name, out JsonElement value)
    {
        foreach (var property in element.EnumerateObject())
        {
            if (property.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
            {
                value = property.Value;
                return true;
            }
        }

        value = default;
        return false;
    }

    /// <summary>TimerInfo as Azure's host sends it to Worker.Extensions.Timer.</summary>
    internal static string TimerPayload(object value)
    {
        var info = (TimerInfo)value;
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteStartObject("Schedule");
            json.WriteBoolean("AdjustForDST", true);
            json.WriteEndObject();
            json.WriteStartObject("ScheduleStatus");
            json.WriteString("Last", info.ScheduledTime.UtcDateTime.ToString("O", CultureInfo.InvariantCulture));
            json.WriteString("LastUpdated", DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture));
            if (info.Next is { } next)
            {
                json.WriteString("Next", next.UtcDateTime.ToString("O", CultureInfo.InvariantCulture)); // the worker's TimerInfo has no null here
            }

            json.WriteEndObject();
            json.WriteBoolean("IsPastDue", info.IsPastDue);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static string ObjectPayload(object value) => JsonSerializer.Serialize((ObjectCreatedEvent)value, WorkerPayloadJsonContext.Default.ObjectCreatedEvent);

    private static string Truncate(string text) => text.Length <= 200 ? text : text[..200] + "…";
}

/// <summary>Source-generated (trimming- and AOT-safe) JSON for the trigger payloads: the web defaults (camelCase) the worker's converters read.</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ObjectCreatedEvent))]
[JsonSerializable(typeof(ReceivedMessage))]
[JsonSerializable(typeof(IReadOnlyList<ReceivedMessage>))]
internal sealed partial class WorkerPayloadJsonContext : JsonSerializerContext;
