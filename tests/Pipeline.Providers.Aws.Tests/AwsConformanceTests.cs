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
public sealed class S3ObjectStoreConformanceTests(MotoFixture moto) : S3ObjectStoreConformance
{
    protected override AwsTarget Target => AwsTarget.Moto(moto);
}

public sealed class S3ObjectEventSourceConformanceTests(MotoFixture moto) : S3ObjectEventSourceConformance
{
    protected override AwsTarget Target => AwsTarget.Moto(moto);
}

/// <summary>The object-store suite on S3 of an emulated AWS (<see cref="Target"/>): one bucket per test zone.</summary>
public abstract class S3ObjectStoreConformance : ObjectStoreConformance
{
    private AmazonS3Client? s3;

    protected abstract AwsTarget Target { get; }

    protected override ValueTask<IObjectStore> CreateStoreAsync()
    {
        Target.RequireAvailable();
        var options = AwsTestSupport.Options(Target);
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

/// <summary>The object-event suite on S3 notifications to SQS of an emulated AWS (<see cref="Target"/>).</summary>
public abstract class S3ObjectEventSourceConformance : ObjectEventSourceConformance
{
    private AmazonS3Client? s3;
    private SqsMessageQueue? sqs;
    private AwsOptions? options;

    protected abstract AwsTarget Target { get; }

    protected override ValueTask<(IObjectStore Store, IObjectEventSource Events)> CreateProvidersAsync()
    {
        Target.RequireAvailable();
        options = AwsTestSupport.Options(Target);
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
                QueueConfigurations = [new QueueConfiguration { Queue = Target.QueueArn(queue), Events = [EventType.ObjectCreatedAll] }],
            },
            Ct);
        return zone;
    }
}

[CollectionDefinition(nameof(MemoryMeasuredSerially), DisableParallelization = true)]
public sealed class MemoryMeasuredSerially;
