namespace Pipeline.Providers.Abstractions;

/// <summary>One <see cref="TableDefinition.CurrentVersionOf"/> rule of a merge: rows of <paramref name="Table"/> follow <paramref name="Of"/>.</summary>
public sealed record CurrentVersionRule(TableDefinition Table, TableDefinition Of);

/// <summary>Validates and lists the <see cref="TableDefinition.CurrentVersionOf"/> rules of a merge (shared by every warehouse).</summary>
public static class CurrentVersionRules
{
    /// <summary>One rule per table of the merge that declares CurrentVersionOf, in first-seen order.</summary>
    /// <exception cref="WarehouseException">When a rule cannot be applied (no version column, other table absent or differently keyed).</exception>
    public static IReadOnlyList<CurrentVersionRule> Resolve(IReadOnlyList<MergeBatch> batches)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var byName = new Dictionary<string, TableDefinition>(StringComparer.Ordinal);
        foreach (var batch in batches)
        {
            byName.TryAdd(batch.Table.Name, batch.Table);
        }

        var rules = new List<CurrentVersionRule>();
        foreach (var table in byName.Values)
        {
            if (table.CurrentVersionOf is not { } name)
            {
                continue;
            }

            if (table.VersionColumn is null)
            {
                throw new WarehouseException($"Table '{table.Name}' declares CurrentVersionOf = '{name}' but has no version column: set VersionColumn.");
            }

            if (string.Equals(name, table.Name, StringComparison.Ordinal))
            {
                throw new WarehouseException($"Table '{table.Name}' declares CurrentVersionOf itself: name the table whose current version it follows.");
            }

            if (!byName.TryGetValue(name, out var of))
            {
                throw new WarehouseException($"Table '{table.Name}' follows the current version of '{name}' (CurrentVersionOf), so a merge with a batch of '{table.Name}' must also hold a batch of '{name}' (possibly empty). Add it to the same MergeAsync call.");
            }

            if (of.VersionColumn is null || !of.Key.SequenceEqual(table.Key, StringComparer.Ordinal) || !table.Key.All(k => TypeOf(table, k) == TypeOf(of, k)))
            {
                throw new WarehouseException($"Table '{table.Name}' follows the current version of '{name}' (CurrentVersionOf), which needs the same key columns ({string.Join(", ", table.Key)}) and a version column in '{name}' of the same types (it has key {string.Join(", ", of.Key)}, version column {of.VersionColumn ?? "none"}).");
            }

            foreach (var column in table.TieBreak ?? [])
            {
                if (TypeOf(table, column) is not { } type || TypeOf(of, column) != type)
                {
                    throw new WarehouseException($"Table '{table.Name}' follows the current version of '{name}' and breaks ties on '{column}', so '{name}' needs a column '{column}' of the same type: the projection keeps only the row '{name}' chose.");
                }
            }

            rules.Add(new CurrentVersionRule(table, of));
        }

        return rules;
    }

    private static ColumnType? TypeOf(TableDefinition table, string column) =>
        table.Columns.FirstOrDefault(c => string.Equals(c.Name, column, StringComparison.Ordinal))?.Type;
}
