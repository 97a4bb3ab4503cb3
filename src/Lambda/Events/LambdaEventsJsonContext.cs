using System.Text.Json.Serialization;

namespace Pipeline.Lambda.Events;

/// <summary>Source-generated (trimming- and AOT-safe) JSON for every event shape the adapter reads or writes.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(SqsEvent))]
[JsonSerializable(typeof(SqsBatchResponse))]
[JsonSerializable(typeof(S3EventNotification))]
[JsonSerializable(typeof(ScheduledEvent))]
public sealed partial class LambdaEventsJsonContext : JsonSerializerContext;
