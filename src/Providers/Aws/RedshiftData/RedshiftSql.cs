using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Aws.RedshiftData;

/// <summary>The SQL statements of one merge: load calls (stage + INSERTs), then one final call that merges and drops.</summary>
internal sealed record MergePlan(IReadOnlyList<IReadOnlyList<string>> LoadCalls, IReadOnlyList<string> MergeCall, IReadOnlyList<string> StageTables, IReadOnlyDictionary<string, long> Received, IReadOnlyList<MergeStatementRole> MergeRoles);

/// <summary>What each statement of the final call is, so sub-statement row counts map back to tables.</summary>
internal sealed record MergeStatementRole(string Table, bool CountsWritten);

/// <summary>
/// Redshift-dialect SQL for the warehouse. BatchExecuteStatement takes no parameters, so rows travel as literals:
/// every value is rendered from its typed .NET value (long/decimal with the invariant culture, dates and
/// timestamps in ISO form inside CAST), strings are single-quoted with ' and \ doubled (Redshift treats \ as an
/// escape character) and NUL rejected; identifiers match ^[a-z_][a-z0-9_]*$ and are double-quoted. No input can
/// end a literal, so no value becomes SQL syntax.
/// </summary>
internal static partial class RedshiftSql
{
    public static bool IsIdentifier(string? name) => name is not null && Identifier().IsMatch(name);

    public static string Quote(string name) =>
        IsIdentifier(name)
            ? "\"" + name + "\""
            : throw new WarehouseException($"'{name}' is not a valid Redshift table or column name: use lowercase letters, digits and '_' (max 127), starting with a letter or '_' (Redshift folds names to lowercase).");

    public static string TypeOf(ColumnType type) => type switch
    {
        ColumnType.Text => "VARCHAR(65535)",
        ColumnType.Integer => "BIGINT",
        ColumnType.Decimal => "DECIMAL(38,10)",
        ColumnType.Boolean => "BOOLEAN",
        ColumnType.Date => "DATE",
        ColumnType.Timestamp => "TIMESTAMPTZ",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown column type."),
    };

    public static string CreateTable(string schema, TableDefinition table)
    {
        var columns = table.Columns.Select(c => $"{Quote(c.Name)} {TypeOf(c.Type)}{(c.Nullable ? string.Empty : " NOT NULL")}");
        // PRIMARY KEY is informational on Redshift (not enforced): the merge itself keeps keys unique.
        return $"CREATE TABLE IF NOT EXISTS {Quote(schema)}.{Quote(table.Name)} ({string.Join(", ", columns)}, PRIMARY KEY ({string.Join(", ", table.Key.Select(Quote))}))";
    }

