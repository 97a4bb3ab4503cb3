using Pipeline.Providers.Abstractions;

namespace Pipeline.TestKit.Warehouse;

/// <summary>A small versioned table with one column of every contract type, shared by warehouse provider tests.</summary>
public static class SampleTrades
{
    public static readonly TableDefinition Table = new(
        "trades",
        [
            new("trade_id", ColumnType.Text),
            new("version", ColumnType.Integer),
            new("amount", ColumnType.Decimal),
            new("booked", ColumnType.Boolean),
            new("trade_date", ColumnType.Date),
            new("executed_at", ColumnType.Timestamp),
            new("note", ColumnType.Text, Nullable: true),
        ],
        ["trade_id"],
        "version");

    public static object?[] Row(string id, long version, decimal amount = 1.5m, string? note = null) =>
        [id, version, amount, true, new DateOnly(2026, 11, 21), new DateTimeOffset(2026, 11, 21, 9, 30, 0, TimeSpan.FromHours(1)), note];
}
