using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using Microsoft.Extensions.Logging.Abstractions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.S3;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

public sealed class S3Tests(MotoFixture moto)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Put_SmallObject_HeadReadListDeleteRoundTrip()
    {
        moto.RequireAvailable();
        var (store, zone) = await StoreAsync();

        var info = await store.PutAsync(zone, "a/b.json", new MemoryStream("{\"x\":1}"u8.ToArray()), new PutOptions { ContentType = "application/json", Metadata = new Dictionary<string, string> { ["source"] = "test" } }, Ct);
        Assert.Equal(7, info.Size);
        Assert.Equal("application/json", info.ContentType);
        Assert.Equal("test", info.Metadata["source"]);

        await using (var read = await store.OpenReadAsync(zone, "a/b.json", Ct))
        {
            using var reader = new StreamReader(read);
            Assert.Equal("{\"x\":1}", await reader.ReadToEndAsync(Ct));
        }

        await store.PutAsync(zone, "a/a.json", new MemoryStream([1]), cancellationToken: Ct);
        await store.PutAsync(zone, "b/c.json", new MemoryStream([1]), cancellationToken: Ct);
        var listed = await store.ListAsync(zone, "a/", Ct).Select(o => o.Key).ToListAsync(Ct);
        Assert.Equal(["a/a.json", "a/b.json"], listed);

        Assert.True(await store.DeleteAsync(zone, "a/b.json", Ct));
        Assert.False(await store.DeleteAsync(zone, "a/b.json", Ct));
        Assert.Null(await store.HeadAsync(zone, "a/b.json", Ct));
        await Assert.ThrowsAsync<ObjectNotFoundException>(() => store.OpenReadAsync(zone, "a/b.json", Ct));
    }

    [Fact]
    public async Task Put_LargeNonSeekableStream_UploadsInPartsAndReadsBackIdentical()
    {
        moto.RequireAvailable();
        var (store, zone) = await StoreAsync(threshold: 5 * 1024 * 1024);
        var data = RandomNumberGenerator.GetBytes((12 * 1024 * 1024) + 123);

        var info = await store.PutAsync(zone, "big.bin", new NonSeekable(data), cancellationToken: Ct);

        Assert.Equal(data.Length, info.Size);
        Assert.EndsWith("-3", info.ETag, StringComparison.Ordinal); // multipart ETag: md5-of-md5s "-" part count
        await using var read = await store.OpenReadAsync(zone, "big.bin", Ct);
        using var copy = new MemoryStream();
        await read.CopyToAsync(copy, Ct);
        Assert.Equal(SHA256.HashData(data), SHA256.HashData(copy.ToArray()));
    }

    [Fact]
    public async Task Put_IfNoneMatchOnExistingObject_ThrowsAlreadyExists()
    {
        moto.RequireAvailable();
        var (store, zone) = await StoreAsync();
        await store.PutAsync(zone, "once.json", new MemoryStream([1]), new PutOptions { IfNoneMatch = true }, Ct);

        var e = await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => store.PutAsync(zone, "once.json", new MemoryStream([2]), new PutOptions { IfNoneMatch = true }, Ct));

        Assert.Equal("once.json", e.Key);
        await using var read = await store.OpenReadAsync(zone, "once.json", Ct);
        Assert.Equal(1, read.ReadByte());
    }

    [Fact]
    public async Task Put_UnsafeKey_ThrowsInvalidKey()
    {
        moto.RequireAvailable();
        var (store, zone) = await StoreAsync();

        await Assert.ThrowsAsync<InvalidObjectKeyException>(() => store.PutAsync(zone, "../escape", new MemoryStream([1]), cancellationToken: Ct));
    }

    [Fact]
    public async Task Put_MissingBucket_SaysCreateTheBucket()
    {
        moto.RequireAvailable();
        var store = new S3ObjectStore(S3Client(AwsTestSupport.Options(moto)), AwsTestSupport.Options(moto));

        var e = await Assert.ThrowsAsync<ObjectStoreException>(() => store.PutAsync("no-such-zone", "k", new MemoryStream([1]), cancellationToken: Ct));

        Assert.Contains("does not exist", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EventSource_ObjectUploaded_DeliversDecodedKeyOnceAcknowledged()
    {
        moto.RequireAvailable();
        var options = AwsTestSupport.Options(moto);
        var bucket = AwsTestSupport.UniqueName("events");
        var queueName = bucket + "-q";
        options.Buckets["raw"] = bucket;
        options.EventQueues["raw"] = queueName;
        var s3 = S3Client(options);
        await s3.PutBucketAsync(bucket, Ct);
        var sqs = new SqsMessageQueue(AwsTestSupport.Sqs(options), options);
        await sqs.EnsureQueueAsync(new QueueDefinition(queueName), Ct);
        await s3.PutBucketNotificationAsync(
            new PutBucketNotificationRequest
            {
                BucketName = bucket,
                QueueConfigurations = [new QueueConfiguration { Queue = $"arn:aws:sqs:{MotoFixture.Region}:123456789012:{queueName}", Events = [EventType.ObjectCreatedAll] }],
            },
            Ct);
        var store = new S3ObjectStore(s3, options);
        var events = new S3ObjectEventSource(sqs, options, NullLogger<S3ObjectEventSource>.Instance);

        await store.PutAsync("raw", "transactions/my file+1.json", new MemoryStream("[]"u8.ToArray()), cancellationToken: Ct);

        var delivery = Assert.Single(await ReceiveUntilAsync(events, "raw"));
        Assert.Equal("transactions/my file+1.json", delivery.Event.Key);
        Assert.Equal("raw", delivery.Event.Zone);
        Assert.Equal(2, delivery.Event.Size);
        await events.AcknowledgeAsync("raw", [delivery], Ct);
        Assert.Empty(await events.ReceiveAsync("raw", 10, TimeSpan.Zero, TimeSpan.FromSeconds(30), Ct));
    }

    [Fact]
    public async Task EventSource_TestEventAndDuplicate_SkipsTestEventDeliversBothDuplicates()
    {
        moto.RequireAvailable();
        var options = AwsTestSupport.Options(moto);
        var queueName = AwsTestSupport.UniqueName("dup");
        options.Buckets["raw"] = "pipeline-raw";
        options.EventQueues["raw"] = queueName;
        var sqs = new SqsMessageQueue(AwsTestSupport.Sqs(options), options);
        await sqs.EnsureQueueAsync(new QueueDefinition(queueName), Ct);
        var created = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "S3", "object-created-put.json"), Ct);
        var test = await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "S3", "test-event.json"), Ct);
        await sqs.SendBatchAsync(queueName, [new(test), new(created), new(created)], Ct);
        var events = new S3ObjectEventSource(sqs, options, NullLogger<S3ObjectEventSource>.Instance);

        var deliveries = await events.ReceiveAsync("raw", 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), Ct);

        Assert.Equal(2, deliveries.Count);
        Assert.All(deliveries, d => Assert.Equal("transactions/2026-11-21/trades batch one+plusé.json", d.Event.Key));
        await events.AcknowledgeAsync("raw", deliveries, Ct);
        Assert.Equal(0, (await sqs.GetDepthAsync(queueName, Ct)).Total);
    }

    private static async Task<IReadOnlyList<ObjectEventDelivery>> ReceiveUntilAsync(S3ObjectEventSource events, string zone)
    {
        for (var i = 0; i < 20; i++)
        {
            var d = await events.ReceiveAsync(zone, 10, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30), Ct);
            if (d.Count > 0)
            {
                return d;
            }
        }

        return [];
    }

    private async Task<(S3ObjectStore Store, string Zone)> StoreAsync(long? threshold = null)
    {
        var options = AwsTestSupport.Options(moto);
        if (threshold is { } t)
        {
            options.MultipartThresholdBytes = t;
            options.MultipartPartSizeBytes = t;
        }

        var bucket = AwsTestSupport.UniqueName("store");
        options.Buckets["zone"] = bucket;
        var s3 = S3Client(options);
        await s3.PutBucketAsync(bucket, Ct);
        return (new S3ObjectStore(s3, options), "zone");
    }

    internal static AmazonS3Client S3Client(AwsOptions options) => S3ClientFactory.Create(options, new AwsCredentialSource(options));

    private sealed class NonSeekable(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
