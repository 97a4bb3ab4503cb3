using System.Text.Json;
using Microsoft.Azure.Functions.Worker.Converters;
using Pipeline.Providers.Abstractions;

namespace Pipeline.WorkerExtensions;

/// <summary>How trigger payloads and batch results cross the host↔worker protocol: JSON, web defaults (camelCase, case-insensitive).</summary>
public static class TriggerJson
{
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web);
}

/// <summary>Turns the host's JSON payload into an <see cref="ObjectCreatedEvent"/>.</summary>
public sealed class ObjectCreatedEventConverter : IInputConverter
{
    public ValueTask<ConversionResult> ConvertAsync(ConverterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (context.TargetType != typeof(ObjectCreatedEvent))
        {
            return new(ConversionResult.Unhandled());
        }

        return new(Payloads.Parse<ObjectCreatedEvent>(context.Source, "an object-created event"));
    }
}

/// <summary>Turns the host's JSON payload into a <see cref="ReceivedMessage"/> or a list of them (batched).</summary>
public sealed class ReceivedMessageConverter : IInputConverter
{
    public ValueTask<ConversionResult> ConvertAsync(ConverterContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        var target = context.TargetType;
        if (target == typeof(ReceivedMessage))
        {
            return new(Payloads.Parse<ReceivedMessage>(context.Source, "a queue message"));
        }

        if (target.IsAssignableFrom(typeof(ReceivedMessage[])))
        {
            // IReadOnlyList<ReceivedMessage>, IEnumerable<ReceivedMessage>, ReceivedMessage[]...
            return new(Payloads.Parse<ReceivedMessage[]>(context.Source, "a batch of queue messages"));
        }

        if (target.IsAssignableFrom(typeof(List<ReceivedMessage>)))
        {
            return new(Payloads.Parse<List<ReceivedMessage>>(context.Source, "a batch of queue messages"));
        }

        return new(ConversionResult.Unhandled());
    }
}

internal static class Payloads
{
    public static ConversionResult Parse<T>(object? source, string what)
        where T : class
    {
        var json = source switch
        {
            string s => s,
            ReadOnlyMemory<byte> bytes => System.Text.Encoding.UTF8.GetString(bytes.Span),
            byte[] bytes => System.Text.Encoding.UTF8.GetString(bytes),
            _ => null,
        };
        if (json is null)
        {
            return ConversionResult.Failed(new FormatException($"Expected {what} as JSON text from the host, got {source?.GetType().Name ?? "nothing"}."));
        }

        try
        {
            return JsonSerializer.Deserialize<T>(json, TriggerJson.Options) is { } value
                ? ConversionResult.Success(value)
                : ConversionResult.Failed(new FormatException($"Expected {what} as JSON, got null."));
        }
        catch (JsonException ex)
        {
            return ConversionResult.Failed(new FormatException($"The payload is not {what} as JSON: {ex.Message}", ex));
        }
    }
}
