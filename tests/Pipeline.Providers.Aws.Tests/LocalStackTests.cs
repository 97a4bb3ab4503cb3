using DotNet.Testcontainers.Builders;
using DotNet.Testcontainers.Configurations;
using Pipeline.Conformance;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;
using Testcontainers.LocalStack;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// LocalStack in a container (Testcontainers), started once for the LocalStack tier where a Docker engine answers.
/// Where none does (every machine here, CI included) the tier's tests skip with the reason, also under CI=true: the
/// one skip allowed there, as no engine is expected.
/// </summary>
public sealed class LocalStackFixture : IAsyncLifetime
{
    /// <summary>Later images need a LocalStack auth token.</summary>
    public const string Image = "localstack/localstack:4.14";

    /// <summary>LocalStack's default account, region and dummy keys.</summary>
    public const string AccountId = "000000000000";

    public const string Region = "us-east-1";

    public const string Key = "test";

    private LocalStackContainer? container;

    public string? UnavailableReason { get; private set; }

    public AwsTarget Target => new(
        "localstack",
        container is null ? new Uri("http://127.0.0.1:1") : new Uri(container.GetConnectionString()),
        Region,
        Key,
        Key,
        AccountId,
        RequireAvailable);

    public void RequireAvailable()
    {
        if (UnavailableReason is { } reason)
        {
            Assert.Skip(reason);
        }
    }

    public async ValueTask InitializeAsync()
    {
        // Checked without contacting anything: null when Testcontainers finds no Docker endpoint.
        if (TestcontainersSettings.OS.DockerEndpointAuthConfig is null)
        {
            UnavailableReason = $"No Docker engine answers here, so the LocalStack tier ({Image}) does not run. Run it on a machine with Docker: see README, 'LocalStack tier'.";
            return;
        }

        try
        {
            container = new LocalStackBuilder(Image).Build();
            await container.StartAsync(TestContext.Current.CancellationToken).ConfigureAwait(false);
        }
        catch (DockerUnavailableException e)
        {
            UnavailableReason = $"No Docker engine answers here ({e.Message}), so the LocalStack tier ({Image}) does not run. Run it on a machine with Docker: see README, 'LocalStack tier'.";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (container is not null)
        {
            await container.DisposeAsync().ConfigureAwait(false);
        }
    }
}

/// <summary>One LocalStack for the tier; run alone, as the object-store suite measures the process-wide heap.</summary>
[CollectionDefinition(nameof(LocalStackTier), DisableParallelization = true)]
public sealed class LocalStackTier : ICollectionFixture<LocalStackFixture>;

[Collection(nameof(LocalStackTier))]
public sealed class LocalStackSqsConformanceTests(LocalStackFixture localStack) : MessageQueueConformance
{
    protected override ValueTask<IMessageQueue> CreateQueueAsync()
    {
        localStack.RequireAvailable();
        return ValueTask.FromResult<IMessageQueue>(AwsTestSupport.Queue(localStack.Target));
    }
}

[Collection(nameof(LocalStackTier))]
public sealed class LocalStackS3ObjectStoreConformanceTests(LocalStackFixture localStack) : S3ObjectStoreConformance
{
    protected override AwsTarget Target => localStack.Target;
}

[Collection(nameof(LocalStackTier))]
public sealed class LocalStackS3ObjectEventSourceConformanceTests(LocalStackFixture localStack) : S3ObjectEventSourceConformance
{
    protected override AwsTarget Target => localStack.Target;
}

[Collection(nameof(LocalStackTier))]
public sealed class LocalStackTests(LocalStackFixture localStack, PostgresFixture postgres)
{
    [Fact]
    public Task AwsCliUpload_ToRawBucketOnLocalStack_EndsAsRowsInPostgres() =>
        EmulatedAwsEndToEndTests.RunAsync(localStack.Target, postgres);
}
