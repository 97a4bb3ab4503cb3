using System.Text.Json;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>A function as the worker reported it: its id for load and invocation requests, and its bindings.</summary>
public sealed record WorkerFunction(string Name, string FunctionId, string EntryPoint, IReadOnlyList<WorkerBinding> Bindings)
{
    internal RpcFunctionMetadata Metadata { get; init; } = new();

    /// <summary>The trigger binding (direction in, type ending in "Trigger"), or null when the function has none.</summary>
    public WorkerBinding? Trigger => Bindings.FirstOrDefault(b => b.IsTrigger);
}

/// <summary>One binding of a worker function, as functions.metadata describes it (type, name, direction, the attribute's properties).</summary>
public sealed record WorkerBinding(string Name, string Type, string Direction, IReadOnlyDictionary<string, JsonElement> Properties)
{
    public bool IsTrigger =>
        Direction.Equals("in", StringComparison.OrdinalIgnoreCase) && Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase);

    /// <summary>A property as text (strings as they are, other values as JSON), or null when absent.</summary>
    public string? Get(string name) =>
        Properties.TryGetValue(name, out var value)
            ? value.ValueKind switch
            {
                JsonValueKind.String => value.GetString(),
                JsonValueKind.Null or JsonValueKind.Undefined => null,
                _ => value.GetRawText(),
            }
            : null;

    public bool GetBool(string name) =>
        Properties.TryGetValue(name, out var value) && (value.ValueKind == JsonValueKind.True
            || (value.ValueKind == JsonValueKind.String && bool.TryParse(value.GetString(), out var b) && b));

    /// <summary>Parses one raw binding (a JSON object from functions.metadata / RpcFunctionMetadata.raw_bindings).</summary>
    public static WorkerBinding Parse(string json)
    {
        using var document = JsonDocument.Parse(json);
        var properties = new Dictionary<string, JsonElement>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in document.RootElement.EnumerateObject())
        {
            properties[property.Name] = property.Value.Clone();
        }

        string Text(string key) => properties.TryGetValue(key, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString()! : string.Empty;
        return new WorkerBinding(Text("name"), Text("type"), Text("direction"), properties);
    }
}
