namespace Pipeline.Providers.Abstractions;

/// <summary>Validates <see cref="TableDefinition.TieBreak"/> and compares tie-break values the way every warehouse must.</summary>
public static class TieBreakRules
{
    /// <summary>
    /// SQL for "incoming tie-break values &lt;= stored ones", column by column (lexicographic), or null without
    /// columns. <paramref name="columns"/> are quoted identifiers, each with the suffix its dialect needs to compare
    /// by code point (e.g. <c> COLLATE "C"</c> for PostgreSQL text, empty where binary order is the default).
    /// </summary>
    public static string? NotGreaterSql(IReadOnlyList<(string Quoted, string Collate)> columns, string incoming, string stored)
    {
        ArgumentNullException.ThrowIfNull(columns);
        if (columns.Count == 0)
        {
            return null;
        }

        string Cmp((string Quoted, string Collate) c, string op) => $"{incoming}.{c.Quoted}{c.Collate} {op} {stored}.{c.Quoted}{c.Collate}";
        var sql = Cmp(columns[^1], "<=");
        for (var i = columns.Count - 2; i >= 0; i--)
        {
            sql = $"({Cmp(columns[i], "<")} OR ({incoming}.{columns[i].Quoted} = {stored}.{columns[i].Quoted} AND {sql}))";
        }

        return sql;
    }

    /// <summary>The tie-break columns' indexes in the table (empty when none).</summary>
    /// <exception cref="WarehouseException">When a column is unknown, nullable, of another type, a key or the version column, or named twice.</exception>
    public static int[] Resolve(TableDefinition table)
    {
        ArgumentNullException.ThrowIfNull(table);
        if (table.TieBreak is not { } columns)
        {
            return [];
        }

        var indexes = new int[columns.Count];
        for (var n = 0; n < columns.Count; n++)
        {
            var name = columns[n];
            var index = -1;
            for (var i = 0; i < table.Columns.Count; i++)
            {
                if (string.Equals(table.Columns[i].Name, name, StringComparison.Ordinal))
                {
                    index = i;
                }
            }

            if (index < 0)
            {
                throw new WarehouseException($"Tie-break column '{name}' is not a column of table '{table.Name}'.");
            }

            var column = table.Columns[index];
            if (column.Nullable || column.Type is not (ColumnType.Text or ColumnType.Integer or ColumnType.Date or ColumnType.Timestamp))
            {
                throw new WarehouseException($"Tie-break column '{table.Name}.{name}' must be a non-nullable Text, Integer, Date or Timestamp column (it is {(column.Nullable ? "nullable " : string.Empty)}{column.Type}).");
            }

            if (table.Key.Contains(name, StringComparer.Ordinal) || string.Equals(table.VersionColumn, name, StringComparison.Ordinal) || Array.IndexOf(indexes, index, 0, n) >= 0)
            {
                throw new WarehouseException($"Tie-break column '{table.Name}.{name}' is a key column, the version column or named twice: a tie-break names other columns, once each.");
            }

            indexes[n] = index;
        }

        return indexes;
    }

    /// <summary>
    /// Compares two values of one tie-break column: strings by Unicode code point (= UTF-8 byte order; ordinal UTF-16
    /// order differs for characters above U+FFFF), integers, dates and instants by value.
    /// </summary>
    public static int Compare(object? a, object? b) => (a, b) switch
    {
        (string x, string y) => CompareCodePoints(x, y),
        (long x, long y) => x.CompareTo(y),
        (int x, int y) => x.CompareTo(y),
        (long x, int y) => x.CompareTo(y),
        (int x, long y) => ((long)x).CompareTo(y),
        (DateOnly x, DateOnly y) => x.CompareTo(y),
        (DateTimeOffset x, DateTimeOffset y) => x.UtcTicks.CompareTo(y.UtcTicks),
        _ => throw new WarehouseException($"Tie-break values {a?.GetType().Name ?? "null"} and {b?.GetType().Name ?? "null"} cannot be compared."),
    };

    /// <summary>Compares the tie-break columns of two rows in order; negative when <paramref name="a"/> wins.</summary>
    public static int Compare(int[] indexes, object?[] a, object?[] b)
    {
        ArgumentNullException.ThrowIfNull(indexes);
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        foreach (var i in indexes)
        {
            var c = Compare(a[i], b[i]);
            if (c != 0)
            {
                return c;
            }
        }

        return 0;
    }

    public static int CompareCodePoints(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var n = Math.Min(a.Length, b.Length);
        for (var i = 0; i < n; i++)
        {
            var x = a[i];
            var y = b[i];
            if (x != y)
            {
                // Surrogates (U+D800..U+DFFF) encode code points above U+FFFF, which sort after every BMP character.
                var xs = char.IsSurrogate(x);
                var ys = char.IsSurrogate(y);
                return xs == ys ? x.CompareTo(y) : xs ? 1 : -1;
            }
        }

        return a.Length.CompareTo(b.Length);
    }
}
