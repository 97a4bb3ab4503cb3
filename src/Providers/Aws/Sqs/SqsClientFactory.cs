using Amazon;
using Amazon.Runtime;
using Amazon.SQS;
using Pipeline.Providers.Aws.Internal;

namespace Pipeline.Providers.Aws.Sqs;

internal static class SqsClientFactory
{
    /// <summary>SQS's longest long poll.</summary>
    public const int MaxWaitSeconds = 20;

    /// <summary>
    /// AWSSDK.SQS client: credentials from configuration (emulators) or the standard chain, ServiceURL for emulators.
    /// The SDK retries throttling, 5xx and network errors (standard mode) up to <see cref="AwsOptions.MaxRetries"/> times.
    /// </summary>
    public static AmazonSQSClient Create(AwsOptions options, AwsCredentialSource credentials)
    {
        var region = options.ResolveRegion();
        var config = new AmazonSQSConfig
        {
            MaxErrorRetry = options.MaxRetries,
            RetryMode = RequestRetryMode.Standard,
            // Longer than the 20 s long poll.
            Timeout = TimeSpan.FromSeconds(70),
        };
        if (options.Endpoint(options.SqsServiceUrl) is { } endpoint)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        return new AmazonSQSClient(credentials.Credentials, config);
    }
}
