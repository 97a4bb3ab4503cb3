using System.Text.Json.Serialization;

namespace Pipeline.Lambda.Events;

/// <summary>
/// The body S3 puts on the queue for an event notification (event structure version 2.x), or the
/// one-off test event S3 sends when the notification is configured (<see cref="Event"/> = "s3:TestEvent").
/// </summary>
public sealed class S3EventNotification
{
    public const string TestEventName = "s3:TestEvent";

    [JsonPropertyName("Records")]
    public IReadOnlyList<S3EventRecord>? Records { get; set; }

    /// <summary>"s3:TestEvent" on the test message; null on real notifications.</summary>
    [JsonPropertyName("Event")]
    public string? Event { get; set; }

    [JsonPropertyName("Bucket")]
    public string? Bucket { get; set; }

    [JsonIgnore]
    public bool IsTestEvent => string.Equals(Event, TestEventName, StringComparison.Ordinal);
}

public sealed class S3EventRecord
{
    [JsonPropertyName("eventVersion")]
    public string? EventVersion { get; set; }

    [JsonPropertyName("eventSource")]
    public string? EventSource { get; set; }

    [JsonPropertyName("awsRegion")]
    public string? AwsRegion { get; set; }

    [JsonPropertyName("eventTime")]
    public DateTimeOffset EventTime { get; set; }

    /// <summary>For example "ObjectCreated:Put", "ObjectCreated:CompleteMultipartUpload", "ObjectRemoved:Delete".</summary>
    [JsonPropertyName("eventName")]
    public string EventName { get; set; } = string.Empty;

    [JsonPropertyName("s3")]
    public S3Entity S3 { get; set; } = new();

    [JsonIgnore]
    public bool IsObjectCreated => EventName.StartsWith("ObjectCreated:", StringComparison.Ordinal);
}

public sealed class S3Entity
{
    [JsonPropertyName("s3SchemaVersion")]
    public string? SchemaVersion { get; set; }

    [JsonPropertyName("configurationId")]
    public string? ConfigurationId { get; set; }

    [JsonPropertyName("bucket")]
    public S3BucketEntity Bucket { get; set; } = new();

    [JsonPropertyName("object")]
    public S3ObjectEntity Object { get; set; } = new();
}

public sealed class S3BucketEntity
{
    [JsonPropertyName("name")]
    public string Name { get; set; } = string.Empty;

    [JsonPropertyName("arn")]
    public string? Arn { get; set; }
}

public sealed class S3ObjectEntity
{
    /// <summary>The key as S3 sends it: URL-encoded, spaces as '+'. Use <see cref="DecodedKey"/>.</summary>
    [JsonPropertyName("key")]
    public string Key { get; set; } = string.Empty;

    [JsonPropertyName("size")]
    public long Size { get; set; }

    [JsonPropertyName("eTag")]
    public string? ETag { get; set; }

    [JsonPropertyName("versionId")]
    public string? VersionId { get; set; }

    [JsonPropertyName("sequencer")]
    public string? Sequencer { get; set; }

    /// <summary>The real object key ('+' is a space, %XX escapes decoded).</summary>
    [JsonIgnore]
    public string DecodedKey => System.Net.WebUtility.UrlDecode(Key);
}
