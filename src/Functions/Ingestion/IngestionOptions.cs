using System.Globalization;

namespace Pipeline.Functions.Ingestion;

/// <summary>How the next page is found.</summary>
public enum PaginationStyle
{
    /// <summary><c>?page=N&amp;page_size=S</c>, N from <see cref="IngestionOptions.FirstPage"/>; stops on an empty page.</summary>
    PageNumber,

    /// <summary><c>?offset=K&amp;limit=S</c>; stops on an empty page.</summary>
    OffsetLimit,

    /// <summary>The next cursor is a field of the response body (<see cref="IngestionOptions.CursorField"/>); stops when it is absent or the page is empty.</summary>
    Cursor,

    /// <summary>The next URL is the <c>Link: &lt;…&gt;; rel="next"</c> header; stops when there is none or the page is empty.</summary>
    LinkHeader,
}

/// <summary>The "Ingestion" section: where the trades API is, how to page, throttle and retry.</summary>
public sealed class IngestionOptions
{
    public const string SectionName = "Ingestion";
    public const string ScheduleSetting = "Ingestion:Schedule";
    public const string DefaultSchedule = "0 0 6 * * *";

    /// <summary>Defaults placed below every other configuration source (so "daily by default" needs no setting).</summary>
    public static IReadOnlyDictionary<string, string?> ConfigurationDefaults { get; } = new Dictionary<string, string?>
    {
        [ScheduleSetting] = DefaultSchedule,
    };

    /// <summary>Short name of the source; part of every key the ingestion writes.</summary>
    public string Source { get; set; } = "trades-api";

    /// <summary>Base URL of the API, e.g. http://127.0.0.1:5080 (no credentials in it).</summary>
    public Uri? BaseUrl { get; set; }

    /// <summary>Path of the trades resource relative to <see cref="BaseUrl"/>.</summary>
    public string Path { get; set; } = "/trades";

    public PaginationStyle Pagination { get; set; } = PaginationStyle.PageNumber;

    public int PageSize { get; set; } = 500;

    public int FirstPage { get; set; } = 1;

    /// <summary>Proactive limit: requests started per second (every attempt counts).</summary>
    public double RequestsPerSecond { get; set; } = 5;

    /// <summary>Requests in flight at once (page-number and offset styles prefetch pages; cursor and link are sequential by nature).</summary>
    public int MaxConcurrency { get; set; } = 4;

    /// <summary>Attempts per request, the first included, before the run fails.</summary>
    public int MaxAttempts { get; set; } = 6;

    /// <summary>First backoff delay; doubles per attempt, with jitter, up to <see cref="MaxDelay"/>.</summary>
    public TimeSpan BaseDelay { get; set; } = TimeSpan.FromMilliseconds(500);

    public TimeSpan MaxDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>A Retry-After longer than this fails the request instead of sleeping.</summary>
    public TimeSpan MaxRetryAfter { get; set; } = TimeSpan.FromMinutes(5);

    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Secret: from the environment (Ingestion__ApiKey) or a secret store, never committed, never logged.</summary>
    public string? ApiKey { get; set; }

    public string ApiKeyHeader { get; set; } = "X-Api-Key";

    /// <summary>Records array inside an envelope object (e.g. "data"); empty when the body is the array itself.</summary>
    public string RecordsField { get; set; } = string.Empty;

    /// <summary>Body field holding the next cursor (cursor style).</summary>
    public string CursorField { get; set; } = "next_cursor";

    /// <summary>
    /// Record field the incremental cursor follows (ISO-8601): when the API published the record's version,
    /// so an AMEND or CANCEL of an old trade has a new value although its executed_at is the trade's.
    /// </summary>
    public string UpdatedAtField { get; set; } = "updated_at";

