using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Aws.RedshiftData;

/// <summary>
/// <see cref="IWarehouse"/> on the Redshift Data API. Merges: rows are loaded as escaped multi-row INSERTs into
/// stage tables (BatchExecuteStatement has no parameters; see <see cref="RedshiftSql"/>), then ONE final
/// BatchExecuteStatement updates, inserts and drops the stages in a single transaction. For bulk loads COPY
/// from S3 is faster; this path keeps the provider self-contained. Queries use ExecuteStatement with named
/// parameters. Every call carries a ClientToken so a retried call is not run twice.
/// </summary>
internal sealed class RedshiftDataWarehouse : IWarehouse
{
    private readonly RedshiftDataClient _client;
    private readonly RedshiftOptions _options;

    public RedshiftDataWarehouse(RedshiftDataClient client, RedshiftOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _client = client;
        _options = options;
    }

    public async Task EnsureTableAsync(TableDefinition table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        var sql = RedshiftSql.CreateTable(_options.Schema, table);
        var id = await _client.ExecuteStatementAsync(Execute(sql, null, Token("ensure", sql)), cancellationToken).ConfigureAwait(false);
        await WaitAsync(id, cancellationToken).ConfigureAwait(false);
    }

    public async Task<MergeResult> MergeAsync(IReadOnlyList<MergeBatch> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var token = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(8));
        var plan = RedshiftSql.PlanMerge(_options.Schema, batches, token, _options.MaxStatementBytes);
        var written = plan.Received.Keys.ToDictionary(k => k, _ => 0L, StringComparer.Ordinal);
        if (plan.MergeCall.Count > 0)
        {
            try
            {
                for (var i = 0; i < plan.LoadCalls.Count; i++)
                {
                    var id = await _client.BatchExecuteStatementAsync(Batch([.. plan.LoadCalls[i]], $"{token}-load-{i}"), cancellationToken).ConfigureAwait(false);
                    await WaitAsync(id, cancellationToken).ConfigureAwait(false);
                }

                var mergeId = await _client.BatchExecuteStatementAsync(Batch([.. plan.MergeCall], $"{token}-merge"), cancellationToken).ConfigureAwait(false);
                var done = await WaitAsync(mergeId, cancellationToken).ConfigureAwait(false);
                var subs = done.SubStatements ?? [];
                for (var i = 0; i < plan.MergeRoles.Count && i < subs.Length; i++)
                {
                    if (plan.MergeRoles[i].CountsWritten)
                    {
                        written[plan.MergeRoles[i].Table] += Math.Max(0, subs[i].ResultRows);
                    }
                }
            }
            catch
            {
                await DropStagesAsync(plan, token).ConfigureAwait(false);
                throw;
            }
        }

