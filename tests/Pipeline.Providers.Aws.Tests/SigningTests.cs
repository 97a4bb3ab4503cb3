using System.Text;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Internal;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>moto with signature checking on: the first 3 calls (create user, key, policy) are unauthenticated.</summary>
public sealed class SigningMotoFixture : MotoFixture
{
    protected override IDictionary<string, string> Environment =>
        new Dictionary<string, string> { ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3" };
}

public sealed class SigningTests(SigningMotoFixture moto) : IClassFixture<SigningMotoFixture>
{
    private static readonly HttpClient Http = new();

    [Fact]
    public async Task Sqs_SignedWithWrongSecret_Gets403SignatureDoesNotMatch_AndRightSecretWorks()
    {
        moto.RequireAvailable();
        var (keyId, secret) = await CreateUserWithKeyAsync();

        var wrong = Queue(keyId, secret + "x");
        var e = await Assert.ThrowsAsync<AwsServiceException>(() => wrong.EnsureQueueAsync(new QueueDefinition("signed"), TestContext.Current.CancellationToken));
        Assert.Equal(System.Net.HttpStatusCode.Forbidden, e.StatusCode);
        Assert.Equal("SignatureDoesNotMatch", e.Code);
        Assert.Contains("secret key", e.Message, StringComparison.Ordinal);

        var right = Queue(keyId, secret);
        await right.EnsureQueueAsync(new QueueDefinition("signed"), TestContext.Current.CancellationToken);
        Assert.EndsWith("/signed", await right.UrlAsync("signed", TestContext.Current.CancellationToken), StringComparison.Ordinal);
    }

    private Sqs.SqsMessageQueue Queue(string keyId, string secret)
    {
        var options = new AwsOptions { Region = MotoFixture.Region, ServiceUrl = moto.Endpoint.ToString(), AccessKeyId = keyId, SecretAccessKey = secret, MaxRetries = 0 };
        return new Sqs.SqsMessageQueue(Sqs.SqsClientFactory.Create(options, new AwsCredentialSource(options)), options);
    }

    private async Task<(string KeyId, string Secret)> CreateUserWithKeyAsync()
    {
        await IamAsync("Action=CreateUser&UserName=pipeline&Version=2010-05-08");
        var key = await IamAsync("Action=CreateAccessKey&UserName=pipeline&Version=2010-05-08");
        var policy = Uri.EscapeDataString("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sqs:*","Resource":"*"}]}""");
        await IamAsync($"Action=PutUserPolicy&UserName=pipeline&PolicyName=sqs&PolicyDocument={policy}&Version=2010-05-08");
        var xml = System.Xml.Linq.XDocument.Parse(key);
        string Value(string name) => xml.Descendants().First(d => d.Name.LocalName == name).Value;
        return (Value("AccessKeyId"), Value("SecretAccessKey"));
    }

    private async Task<string> IamAsync(string form)
    {
        var credentials = new Amazon.Runtime.ImmutableCredentials(MotoFixture.AccessKeyId, MotoFixture.SecretAccessKey, null);
        using var request = SigV4.CreateSignedPost(moto.Endpoint, null, "application/x-www-form-urlencoded", Encoding.UTF8.GetBytes(form), credentials, MotoFixture.Region, "iam", DateTime.UtcNow);
        using var response = await Http.SendAsync(request, TestContext.Current.CancellationToken);
        var body = await response.Content.ReadAsStringAsync(TestContext.Current.CancellationToken);
        Assert.True(response.IsSuccessStatusCode, body);
        return body;
    }
}