    /// <summary>
    /// How far below the cursor each incremental window starts again (default none: the window starts at the
    /// cursor, inclusive). For an API whose updated_at can become visible late (set before commit), or one
    /// with no updated_at (cursor on executed_at): versions in the overlap already ingested are dropped by
    /// (transaction_id, version), so they land once; the state remembers every version in the overlap.
    /// </summary>
    public TimeSpan Overlap { get; set; } = TimeSpan.Zero;

    public string PageParameter { get; set; } = "page";

    public string PageSizeParameter { get; set; } = "page_size";

    public string OffsetParameter { get; set; } = "offset";

    public string LimitParameter { get; set; } = "limit";

    public string CursorParameter { get; set; } = "cursor";

    /// <summary>Inclusive lower bound on updated_at (the incremental cursor).</summary>
    public string UpdatedSinceParameter { get; set; } = "updated_since";

    /// <summary>Exclusive upper bound on updated_at (the end of an incremental window, so its pages are repeatable).</summary>
    public string UpdatedBeforeParameter { get; set; } = "updated_before";

    /// <summary>Inclusive lower bound on executed_at (backfill).</summary>
    public string ExecutedFromParameter { get; set; } = "executed_from";

    /// <summary>Exclusive upper bound on executed_at (the end of a backfill window).</summary>
    public string ExecutedBeforeParameter { get; set; } = "executed_before";

    /// <summary>Where the first incremental run starts when no cursor is stored yet.</summary>
    public DateTimeOffset? InitialCursor { get; set; }

    /// <summary>Throws with the name of the first missing or invalid setting.</summary>
    public void Validate()
    {
        if (BaseUrl is null || !BaseUrl.IsAbsoluteUri)
        {
            throw new InvalidOperationException("Setting 'Ingestion:BaseUrl' is missing or not an absolute URL; set it (e.g. http://127.0.0.1:5080 for serve-sample-api) in local.settings.json Values or as Ingestion__BaseUrl.");
        }

        if (!string.IsNullOrEmpty(BaseUrl.UserInfo))
        {
            throw new InvalidOperationException("Setting 'Ingestion:BaseUrl' carries credentials; put the key in 'Ingestion:ApiKey' (environment Ingestion__ApiKey) instead.");
        }

        Check(PageSize >= 1, "PageSize", "at least 1");
        Check(RequestsPerSecond > 0, "RequestsPerSecond", "greater than 0");
        Check(MaxConcurrency >= 1, "MaxConcurrency", "at least 1");
        Check(MaxAttempts >= 1, "MaxAttempts", "at least 1");
        Check(BaseDelay >= TimeSpan.Zero && MaxDelay >= BaseDelay, "BaseDelay/MaxDelay", "0 ≤ BaseDelay ≤ MaxDelay");
        Check(RequestTimeout > TimeSpan.Zero, "RequestTimeout", "positive");
        Check(Overlap >= TimeSpan.Zero, "Overlap", "0 or positive");
        Check(!string.IsNullOrWhiteSpace(UpdatedAtField), "UpdatedAtField", "a record field (updated_at; executed_at when the API has no updated_at)");
        Check(!string.IsNullOrWhiteSpace(Source) && Source.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'), "Source", "letters, digits, '-', '_' or '.'");
    }

    /// <summary>The resource URL with the given query parameters (values escaped).</summary>
    public Uri ResourceUrl(IEnumerable<KeyValuePair<string, string>> query)
    {
        var root = BaseUrl!.ToString().TrimEnd('/');
        var path = Path.StartsWith('/') ? Path : "/" + Path;
        var q = string.Join('&', query.Select(p => Uri.EscapeDataString(p.Key) + "=" + Uri.EscapeDataString(p.Value)));
        return new Uri(q.Length == 0 ? root + path : root + path + "?" + q);
    }

    internal static string Timestamp(DateTimeOffset value) =>
        value.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static void Check(bool ok, string name, string expected)
    {
        if (!ok)
        {
            throw new InvalidOperationException($"Setting 'Ingestion:{name}' must be {expected}.");
        }
    }
}