        return new MergeResult(plan.Received.ToDictionary(
            kv => kv.Key,
            kv => new TableMergeCounts(kv.Value, written[kv.Key], kv.Value - written[kv.Key]),
            StringComparer.Ordinal));
    }

    public async Task<QueryResult> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        var (text, names) = RedshiftQuery.Translate(sql);
        var values = parameters ?? new Dictionary<string, object?>();
        var sqlParameters = names.Distinct(StringComparer.Ordinal).Select(n => new SqlParameter(n, ParameterValue(n, values))).ToArray();
        var id = await _client.ExecuteStatementAsync(Execute(text, sqlParameters.Length == 0 ? null : sqlParameters, null, query: true), cancellationToken).ConfigureAwait(false);
        var done = await WaitAsync(id, cancellationToken, query: true).ConfigureAwait(false);
        if (!done.HasResultSet)
        {
            return new QueryResult([], []);
        }

        return await ReadResultAsync(id, cancellationToken).ConfigureAwait(false);
    }

    internal async Task<QueryResult> ReadResultAsync(string id, CancellationToken cancellationToken)
    {
        IReadOnlyList<string>? columns = null;
        ColumnMetadata[] metadata = [];
        var rows = new List<object?[]>();
        string? next = null;
        do
        {
            var page = await _client.GetStatementResultAsync(id, next, cancellationToken).ConfigureAwait(false);
            if (columns is null)
            {
                metadata = page.ColumnMetadata ?? [];
                columns = metadata.Select(m => m.Label ?? m.Name ?? string.Empty).ToList();
            }

            foreach (var record in page.Records ?? [])
            {
                rows.Add(record.Select((f, i) => RedshiftQuery.Convert(f, i < metadata.Length ? metadata[i].TypeName : null)).ToArray());
            }

            next = page.NextToken;
        }
        while (!string.IsNullOrEmpty(next));

        return new QueryResult(columns ?? [], rows);
    }

    /// <summary>Polls DescribeStatement with backoff until FINISHED; FAILED/ABORTED and the timeout throw.</summary>
    internal async Task<DescribeStatementResponse> WaitAsync(string id, CancellationToken cancellationToken, bool query = false)
    {
        var deadline = DateTime.UtcNow + _options.StatementTimeout;
        var delay = _options.PollInitialDelay;
        while (true)
        {
            var d = await _client.DescribeStatementAsync(id, cancellationToken).ConfigureAwait(false);
            switch (d.Status)
            {
                case "FINISHED":
                    return d;
                case "FAILED":
                case "ABORTED":
                    var failedSub = d.SubStatements?.FirstOrDefault(s => s.Status is "FAILED" or "ABORTED");
                    var message = $"Redshift statement {id} {d.Status}: {d.Error ?? failedSub?.Error ?? "no error text"}{(failedSub?.QueryString is { } q ? $" (in: {Preview(q)})" : string.Empty)}. Nothing of this call was committed; fix the SQL/definition and retry.";
                    throw query ? new WarehouseQueryException(message)
                        : d.Status == "FAILED" && RejectsRows(d.Error ?? failedSub?.Error) ? new WarehouseRejectedException(message)
                        : new WarehouseException(message);
            }

            if (DateTime.UtcNow + delay > deadline)
            {
                await _client.CancelStatementAsync(id, CancellationToken.None).ConfigureAwait(false);
                throw new WarehouseException($"Redshift statement {id} still {d.Status} after {_options.StatementTimeout}; it was cancelled. Raise Redshift:StatementTimeout or check the workgroup/cluster load (queued statements, ≤ 200 active per cluster).");
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.PollMaxDelay.Ticks));
        }
    }

    /// <summary>
    /// The Data API reports no SQLSTATE, only Redshift's message (DescribeStatement's and SubStatementData's Error are
    /// plain strings beside Status FAILED; its exceptions carry Message and StatementId — pinned against the service
    /// model by RejectsRows_DataApiServiceModel_ReportsErrorsAsTextOnly): these texts are the data and constraint errors
    /// (PostgreSQL classes 22 and 23) that refuse a row, so the caller may narrow the merge. Anything else (serializable
    /// isolation violations, cancellations, a missing table) keeps failing the whole call.
    /// </summary>
    internal static bool RejectsRows(string? error) =>
        error is not null && RowErrors.Any(e => error.Contains(e, StringComparison.OrdinalIgnoreCase));

    private static readonly string[] RowErrors =
    [
        "invalid input syntax", "value too long", "out of range", "numeric field overflow", "overflow for type",
        "null value in column", "violates not-null constraint", "violates check constraint", "invalid byte sequence",
        "invalid digit", "invalid character", "division by zero",
    ];

    private async Task DropStagesAsync(MergePlan plan, string token)
    {
        // Best effort: a failed merge must not leave stage tables; the original error is what the caller sees.
        try
        {
            var drops = plan.StageTables.Select(s => $"DROP TABLE IF EXISTS {RedshiftSql.Quote(_options.Schema)}.{RedshiftSql.Quote(s)}").ToArray();
            if (drops.Length > 0)
            {
                await _client.BatchExecuteStatementAsync(Batch(drops, $"{token}-cleanup"), CancellationToken.None).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is AwsServiceException or AwsProtocolException or HttpRequestException)
        {
            // Leftover stage tables are named _stage_<token>_*; the merge error is rethrown by the caller.
        }
    }

    /// <param name="query">QueryAsync: signs in as the read-only login (Redshift:QuerySecretArn / QueryDbUser) when one is set.</param>
    private ExecuteStatementRequest Execute(string sql, SqlParameter[]? parameters, string? clientToken, bool query = false)
    {
        var readOnly = query && (Blank(_options.QuerySecretArn) ?? Blank(_options.QueryDbUser)) is not null;
        return new()
        {
            Sql = sql,
            Database = _options.Database,
            WorkgroupName = Blank(_options.WorkgroupName),
            ClusterIdentifier = Blank(_options.ClusterIdentifier),
            SecretArn = Blank(readOnly ? _options.QuerySecretArn : _options.SecretArn),
            DbUser = Blank(readOnly ? _options.QueryDbUser : _options.DbUser),
            Parameters = parameters,
            ClientToken = clientToken,
            StatementName = "pipeline",
        };
    }

    private BatchExecuteStatementRequest Batch(string[] sqls, string clientToken) => new()
    {
        Sqls = sqls,
        Database = _options.Database,
        WorkgroupName = Blank(_options.WorkgroupName),
        ClusterIdentifier = Blank(_options.ClusterIdentifier),
        SecretArn = Blank(_options.SecretArn),
        DbUser = Blank(_options.DbUser),
        ClientToken = clientToken,
        StatementName = "pipeline-merge",
    };

    private static string Token(string kind, string sql) =>
        kind + "-" + Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql)))[..40];

    private static string ParameterValue(string name, IReadOnlyDictionary<string, object?> values)
    {
        if (!values.TryGetValue(name, out var value) && !values.TryGetValue("@" + name, out value))
        {
            throw new WarehouseQueryException($"The query uses @{name} but no parameter '{name}' was given.");
        }

        return value switch
        {
            null => throw new WarehouseQueryException($"Parameter '{name}' is null: the Redshift Data API has no null parameters; write IS NULL in the SQL instead."),
            string s => s,
            bool b => b ? "true" : "false",
            DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
            DateTimeOffset ts => ts.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.ffffff'+00'", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => value.ToString() ?? string.Empty,
        };
    }

    private static string? Blank(string? value) => string.IsNullOrEmpty(value) ? null : value;

    private static string Preview(string sql) => sql.Length <= 200 ? sql : sql[..200] + "…";
}
