using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;

namespace Pipeline.Lambda.RuntimeApi;

/// <summary>
/// Client of the Lambda Runtime API (version 2018-06-01) that a custom runtime (provided.al2023)
/// talks to on <c>AWS_LAMBDA_RUNTIME_API</c>. Stands in for Amazon.Lambda.RuntimeSupport, which
/// the registry here lacks: swapping to it later touches only this folder.
/// </summary>
public sealed class RuntimeApiClient : IDisposable
{
    public const string ApiVersion = "2018-06-01";
    public const string RuntimeApiVariable = "AWS_LAMBDA_RUNTIME_API";
    public const string TraceIdVariable = "_X_AMZN_TRACE_ID";

    public const string RequestIdHeader = "Lambda-Runtime-Aws-Request-Id";
    public const string DeadlineHeader = "Lambda-Runtime-Deadline-Ms";
    public const string FunctionArnHeader = "Lambda-Runtime-Invoked-Function-Arn";
    public const string TraceIdHeader = "Lambda-Runtime-Trace-Id";
    public const string ErrorTypeHeader = "Lambda-Runtime-Function-Error-Type";

    public const string UnhandledErrorCategory = "Function.Unhandled";
    public const string TimeoutErrorCategory = "Function.Timeout";
    public const string InitErrorCategory = "Runtime.InitError";

    private static readonly MediaTypeHeaderValue JsonMediaType = new("application/json");

    private readonly HttpClient _http;

    /// <param name="runtimeApi">host:port, as in <c>AWS_LAMBDA_RUNTIME_API</c>.</param>
    public RuntimeApiClient(string runtimeApi, HttpMessageHandler? handler = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(runtimeApi);
        _http = new HttpClient(handler ?? new SocketsHttpHandler { PooledConnectionIdleTimeout = Timeout.InfiniteTimeSpan }, disposeHandler: true)
        {
            BaseAddress = new Uri($"http://{runtimeApi}/{ApiVersion}/runtime/", UriKind.Absolute),

            // The documentation says not to time out the GET for the next invocation: it blocks
            // until an event arrives (the environment is frozen meanwhile).
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    /// <summary>Creates the client from <c>AWS_LAMBDA_RUNTIME_API</c>.</summary>
    /// <exception cref="InvalidOperationException">When the variable is not set (not running inside Lambda or an emulator).</exception>
    public static RuntimeApiClient FromEnvironment()
    {
        var api = Environment.GetEnvironmentVariable(RuntimeApiVariable);
        if (string.IsNullOrWhiteSpace(api))
        {
            throw new InvalidOperationException(
                $"{RuntimeApiVariable} is not set: this bootstrap runs inside AWS Lambda (provided.al2023) or under a Runtime API emulator. "
                + "To run the functions locally use the host: 'dotnet run --project src/Cli -- start'.");
        }

        return new RuntimeApiClient(api);
    }

    /// <summary>Blocks until Lambda hands out the next invocation.</summary>
    public async Task<LambdaInvocation> GetNextInvocationAsync(CancellationToken cancellationToken = default)
    {
        using var response = await _http.GetAsync(new Uri("invocation/next", UriKind.Relative), HttpCompletionOption.ResponseContentRead, cancellationToken);
        if (response.StatusCode != HttpStatusCode.OK)
        {
            throw new RuntimeApiException(
                $"GET invocation/next answered {(int)response.StatusCode} {response.StatusCode}: {await ReadTextAsync(response, cancellationToken)}. "
                + "The runtime cannot continue; Lambda restarts the environment.");
        }

        var requestId = Header(response, RequestIdHeader)
            ?? throw new RuntimeApiException($"GET invocation/next answered without the {RequestIdHeader} header.");
        var deadlineText = Header(response, DeadlineHeader)
            ?? throw new RuntimeApiException($"GET invocation/next answered without the {DeadlineHeader} header.");
        if (!long.TryParse(deadlineText, NumberStyles.None, CultureInfo.InvariantCulture, out var deadlineMs))
        {
            throw new RuntimeApiException($"{DeadlineHeader} '{deadlineText}' is not Unix milliseconds.");
        }

        var payload = await response.Content.ReadAsByteArrayAsync(cancellationToken);
        return new LambdaInvocation(
            requestId,
            DateTimeOffset.FromUnixTimeMilliseconds(deadlineMs),
            Header(response, FunctionArnHeader),
            Header(response, TraceIdHeader),
            payload);
    }

    /// <summary>Posts the function's result (a JSON document) for the invocation.</summary>
    public async Task PostResponseAsync(string requestId, ReadOnlyMemory<byte> json, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(requestId);
        using var content = new ReadOnlyMemoryContent(json);
        content.Headers.ContentType = JsonMediaType;
        await PostAsync($"invocation/{Uri.EscapeDataString(requestId)}/response", content, errorType: null, cancellationToken);
    }

    /// <summary>Reports that the invocation failed; Lambda retries or dead-letters it as the trigger defines.</summary>
    /// <param name="category">The Lambda-Runtime-Function-Error-Type header ("Category.Reason", as AWS recommends).</param>
    public Task PostInvocationErrorAsync(string requestId, LambdaError error, string category = UnhandledErrorCategory, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(requestId);
        return PostErrorAsync($"invocation/{Uri.EscapeDataString(requestId)}/error", error, category, cancellationToken);
    }

    /// <summary>Reports that initialization failed; the runtime exits afterwards.</summary>
    public Task PostInitErrorAsync(LambdaError error, string category = InitErrorCategory, CancellationToken cancellationToken = default)
        => PostErrorAsync("init/error", error, category, cancellationToken);

    public void Dispose() => _http.Dispose();

    private async Task PostErrorAsync(string path, LambdaError error, string category, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(error);
        var body = JsonSerializer.SerializeToUtf8Bytes(error, RuntimeApiJsonContext.Default.LambdaError);
        using var content = new ByteArrayContent(body);
        content.Headers.ContentType = JsonMediaType;
        await PostAsync(path, content, category, cancellationToken);
    }

    private async Task PostAsync(string path, HttpContent content, string? errorType, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(path, UriKind.Relative)) { Content = content };
        if (errorType is not null)
        {
            request.Headers.TryAddWithoutValidation(ErrorTypeHeader, errorType);
        }

        using var response = await _http.SendAsync(request, cancellationToken);
        if (response.StatusCode != HttpStatusCode.Accepted)
        {
            throw new RuntimeApiException(
                $"POST {path} answered {(int)response.StatusCode} {response.StatusCode}: {await ReadTextAsync(response, cancellationToken)}"
                + (response.StatusCode == HttpStatusCode.RequestEntityTooLarge ? " (the response exceeds Lambda's payload limit)." : "."));
        }
    }

    private static string? Header(HttpResponseMessage response, string name)
        => response.Headers.TryGetValues(name, out var values) ? values.FirstOrDefault() : null;

    private static async Task<string> ReadTextAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var text = await response.Content.ReadAsStringAsync(cancellationToken);
        return text.Length > 500 ? text[..500] + "…" : text;
    }
}
