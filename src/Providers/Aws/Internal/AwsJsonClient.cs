using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization.Metadata;
using System.Xml.Linq;
using Polly;
using Polly.Retry;

namespace Pipeline.Providers.Aws.Internal;

/// <summary>
/// The AWS JSON protocol, for the Redshift Data API only (its SDK is not served; SQS is on AWSSDK.SQS): a signed POST with X-Amz-Target,
/// errors decoded from JSON or XML bodies, retries with backoff on throttling, 5xx and network errors.
/// </summary>
internal sealed class AwsJsonClient
{
    private readonly HttpClient _http;
    private readonly AwsCredentialSource _credentials;
    private readonly ResiliencePipeline _retry;
    private readonly string _contentType;

    public AwsJsonClient(HttpClient http, AwsCredentialSource credentials, Uri endpoint, string region, string service, string targetPrefix, string jsonVersion, int maxRetries, TimeSpan baseDelay)
    {
        _http = http;
        _credentials = credentials;
        Endpoint = endpoint;
        Region = region;
        Service = service;
        TargetPrefix = targetPrefix;
        _contentType = "application/x-amz-json-" + jsonVersion;
        _retry = maxRetries <= 0
            ? ResiliencePipeline.Empty
            : new ResiliencePipelineBuilder()
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder()
                        .Handle<HttpRequestException>()
                        .Handle<AwsServiceException>(e => e.IsRetryable)
                        .Handle<TaskCanceledException>(e => e.InnerException is TimeoutException),
                    MaxRetryAttempts = maxRetries,
                    BackoffType = DelayBackoffType.Exponential,
                    UseJitter = true,
                    Delay = baseDelay,
                    MaxDelay = TimeSpan.FromSeconds(20),
                })
                .Build();
    }

    public Uri Endpoint { get; }

    public string Region { get; }

    public string Service { get; }

    public string TargetPrefix { get; }

    /// <summary>Raised with each request body as sent (tests validate bodies against the botocore model).</summary>
    public Action<string, byte[]>? OnRequestBody { get; set; }

    /// <summary>Sends <paramref name="request"/> and parses the answer into <typeparamref name="TResponse"/>.</summary>
    /// <remarks>The JSON contracts are source-generated (<see cref="RedshiftData.RedshiftDataJsonContext"/>): trimming- and AOT-safe.</remarks>
    public async Task<TResponse> SendAsync<TRequest, TResponse>(string operation, TRequest request, JsonTypeInfo<TRequest> requestJson, JsonTypeInfo<TResponse> responseJson, CancellationToken cancellationToken)
        where TResponse : class
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(request, requestJson);
        OnRequestBody?.Invoke(operation, body);
        return await _retry.ExecuteAsync(
            async ct => await SendOnceAsync(operation, body, responseJson, ct).ConfigureAwait(false),
            cancellationToken).ConfigureAwait(false);
    }

    private async Task<TResponse> SendOnceAsync<TResponse>(string operation, byte[] body, JsonTypeInfo<TResponse> responseJson, CancellationToken cancellationToken)
        where TResponse : class
    {
        var credentials = await _credentials.GetAsync().ConfigureAwait(false);
        using var message = SigV4.CreateSignedPost(Endpoint, TargetPrefix + "." + operation, _contentType, body, credentials, Region, Service, DateTime.UtcNow);
        using var response = await _http.SendAsync(message, HttpCompletionOption.ResponseContentRead, cancellationToken).ConfigureAwait(false);
        var bytes = await response.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        var contentType = response.Content.Headers.ContentType?.MediaType ?? string.Empty;
        var requestId = FirstHeader(response, "x-amzn-RequestId") ?? FirstHeader(response, "x-amz-request-id");

        if (!response.IsSuccessStatusCode)
        {
            throw DecodeError(operation, response, contentType, bytes, requestId);
        }

        // A 200 is not success until the body has the expected shape: moto answers an unsigned JSON POST
        // with an S3 XML bucket listing, a wrong endpoint answers HTML.
        // moto's redshift-data labels its JSON text/html, so a JSON object body is accepted whatever the label.
        if (!contentType.Contains("json", StringComparison.OrdinalIgnoreCase) && !LooksLikeJsonObject(bytes))
        {
            throw new AwsProtocolException($"{Service} {operation}: the endpoint {Endpoint} answered HTTP {(int)response.StatusCode} with content type '{contentType}', not AWS JSON. Check that the service URL points at {Service} and that requests are signed. Body starts: {Preview(bytes)}");
        }

        try
        {
            var node = bytes.Length == 0 ? new JsonObject() : JsonNode.Parse(bytes);
            if (node is not JsonObject obj)
            {
                throw new AwsProtocolException($"{Service} {operation}: expected a JSON object, got: {Preview(bytes)}");
            }

            return obj.Deserialize(responseJson)
                ?? throw new AwsProtocolException($"{Service} {operation}: empty response body.");
        }
        catch (JsonException e)
        {
            throw new AwsProtocolException($"{Service} {operation}: the response is not valid JSON of the expected shape ({e.Message}). Body starts: {Preview(bytes)}", e);
        }
    }

    private AwsServiceException DecodeError(string operation, HttpResponseMessage response, string contentType, byte[] bytes, string? requestId)
    {
        string? code = null;
        string? text = null;
        try
        {
            if (contentType.Contains("json", StringComparison.OrdinalIgnoreCase) && bytes.Length > 0)
            {
                if (JsonNode.Parse(bytes) is JsonObject obj)
                {
                    code = (obj["__type"] ?? obj["code"] ?? obj["Code"])?.GetValue<string>();
                    text = (obj["message"] ?? obj["Message"])?.GetValue<string>();
                }
            }
            else if (bytes.Length > 0 && bytes[0] == (byte)'<')
            {
                // Auth failures (403 SignatureDoesNotMatch) come as XML even from JSON-protocol services.
                var xml = XDocument.Parse(Encoding.UTF8.GetString(bytes));
                code = xml.Descendants().FirstOrDefault(e => e.Name.LocalName == "Code")?.Value;
                text = xml.Descendants().FirstOrDefault(e => e.Name.LocalName == "Message")?.Value;
            }
        }
        catch (Exception e) when (e is JsonException or System.Xml.XmlException or InvalidOperationException)
        {
            // Undecodable error body: fall through to the status code and a preview.
        }

        // SQS also names the legacy query error code in a header, e.g. "AWS.SimpleQueueService.NonExistentQueue;Sender".
        var queryError = FirstHeader(response, "x-amzn-query-error");
        code ??= queryError?.Split(';')[0];
        code = ShortCode(code) ?? (response.StatusCode == HttpStatusCode.TooManyRequests ? "Throttling" : "HttpError" + (int)response.StatusCode);
        return new AwsServiceException(Service, operation, response.StatusCode, code, text ?? Preview(bytes), requestId);
    }

    /// <summary>"com.amazonaws.sqs#QueueDoesNotExist" / "AWS.SimpleQueueService.NonExistentQueue" → the last part.</summary>
    internal static string? ShortCode(string? code)
    {
        if (string.IsNullOrEmpty(code))
        {
            return null;
        }

        var hash = code.LastIndexOf('#');
        if (hash >= 0)
        {
            code = code[(hash + 1)..];
        }

        var colon = code.IndexOf(':', StringComparison.Ordinal);
        if (colon >= 0)
        {
            code = code[..colon];
        }

        var dot = code.LastIndexOf('.');
        return dot >= 0 ? code[(dot + 1)..] : code;
    }

    private static bool LooksLikeJsonObject(byte[] bytes)
    {
        foreach (var b in bytes)
        {
            if (b is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                continue;
            }

            return b == (byte)'{';
        }

        return false;
    }

    private static string? FirstHeader(HttpResponseMessage response, string name) =>
        response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static string Preview(byte[] bytes) =>
        bytes.Length == 0 ? "(empty)" : Encoding.UTF8.GetString(bytes, 0, Math.Min(bytes.Length, 300));
}
