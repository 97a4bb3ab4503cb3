using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>The emulated AWS a test runs against: moto (every machine) or LocalStack (where a Docker engine answers).</summary>
public sealed record AwsTarget(string Name, Uri Endpoint, string Region, string AccessKeyId, string SecretAccessKey, string AccountId, Action RequireAvailable)
{
    /// <summary>moto's fixed account id.</summary>
    public static AwsTarget Moto(MotoFixture moto) =>
        new("moto", moto.Endpoint, MotoFixture.Region, MotoFixture.AccessKeyId, MotoFixture.SecretAccessKey, "123456789012", moto.RequireAvailable);

    public string QueueArn(string queue) => $"arn:aws:sqs:{Region}:{AccountId}:{queue}";
}
