using Amazon.SQS;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>Builds providers pointed at the assembly's moto.</summary>
internal static class AwsTestSupport
{
    public static AwsOptions Options(MotoFixture moto) => Options(AwsTarget.Moto(moto));

    public static AwsOptions Options(AwsTarget target)
    {
        var options = new AwsOptions
        {
            Region = target.Region,
            ServiceUrl = target.Endpoint.ToString(),
            ForcePathStyle = true,
            AccessKeyId = target.AccessKeyId,
            SecretAccessKey = target.SecretAccessKey,
            SqsDeduplicationAfterDelete = false,
            MaxRetries = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        };
        return options;
    }

    public static IAmazonSQS Sqs(AwsOptions options) => SqsClientFactory.Create(options, new AwsCredentialSource(options));

    public static SqsMessageQueue Queue(MotoFixture moto) => Queue(AwsTarget.Moto(moto));

    public static SqsMessageQueue Queue(AwsTarget target) =>
        new(Sqs(Options(target)), Options(target));

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 70)];
}
