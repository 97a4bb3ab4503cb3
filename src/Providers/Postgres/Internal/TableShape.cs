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

        TieBreakRules.Resolve(table);
    }

    /// <summary>The columns and values of a ReplaceWhere set; throws when a column is unknown, a value null/mistyped, or a row outside it.</summary>
    public static IReadOnlyList<(ColumnDefinition Column, object Value)> Partition(TableDefinition table, IReadOnlyDictionary<string, object?> where, IReadOnlyList<object?[]> rows)
    {
        if (where.Count == 0)
        {
            throw new WarehouseException($"ReplaceWhere for table {table.Name} is empty; it would delete the whole table. Name the partition's columns and values, or leave ReplaceWhere null.");
        }

        var result = new List<(ColumnDefinition, object)>();
        var indexes = new List<int>();
        foreach (var (name, value) in where)
        {
            var index = table.Columns.ToList().FindIndex(c => c.Name == name);
            if (index < 0)
            {
                throw new WarehouseException($"ReplaceWhere column {name} is not a column of table {table.Name}.");
            }

            var column = table.Columns[index];
            var normal = Normal(column.Type, value);
            var fits = (column.Type, normal) switch
            {
                (ColumnType.Text, string) or (ColumnType.Integer, long) or (ColumnType.Decimal, decimal) or (ColumnType.Boolean, bool)
                    or (ColumnType.Date, DateOnly) or (ColumnType.Timestamp, DateTimeOffset) => true,
                _ => false,
            };
            if (!fits)
            {
                throw new WarehouseException($"ReplaceWhere value of {table.Name}.{name} must be a non-null {column.Type}, not {value?.GetType().Name ?? "null"}.");
            }

            result.Add((column, normal!));
            indexes.Add(index);
        }

        foreach (var row in rows)
        {
            for (var i = 0; i < indexes.Count; i++)
            {
                if (row.Length != table.Columns.Count || !Equals(Normal(result[i].Item1.Type, row[indexes[i]]), result[i].Item2))
                {
                    throw new WarehouseException($"A row for table {table.Name} has {result[i].Item1.Name} = '{(row.Length > indexes[i] ? row[indexes[i]] : null)}' outside the partition being replaced ('{result[i].Item2}'). Every row of a ReplaceWhere batch must belong to its partition.");
                }
            }
        }

        return result;
    }

    private static object? Normal(ColumnType type, object? value) => (type, value) switch
    {
        (ColumnType.Integer, int n) => (long)n,
        (ColumnType.Decimal, int n) => (decimal)n,
        (ColumnType.Decimal, long l) => (decimal)l,
        (ColumnType.Timestamp, DateTimeOffset t) => t.ToUniversalTime(),
        _ => value,
    };
}
