using System.Diagnostics;
using System.Net;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Logging;
using Polly;
using Polly.Retry;

namespace Pipeline.Functions.Ingestion;

/// <summary>One fetched page: the body exactly as received and what the request looked like.</summary>
/// <param name="Url">The request URL (never carries the API key: that travels in a header).</param>
public sealed record ApiResponse(Uri Url, int Status, byte[] Body, string? ContentType, Uri? NextLink, int Attempts)
{
    /// <summary>The server's Retry-After on a 429/5xx, as a delay from now.</summary>
    public TimeSpan? RetryAfter { get; init; }
}

/// <summary>A request failed for good: after the maximum attempts, or with a status retrying cannot fix.</summary>
public sealed class IngestionHttpException(Uri url, int? status, int attempts, string message, Exception? innerException = null)
    : Exception(message, innerException)
{
    public Uri Url { get; } = url;

    public int? Status { get; } = status;

    public int Attempts { get; } = attempts;
}

/// <summary>
/// GETs pages of the trades API: a proactive token bucket (System.Threading.RateLimiting) and a
/// concurrency bound before every attempt, retries of 429/5xx/timeouts/connection errors with
/// exponential backoff and jitter (Polly) that honour Retry-After (seconds or HTTP-date), and a
/// clear failure naming the URL and status after the last attempt. The API key is sent as a
/// header and never logged.
/// </summary>
public sealed class TradeApiClient : IAsyncDisposable
{
    private const string RetryTemplate = "GET {Url} answered {Status}; attempt {Attempt} of {MaxAttempts}, retrying in {DelayMs} ms";
    private const string RetryErrorTemplate = "GET {Url} failed ({Error}); attempt {Attempt} of {MaxAttempts}, retrying in {DelayMs} ms";

    private static readonly ResiliencePropertyKey<Uri> UrlKey = new("ingestion.url");
    private readonly HttpClient http;
    private readonly bool ownsHttp;
    private readonly IngestionOptions options;
    private readonly ILogger logger;
    private readonly TokenBucketRateLimiter limiter;
    private readonly SemaphoreSlim concurrency;
    private readonly ResiliencePipeline<ApiResponse> retry;
    private long retries;
    private long requests;

    public TradeApiClient(IngestionOptions options, ILogger logger, HttpClient? http = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(logger);
        options.Validate();
        this.options = options;
        this.logger = logger;
        ownsHttp = http is null;
        this.http = http ?? new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        this.http.Timeout = Timeout.InfiniteTimeSpan; // per attempt, below
        concurrency = new SemaphoreSlim(options.MaxConcurrency, options.MaxConcurrency);
        limiter = CreateLimiter(options.RequestsPerSecond);
        retry = BuildRetry();
    }

    /// <summary>Attempts after the first, over the client's lifetime.</summary>
    public long Retries => Interlocked.Read(ref retries);

    /// <summary>HTTP requests sent (every attempt).</summary>
    public long Requests => Interlocked.Read(ref requests);

    /// <exception cref="IngestionHttpException">After the last attempt, or at once for a status retrying cannot fix (4xx other than 408/429).</exception>
    public async Task<ApiResponse> GetAsync(Uri url, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(url);
        var attempts = 0;
        ApiResponse result;
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(UrlKey, url);
        try
        {
            result = await retry.ExecuteAsync(
                async ctx =>
                {
                    Interlocked.Increment(ref attempts);
                    return await SendOnceAsync(url, attempts, ctx.CancellationToken);
                },
                context);
        }
        catch (Exception ex) when (ex is HttpRequestException or TimeoutException or IOException)
        {
            throw new IngestionHttpException(url, null, attempts, $"GET {url} failed after {attempts} attempt(s): {ex.Message}. Check that the API at Ingestion:BaseUrl is reachable; the run can simply be repeated (pages already stored are kept).", ex);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        if (result.Status is >= 200 and < 300)
        {
            return result;
        }

        var hint = result.Status switch
        {
            401 or 403 => " Check the API key (setting Ingestion:ApiKey, environment Ingestion__ApiKey).",
            404 => " Check Ingestion:BaseUrl and Ingestion:Path.",
            429 => " The API kept throttling: lower Ingestion:RequestsPerSecond or raise Ingestion:MaxAttempts.",
            >= 500 => " The API kept failing: retry the run later (pages already stored are kept) or raise Ingestion:MaxAttempts.",
            _ => string.Empty,
        };
        throw new IngestionHttpException(url, result.Status, attempts, $"GET {url} answered {result.Status} after {attempts} attempt(s).{hint}");
    }

    public async ValueTask DisposeAsync()
    {
        await limiter.DisposeAsync();
        concurrency.Dispose();
        if (ownsHttp)
        {
            http.Dispose();
        }
    }

    internal static bool IsTransient(int status) => status is 408 or 429 or >= 500;

    private static TokenBucketRateLimiter CreateLimiter(double perSecond)
    {
        // One token per 1/rate, or several per 10 ms for high rates (timer granularity); burst = one period's worth, at least 1.
        var period = TimeSpan.FromSeconds(Math.Max(1 / perSecond, 0.01));
        var tokens = Math.Max(1, (int)Math.Round(perSecond * period.TotalSeconds));
        return new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
        {
            TokenLimit = tokens,
            TokensPerPeriod = tokens,
            ReplenishmentPeriod = period,
            QueueLimit = int.MaxValue,
            QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            AutoReplenishment = true,
        });
    }

