namespace Pipeline.Providers.Aws;

/// <summary>
/// Settings of the AWS providers, bound from the <c>Aws</c> section. Credentials come from the standard AWS
/// chain (environment, profile, container/instance role) unless AccessKeyId/SecretAccessKey are set here
/// (emulators only: never commit real keys).
/// </summary>
public sealed class AwsOptions
{
    public const string SectionName = "Aws";

    /// <summary>AWS region, e.g. eu-west-1. Falls back to AWS_REGION / AWS_DEFAULT_REGION.</summary>
    public string? Region { get; set; }

    /// <summary>One endpoint for every service (moto, LocalStack): http://127.0.0.1:5000. Empty on AWS.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>Per-service endpoint overrides; each falls back to <see cref="ServiceUrl"/>.</summary>
    public string? S3ServiceUrl { get; set; }

    public string? SqsServiceUrl { get; set; }

    public string? RedshiftDataServiceUrl { get; set; }

    /// <summary>Path-style S3 addressing (http://host/bucket/key); needed by emulators without DNS for buckets.</summary>
    public bool ForcePathStyle { get; set; }

    public string? AccessKeyId { get; set; }

    public string? SecretAccessKey { get; set; }

    public string? SessionToken { get; set; }

    /// <summary>Zone name → bucket name. A zone without an entry uses its own name as the bucket name.</summary>
    public Dictionary<string, string> Buckets { get; } = new(StringComparer.Ordinal);

    /// <summary>Zone name → name of the STANDARD SQS queue the zone's bucket notifies (S3 cannot notify FIFO).</summary>
    public Dictionary<string, string> EventQueues { get; } = new(StringComparer.Ordinal);

    /// <summary>Zone name → dead-letter queue for the zone's object events; default "&lt;event queue&gt;-dlq".</summary>
    public Dictionary<string, string> EventDeadLetterQueues { get; } = new(StringComparer.Ordinal);

    /// <summary>Objects at least this large are uploaded in parts (multipart upload).</summary>
    public long MultipartThresholdBytes { get; set; } = 16 * 1024 * 1024;

    /// <summary>Part size of multipart uploads (S3 minimum 5 MiB).</summary>
    public long MultipartPartSizeBytes { get; set; } = 8 * 1024 * 1024;

    /// <summary>Retries on throttling, 5xx and network errors (exponential backoff with jitter).</summary>
    public int MaxRetries { get; set; } = 4;

    /// <summary>First retry delay; doubles each attempt.</summary>
    public TimeSpan RetryBaseDelay { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// SQS remembers FIFO deduplication ids for 5 minutes even after deletion; emulators (moto) do not.
    /// Set false against an emulator so the conformance suite skips that case.
    /// </summary>
    public bool SqsDeduplicationAfterDelete { get; set; } = true;

    internal string ResolveRegion() =>
        Region is { Length: > 0 } region ? region
        : Environment.GetEnvironmentVariable("AWS_REGION") is { Length: > 0 } env ? env
        : Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION") is { Length: > 0 } def ? def
        : throw new InvalidOperationException("Setting 'Aws:Region' is missing (and neither AWS_REGION nor AWS_DEFAULT_REGION is set). Set it to the region of your buckets and queues, e.g. eu-west-1.");

    internal Uri? Endpoint(string? specific) =>
        specific is { Length: > 0 } s ? new Uri(s)
        : ServiceUrl is { Length: > 0 } all ? new Uri(all)
        : null;

    internal string BucketFor(string zone) => Buckets.TryGetValue(zone, out var bucket) ? bucket : zone;

    internal string EventQueueFor(string zone) =>
        EventQueues.TryGetValue(zone, out var queue)
            ? queue
            : throw new InvalidOperationException($"Setting 'Aws:EventQueues:{zone}' is missing: name the standard SQS queue that bucket '{BucketFor(zone)}' notifies for zone '{zone}'.");

    internal string EventDeadLetterQueueFor(string zone) =>
        EventDeadLetterQueues.TryGetValue(zone, out var dlq) ? dlq : EventQueueFor(zone) + "-dlq";

    /// <summary>Throws with the name of the first invalid setting.</summary>
    internal void Validate()
    {
        _ = ResolveRegion();
        if ((AccessKeyId is { Length: > 0 }) != (SecretAccessKey is { Length: > 0 }))
        {
            throw new InvalidOperationException("Settings 'Aws:AccessKeyId' and 'Aws:SecretAccessKey' go together: set both (emulators) or neither (standard AWS credential chain).");
        }

        foreach (var url in new[] { ServiceUrl, S3ServiceUrl, SqsServiceUrl, RedshiftDataServiceUrl })
        {
            if (url is { Length: > 0 } && !Uri.TryCreate(url, UriKind.Absolute, out _))
            {
                throw new InvalidOperationException($"Setting 'Aws:ServiceUrl' (or a per-service URL) '{url}' is not an absolute URL such as http://127.0.0.1:5000.");
            }
        }

        if (MultipartPartSizeBytes < 5 * 1024 * 1024)
        {
            throw new InvalidOperationException("Setting 'Aws:MultipartPartSizeBytes' must be at least 5 MiB (5242880): S3 rejects smaller parts.");
        }
    }
}
