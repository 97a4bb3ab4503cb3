using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Threading.RateLimiting;

namespace Pipeline.Cli.SampleApi;

/// <summary>Behaviour of the sample API; properties are read per request, so tests may change them while it runs.</summary>
public sealed class SampleApiOptions
{
    /// <summary>Loopback port; 0 picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>Requests per second the API accepts before answering 429; 0 = unlimited.</summary>
    public double RequestsPerSecond { get; set; } = 20;

    /// <summary>Retry-After on a 429: "seconds", "date" (an HTTP-date) or "none".</summary>
    public string RetryAfterFormat { get; set; } = "seconds";

    /// <summary>Every <see cref="FailEvery"/>-th request starts a burst of <see cref="FailBurst"/> failures (status <see cref="FailStatus"/>); 0 = never.</summary>
    public int FailEvery { get; set; }

    public int FailBurst { get; set; } = 1;

    public int FailStatus { get; set; } = 503;

    /// <summary>When set, requests must carry it in the X-Api-Key header (401 otherwise).</summary>
    public string? ApiKey { get; set; }

    public int MaxPageSize { get; set; } = 1000;

    public int DefaultPageSize { get; set; } = 100;

    /// <summary>Tests: a status to answer instead of the page (request number from 1, path and query), or null to serve it.</summary>
    public Func<long, Uri, int?>? Inject { get; set; }
}

/// <summary>One request as the server saw it (tests check pacing and retries with these).</summary>
public sealed record SampleApiRequest(long Number, DateTimeOffset At, string PathAndQuery, int Status, bool HadApiKey, string? RetryAfter);

/// <summary>
/// <c>serve-sample-api</c>: a loopback HTTP server (HttpListener, in the BCL) serving
/// <see cref="SampleTrades"/> in all four pagination styles, filtered by executed_at:
/// <list type="bullet">
/// <item><c>GET /trades?page=N&amp;page_size=S</c> and <c>GET /trades?offset=K&amp;limit=S</c>: a JSON array.</item>
/// <item><c>GET /cursor/trades?limit=S[&amp;cursor=C]</c>: <c>{"data":[…],"next_cursor":"…"|null}</c>.</item>
/// <item><c>GET /link/trades?limit=S[&amp;page_token=T]</c>: a JSON array and <c>Link: &lt;…&gt;; rel="next"</c>.</item>
/// </list>
/// Filters (ISO-8601): <c>updated_since</c> (inclusive) and <c>updated_before</c> (exclusive) on updated_at,
/// ordered by updated_at; or <c>executed_after</c> (exclusive), <c>executed_from</c> (inclusive),
/// <c>executed_before</c> (exclusive) on executed_at, ordered by executed_at. <c>POST /admin/late-changes[?ties=N]</c>
/// publishes late versions (<see cref="SampleTrades.AddLateChanges"/>). A token bucket answers 429 with
/// Retry-After when the client is too fast; failures can be injected.
/// </summary>
public sealed class SampleTradeServer : IAsyncDisposable
{
    private readonly HttpListener listener = new();
    private readonly SampleTrades trades;
    private readonly CancellationTokenSource stopping = new();
    private readonly ConcurrentQueue<SampleApiRequest> log = new();
    private TokenBucketRateLimiter? limiter;
    private double limiterRate = double.NaN;
    private Task? loop;
    private long requestCount;

    public SampleTradeServer(SampleTrades trades, SampleApiOptions options)
    {
        this.trades = trades ?? throw new ArgumentNullException(nameof(trades));
        Options = options ?? throw new ArgumentNullException(nameof(options));
    }

    public SampleApiOptions Options { get; }

    public SampleTrades Trades => trades;

    public Uri BaseUrl { get; private set; } = new("http://127.0.0.1/");

    public IReadOnlyCollection<SampleApiRequest> Requests => log;

