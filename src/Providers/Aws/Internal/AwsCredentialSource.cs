using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace Pipeline.Providers.Aws.Internal;

/// <summary>Static keys from configuration (emulators) or the standard AWS chain (env, profile, roles).</summary>
internal sealed class AwsCredentialSource
{
    private readonly Lazy<AWSCredentials> _credentials;

    public AwsCredentialSource(AwsOptions options)
    {
        _credentials = new Lazy<AWSCredentials>(() => Create(options));
    }

    public AWSCredentials Credentials => _credentials.Value;

    public Task<ImmutableCredentials> GetAsync() => _credentials.Value.GetCredentialsAsync();

    private static AWSCredentials Create(AwsOptions options)
    {
        if (options.AccessKeyId is { Length: > 0 } key && options.SecretAccessKey is { Length: > 0 } secret)
        {
            return options.SessionToken is { Length: > 0 } token
                ? new SessionAWSCredentials(key, secret, token)
                : new BasicAWSCredentials(key, secret);
        }

        return DefaultAWSCredentialsIdentityResolver.GetCredentials();
    }
}