    /// <summary>
    /// Plans a merge: batches of the same table are combined and collapsed client-side to one row per key
    /// (highest version, then smallest tie-break values; the later row on full ties), loaded into a regular stage table per table (temp tables do
    /// not survive between Data API calls), then merged in ONE final BatchExecuteStatement (one transaction):
    /// UPDATE where incoming version &gt;= stored, INSERT missing keys, DELETE rows of CurrentVersionOf projections
    /// that are no longer current, DROP the stages.
    /// </summary>
    public static MergePlan PlanMerge(string schema, IReadOnlyList<MergeBatch> batches, string token, int maxStatementBytes)
    {
        var s = Quote(schema);
        var loadStatements = new List<string>();
        var merge = new List<string>();
        var roles = new List<MergeStatementRole>();
        var stages = new List<string>();
        var received = new Dictionary<string, long>(StringComparer.Ordinal);
        var deletes = new List<string>();
        var deleteRoles = new List<MergeStatementRole>();
        var drops = new List<string>();
        var stageOf = new Dictionary<string, string>(StringComparer.Ordinal);
        var rules = CurrentVersionRules.Resolve(batches);
        var index = 0;
        foreach (var group in batches.GroupBy(b => b.Table.Name, StringComparer.Ordinal))
        {
            var table = group.First().Table;
            foreach (var other in group)
            {
                if (other.Table.Columns.Count != table.Columns.Count || !other.Table.Columns.Select(c => c.Name).SequenceEqual(table.Columns.Select(c => c.Name), StringComparer.Ordinal))
                {
                    throw new WarehouseException($"Two batches for table {table.Name} have different column lists: merge batches of one table with one definition.");
                }
            }

            Validate(table);
            foreach (var batch in group)
            {
                if (batch.ReplaceWhere is { } where)
                {
                    deletes.Add(DeletePartition($"{s}.{Quote(table.Name)}", table, where, batch.Rows));
                    deleteRoles.Add(new MergeStatementRole(table.Name, CountsWritten: false));
                }
            }

            var rows = Collapse(table, group.SelectMany(b => b.Rows));
            received[table.Name] = rows.Count;
            if (rows.Count == 0)
            {
                continue;
            }

            var stageName = $"_stage_{token}_{index++}";
            stages.Add(stageName);
            var stage = $"{s}.{Quote(stageName)}";
            stageOf[table.Name] = stage;
            var target = $"{s}.{Quote(table.Name)}";
            var cols = string.Join(", ", table.Columns.Select(c => Quote(c.Name)));
            loadStatements.Add($"CREATE TABLE {stage} ({string.Join(", ", table.Columns.Select(c => $"{Quote(c.Name)} {TypeOf(c.Type)}"))})");
            loadStatements.AddRange(Inserts($"INSERT INTO {stage} ({cols}) VALUES ", table, rows, maxStatementBytes));

            var keyMatch = string.Join(" AND ", table.Key.Select(k => $"{target}.{Quote(k)} = {Quote("s")}.{Quote(k)}"));
            var nonKey = table.Columns.Where(c => !table.Key.Contains(c.Name, StringComparer.Ordinal)).ToList();
            if (nonKey.Count > 0)
            {
                var tie = TieBreakNotGreater(table, Quote("s"), target);
                var versionRule = (table.VersionColumn, tie) switch
                {
                    (null, null) => string.Empty,
                    (null, _) => $" AND {tie}",
                    ({ } v, null) => $" AND {Quote("s")}.{Quote(v)} >= {target}.{Quote(v)}",
                    ({ } v, _) => $" AND ({Quote("s")}.{Quote(v)} > {target}.{Quote(v)} OR ({Quote("s")}.{Quote(v)} = {target}.{Quote(v)} AND {tie}))",
                };
                merge.Add($"UPDATE {target} SET {string.Join(", ", nonKey.Select(c => $"{Quote(c.Name)} = {Quote("s")}.{Quote(c.Name)}"))} FROM {stage} {Quote("s")} WHERE {keyMatch}{versionRule}");
                roles.Add(new MergeStatementRole(table.Name, CountsWritten: true));
            }

            var notExists = string.Join(" AND ", table.Key.Select(k => $"{Quote("t")}.{Quote(k)} = {Quote("s")}.{Quote(k)}"));
            merge.Add($"INSERT INTO {target} ({cols}) SELECT {string.Join(", ", table.Columns.Select(c => $"{Quote("s")}.{Quote(c.Name)}"))} FROM {stage} {Quote("s")} WHERE NOT EXISTS (SELECT 1 FROM {target} {Quote("t")} WHERE {notExists})");
            roles.Add(new MergeStatementRole(table.Name, CountsWritten: true));
            drops.Add($"DROP TABLE {stage}");
        }

        // After every upsert, in the same transaction: projections drop rows that are no longer the current
        // version (keys restricted to this merge's stages of either table); then the stages are dropped.
        foreach (var rule in rules)
        {
            var stagesOfRule = new[] { rule.Table.Name, rule.Of.Name }.Where(stageOf.ContainsKey).Select(n => stageOf[n]).ToList();
            if (stagesOfRule.Count == 0)
            {
                continue;
            }

            var target = $"{s}.{Quote(rule.Table.Name)}";
            var of = $"{s}.{Quote(rule.Of.Name)}";
            var keyMatch = string.Join(" AND ", rule.Table.Key.Select(k => $"{target}.{Quote(k)} = {Quote("o")}.{Quote(k)}"));
            var touched = string.Join(" OR ", stagesOfRule.Select(st => $"EXISTS (SELECT 1 FROM {st} {Quote("s")} WHERE {string.Join(" AND ", rule.Table.Key.Select(k => $"{Quote("s")}.{Quote(k)} = {target}.{Quote(k)}"))})"));
            var version = $"{target}.{Quote(rule.Table.VersionColumn!)}";
            var ofVersion = $"{Quote("o")}.{Quote(rule.Of.VersionColumn!)}";
            var differs = string.Concat((rule.Table.TieBreak ?? []).Select(c => $" OR {target}.{Quote(c)} <> {Quote("o")}.{Quote(c)}"));
            var superseded = differs.Length == 0 ? $"{version} < {ofVersion}" : $"({version} < {ofVersion} OR ({version} = {ofVersion} AND (FALSE{differs})))";
            merge.Add($"DELETE FROM {target} USING {of} {Quote("o")} WHERE {keyMatch} AND {superseded} AND ({touched})");
            roles.Add(new MergeStatementRole(rule.Table.Name, CountsWritten: false));
        }

        merge.AddRange(drops);
        roles.AddRange(drops.Select(_ => new MergeStatementRole(string.Empty, CountsWritten: false)));

        // Partition replaces (ReplaceWhere) run first in the same final transaction, then the merges: the contract's order.
        merge.InsertRange(0, deletes);
        roles.InsertRange(0, deleteRoles);
        if (merge.Count > RedshiftLimits.MaxSqlsPerBatch)
        {
            throw new WarehouseException($"One merge touches too many tables ({merge.Count} statements; the final transaction allows {RedshiftLimits.MaxSqlsPerBatch}, i.e. 13 tables): split the merge.");
        }

        var calls = loadStatements.Chunk(RedshiftLimits.MaxSqlsPerBatch).Select(c => (IReadOnlyList<string>)c).ToList();
        return new MergePlan(calls, merge, stages, received, roles);
    }