    public void Start()
    {
        var port = Options.Port == 0 ? FreePort() : Options.Port;
        BaseUrl = new Uri(string.Create(CultureInfo.InvariantCulture, $"http://127.0.0.1:{port}/"));
        listener.Prefixes.Add(BaseUrl.ToString());
        listener.Start();
        loop = Task.Run(AcceptLoopAsync);
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        if (listener.IsListening)
        {
            listener.Stop();
        }

        if (loop is not null)
        {
            await loop;
        }

        listener.Close();
        if (limiter is not null)
        {
            await limiter.DisposeAsync();
        }

        stopping.Dispose();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task AcceptLoopAsync()
    {
        while (!stopping.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return; // stopped
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var response = context.Response;
        var request = context.Request;
        var number = Interlocked.Increment(ref requestCount);
        var status = 200;
        var hadKey = !string.IsNullOrEmpty(request.Headers["X-Api-Key"]);
        string? retryAfter = null;
        try
        {
            byte[] body;
            List<(string, string)> extraHeaders;
            try
            {
                (status, body, extraHeaders) = Answer(number, request);
            }
            catch (FormatException ex)
            {
                (status, body, extraHeaders) = (400, Error(ex.Message), []);
            }

            response.StatusCode = status;
            foreach (var (name, value) in extraHeaders)
            {
                retryAfter = name == "Retry-After" ? value : retryAfter;
                response.AddHeader(name, value);
            }

            response.ContentType = "application/json";
            response.ContentLength64 = body.Length;
            await response.OutputStream.WriteAsync(body, stopping.Token);
        }
        catch (Exception ex) when (ex is HttpListenerException or IOException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away or the server is stopping: nothing to answer.
        }
        finally
        {
            log.Enqueue(new SampleApiRequest(number, DateTimeOffset.UtcNow, request.Url?.PathAndQuery ?? string.Empty, status, hadKey, retryAfter));
            try
            {
                response.Close();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                // Already closed by the client or the listener.
            }
        }
    }

    private (int Status, byte[] Body, List<(string, string)> Headers) Answer(long number, HttpListenerRequest request)
    {
        var headers = new List<(string, string)>();
        var url = request.Url!;
        if (Options.ApiKey is { Length: > 0 } key && request.Headers["X-Api-Key"] != key)
        {
            return (401, Error("missing or wrong X-Api-Key"), headers);
        }

        if (Throttled(out var retryAfter))
        {
            switch (Options.RetryAfterFormat)
            {
                case "seconds":
                    headers.Add(("Retry-After", Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture)));
                    break;
                case "date":
                    headers.Add(("Retry-After", DateTimeOffset.UtcNow.Add(retryAfter).AddSeconds(1).ToString("R", CultureInfo.InvariantCulture)));
                    break;
                default:
                    break;
            }

            return (429, Error("rate limit exceeded"), headers);
        }

        if (Options.Inject?.Invoke(number, url) is { } injected)
        {
            return (injected, Error("injected failure"), headers);
        }

        if (Options.FailEvery > 0 && ((number - 1) % Options.FailEvery) < Options.FailBurst)
        {
            return (Options.FailStatus, Error("injected failure"), headers);
        }

        var query = request.QueryString;
        var path = url.AbsolutePath.TrimEnd('/');
        if (path == "/admin/late-changes")
        {
            if (request.HttpMethod != "POST")
            {
                return (405, Error("POST /admin/late-changes publishes late versions"), headers);
            }

            var ties = int.Parse(query["ties"] ?? "3", CultureInfo.InvariantCulture);
            var added = trades.AddLateChanges(DateTimeOffset.UtcNow, ties);
            var summary = new StringBuilder("{\"published\":[");
            summary.AppendJoin(',', added.Select(v => string.Create(CultureInfo.InvariantCulture, $"{{\"transaction_id\":\"{v.TransactionId}\",\"version\":{v.Version},\"status\":\"{v.Status}\",\"updated_at\":\"{v.UpdatedAt:yyyy-MM-dd'T'HH:mm:ss.fff'Z'}\"}}")));
            return (200, Encoding.UTF8.GetBytes(summary.Append("]}").ToString()), headers);
        }

        SampleQuery filter;
        long total;
        try
        {
            filter = new SampleQuery(
                UpdatedSince: Time(query["updated_since"]),
                UpdatedBefore: Time(query["updated_before"]),
                ExecutedAfter: Time(query["executed_after"]),
                ExecutedFrom: Time(query["executed_from"]),
                ExecutedBefore: Time(query["executed_before"]));
            total = trades.CountOf(filter);
        }
        catch (FormatException ex)
        {
            return (400, Error(ex.Message), headers);
        }

        int size;
        try
        {
            size = Size(query["page_size"] ?? query["limit"]);
        }
        catch (FormatException ex)
        {
            return (400, Error(ex.Message), headers);
        }

        switch (path)
        {
            case "/trades":
            {
                long start;
                if (query["offset"] is { } offset)
                {
                    start = long.Parse(offset, CultureInfo.InvariantCulture);
                }
                else
                {
                    var page = long.Parse(query["page"] ?? "1", CultureInfo.InvariantCulture);
                    if (page < 1)
                    {
                        return (400, Error("page starts at 1"), headers);
                    }

                    start = (page - 1) * size;
                }

                return (200, Array(filter, start, Math.Min(total, start + size)), headers);
            }

            case "/cursor/trades":
            {
                var start = query["cursor"] is { Length: > 0 } cursor ? DecodeToken(cursor) : 0;
                var end = Math.Min(total, start + size);
                var json = new StringBuilder("{\"data\":");
                trades.AppendArray(json, filter, start, end);
                json.Append(",\"next_cursor\":").Append(end < total ? "\"" + EncodeToken(end) + "\"" : "null").Append('}');
                return (200, Encoding.UTF8.GetBytes(json.ToString()), headers);
            }

            case "/link/trades":
            {
                var start = query["page_token"] is { Length: > 0 } token ? DecodeToken(token) : 0;
                var end = Math.Min(total, start + size);
                if (end < total)
                {
                    var next = new StringBuilder(url.GetLeftPart(UriPartial.Path)).Append('?');
                    foreach (var name in query.AllKeys.Where(k => k is not null && k != "page_token"))
                    {
                        next.Append(Uri.EscapeDataString(name!)).Append('=').Append(Uri.EscapeDataString(query[name] ?? string.Empty)).Append('&');
                    }

                    next.Append("page_token=").Append(EncodeToken(end));
                    headers.Add(("Link", $"<{next}>; rel=\"next\""));
                }

                return (200, Array(filter, start, end), headers);
            }

            default:
                return (404, Error($"no resource {path}; try /trades, /cursor/trades or /link/trades"), headers);
        }
    }

    private bool Throttled(out TimeSpan retryAfter)
    {
        retryAfter = TimeSpan.Zero;
        var rate = Options.RequestsPerSecond;
        if (rate <= 0)
        {
            return false;
        }

        if (limiter is null || rate != limiterRate)
        {
            lock (log)
            {
                if (limiter is null || rate != limiterRate)
                {
                    var period = TimeSpan.FromSeconds(Math.Max(1 / rate, 0.01));
                    var tokens = Math.Max(1, (int)Math.Round(rate * period.TotalSeconds));
                    limiter = new TokenBucketRateLimiter(new TokenBucketRateLimiterOptions
                    {
                        // A small burst (a tenth of a second's worth, at least 2) absorbs arrival jitter of a client pacing itself at the rate.
                        TokenLimit = Math.Max(2, Math.Max(tokens, (int)Math.Ceiling(rate / 10))),
                        TokensPerPeriod = tokens,
                        ReplenishmentPeriod = period,
                        QueueLimit = 0,
                        AutoReplenishment = true,
                    });
                    limiterRate = rate;
                }
            }
        }

        using var lease = limiter.AttemptAcquire(1);
        if (lease.IsAcquired)
        {
            return false;
        }

        retryAfter = lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : TimeSpan.FromSeconds(1);
        return true;
    }

    private int Size(string? text)
    {
        if (text is null)
        {
            return Options.DefaultPageSize;
        }

        var size = int.Parse(text, CultureInfo.InvariantCulture);
        return size < 1 || size > Options.MaxPageSize
            ? throw new FormatException($"page size must be 1 … {Options.MaxPageSize}")
            : size;
    }

    private static DateTimeOffset ParseTime(string text) =>
        DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at)
            ? at
            : throw new FormatException($"'{text}' is not an ISO-8601 timestamp");

    private static string EncodeToken(long index) =>
        Convert.ToBase64String(Encoding.ASCII.GetBytes("i:" + index.ToString(CultureInfo.InvariantCulture))).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    private static long DecodeToken(string token)
    {
        var b64 = token.Replace('-', '+').Replace('_', '/');
        b64 += new string('=', (4 - (b64.Length % 4)) % 4);
        var text = Encoding.ASCII.GetString(Convert.FromBase64String(b64));
        return long.Parse(text.AsSpan(2), CultureInfo.InvariantCulture);
    }

    private static DateTimeOffset? Time(string? text) => text is null ? null : ParseTime(text);

    private byte[] Array(SampleQuery filter, long start, long end)
    {
        var json = new StringBuilder();
        trades.AppendArray(json, filter, start, end);
        return Encoding.UTF8.GetBytes(json.ToString());
    }

    private static byte[] Error(string message) =>
        Encoding.UTF8.GetBytes("{\"error\":" + System.Text.Json.JsonSerializer.Serialize(message, Pipeline.Functions.Ingestion.IngestionJsonContext.Default.String) + "}");
}
