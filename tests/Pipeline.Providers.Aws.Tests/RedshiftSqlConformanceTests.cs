using System.Globalization;
using Npgsql;
using Pipeline.Conformance;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.RedshiftData;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// The shared warehouse suite on the SQL the Redshift warehouse generates (<see cref="RedshiftSql"/>), executed on
/// PostgreSQL the way the Data API would run it: each load call in its own transaction, the merge call in one.
/// </summary>
public sealed class RedshiftSqlConformanceTests(PostgresFixture postgres) : WarehouseConformance
{
    protected override ValueTask<IWarehouse> CreateWarehouseAsync()
    {
        postgres.RequireAvailable();
        return ValueTask.FromResult<IWarehouse>(new RedshiftSqlOnPostgresWarehouse(postgres.ConnectionString, "rc_" + Guid.NewGuid().ToString("N")[..12]));
    }
}

/// <summary>An <see cref="IWarehouse"/> that plans with <see cref="RedshiftSql"/> and runs the statements on PostgreSQL (tests only).</summary>
internal sealed class RedshiftSqlOnPostgresWarehouse : IWarehouse, IAsyncDisposable
{
    private readonly NpgsqlDataSource dataSource;
    private readonly string schema;

    public RedshiftSqlOnPostgresWarehouse(string connectionString, string schema)
    {
        // Redshift treats '\' in string literals as an escape: PostgreSQL's equivalent session setting.
        var builder = new NpgsqlConnectionStringBuilder(connectionString) { Options = "-c standard_conforming_strings=off -c escape_string_warning=off" };
        dataSource = NpgsqlDataSource.Create(builder.ConnectionString);
        this.schema = schema;
    }

    public async Task EnsureTableAsync(TableDefinition table, CancellationToken cancellationToken = default)
    {
        await RunAsync([$"CREATE SCHEMA IF NOT EXISTS {RedshiftSql.Quote(schema)}", RedshiftSql.CreateTable(schema, table)], cancellationToken);
    }

    public async Task<MergeResult> MergeAsync(IReadOnlyList<MergeBatch> batches, CancellationToken cancellationToken = default)
    {
        var plan = RedshiftSql.PlanMerge(schema, batches, Guid.NewGuid().ToString("N")[..8], RedshiftLimits.MaxStatementBytes);
        try
        {
            foreach (var call in plan.LoadCalls)
            {
                await RunAsync(call, cancellationToken);
            }

            var rowCounts = await RunAsync(plan.MergeCall, cancellationToken);
            var written = plan.Received.Keys.ToDictionary(k => k, _ => 0L, StringComparer.Ordinal);
            for (var i = 0; i < plan.MergeRoles.Count; i++)
            {
                if (plan.MergeRoles[i].CountsWritten)
                {
                    written[plan.MergeRoles[i].Table] += rowCounts[i];
                }
            }

            return new MergeResult(plan.Received.ToDictionary(kv => kv.Key, kv => new TableMergeCounts(kv.Value, written[kv.Key], kv.Value - written[kv.Key]), StringComparer.Ordinal));
        }
        catch (PostgresException e)
        {
            throw new WarehouseException($"Merge failed: {e.SqlState} {e.MessageText}", e);
        }
    }

    public async Task<QueryResult> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        try
        {
            await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var setup = new NpgsqlCommand($"SET TRANSACTION READ ONLY; SET LOCAL search_path TO {RedshiftSql.Quote(schema)}", connection, transaction))
            {
                await setup.ExecuteNonQueryAsync(cancellationToken);
            }

            await using var command = new NpgsqlCommand(sql, connection, transaction);
            foreach (var (name, value) in parameters ?? new Dictionary<string, object?>())
            {
                command.Parameters.Add(new NpgsqlParameter(name.TrimStart('@'), value switch { null => DBNull.Value, DateTimeOffset t => t.ToUniversalTime(), _ => value }));
            }

            var rows = new List<object?[]>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
            while (await reader.ReadAsync(cancellationToken))
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : reader.GetDataTypeName(i) switch
                    {
                        "date" => reader.GetFieldValue<DateOnly>(i),
                        "timestamp with time zone" => new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(i), DateTimeKind.Utc)),
                        "integer" or "smallint" => Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture),
                        _ => reader.GetValue(i),
                    };
                }

                rows.Add(row);
            }

            return new QueryResult(columns, rows);
        }
        catch (PostgresException e)
        {
            throw new WarehouseQueryException($"Query failed: {e.SqlState} {e.MessageText}", e);
        }
    }

    public ValueTask DisposeAsync() => dataSource.DisposeAsync();

    private async Task<List<long>> RunAsync(IReadOnlyList<string> statements, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        var counts = new List<long>();
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, connection, transaction);
            counts.Add(await command.ExecuteNonQueryAsync(cancellationToken));
        }

        await transaction.CommitAsync(cancellationToken);
        return counts;
    }
}
