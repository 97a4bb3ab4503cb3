using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Tests;

/// <summary>What the SQLite warehouse takes beyond the contract's value types, and how it stores it.</summary>
public sealed class SqliteWarehouseTests : IDisposable
{
    private static readonly TableDefinition Table = new(
        "mixed",
        [
            new ColumnDefinition("id", ColumnType.Text),
            new ColumnDefinition("version", ColumnType.Integer),
            new ColumnDefinition("small", ColumnType.Integer),
            new ColumnDefinition("amount", ColumnType.Decimal),
            new ColumnDefinition("day", ColumnType.Date),
            new ColumnDefinition("at", ColumnType.Timestamp),
            new ColumnDefinition("flag", ColumnType.Boolean),
        ],
        ["id"],
        "version",
        TieBreak: ["at"]);

    private readonly TempDataRoot root = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => root.Dispose();

    [Fact]
    public async Task MergeAsync_IntShortDateTimeAndIntegerDecimals_StoredAsTheirValues()
    {
        using var warehouse = new SqliteWarehouse(root.Options());
        await warehouse.EnsureTableAsync(Table, Ct);
        var at = new DateTime(2026, 12, 6, 18, 0, 0, DateTimeKind.Utc);

        // An int version, a DateTime tie-break and an int key are compared in their long/DateTimeOffset forms: the
        // later DateTime loses the tie of "a" against the earlier DateTimeOffset, whatever the order.
        await warehouse.MergeAsync([new MergeBatch(Table, [
            ["a", 1, (short)7, 5, new DateOnly(2026, 12, 6), at.AddSeconds(1), true],
            ["a", 1L, 8L, 2.50m, new DateOnly(2026, 12, 7), new DateTimeOffset(at), false],
            ["b", 2, 9, 12L, new DateOnly(2026, 12, 8), at, true],
        ])], Ct);

        var rows = (await warehouse.QueryAsync("SELECT id, version, small, amount, day, at, flag FROM mixed ORDER BY id", null, Ct)).Rows;
        Assert.Equal(["a", 1L, 8L, 2.5m, new DateOnly(2026, 12, 7), new DateTimeOffset(at), false], rows[0]);
        Assert.Equal(["b", 2L, 9L, 12m, new DateOnly(2026, 12, 8), new DateTimeOffset(at), true], rows[1]);
        var text = (await warehouse.QueryAsync("SELECT CAST(amount AS TEXT), CAST(day AS TEXT), CAST(at AS TEXT) FROM mixed WHERE id = 'b'", null, Ct)).Rows;
        Assert.Equal(["12", "2026-12-08", "2026-12-06T18:00:00.0000000Z"], Assert.Single(text));
    }

    [Fact]
    public async Task MergeAsync_ReplaceWhereOnNonKeyColumns_ComparesStoredForms()
    {
        using var warehouse = new SqliteWarehouse(root.Options());
        await warehouse.EnsureTableAsync(Table, Ct);
        var at = new DateTimeOffset(2026, 12, 6, 18, 0, 0, TimeSpan.Zero);
        await warehouse.MergeAsync([new MergeBatch(Table, [["a", 1L, 1L, 1.5m, new DateOnly(2026, 12, 6), at, true], ["b", 1L, 1L, 1.5m, new DateOnly(2026, 12, 7), at, true]])], Ct);

        // 1.50 and 1.5 store alike, so the row belongs to the partition amount = 1.5 on day 2026-12-06.
        await warehouse.MergeAsync([new MergeBatch(Table, [["c", 1L, 1L, 1.50m, new DateOnly(2026, 12, 6), at, false]])
        {
            ReplaceWhere = new Dictionary<string, object?> { ["amount"] = 1.5m, ["day"] = new DateOnly(2026, 12, 6) },
        }], Ct);

        var ids = (await warehouse.QueryAsync("SELECT id FROM mixed ORDER BY id", null, Ct)).Rows.Select(r => r[0]);
        Assert.Equal(["b", "c"], ids);
        await Assert.ThrowsAsync<WarehouseException>(() => warehouse.MergeAsync([new MergeBatch(Table, [["d", 1L, 1L, 2m, new DateOnly(2026, 12, 6), at, false]])
        {
            ReplaceWhere = new Dictionary<string, object?> { ["amount"] = 1.5m },
        }], Ct));
    }
}
