using System.Text.Json;

namespace Pipeline.TestKit.Emulators;

/// <summary>
/// A moto server that records every request it answers (moto's recorder: POST /moto-api/recorder/start-recording,
/// GET download-recording), from every process that talks to it — the host, the worker, the CLI alike. Counting
/// there, not in one client, sees all the requests a run makes. Start one per measurement: the log is server-wide.
/// </summary>
public sealed class RecordingMotoFixture : MotoFixture, IAsyncDisposable
{
    private readonly string _path = Path.Combine(Path.GetTempPath(), $"moto-recording-{Guid.NewGuid():N}.jsonl");

    protected override IDictionary<string, string> Environment => new Dictionary<string, string> { ["MOTO_RECORDER_FILEPATH"] = _path };

    /// <summary>Empties the log and starts recording.</summary>
    public async Task StartRecordingAsync()
    {
        using var http = new HttpClient();
        (await http.PostAsync(new Uri(Endpoint, "/moto-api/recorder/reset-recording"), null).ConfigureAwait(false)).EnsureSuccessStatusCode();
        (await http.PostAsync(new Uri(Endpoint, "/moto-api/recorder/start-recording"), null).ConfigureAwait(false)).EnsureSuccessStatusCode();
    }

    /// <summary>Stops recording and classifies what was recorded; <paramref name="zoneOf"/> maps a bucket to its zone name.</summary>
    public async Task<RequestCounts> StopRecordingAsync(Func<string, string> zoneOf)
    {
        using var http = new HttpClient();
        (await http.PostAsync(new Uri(Endpoint, "/moto-api/recorder/stop-recording"), null).ConfigureAwait(false)).EnsureSuccessStatusCode();
        var text = await File.ReadAllTextAsync(_path).ConfigureAwait(false);
        if (System.Environment.GetEnvironmentVariable("PIPELINE_KEEP_RECORDINGS") is { Length: > 0 } keep)
        {
            // For a closer look (the entries carry their signing time, X-Amz-Date).
            Directory.CreateDirectory(keep);
            await File.WriteAllTextAsync(Path.Combine(keep, $"recording-{DateTime.UtcNow:HHmmssfff}.jsonl"), text).ConfigureAwait(false);
        }

        return RequestCounts.Parse(text, zoneOf);
    }

    public new async ValueTask DisposeAsync()
    {
        await base.DisposeAsync().ConfigureAwait(false);
        File.Delete(_path);
    }
}

/// <summary>Requests by service and operation ("S3 GET raw", "SQS SendMessageBatch"), from a moto recording.</summary>
public sealed class RequestCounts
{
    public SortedDictionary<string, long> ByOperation { get; } = new(StringComparer.Ordinal);

    public long S3 => ByOperation.Where(kv => kv.Key.StartsWith("S3 ", StringComparison.Ordinal)).Sum(kv => kv.Value);

    public long Sqs => ByOperation.Where(kv => kv.Key.StartsWith("SQS ", StringComparison.Ordinal)).Sum(kv => kv.Value);

    public long Total => S3 + Sqs;

    public static RequestCounts Parse(string jsonLines, Func<string, string> zoneOf)
    {
        ArgumentNullException.ThrowIfNull(jsonLines);
        ArgumentNullException.ThrowIfNull(zoneOf);
        var counts = new RequestCounts();

        // moto appends an entry and its newline in two writes, so concurrent requests can leave "{a}{b}\n\n":
        // read a stream of JSON values, not lines.
        var reader = new Utf8JsonReader(System.Text.Encoding.UTF8.GetBytes(jsonLines), new JsonReaderOptions { AllowMultipleValues = true });
        while (reader.Read())
        {
            using var parsed = JsonDocument.ParseValue(ref reader);
            var root = parsed.RootElement;
            var url = new Uri(root.GetProperty("url").GetString()!);
            if (url.AbsolutePath.StartsWith("/moto-api", StringComparison.Ordinal))
            {
                continue;
            }

            counts.Add(Classify(root.GetProperty("method").GetString()!, url, Target(root.GetProperty("headers")), QueueName(root), zoneOf));
        }

        return counts;
    }

    public void Add(string operation, long count = 1) => ByOperation[operation] = ByOperation.GetValueOrDefault(operation) + count;

    /// <summary>One line per operation: count and count per <paramref name="per"/> objects.</summary>
    public string Describe(int per) =>
        string.Join(Environment.NewLine, ByOperation.Select(kv => $"  {kv.Key,-44}{kv.Value,8}{(double)kv.Value / per,10:F2}"))
        + Environment.NewLine + $"  {"S3 + SQS",-44}{Total,8}{(double)Total / per,10:F2}  (S3 {S3}, SQS {Sqs})";

    private static string? Target(JsonElement headers)
    {
        foreach (var header in headers.EnumerateObject())
        {
            if (string.Equals(header.Name, "X-Amz-Target", StringComparison.OrdinalIgnoreCase))
            {
                return header.Value.GetString();
            }
        }

        return null;
    }

    /// <summary>The queue a JSON-protocol request names (QueueUrl or QueueName in its body), or null.</summary>
    private static string? QueueName(JsonElement entry)
    {
        if (!entry.TryGetProperty("body", out var body) || body.ValueKind != JsonValueKind.String || body.GetString() is not { Length: > 0 } text)
        {
            return null;
        }

        try
        {
            var bytes = entry.TryGetProperty("body_encoded", out var encoded) && encoded.ValueKind == JsonValueKind.True
                ? Convert.FromBase64String(text)
                : System.Text.Encoding.UTF8.GetBytes(text);
            using var json = JsonDocument.Parse(bytes);
            if (json.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            if (json.RootElement.TryGetProperty("QueueUrl", out var url) && url.GetString() is { } u)
            {
                return u[(u.LastIndexOf('/') + 1)..];
            }

            return json.RootElement.TryGetProperty("QueueName", out var name) ? name.GetString() : null;
        }
        catch (Exception ex) when (ex is JsonException or FormatException)
        {
            return null;
        }
    }

    private static string Classify(string method, Uri url, string? target, string? queue, Func<string, string> zoneOf)
    {
        if (target is not null)
        {
            var dot = target.IndexOf('.', StringComparison.Ordinal);
            var service = target[..dot] switch
            {
                "AmazonSQS" => "SQS",
                "RedshiftData" => "RedshiftData",
                var other => other,
            };
            return queue is null ? $"{service} {target[(dot + 1)..]}" : $"{service} {target[(dot + 1)..]} {zoneOf(queue)}";
        }

        // S3, path style: /bucket[/key][?query].
        var path = url.AbsolutePath.TrimStart('/');
        var slash = path.IndexOf('/', StringComparison.Ordinal);
        var bucket = slash < 0 ? path : path[..slash];
        var hasKey = slash >= 0 && slash < path.Length - 1;
        var query = url.Query;
        var zone = bucket.Length == 0 ? "(service)" : zoneOf(bucket);
        var operation = method switch
        {
            "GET" when !hasKey => query.Contains("list-type", StringComparison.Ordinal) || query.Length <= 1 || query.Contains("prefix", StringComparison.Ordinal) ? "LIST" : "GET-config",
            "POST" when query.Contains("uploads", StringComparison.Ordinal) => "PUT-multipart-start",
            "PUT" when query.Contains("uploadId", StringComparison.Ordinal) => "PUT-part",
            "POST" when query.Contains("uploadId", StringComparison.Ordinal) => "PUT-multipart-complete",
            "PUT" when !hasKey => "PUT-bucket-config",
            _ => method,
        };
        return $"S3 {operation} {zone}";
    }
}
