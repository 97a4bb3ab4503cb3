using Amazon;
using Amazon.Runtime;
using Amazon.S3;
using Pipeline.Providers.Aws.Internal;

namespace Pipeline.Providers.Aws.S3;

internal static class S3ClientFactory
{
    public static AmazonS3Client Create(AwsOptions options, AwsCredentialSource credentials)
    {
        var region = options.ResolveRegion();
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            MaxErrorRetry = options.MaxRetries,
            // Checksums only where S3 requires them: emulators lag behind the flexible-checksum defaults.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.Endpoint(options.S3ServiceUrl) is { } endpoint)
        {
            config.ServiceURL = endpoint.ToString();
            config.AuthenticationRegion = region;
        }
        else
        {
            config.RegionEndpoint = RegionEndpoint.GetBySystemName(region);
        }

        return new AmazonS3Client(credentials.Credentials, config);
    }
}
