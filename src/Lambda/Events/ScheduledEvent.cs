using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Lambda.Events;

/// <summary>The event an EventBridge schedule rule (source "aws.events") or EventBridge Scheduler sends.</summary>
public sealed class ScheduledEvent
{
    public const string ScheduledEventDetailType = "Scheduled Event";

    [JsonPropertyName("version")]
    public string? Version { get; set; }

    [JsonPropertyName("id")]
    public string? Id { get; set; }

    [JsonPropertyName("detail-type")]
    public string? DetailType { get; set; }

    [JsonPropertyName("source")]
    public string? Source { get; set; }

    [JsonPropertyName("account")]
    public string? Account { get; set; }

    /// <summary>The scheduled time of this occurrence.</summary>
    [JsonPropertyName("time")]
    public DateTimeOffset Time { get; set; }

    [JsonPropertyName("region")]
    public string? Region { get; set; }

    [JsonPropertyName("resources")]
    public IReadOnlyList<string> Resources { get; set; } = [];

    [JsonPropertyName("detail")]
    public JsonElement Detail { get; set; }

    [JsonIgnore]
    public bool IsScheduledEvent => string.Equals(DetailType, ScheduledEventDetailType, StringComparison.Ordinal);
}
