using Npgsql;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;
using Pipeline.TestKit.Warehouse;

namespace Pipeline.Providers.Postgres.Tests;

/// <summary>
/// QueryAsync runs through a login that holds SELECT only: the database refuses every write, however the SQL text
/// tries to get round a session setting (SET TRANSACTION READ WRITE, COMMIT first, several statements).
/// </summary>
public sealed class PostgresReadOnlyQueryTests(PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Writes =>
    [
        "SET TRANSACTION READ WRITE; DELETE FROM trades",
        "SET TRANSACTION READ WRITE; UPDATE trades SET version = version + 1",
        "SET TRANSACTION READ WRITE; INSERT INTO trades SELECT * FROM trades",
        // After COMMIT the transaction's search_path is gone: these name the schema ({schema} is replaced).
        "COMMIT; DELETE FROM {schema}.trades",
        "COMMIT; BEGIN READ WRITE; DELETE FROM {schema}.trades",
        "SELECT 1; DELETE FROM trades",
        "DELETE FROM trades",
        "TRUNCATE trades",
        "DROP TABLE trades",
        "ALTER TABLE trades ADD COLUMN x int",
        "SET TRANSACTION READ WRITE; CREATE TABLE trades_copy (a int)",
        "SET TRANSACTION READ WRITE; CREATE TABLE public.trades_copy (a int)",
        "COPY trades TO PROGRAM 'touch /tmp/pipeline-read-only-breached'",
        "SET TRANSACTION READ WRITE; RESET ROLE; DELETE FROM trades",
    ];

    /// <summary>Statements the login must be refused even outside any read-only transaction (autocommit).</summary>
    public static TheoryData<string> LoginWrites =>
    [
        "DELETE FROM trades",
        "UPDATE trades SET version = version + 1",
        "INSERT INTO trades SELECT * FROM trades",
        "TRUNCATE trades",
        "DROP TABLE trades",
        "ALTER TABLE trades ADD COLUMN x int",
        "CREATE TABLE trades_copy (a int)",
        "CREATE TABLE public.trades_copy (a int)",
        "COPY trades TO PROGRAM 'touch /tmp/pipeline-read-only-breached'",
        "SELECT 1; DELETE FROM trades",
    ];

    [Theory]
    [MemberData(nameof(Writes))]
    public async Task Query_WriteInAnyDisguise_IsRefusedAndRowsStayUnchanged(string sql)
    {
        var (warehouse, schema) = await WarehouseAsync();
        var before = await RowsAsync(schema);

        var e = await Assert.ThrowsAsync<WarehouseQueryException>(() => warehouse.QueryAsync(sql.Replace("{schema}", schema, StringComparison.Ordinal), cancellationToken: Ct));

        var state = Assert.IsType<PostgresException>(e.InnerException).SqlState;
        Assert.True(state is PostgresErrorCodes.InsufficientPrivilege or PostgresErrorCodes.ReadOnlySqlTransaction, $"{state}: {e.Message}");
        Assert.Equal(before, await RowsAsync(schema));
        Assert.False(File.Exists("/tmp/pipeline-read-only-breached"));
    }

    [Theory]
    [MemberData(nameof(LoginWrites))]
    public async Task QueryLogin_WriteWithoutAnySessionSetting_IsPermissionDenied(string sql)
    {
        var (warehouse, schema) = await WarehouseAsync();
        await warehouse.QueryAsync("SELECT count(*) FROM trades", cancellationToken: Ct);
        var before = await RowsAsync(schema);

        await using var connection = new NpgsqlConnection(warehouse.ReadOnlyConnectionString);
        await connection.OpenAsync(Ct);
        await using (var path = new NpgsqlCommand($"SET search_path TO \"{schema}\"", connection))
        {
            await path.ExecuteNonQueryAsync(Ct);
        }

        await using var command = new NpgsqlCommand(sql, connection);
        var e = await Assert.ThrowsAsync<PostgresException>(() => command.ExecuteNonQueryAsync(Ct));

        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, e.SqlState);
        Assert.Equal(before, await RowsAsync(schema));
    }

    [Fact]
    public async Task Query_Select_StillWorksThroughTheReadOnlyLogin()
    {
        var (warehouse, _) = await WarehouseAsync();

        var result = await warehouse.QueryAsync("SELECT current_user AS who, count(*) AS n FROM trades", cancellationToken: Ct);

        var row = Assert.Single(result.Rows);
        Assert.StartsWith("pipeline_reader_", (string)row[0]!, StringComparison.Ordinal);
        Assert.Equal(2L, row[1]);
    }

    [Fact]
    public async Task Query_TableCreatedAfterTheFirstQuery_IsReadable()
    {
        var (warehouse, _) = await WarehouseAsync();
        await warehouse.QueryAsync("SELECT count(*) FROM trades", cancellationToken: Ct);

        await warehouse.EnsureTableAsync(SampleTrades.Table with { Name = "later" }, Ct);
        await warehouse.MergeAsync([new MergeBatch(SampleTrades.Table with { Name = "later" }, [SampleTrades.Row("L1", 1)])], Ct);

        var result = await warehouse.QueryAsync("SELECT trade_id FROM later", cancellationToken: Ct);
        Assert.Equal("L1", Assert.Single(result.Rows)[0]);
    }

    [Fact]
    public async Task Query_ConfiguredReadOnlyLogin_GetsSelectOnTheTablesAndNothingMore()
    {
        postgres.RequireAvailable();
        var role = "reader_" + Guid.NewGuid().ToString("N")[..10];
        await ExecuteAsync(postgres.ConnectionString, $"CREATE ROLE \"{role}\" LOGIN");
        var (warehouse, schema) = await WarehouseAsync(new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Username = role }.ConnectionString);

        var who = await warehouse.QueryAsync("SELECT current_user FROM trades LIMIT 1", cancellationToken: Ct);
        var e = await Assert.ThrowsAsync<WarehouseQueryException>(() => warehouse.QueryAsync("SET TRANSACTION READ WRITE; DELETE FROM trades", cancellationToken: Ct));

        Assert.Equal(role, Assert.Single(who.Rows)[0]);
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, Assert.IsType<PostgresException>(e.InnerException).SqlState);
        Assert.Equal(2, (await RowsAsync(schema)).Count);
    }

    [Fact]
    public async Task Query_ConfiguredLoginThatCanWrite_ThrowsNamingTheSetting()
    {
        // The owner's own connection string as the "read-only" one: refused before any query runs.
        var (warehouse, _) = await WarehouseAsync(postgres.ConnectionString);

        var e = await Assert.ThrowsAsync<WarehouseException>(() => warehouse.QueryAsync("SELECT 1", cancellationToken: Ct));

        Assert.Contains("Postgres:ReadOnlyConnectionString", e.Message, StringComparison.Ordinal);
        Assert.Contains("can write", e.Message, StringComparison.Ordinal);
    }

    private async Task<(PostgresWarehouse Warehouse, string Schema)> WarehouseAsync(string? readOnlyConnectionString = null)
    {
        postgres.RequireAvailable();
        var schema = "ro_" + Guid.NewGuid().ToString("N")[..12];
        var warehouse = new PostgresWarehouse(new PostgresWarehouseOptions { ConnectionString = postgres.ConnectionString, ReadOnlyConnectionString = readOnlyConnectionString, Schema = schema });
        await warehouse.EnsureTableAsync(SampleTrades.Table, Ct);
        await warehouse.MergeAsync([new MergeBatch(SampleTrades.Table, [SampleTrades.Row("T1", 1), SampleTrades.Row("T2", 3, 7.25m, "n")])], Ct);
        return (warehouse, schema);
    }

    /// <summary>Every row, read with the owner login (not through the code under test).</summary>
    private async Task<List<string>> RowsAsync(string schema)
    {
        await using var connection = new NpgsqlConnection(postgres.ConnectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"SELECT t::text FROM \"{schema}\".trades t ORDER BY 1", connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }
}
