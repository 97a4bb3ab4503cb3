using System.Collections.Concurrent;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>Builds providers pointed at the assembly's moto; records every JSON request body for model validation.</summary>
internal static class AwsTestSupport
{
    private static readonly HttpClient Http = new();

    /// <summary>Every JSON-protocol request body sent by tests: (service, operation, body).</summary>
    public static ConcurrentQueue<(string Service, string Operation, byte[] Body)> RecordedBodies { get; } = new();

    public static AwsOptions Options(MotoFixture moto)
    {
        var options = new AwsOptions
        {
            Region = MotoFixture.Region,
            ServiceUrl = moto.Endpoint.ToString(),
            ForcePathStyle = true,
            AccessKeyId = MotoFixture.AccessKeyId,
            SecretAccessKey = MotoFixture.SecretAccessKey,
            SqsDeduplicationAfterDelete = false,
            MaxRetries = 1,
            RetryBaseDelay = TimeSpan.FromMilliseconds(50),
        };
        return options;
    }

    public static SqsClient Sqs(AwsOptions options)
    {
        var client = SqsClient.Create(Http, options, new AwsCredentialSource(options));
        client.Protocol.OnRequestBody = (op, body) => RecordedBodies.Enqueue(("sqs", op, body));
        return client;
    }

    public static SqsMessageQueue Queue(MotoFixture moto) =>
        new(Sqs(Options(moto)), Options(moto));

    public static string UniqueName(string prefix) => $"{prefix}-{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 70)];
}
