namespace Pipeline.Providers.Aws;

/// <summary>
/// Settings of the Redshift Data API warehouse, bound from the <c>Redshift</c> section. Endpoint, region and
/// credentials come from the <c>Aws</c> section (Aws:RedshiftDataServiceUrl for an emulator).
/// </summary>
public sealed class RedshiftOptions
{
    public const string SectionName = "Redshift";

    /// <summary>Redshift Serverless workgroup; set this or <see cref="ClusterIdentifier"/>.</summary>
    public string? WorkgroupName { get; set; }

    /// <summary>Provisioned cluster; set this or <see cref="WorkgroupName"/>.</summary>
    public string? ClusterIdentifier { get; set; }

    public string? Database { get; set; }

    /// <summary>Secrets Manager secret holding the database user's credentials.</summary>
    public string? SecretArn { get; set; }

    /// <summary>Database user for temporary IAM credentials (provisioned clusters).</summary>
    public string? DbUser { get; set; }

    /// <summary>
    /// Secret of a database user that may only SELECT (GRANT SELECT): QueryAsync signs in with it, so the database
    /// refuses writes from queries. Unset: queries use <see cref="SecretArn"/> / <see cref="DbUser"/>.
    /// </summary>
    public string? QuerySecretArn { get; set; }

    /// <summary>Database user that may only SELECT, for QueryAsync with temporary IAM credentials (provisioned clusters).</summary>
    public string? QueryDbUser { get; set; }

    public string Schema { get; set; } = "public";

    /// <summary>First DescribeStatement poll delay; doubles up to <see cref="PollMaxDelay"/>.</summary>
    public TimeSpan PollInitialDelay { get; set; } = TimeSpan.FromMilliseconds(100);

    public TimeSpan PollMaxDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>A statement still running after this is cancelled and reported as failed.</summary>
    public TimeSpan StatementTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Budget per SQL string (the API limit is 100 KB); lower only in tests.</summary>
    public int MaxStatementBytes { get; set; } = 100_000;

    internal void Validate()
    {
        var hasWorkgroup = WorkgroupName is { Length: > 0 };
        var hasCluster = ClusterIdentifier is { Length: > 0 };
        if (hasWorkgroup == hasCluster)
        {
            throw new InvalidOperationException("Set exactly one of 'Redshift:WorkgroupName' (Serverless) and 'Redshift:ClusterIdentifier' (provisioned).");
        }

        if (Database is not { Length: > 0 })
        {
            throw new InvalidOperationException("Setting 'Redshift:Database' is missing: name the database, e.g. dev.");
        }

        if (hasCluster && SecretArn is not { Length: > 0 } && DbUser is not { Length: > 0 })
        {
            throw new InvalidOperationException("A provisioned cluster needs 'Redshift:SecretArn' (Secrets Manager) or 'Redshift:DbUser' (temporary IAM credentials).");
        }

        if (QuerySecretArn is { Length: > 0 } && QueryDbUser is { Length: > 0 })
        {
            throw new InvalidOperationException("Set at most one of 'Redshift:QuerySecretArn' and 'Redshift:QueryDbUser' (the read-only login of queries).");
        }

        if (QueryDbUser is { Length: > 0 } && !hasCluster)
        {
            throw new InvalidOperationException("Setting 'Redshift:QueryDbUser' needs a provisioned cluster (Redshift:ClusterIdentifier); for Serverless set 'Redshift:QuerySecretArn'.");
        }

        if (!RedshiftData.RedshiftSql.IsIdentifier(Schema))
        {
            throw new InvalidOperationException($"Setting 'Redshift:Schema' ('{Schema}') is not a plain identifier: use lowercase letters, digits and '_'.");
        }

        if (MaxStatementBytes is < 1_000 or > 100_000)
        {
            throw new InvalidOperationException("Setting 'Redshift:MaxStatementBytes' must be between 1000 and 100000 (the API limit).");
        }
    }
}