    private ResiliencePipeline<ApiResponse> BuildRetry()
    {
        var builder = new ResiliencePipelineBuilder<ApiResponse>();
        if (options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<ApiResponse>
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = options.BaseDelay,
                MaxDelay = options.MaxDelay,
                ShouldHandle = new PredicateBuilder<ApiResponse>()
                    .Handle<HttpRequestException>()
                    .Handle<TimeoutException>()
                    .Handle<IOException>()
                    .HandleResult(r => IsTransient(r.Status)),
                DelayGenerator = args => ValueTask.FromResult(RetryAfter(args.Outcome.Result)),
                OnRetry = args =>
                {
                    Interlocked.Increment(ref retries);
                    var delayMs = (long)args.RetryDelay.TotalMilliseconds;
                    if (args.Outcome.Result is { } r)
                    {
                        logger.LogWarning(RetryTemplate, r.Url, r.Status, args.AttemptNumber + 1, options.MaxAttempts, delayMs);
                    }
                    else
                    {
                        logger.LogWarning(RetryErrorTemplate, args.Context.Properties.TryGetValue(UrlKey, out var url) ? url : null, args.Outcome.Exception?.Message, args.AttemptNumber + 1, options.MaxAttempts, delayMs);
                    }

                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    /// <summary>Retry-After as a delay (null = use the backoff); too long a wait fails instead of sleeping for hours.</summary>
    private TimeSpan? RetryAfter(ApiResponse? response)
    {
        if (response?.RetryAfter is not { } wait)
        {
            return null;
        }

        if (wait > options.MaxRetryAfter)
        {
            throw new IngestionHttpException(response.Url, response.Status, response.Attempts, $"GET {response.Url} answered {response.Status} with Retry-After {wait.TotalSeconds:F0} s, longer than Ingestion:MaxRetryAfter ({options.MaxRetryAfter.TotalSeconds:F0} s); run again later.");
        }

        return wait < TimeSpan.Zero ? TimeSpan.Zero : wait;
    }

    private async ValueTask<ApiResponse> SendOnceAsync(Uri url, int attempt, CancellationToken cancellationToken)
    {
        await concurrency.WaitAsync(cancellationToken);
        try
        {
            using (var lease = await limiter.AcquireAsync(1, cancellationToken))
            {
                Debug.Assert(lease.IsAcquired, "The bucket queues without limit.");
            }

            Interlocked.Increment(ref requests);
            using var attemptTimeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            attemptTimeout.CancelAfter(options.RequestTimeout);
            using var request = new HttpRequestMessage(HttpMethod.Get, url);
            request.Headers.Accept.ParseAdd("application/json");
            if (!string.IsNullOrEmpty(options.ApiKey))
            {
                request.Headers.TryAddWithoutValidation(options.ApiKeyHeader, options.ApiKey);
            }

            try
            {
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attemptTimeout.Token);
                var body = await response.Content.ReadAsByteArrayAsync(attemptTimeout.Token);
                return new ApiResponse(url, (int)response.StatusCode, body, response.Content.Headers.ContentType?.ToString(), NextLink(url, response), attempt)
                {
                    RetryAfter = ParseRetryAfter(response),
                };
            }
            catch (OperationCanceledException ex) when (!cancellationToken.IsCancellationRequested)
            {
                throw new TimeoutException($"no complete answer within Ingestion:RequestTimeout ({options.RequestTimeout.TotalSeconds:F0} s)", ex);
            }
        }
        finally
        {
            concurrency.Release();
        }
    }

    private static TimeSpan? ParseRetryAfter(HttpResponseMessage response)
    {
        if (response.StatusCode != HttpStatusCode.TooManyRequests && (int)response.StatusCode < 500)
        {
            return null;
        }

        var header = response.Headers.RetryAfter;
        if (header?.Delta is { } delta)
        {
            return delta;
        }

        return header?.Date is { } date ? date - DateTimeOffset.UtcNow : null;
    }

    /// <summary>The rel="next" target of the Link header (RFC 8288), resolved against the request URL.</summary>
    internal static Uri? NextLink(Uri requestUrl, HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values))
        {
            return null;
        }

        foreach (var value in values)
        {
            foreach (var link in LinkHeader.Parse(value))
            {
                if (link.Rel.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains("next", StringComparer.OrdinalIgnoreCase))
                {
                    return new Uri(requestUrl, link.Target);
                }
            }
        }

        return null;
    }
}