    /// <summary>DELETE of one ReplaceWhere partition; throws when a column is unknown, a value null, or a row of the batch outside it.</summary>
    public static string DeletePartition(string target, TableDefinition table, IReadOnlyDictionary<string, object?> where, IReadOnlyList<object?[]> rows)
    {
        if (where.Count == 0)
        {
            throw new WarehouseException($"ReplaceWhere for table {table.Name} is empty; it would delete the whole table. Name the partition's columns and values, or leave ReplaceWhere null.");
        }

        var conditions = new List<string>();
        foreach (var (name, value) in where)
        {
            var index = IndexOf(table, name);
            var column = table.Columns[index];
            if (value is null)
            {
                throw new WarehouseException($"ReplaceWhere value of {table.Name}.{name} must be a non-null {column.Type}.");
            }

            // Compare rendered literals: the same typed value renders the same SQL text.
            var literal = Literal(column with { Nullable = false }, value, table.Name);
            foreach (var row in rows)
            {
                if (row.Length != table.Columns.Count || Literal(column with { Nullable = true }, row[index], table.Name) != literal)
                {
                    throw new WarehouseException($"A row for table {table.Name} has {name} outside the partition being replaced ({literal}). Every row of a ReplaceWhere batch must belong to its partition.");
                }
            }

            conditions.Add($"{Quote(name)} = {literal}");
        }

        return $"DELETE FROM {target} WHERE {string.Join(" AND ", conditions)}";
    }

    public static string Literal(ColumnDefinition column, object? value, string table)
    {
        if (value is null)
        {
            return column.Nullable ? "NULL" : throw new WarehouseRejectedException($"Column {table}.{column.Name} is not nullable but a row has null. Quarantine such rows before merging.");
        }

        return (column.Type, value) switch
        {
            (ColumnType.Text, string text) => StringLiteral(text, table, column.Name),
            (ColumnType.Integer, long l) => l.ToString(CultureInfo.InvariantCulture),
            (ColumnType.Integer, int n) => n.ToString(CultureInfo.InvariantCulture),
            (ColumnType.Decimal, decimal d) => WarehouseDomain.DecimalProblem(d) is { } problem
                ? throw new WarehouseRejectedException($"Column {table}.{column.Name} holds a decimal outside the warehouse domain ({problem}; expected {WarehouseDomain.DecimalExpectation}); Redshift would round it. Quarantine such rows before merging.")
                : d.ToString(CultureInfo.InvariantCulture),
            (ColumnType.Decimal, long l) => l.ToString(CultureInfo.InvariantCulture),
            (ColumnType.Boolean, bool b) => b ? "TRUE" : "FALSE",
            (ColumnType.Date, DateOnly date) => $"CAST('{date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)}' AS DATE)",
            (ColumnType.Timestamp, DateTimeOffset ts) => $"CAST('{ts.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture)}+00' AS TIMESTAMPTZ)",
            _ => throw new WarehouseException($"Column {table}.{column.Name} is {column.Type} but a row holds a {value.GetType().Name}. Convert the value to the column's type before merging."),
        };
    }

    public static string StringLiteral(string text, string table, string column)
    {
        if (WarehouseDomain.TextProblem(text) is { } problem)
        {
            throw new WarehouseException($"A value of {table}.{column} contains {problem}, which Redshift cannot store. Quarantine the row.");
        }

        return "'" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("'", "''", StringComparison.Ordinal) + "'";
    }

