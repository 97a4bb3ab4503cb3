using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Conformance;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.S3;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>The shared suites against SQS and S3 events on the assembly's moto (DeduplicationAfterDelete is declared absent).</summary>
public sealed class SqsMessageQueueConformanceTests(MotoFixture moto) : MessageQueueConformance
{
    protected override ValueTask<IMessageQueue> CreateQueueAsync()
    {
        moto.RequireAvailable();
        return ValueTask.FromResult<IMessageQueue>(AwsTestSupport.Queue(moto));
    }
}

/// <summary>
/// The shared object-store suite against S3 on the assembly's moto: one bucket per test zone. Not run in parallel
/// with the other tests: its 100 MiB streaming case measures the process-wide managed heap.
/// </summary>
[Collection(nameof(MemoryMeasuredSerially))]
public sealed class S3ObjectStoreConformanceTests(MotoFixture moto) : ObjectStoreConformance
{
    private AmazonS3Client? s3;

    protected override ValueTask<IObjectStore> CreateStoreAsync()
    {
        moto.RequireAvailable();
        var options = AwsTestSupport.Options(moto);
        s3 = S3Tests.S3Client(options);
        return ValueTask.FromResult<IObjectStore>(new S3ObjectStore(s3, options));
    }

    protected override async ValueTask<string> CreateZoneAsync()
    {
        var zone = ConformanceNames.Zone();
        await s3!.PutBucketAsync(zone, Ct);
        return zone;
    }

    protected override ValueTask DisposeStoreAsync(IObjectStore store)
    {
        s3?.Dispose();
        return ValueTask.CompletedTask;
    }
}

public sealed class S3ObjectEventSourceConformanceTests(MotoFixture moto) : ObjectEventSourceConformance
{
    private AmazonS3Client? s3;
    private SqsMessageQueue? sqs;
    private AwsOptions? options;

    protected override ValueTask<(IObjectStore Store, IObjectEventSource Events)> CreateProvidersAsync()
    {
        moto.RequireAvailable();
        options = AwsTestSupport.Options(moto);
        s3 = S3Tests.S3Client(options);
        sqs = new SqsMessageQueue(AwsTestSupport.Sqs(options), options);
        return ValueTask.FromResult<(IObjectStore, IObjectEventSource)>((new S3ObjectStore(s3, options), new S3ObjectEventSource(sqs, options, NullLogger<S3ObjectEventSource>.Instance)));
    }

    /// <summary>A bucket whose object-created events go to its own standard queue (as local/emulators.sh sets up).</summary>
    protected override async ValueTask<string> CreateZoneAsync()
    {
        var zone = ConformanceNames.Zone();
        var queue = zone + "-events";
        options!.EventQueues[zone] = queue;
        await s3!.PutBucketAsync(zone, Ct);
        await sqs!.EnsureQueueAsync(new QueueDefinition(queue), Ct);
        await sqs.EnsureQueueAsync(new QueueDefinition(queue + "-dlq"), Ct);
        await s3.PutBucketNotificationAsync(
            new PutBucketNotificationRequest
            {
                BucketName = zone,
                QueueConfigurations = [new QueueConfiguration { Queue = $"arn:aws:sqs:{MotoFixture.Region}:123456789012:{queue}", Events = [EventType.ObjectCreatedAll] }],
            },
            Ct);
        return zone;
    }
}

[CollectionDefinition(nameof(MemoryMeasuredSerially), DisableParallelization = true)]
public sealed class MemoryMeasuredSerially;
