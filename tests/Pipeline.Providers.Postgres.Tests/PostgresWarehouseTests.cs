using Pipeline.TestKit.Warehouse;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Postgres.Tests;

public sealed class PostgresWarehouseTests(PostgresFixture postgres)
{
    private static readonly TableDefinition Trades = SampleTrades.Table;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static object?[] Row(string id, long version, decimal amount = 1.5m, string? note = null) => SampleTrades.Row(id, version, amount, note);

    [Fact]
    public async Task Merge_OutOfOrderVersions_KeepsHighestVersion()
    {
        var warehouse = await WarehouseAsync();

        var first = await warehouse.MergeAsync([new MergeBatch(Trades, [Row("T1", 2, 20m), Row("T2", 1)])], Ct);
        var second = await warehouse.MergeAsync([new MergeBatch(Trades, [Row("T1", 1, 10m), Row("T2", 3, 30m)])], Ct);

        Assert.Equal(new TableMergeCounts(2, 2, 0), first.Tables["trades"]);
        Assert.Equal(new TableMergeCounts(2, 1, 1), second.Tables["trades"]);
        var rows = (await warehouse.QueryAsync("SELECT trade_id, version, amount FROM trades ORDER BY trade_id", cancellationToken: Ct)).Rows;
        Assert.Equal(["T1", 2L, 20m], rows[0]);
        Assert.Equal(["T2", 3L, 30m], rows[1]);
    }

    [Fact]
    public async Task Merge_DuplicateKeysInBatch_CollapsesToHighestVersion()
    {
        var warehouse = await WarehouseAsync();

        var result = await warehouse.MergeAsync([new MergeBatch(Trades, [Row("T1", 1, 1m), Row("T1", 3, 3m), Row("T1", 2, 2m)])], Ct);

        Assert.Equal(new TableMergeCounts(1, 1, 0), result.Tables["trades"]);
        var row = Assert.Single((await warehouse.QueryAsync("SELECT version, amount FROM trades", cancellationToken: Ct)).Rows);
        Assert.Equal([3L, 3m], row);
    }