    private static List<object?[]> Collapse(TableDefinition table, IEnumerable<object?[]> rows)
    {
        var keyIndexes = table.Key.Select(k => IndexOf(table, k)).ToArray();
        var versionIndex = table.VersionColumn is { } v ? IndexOf(table, v) : -1;
        var tieBreak = TieBreakRules.Resolve(table);
        var byKey = new Dictionary<string, (long Order, object?[] Row)>(StringComparer.Ordinal);
        long order = 0;
        foreach (var row in rows)
        {
            if (row.Length != table.Columns.Count)
            {
                throw new WarehouseException($"A row for table {table.Name} has {row.Length} values; the table definition has {table.Columns.Count} columns.");
            }

            var key = string.Join('\u001f', keyIndexes.Select(i => Literal(table.Columns[i], row[i], table.Name)));
            if (!byKey.TryGetValue(key, out var existing))
            {
                byKey[key] = (order, row);
            }
            else
            {
                // Higher version wins; on the same version the smaller tie-break values; on a full tie the later row.
                var byVersion = versionIndex < 0 ? 0 : Version(row[versionIndex]).CompareTo(Version(existing.Row[versionIndex]));
                if (byVersion > 0 || (byVersion == 0 && TieBreakRules.Compare(tieBreak, row, existing.Row) <= 0))
                {
                    byKey[key] = (order, row);
                }
            }

            order++;
        }

        return byKey.Values.OrderBy(e => e.Order).Select(e => e.Row).ToList();
    }

    /// <summary>
    /// "incoming tie-break values &lt;= stored ones", column by column, or null without a tie-break. Redshift compares
    /// strings in binary UTF-8 order (it has no locale collations), as SQLite does and PostgreSQL with COLLATE "C".
    /// </summary>
    private static string? TieBreakNotGreater(TableDefinition table, string incoming, string stored) =>
        TieBreakRules.NotGreaterSql((table.TieBreak ?? []).Select(c => (Quote(c), string.Empty)).ToList(), incoming, stored);

    private static IEnumerable<string> Inserts(string prefix, TableDefinition table, List<object?[]> rows, int maxBytes)
    {
        var sql = new StringBuilder(prefix);
        var bytes = Encoding.UTF8.GetByteCount(prefix);
        var count = 0;
        foreach (var row in rows)
        {
            var tuple = "(" + string.Join(", ", row.Select((v, i) => Literal(table.Columns[i], v, table.Name))) + ")";
            var tupleBytes = Encoding.UTF8.GetByteCount(tuple) + 2;
            if (Encoding.UTF8.GetByteCount(prefix) + tupleBytes > maxBytes)
            {
                throw new WarehouseException($"One row of table {table.Name} is larger than a Redshift Data API statement ({maxBytes} bytes). Load such rows with COPY from S3.");
            }

            if (count > 0 && bytes + tupleBytes > maxBytes)
            {
                yield return sql.ToString();
                sql.Clear().Append(prefix);
                bytes = Encoding.UTF8.GetByteCount(prefix);
                count = 0;
            }

            if (count > 0)
            {
                sql.Append(", ");
            }

            sql.Append(tuple);
            bytes += tupleBytes;
            count++;
        }

        if (count > 0)
        {
            yield return sql.ToString();
        }
    }

    private static void Validate(TableDefinition table)
    {
        Quote(table.Name);
        foreach (var c in table.Columns)
        {
            Quote(c.Name);
        }

        if (table.Key.Count == 0 || table.Key.Any(k => table.Columns.All(c => c.Name != k)))
        {
            throw new WarehouseException($"Table {table.Name} needs key columns that are columns of the table.");
        }

        if (table.VersionColumn is { } v && table.Columns.FirstOrDefault(c => c.Name == v) is not { Type: ColumnType.Integer })
        {
            throw new WarehouseException($"Version column {table.Name}.{v} must be an Integer column of the table.");
        }

        TieBreakRules.Resolve(table);
    }

    private static int IndexOf(TableDefinition table, string column)
    {
        for (var i = 0; i < table.Columns.Count; i++)
        {
            if (table.Columns[i].Name == column)
            {
                return i;
            }
        }

        throw new WarehouseException($"Column {column} is not a column of table {table.Name}.");
    }

    private static long Version(object? value) => value switch
    {
        long l => l,
        int i => i,
        _ => throw new WarehouseException("The version column holds a non-integer value."),
    };

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,126}$", RegexOptions.CultureInvariant)]
    private static partial Regex Identifier();
}
