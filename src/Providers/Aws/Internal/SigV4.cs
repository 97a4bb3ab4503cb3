using System.Globalization;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.Runtime.Internal.Auth;

namespace Pipeline.Providers.Aws.Internal;

/// <summary>
/// Signs a JSON-protocol POST with SigV4: we build the canonical request (fixed header set, body hash)
/// and let AWSSDK.Core's <see cref="AWS4Signer"/> derive the key and signature.
/// </summary>
internal static class SigV4
{
    public static HttpRequestMessage CreateSignedPost(
        Uri endpoint,
        string? target,
        string contentType,
        byte[] body,
        ImmutableCredentials credentials,
        string region,
        string service,
        DateTime signedAtUtc)
    {
        var amzDate = signedAtUtc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var host = endpoint.IsDefaultPort ? endpoint.Host : endpoint.Authority;
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["content-type"] = contentType,
            ["host"] = host,
            ["x-amz-date"] = amzDate,
        };
        if (target is not null)
        {
            headers["x-amz-target"] = target;
        }

        if (credentials.UseToken)
        {
            headers["x-amz-security-token"] = credentials.Token;
        }

        var signedHeaders = string.Join(';', headers.Keys);
        var canonicalHeaders = string.Concat(headers.Select(h => h.Key + ":" + h.Value.Trim() + "\n"));
        var path = string.IsNullOrEmpty(endpoint.AbsolutePath) ? "/" : endpoint.AbsolutePath;
        var payloadHash = Convert.ToHexStringLower(SHA256.HashData(body));
        var canonicalRequest = $"POST\n{path}\n\n{canonicalHeaders}\n{signedHeaders}\n{payloadHash}";

        var result = AWS4Signer.ComputeSignature(credentials, region, signedAtUtc, service, signedHeaders, canonicalRequest);

        var request = new HttpRequestMessage(HttpMethod.Post, endpoint);
        // ByteArrayContent + explicit header: StringContent would append "; charset=utf-8" and break the signature.
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        request.Content = content;
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        if (target is not null)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Target", target);
        }

        if (credentials.UseToken)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", credentials.Token);
        }

        request.Headers.TryAddWithoutValidation("Authorization", result.ForAuthorizationHeader);
        return request;
    }
}
