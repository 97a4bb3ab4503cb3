using System.Globalization;
using System.Net;
using System.Text.Json;

namespace Pipeline.Providers.Aws.S3;

/// <summary>One object-created record of an S3 event notification, key already URL-decoded.</summary>
internal sealed record S3ObjectCreatedRecord(string Bucket, string Key, long Size, string ETag, string? VersionId, string? Sequencer, DateTimeOffset EventTime);

/// <summary>What an SQS message body turned out to be.</summary>
internal enum S3MessageKind
{
    /// <summary>One or more object-created records.</summary>
    ObjectCreated,

    /// <summary>s3:TestEvent (sent when the notification is configured) or a non-create event: acknowledge and skip.</summary>
    Ignorable,

    /// <summary>Not an S3 notification: leave it to the queue's redrive policy (dead-letter queue).</summary>
    Unrecognized,
}

/// <summary>
/// Parses S3 event notification JSON (as S3 writes it to SQS, also inside an SNS envelope).
/// Keys arrive form-URL-encoded: '+' is a space, '%2B' a plus, '%20' a space.
/// </summary>
internal static class S3EventParser
{
    public static (S3MessageKind Kind, IReadOnlyList<S3ObjectCreatedRecord> Records) Parse(string body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return (S3MessageKind.Unrecognized, []);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return (S3MessageKind.Unrecognized, []);
            }

            // SNS fan-out: the S3 event is a JSON string in "Message".
            if (root.TryGetProperty("Type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "Notification"
                && root.TryGetProperty("Message", out var inner) && inner.ValueKind == JsonValueKind.String)
            {
                return Parse(inner.GetString()!);
            }

            if (root.TryGetProperty("Event", out var ev) && ev.ValueKind == JsonValueKind.String && ev.GetString() == "s3:TestEvent")
            {
                return (S3MessageKind.Ignorable, []);
            }

            if (!root.TryGetProperty("Records", out var records) || records.ValueKind != JsonValueKind.Array)
            {
                return (S3MessageKind.Unrecognized, []);
            }

            var result = new List<S3ObjectCreatedRecord>();
            foreach (var record in records.EnumerateArray())
            {
                if (Text(record, "eventSource") != "aws:s3")
                {
                    return (S3MessageKind.Unrecognized, []);
                }

                if (Text(record, "eventName")?.StartsWith("ObjectCreated:", StringComparison.Ordinal) != true)
                {
                    continue;
                }

                if (!record.TryGetProperty("s3", out var s3) || !s3.TryGetProperty("bucket", out var bucket) || !s3.TryGetProperty("object", out var obj))
                {
                    return (S3MessageKind.Unrecognized, []);
                }

                var rawKey = Text(obj, "key");
                var bucketName = Text(bucket, "name");
                if (rawKey is null || bucketName is null)
                {
                    return (S3MessageKind.Unrecognized, []);
                }

                var size = obj.TryGetProperty("size", out var sz) && sz.ValueKind == JsonValueKind.Number ? sz.GetInt64() : 0;
                var time = DateTimeOffset.TryParse(Text(record, "eventTime"), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var t) ? t : DateTimeOffset.UnixEpoch;
                result.Add(new S3ObjectCreatedRecord(
                    bucketName,
                    WebUtility.UrlDecode(rawKey),
                    size,
                    (Text(obj, "eTag") ?? string.Empty).Trim('"'),
                    Text(obj, "versionId"),
                    Text(obj, "sequencer"),
                    time.ToUniversalTime()));
            }

            return result.Count == 0 ? (S3MessageKind.Ignorable, []) : (S3MessageKind.ObjectCreated, result);
        }
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;
}
