namespace Pipeline.Providers.Postgres;

/// <summary>Settings of the PostgreSQL warehouse, bound from the <c>Postgres</c> section.</summary>
public sealed class PostgresWarehouseOptions
{
    public const string SectionName = "Postgres";

    /// <summary>Npgsql connection string, e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=pipeline.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>
    /// Login for <c>QueryAsync</c>: one that holds SELECT only (the schema setup grants it SELECT on the warehouse
    /// tables). When unset, the provider creates its own login role with SELECT only (the owner login then needs
    /// CREATEROLE). Either way the database, not a session setting, refuses writes from queries.
    /// </summary>
    public string? ReadOnlyConnectionString { get; set; }

    /// <summary>Schema of the warehouse tables (created when missing).</summary>
    public string Schema { get; set; } = "public";

    /// <summary>Per-command timeout; merges of large batches need more than Npgsql's default 30 s.</summary>
    public int CommandTimeoutSeconds { get; set; } = 300;

    internal void Validate()
    {
        if (string.IsNullOrWhiteSpace(ConnectionString))
        {
            throw new InvalidOperationException("Setting 'Postgres:ConnectionString' is missing: set it to an Npgsql connection string, e.g. Host=127.0.0.1;Port=5432;Username=postgres;Database=postgres (local/emulators.sh prints one).");
        }

        if (!Internal.SqlIdentifier.IsValid(Schema))
        {
            throw new InvalidOperationException($"Setting 'Postgres:Schema' ('{Schema}') is not a plain identifier: use letters, digits and '_' (max 63), starting with a letter or '_'.");
        }
    }
}