    [Fact]
    public async Task Merge_SameBatchTwice_LeavesSameRows()
    {
        var warehouse = await WarehouseAsync();
        var batch = new MergeBatch(Trades, [Row("T1", 1, 1.2345678901m, "it's \\ \"odd\" ü"), Row("T2", 1)]);

        await warehouse.MergeAsync([batch], Ct);
        await warehouse.MergeAsync([batch], Ct);

        var rows = (await warehouse.QueryAsync("SELECT * FROM trades ORDER BY trade_id", cancellationToken: Ct)).Rows;
        Assert.Equal(2, rows.Count);
        Assert.Equal(Row("T1", 1, 1.2345678901m, "it's \\ \"odd\" ü")[..4], rows[0][..4]);
        Assert.Equal(new DateOnly(2026, 11, 21), rows[0][4]);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 8, 30, 0, TimeSpan.Zero), rows[0][5]);
        Assert.Equal("it's \\ \"odd\" ü", rows[0][6]);
    }

    [Fact]
    public async Task Merge_BadRowInSecondBatch_RollsBackEverything()
    {
        var warehouse = await WarehouseAsync();
        var other = Trades with { Name = "other_trades" };
        await warehouse.EnsureTableAsync(other, Ct);

        await Assert.ThrowsAsync<WarehouseRejectedException>(() => warehouse.MergeAsync(
            [new MergeBatch(Trades, [Row("T1", 1)]), new MergeBatch(other, [["T9", 1L, "not a decimal", true, new DateOnly(2026, 1, 1), DateTimeOffset.UtcNow, null]])],
            Ct));

        Assert.Empty((await warehouse.QueryAsync("SELECT * FROM trades", cancellationToken: Ct)).Rows);
    }

    [Theory]
    [InlineData("nul")]
    [InlineData("overflow")]
    public async Task Merge_ValueOutsideTheDomain_ThrowsWarehouseRejectedException(string value)
    {
        var warehouse = await WarehouseAsync();
        var row = value == "nul" ? Row("T1", 1, note: "a\0b") : Row("T1", 1, amount: 1e28m);

        var e = await Assert.ThrowsAsync<WarehouseRejectedException>(() => warehouse.MergeAsync([new MergeBatch(Trades, [row])], Ct));

        // Refused before PostgreSQL sees it (22021 / 22003 there), so the loader can narrow it to its message.
        Assert.Contains("outside the warehouse domain", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Query_WithParameters_ReturnsTypedValues()
    {
        var warehouse = await WarehouseAsync();
        await warehouse.MergeAsync([new MergeBatch(Trades, [Row("T1", 1), Row("T2", 5)])], Ct);

        var result = await warehouse.QueryAsync(
            "SELECT trade_id, count(*) AS n FROM trades WHERE version >= @v AND trade_date = @d GROUP BY trade_id",
            new Dictionary<string, object?> { ["v"] = 2L, ["d"] = new DateOnly(2026, 11, 21) },
            Ct);

        Assert.Equal(["trade_id", "n"], result.Columns);
        Assert.Equal(["T2", 1L], Assert.Single(result.Rows));
    }

    [Fact]
    public async Task Query_Write_ThrowsNotReadOnly()
    {
        var warehouse = await WarehouseAsync();

        var e = await Assert.ThrowsAsync<WarehouseQueryException>(() => warehouse.QueryAsync("DELETE FROM trades", cancellationToken: Ct));

        Assert.Contains("not read-only", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureTable_ExistingWithOtherDefinition_Throws()
    {
        var warehouse = await WarehouseAsync();

        var e = await Assert.ThrowsAsync<WarehouseException>(() => warehouse.EnsureTableAsync(Trades with { Columns = [.. Trades.Columns.Take(6)] }, Ct));

        Assert.Contains("different definition", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnsureTable_InvalidIdentifier_Throws()
    {
        var warehouse = await WarehouseAsync();

        await Assert.ThrowsAsync<WarehouseException>(() => warehouse.EnsureTableAsync(Trades with { Name = "trades\"; DROP TABLE x; --" }, Ct));
    }

    [Fact]
    public async Task Merge_TieBreakOnDatabaseWithLocaleCollation_StillCodePointOrder()
    {
        // An ICU en-US database sorts "alpha" before "Zeta"; the tie-break must not follow it (SQLite and Redshift compare bytes).
        postgres.RequireAvailable();
        var database = "icu_" + Guid.NewGuid().ToString("N")[..12];
        await using (var admin = new Npgsql.NpgsqlConnection(postgres.ConnectionString))
        {
            await admin.OpenAsync(Ct);
            await using var create = new Npgsql.NpgsqlCommand($"CREATE DATABASE {database} TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'", admin);
            await create.ExecuteNonQueryAsync(Ct);
            await using var order = new Npgsql.NpgsqlCommand($"SELECT 'alpha' < 'Zeta' COLLATE \"en-US-x-icu\"", admin);
            Assert.True((bool)(await order.ExecuteScalarAsync(Ct))!, "the ICU collation should put alpha first");
        }

        var connection = new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Database = database }.ConnectionString;
        var warehouse = new PostgresWarehouse(new PostgresWarehouseOptions { ConnectionString = connection, Schema = "tb" });
        var table = Trades with { TieBreak = ["trade_date", "executed_at", "note"] };
        table = table with { Columns = [.. table.Columns.Take(6), new ColumnDefinition("note", ColumnType.Text)] };
        await warehouse.EnsureTableAsync(table, Ct);
        await warehouse.MergeAsync([new MergeBatch(table, [Row("T1", 1, note: "alpha")])], Ct);
        await warehouse.MergeAsync([new MergeBatch(table, [Row("T1", 1, note: "Zeta")])], Ct);
        await warehouse.MergeAsync([new MergeBatch(table, [Row("T2", 1, note: "alpha"), Row("T2", 1, note: "Zeta"), Row("T2", 1, note: "alpha")])], Ct);

        var rows = (await warehouse.QueryAsync("SELECT trade_id, note FROM trades ORDER BY trade_id", cancellationToken: Ct)).Rows;
        Assert.Equal([["T1", "Zeta"], ["T2", "Zeta"]], rows);
        await warehouse.DisposeAsync();
    }

    private async Task<PostgresWarehouse> WarehouseAsync()
    {
        postgres.RequireAvailable();
        var schema = "t_" + Guid.NewGuid().ToString("N")[..12];
        var warehouse = new PostgresWarehouse(new PostgresWarehouseOptions { ConnectionString = postgres.ConnectionString, Schema = schema });
        await warehouse.EnsureTableAsync(Trades, Ct);
        return warehouse;
    }
}
