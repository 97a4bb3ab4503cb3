using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Postgres.Internal;

/// <summary>Checks a table definition before any SQL is built from it.</summary>
internal static class TableShape
{
    public static void Validate(TableDefinition table)
    {
        SqlIdentifier.Quote(table.Name);
        if (table.Columns.Count == 0)
        {
            throw new WarehouseException($"Table {table.Name} has no columns.");
        }

        var names = new HashSet<string>(StringComparer.Ordinal);
        foreach (var c in table.Columns)
        {
            SqlIdentifier.Quote(c.Name);
            if (!names.Add(c.Name))
            {
                throw new WarehouseException($"Table {table.Name} defines column {c.Name} twice.");
            }
        }

        if (table.Key.Count == 0)
        {
            throw new WarehouseException($"Table {table.Name} has no key: merges need the business key columns.");
        }

        foreach (var k in table.Key)
        {
            var column = table.Columns.FirstOrDefault(c => c.Name == k)
                ?? throw new WarehouseException($"Key column {k} is not a column of table {table.Name}.");
            if (column.Nullable)
            {
                throw new WarehouseException($"Key column {table.Name}.{k} is nullable: business keys must be NOT NULL.");
            }
        }

        if (table.VersionColumn is { } v && table.Columns.FirstOrDefault(c => c.Name == v) is not { Type: ColumnType.Integer, Nullable: false })
        {
            throw new WarehouseException($"Version column {table.Name}.{v} must be a non-nullable Integer column of the table.");
        }
    }
}
