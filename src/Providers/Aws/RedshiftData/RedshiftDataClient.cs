using Pipeline.Providers.Aws.Internal;

namespace Pipeline.Providers.Aws.RedshiftData;

/// <summary>
/// Thin Redshift Data API client over AWS JSON 1.1 (AWSSDK.RedshiftDataAPIService is not available here).
/// Swapping to the official package later touches this folder only.
/// </summary>
internal sealed class RedshiftDataClient
{
    private readonly AwsJsonClient _json;

    public RedshiftDataClient(AwsJsonClient json)
    {
        _json = json;
    }

    public AwsJsonClient Protocol => _json;

    public static RedshiftDataClient Create(HttpClient http, AwsOptions options, AwsCredentialSource credentials)
    {
        var region = options.ResolveRegion();
        var endpoint = options.Endpoint(options.RedshiftDataServiceUrl) ?? new Uri($"https://redshift-data.{region}.amazonaws.com/");
        return new RedshiftDataClient(new AwsJsonClient(http, credentials, endpoint, region, "redshift-data", "RedshiftData", "1.1", options.MaxRetries, options.RetryBaseDelay));
    }

    public async Task<string> ExecuteStatementAsync(ExecuteStatementRequest request, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync("ExecuteStatement", request, RedshiftDataJsonContext.Default.ExecuteStatementRequest, RedshiftDataJsonContext.Default.StatementIdResponse, cancellationToken).ConfigureAwait(false);
        return Require(response.Id, "ExecuteStatement", "Id");
    }

    public async Task<string> BatchExecuteStatementAsync(BatchExecuteStatementRequest request, CancellationToken cancellationToken)
    {
        if (request.Sqls.Length is 0 or > RedshiftLimits.MaxSqlsPerBatch)
        {
            throw new ArgumentException($"BatchExecuteStatement takes 1 to {RedshiftLimits.MaxSqlsPerBatch} SQL strings (got {request.Sqls.Length}).", nameof(request));
        }

        var response = await _json.SendAsync("BatchExecuteStatement", request, RedshiftDataJsonContext.Default.BatchExecuteStatementRequest, RedshiftDataJsonContext.Default.StatementIdResponse, cancellationToken).ConfigureAwait(false);
        return Require(response.Id, "BatchExecuteStatement", "Id");
    }

    public async Task<DescribeStatementResponse> DescribeStatementAsync(string id, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync("DescribeStatement", new StatementIdRequest(id), RedshiftDataJsonContext.Default.StatementIdRequest, RedshiftDataJsonContext.Default.DescribeStatementResponse, cancellationToken).ConfigureAwait(false);
        Require(response.Status, "DescribeStatement", "Status");
        return response;
    }

    public async Task<GetStatementResultResponse> GetStatementResultAsync(string id, string? nextToken, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync("GetStatementResult", new GetStatementResultRequest(id, nextToken), RedshiftDataJsonContext.Default.GetStatementResultRequest, RedshiftDataJsonContext.Default.GetStatementResultResponse, cancellationToken).ConfigureAwait(false);
        Require(response.Records, "GetStatementResult", "Records");
        return response;
    }

    public async Task<bool> CancelStatementAsync(string id, CancellationToken cancellationToken)
    {
        var response = await _json.SendAsync("CancelStatement", new StatementIdRequest(id), RedshiftDataJsonContext.Default.StatementIdRequest, RedshiftDataJsonContext.Default.CancelStatementResponse, cancellationToken).ConfigureAwait(false);
        return response.Status ?? throw new AwsProtocolException("Redshift Data CancelStatement: the answer lacks 'Status'.");
    }

    private static T Require<T>(T? value, string operation, string member)
        where T : class =>
        value ?? throw new AwsProtocolException($"Redshift Data {operation}: the answer lacks '{member}'. The endpoint is not speaking the Redshift Data API; check Aws:ServiceUrl / Aws:RedshiftDataServiceUrl.");
}

internal static class RedshiftLimits
{
    /// <summary>BatchExecuteStatement runs at most 40 SQL strings (serially, in one transaction).</summary>
    public const int MaxSqlsPerBatch = 40;

    /// <summary>Each SQL string is at most 100 KB.</summary>
    public const int MaxStatementBytes = 100_000;
}
