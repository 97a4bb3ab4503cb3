using System.Text;
using Microsoft.Data.Sqlite;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded.Internal;
using SQLitePCL;

namespace Pipeline.Providers.Embedded;

/// <summary>
/// The warehouse in one SQLite database (<c>&lt;DataRoot&gt;/warehouse.db</c>, WAL). Merges are upserts with a
/// prepared statement per table, all batches in one IMMEDIATE transaction; queries run on a separate read-only
/// connection and must be a single read-only statement.
/// </summary>
public sealed class SqliteWarehouse : IWarehouse, IDisposable
{
    private readonly SqliteDatabase db;
    private readonly string readOnlyConnectionString;
    // Emptied working collections of earlier merges (a few merges may prepare their rows at the same time).
    private readonly MergeScratch?[] spareScratch = new MergeScratch?[4];

    public SqliteWarehouse(EmbeddedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var error = options.Validate();
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(options));
        }

        // A 32 MB page cache (default 2 MB) keeps the key indexes of million-row tables in memory during merges.
        db = new SqliteDatabase(Path.Combine(options.FullDataRoot, "warehouse.db"), options, c => SqliteDatabase.Exec(c, "PRAGMA cache_size = -32768;"));
        readOnlyConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = db.Path,
            Mode = SqliteOpenMode.ReadOnly,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
    }

    /// <summary>Path of the SQLite file (open it with any SQLite tool to look at the tables).</summary>
    public string DatabasePath => db.Path;

    public async Task EnsureTableAsync(TableDefinition table, CancellationToken cancellationToken = default)
    {
        Validate(table);
        await db.WriteAsync((c, tx) =>
        {
            var existing = ExistingColumns(c, tx, table.Name);
            if (existing.Count == 0)
            {
                SqliteDatabase.Exec(c, CreateTableSql(table), tx);
                return true;
            }

            foreach (var column in table.Columns)
            {
                if (!existing.TryGetValue(column.Name, out var declared) || !string.Equals(declared, WarehouseValues.DeclaredType(column.Type), StringComparison.OrdinalIgnoreCase))
                {
                    throw new WarehouseException($"Table '{table.Name}' exists with a different definition (column '{column.Name}' is {(declared ?? "missing")}, expected {WarehouseValues.DeclaredType(column.Type)}). Migrate or drop the table (file {db.Path}).");
                }
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<MergeResult> MergeAsync(IReadOnlyList<MergeBatch> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);

        // Validate everything before the transaction: a bad value fails the merge with nothing written.
        var prepared = new List<(TableDefinition Table, List<object?[]> Rows, long Received)>(batches.Count);
        var replaces = new List<(TableDefinition Table, (int Index, object Value)[] Where)>();
        // The merge's working collections, kept for the next merge (emptied; they keep their size), so merge after merge
        // does not regrow them.
        var scratch = RentScratch();
        try
        {
            foreach (var batch in batches)
            {
                var rows = Collapse(batch.Table, TablePlan.Of(batch.Table), batch.Rows, scratch);
                prepared.Add((batch.Table, rows, rows.Count));
                if (batch.ReplaceWhere is { } where)
                {
                    replaces.Add((batch.Table, Partition(batch.Table, where, rows)));
                }
            }

            return await WriteAsync(prepared, replaces, CurrentVersionRules.Resolve(batches), scratch, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // No reference to the caller's rows survives the call (the caller may reuse its arrays).
            ReturnScratch(scratch);
        }
    }

    private MergeScratch RentScratch()
    {
        for (var i = 0; i < spareScratch.Length; i++)
        {
            if (Interlocked.Exchange(ref spareScratch[i], null) is { } scratch)
            {
                return scratch;
            }
        }

        return new MergeScratch();
    }

    private void ReturnScratch(MergeScratch scratch)
    {
        scratch.Clear();
        for (var i = 0; i < spareScratch.Length; i++)
        {
            if (Interlocked.CompareExchange(ref spareScratch[i], scratch, null) is null)
            {
                return;
            }
        }
    }

    private async Task<MergeResult> WriteAsync(
        List<(TableDefinition Table, List<object?[]> Rows, long Received)> prepared,
        List<(TableDefinition Table, (int Index, object Value)[] Where)> replaces,
        IReadOnlyList<CurrentVersionRule> rules,
        MergeScratch scratch,
        CancellationToken cancellationToken)
    {
        try
        {
            return await db.WriteAsync((c, tx) =>
            {
                // Partition replaces first (all of them), then the merges: the contract's order.
                foreach (var (table, where) in replaces)
                {
                    DeletePartition(c, tx, table, where);
                }

                var counts = new Dictionary<string, TableMergeCounts>(StringComparer.Ordinal);
                foreach (var (table, rows, received) in prepared)
                {
                    var written = Upsert(c, tx, table, rows, scratch);
                    counts[table.Name] = counts.TryGetValue(table.Name, out var sum)
                        ? new TableMergeCounts(sum.Received + received, sum.Written + written, sum.Skipped + received - written)
                        : new TableMergeCounts(received, written, received - written);
                }

                // Last, in the same transaction: projections drop rows that are no longer the current version.
                foreach (var rule in rules)
                {
                    DeleteSuperseded(c, rule, prepared.Where(p => p.Table.Name == rule.Table.Name || p.Table.Name == rule.Of.Name).Select(p => (p.Table, p.Rows)), scratch);
                }

                return new MergeResult(counts);
            }, cancellationToken).ConfigureAwait(false);
        }
        catch (SqliteException ex) when (RejectsRows(ex))
        {
            throw new WarehouseRejectedException($"Merge failed and was rolled back (nothing written to any table): the warehouse refused a row: {ex.Message}", ex);
        }
        catch (SqliteException ex)
        {
            throw new WarehouseException($"Merge failed and was rolled back (nothing written to any table): {ex.Message}. If a table is missing, call EnsureTableAsync first.", ex);
        }
    }

    public async Task<QueryResult> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);

        // Make sure the database file exists (and is in WAL mode) before a read-only connection opens it.
        await db.RunAsync(_ => { }, cancellationToken).ConfigureAwait(false);
        var connection = new SqliteConnection(readOnlyConnectionString);
        await using (connection.ConfigureAwait(false))
        {
            try
            {
                await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
                SqliteDatabase.Exec(connection, "PRAGMA query_only = 1;");
                EnsureSingleReadOnlyStatement(connection, sql);
                using var cmd = connection.CreateCommand();
                cmd.CommandText = sql;
                if (parameters is not null)
                {
                    foreach (var (name, value) in parameters)
                    {
                        cmd.Parameters.AddWithValue(name.StartsWith('@') ? name : "@" + name, WarehouseValues.ToParameter(value));
                    }
                }

                using var reader = await cmd.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                var columns = new string[reader.FieldCount];
                var types = new string[reader.FieldCount];
                for (var i = 0; i < columns.Length; i++)
                {
                    columns[i] = reader.GetName(i);
                    types[i] = reader.GetDataTypeName(i).ToUpperInvariant(); // once per column, not per value
                }

                var rows = new List<object?[]>();
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var row = new object?[columns.Length];
                    for (var i = 0; i < row.Length; i++)
                    {
                        row[i] = WarehouseValues.FromStored(types[i], reader.GetValue(i));
                    }

                    rows.Add(row);
                }

                return new QueryResult(columns, rows);
            }
            catch (SqliteException ex)
            {
                throw new WarehouseQueryException($"Query failed: {ex.Message}", ex);
            }
        }
    }

    public void Dispose() => db.Dispose();

    private static void EnsureSingleReadOnlyStatement(SqliteConnection connection, string sql)
    {
        var first = sql.TrimStart();
        foreach (var banned in (string[])["ATTACH", "DETACH", "PRAGMA", "VACUUM"])
        {
            if (first.StartsWith(banned, StringComparison.OrdinalIgnoreCase))
            {
                throw new WarehouseQueryException($"Only read-only SELECT statements are allowed in QueryAsync; '{banned}' is not.");
            }
        }

        var rc = raw.sqlite3_prepare_v2(connection.Handle, sql, out var stmt, out var tail);
        using (stmt)
        {
            if (rc != raw.SQLITE_OK)
            {
                throw new WarehouseQueryException($"Query does not compile: {raw.sqlite3_errmsg(connection.Handle).utf8_to_string()}");
            }

            if (stmt is null || stmt.IsInvalid)
            {
                throw new WarehouseQueryException("The query is empty.");
            }

            if (raw.sqlite3_stmt_readonly(stmt) == 0)
            {
                throw new WarehouseQueryException("QueryAsync runs read-only statements only; use MergeAsync / EnsureTableAsync to change data.");
            }
        }

        if (!string.IsNullOrWhiteSpace(tail))
        {
            // Whatever follows must be only comments/whitespace: one statement per call.
            raw.sqlite3_prepare_v2(connection.Handle, tail, out var next, out _);
            using (next)
            {
                if (next is not null && !next.IsInvalid)
                {
                    throw new WarehouseQueryException("QueryAsync runs exactly one statement; remove the text after the first ';'.");
                }
            }
        }
    }

    private static void Validate(TableDefinition table)
    {
        ArgumentNullException.ThrowIfNull(table);
        WarehouseValues.ValidateIdentifier(table.Name);
        if (table.Columns.Count == 0)
        {
            throw new WarehouseException($"Table '{table.Name}' has no columns.");
        }

        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        foreach (var column in table.Columns)
        {
            WarehouseValues.ValidateIdentifier(column.Name);
            if (!names.Add(column.Name))
            {
                throw new WarehouseException($"Table '{table.Name}' declares column '{column.Name}' twice.");
            }
        }

        if (table.Key.Count == 0)
        {
            throw new WarehouseException($"Table '{table.Name}' has no key columns; merges need a business key.");
        }

        foreach (var key in table.Key)
        {
            if (!names.Contains(key))
            {
                throw new WarehouseException($"Key column '{key}' of table '{table.Name}' is not one of its columns.");
            }
        }

        if (table.VersionColumn is { } version)
        {
            var column = table.Columns.FirstOrDefault(c => string.Equals(c.Name, version, StringComparison.OrdinalIgnoreCase));
            if (column is null || column.Type != ColumnType.Integer || column.Nullable)
            {
                throw new WarehouseException($"Version column '{version}' of table '{table.Name}' must be a non-nullable Integer column of the table.");
            }
        }

        TieBreakRules.Resolve(table);
    }

    private static string CreateTableSql(TableDefinition table)
    {
        var sql = new StringBuilder("CREATE TABLE IF NOT EXISTS ").Append(WarehouseValues.QuoteIdentifier(table.Name)).Append(" (");
        foreach (var column in table.Columns)
        {
            sql.Append(WarehouseValues.QuoteIdentifier(column.Name)).Append(' ').Append(WarehouseValues.DeclaredType(column.Type));
            if (!column.Nullable)
            {
                sql.Append(" NOT NULL");
            }

            sql.Append(", ");
        }

        sql.Append("PRIMARY KEY (").AppendJoin(", ", table.Key.Select(WarehouseValues.QuoteIdentifier)).Append("));");
        return sql.ToString();
    }

    private static Dictionary<string, string> ExistingColumns(SqliteConnection c, SqliteTransaction tx, string table)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT name, type FROM pragma_table_info($t);";
        cmd.Parameters.AddWithValue("$t", table);
        using var r = cmd.ExecuteReader();
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (r.Read())
        {
            map[r.GetString(0)] = r.GetString(1);
        }

        return map;
    }

    /// <summary>Errors about the rows themselves (constraint, trigger RAISE, type mismatch, too big): retrying them fails again.</summary>
    private static bool RejectsRows(SqliteException ex) => ex.SqliteErrorCode is 18 or 19 or 20;

    /// <summary>
    /// Validates rows and keeps, per key, the row with the highest version, then the smallest tie-break values, then
    /// the last one. The rows kept are the caller's arrays, unless a key, version or tie-break value needs another
    /// form to be compared (a key's stored form: text or integer; a version as long; tie-break text, long, DateOnly or
    /// DateTimeOffset): then a copy holds that form. Other values are encoded when bound (<see cref="Bind"/>), so a
    /// merge makes no stored copy of a row or a value.
    /// </summary>
    private static List<object?[]> Collapse(TableDefinition table, TablePlan plan, IReadOnlyList<object?[]> rows, MergeScratch scratch)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var (keyIndexes, versionIndex, tieBreak, compared) = (plan.KeyIndexes, plan.VersionIndex, plan.TieBreak, plan.Compared);
        var result = scratch.RentList(rows.Count);
        var byKey = scratch.Keys(keyIndexes, rows.Count);
        var encoder = scratch.Encoder;
        try
        {
            for (var r = 0; r < rows.Count; r++)
            {
                var row = rows[r];
                if (row is null || row.Length != table.Columns.Count)
                {
                    throw new WarehouseException($"Row {r} for table '{table.Name}' has {row?.Length ?? 0} values; the table has {table.Columns.Count} columns (one value per column, in definition order).");
                }

                for (var i = 0; i < row.Length; i++)
                {
                    var column = table.Columns[i];
                    if (row[i] is not { } value)
                    {
                        if (!column.Nullable)
                        {
                            throw new WarehouseRejectedException($"Row {r} for table '{table.Name}': column '{column.Name}' is not nullable but the value is null.");
                        }

                        continue;
                    }

                    if (WarehouseDomain.ValueProblem(column.Type, value) is { } problem)
                    {
                        throw new WarehouseRejectedException($"Row {r} for table '{table.Name}': column '{column.Name}' holds a value outside the warehouse domain ({problem}). Quarantine such rows before merging.");
                    }

                    if (!WarehouseValues.Fits(column.Type, value))
                    {
                        throw new WarehouseRejectedException($"Row {r} for table '{table.Name}': column '{column.Name}' is {column.Type} but the value is a {value.GetType().Name}. Use string, long, decimal, bool, DateOnly or DateTimeOffset.");
                    }
                }

                var stored = row;
                for (var n = 0; n < compared.Length; n++)
                {
                    var i = compared[n];
                    if (row[i] is not { } value)
                    {
                        continue;
                    }

                    var form = n < keyIndexes.Length ? encoder.ToStored(table.Columns[i].Type, value) : Comparable(value);
                    if (!ReferenceEquals(form, value))
                    {
                        if (ReferenceEquals(stored, row))
                        {
                            stored = (object?[])row.Clone();
                        }

                        stored[i] = form;
                    }
                }

                if (byKey.TryGetValue(stored, out var at))
                {
                    // Higher version wins; on the same version the smaller tie-break values; on a full tie the later row.
                    var byVersion = versionIndex < 0 ? 0 : ((long)stored[versionIndex]!).CompareTo((long)result[at][versionIndex]!);
                    if (byVersion > 0 || (byVersion == 0 && TieBreakRules.Compare(tieBreak, stored, result[at]) <= 0))
                    {
                        result[at] = stored; // the dictionary's key row has the same key values
                    }
                }
                else
                {
                    byKey[stored] = result.Count;
                    result.Add(stored);
                }
            }
        }
        finally
        {
            byKey.Clear();
        }

        return result;
    }

    /// <summary>A version or tie-break value in the form compared (long, string, DateOnly, DateTimeOffset); the value itself when it is.</summary>
    private static object Comparable(object value) => value switch
    {
        int i => (long)i,
        short s => (long)s,
        DateTime t => new DateTimeOffset(t),
        _ => value,
    };

    /// <summary>The stored form of a ReplaceWhere set; throws when a column is unknown, a value null/mistyped, or a row outside it.</summary>
    private static (int Index, object Value)[] Partition(TableDefinition table, IReadOnlyDictionary<string, object?> where, List<object?[]> rows)
    {
        if (where.Count == 0)
        {
            throw new WarehouseException($"ReplaceWhere for table '{table.Name}' is empty; it would delete the whole table. Name the partition's columns and values, or leave ReplaceWhere null.");
        }

        var result = new (int Index, object Value)[where.Count];
        var n = 0;
        foreach (var (name, value) in where)
        {
            var index = IndexOf(table, name);
            var stored = value is null ? null : WarehouseValues.ToStored(table.Columns[index].Type, value);
            result[n++] = (index, stored ?? throw new WarehouseException($"ReplaceWhere value of '{table.Name}.{name}' must be a non-null {table.Columns[index].Type}, not {value?.GetType().Name ?? "null"}."));
        }

        for (var r = 0; r < rows.Count; r++)
        {
            foreach (var (index, value) in result)
            {
                if (!Equals(StoredForm(table.Columns[index].Type, rows[r][index]), value))
                {
                    throw new WarehouseException($"A row for table '{table.Name}' has {table.Columns[index].Name} = '{rows[r][index]}' outside the partition being replaced ('{value}'). Every row of a ReplaceWhere batch must belong to its partition.");
                }
            }
        }

        return result;
    }

    /// <summary>The stored form of a value of a collapsed row (which holds a key's stored form, other values as given).</summary>
    private static object? StoredForm(ColumnType type, object? value) => (type, value) switch
    {
        (_, null) => null,
        (_, string) => value,
        (ColumnType.Boolean, long) => value,
        _ => WarehouseValues.ToStored(type, value),
    };

    private static void DeletePartition(SqliteConnection c, SqliteTransaction tx, TableDefinition table, (int Index, object Value)[] where)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM " + WarehouseValues.QuoteIdentifier(table.Name) + " WHERE "
            + string.Join(" AND ", where.Select((w, i) => $"{WarehouseValues.QuoteIdentifier(table.Columns[w.Index].Name)} = $w{i}")) + ";";
        for (var i = 0; i < where.Length; i++)
        {
            cmd.Parameters.AddWithValue("$w" + i, where[i].Value);
        }

        cmd.ExecuteNonQuery();
    }

    /// <summary>Deletes rows of the rule's table, among the touched keys, whose version is lower than the other table's.</summary>
    private static void DeleteSuperseded(SqliteConnection c, CurrentVersionRule rule, IEnumerable<(TableDefinition Table, List<object?[]> Rows)> touched, MergeScratch scratch)
    {
        // Raw SQLite API as in Upsert: one prepared statement, keys bound by index (one delete per touched key).
        var sql = TablePlan.Of(rule.Table).SupersededSql(rule.Of);
        var db = c.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, sql.AsSpan(), out var stmt);
        using (stmt)
        {
            Check(db, rc);
            var seen = scratch.Seen;
            var keyText = new StringBuilder();
            foreach (var (source, rows) in touched)
            {
                var indexes = rule.Table.Key.Select(k => IndexOf(source, k)).ToArray();
                foreach (var row in rows)
                {
                    var first = indexes.Length == 1 && row[indexes[0]] is string single ? single : CompositeKey(keyText, row, indexes);
                    if (!seen.Add(first))
                    {
                        continue;
                    }

                    for (var i = 0; i < indexes.Length; i++)
                    {
                        rc = row[indexes[i]] switch
                        {
                            long l => raw.sqlite3_bind_int64(stmt, i + 1, l),
                            string text => BindText(stmt, i + 1, text, scratch),
                            var other => raw.sqlite3_bind_text(stmt, i + 1, Convert.ToString(other, System.Globalization.CultureInfo.InvariantCulture)),
                        };
                        Check(db, rc);
                    }

                    rc = raw.sqlite3_step(stmt);
                    if (rc != raw.SQLITE_DONE)
                    {
                        Check(db, rc);
                    }

                    Check(db, raw.sqlite3_reset(stmt));
                }
            }
        }
    }

    /// <summary>The DELETE of <see cref="DeleteSuperseded"/>: rows of the rule's table whose key the other table stores at a higher version (or the same version with other tie-break values).</summary>
    private static string SupersededSql(TableDefinition ruleTable, TableDefinition ruleOf)
    {
        var rule = (Table: ruleTable, Of: ruleOf);
        var table = WarehouseValues.QuoteIdentifier(rule.Table.Name);
        var of = WarehouseValues.QuoteIdentifier(rule.Of.Name);
        var keys = rule.Table.Key.Select(WarehouseValues.QuoteIdentifier).ToArray();
        var version = WarehouseValues.QuoteIdentifier(rule.Table.VersionColumn!);
        var ofVersion = WarehouseValues.QuoteIdentifier(rule.Of.VersionColumn!);
        var differs = string.Concat((rule.Table.TieBreak ?? []).Select(WarehouseValues.QuoteIdentifier).Select(c => $" OR \"o\".{c} <> {table}.{c}"));
        var superseded = differs.Length == 0
            ? $"\"o\".{ofVersion} > {table}.{version}"
            : $"\"o\".{ofVersion} > {table}.{version} OR (\"o\".{ofVersion} = {table}.{version} AND (FALSE{differs}))";
        return $"DELETE FROM {table} WHERE {string.Join(" AND ", keys.Select((k, i) => $"{k} = ?{i + 1}"))} AND EXISTS "
            + $"(SELECT 1 FROM {of} AS \"o\" WHERE {string.Join(" AND ", keys.Select((k, i) => $"\"o\".{k} = ?{i + 1}"))} AND ({superseded}));";
    }

    /// <summary>The text of a composite key ("i" + integer or "s" + text per column, U+001F after each), without intermediate strings.</summary>
    private static string CompositeKey(StringBuilder key, object?[] row, int[] indexes)
    {
        key.Clear();
        foreach (var k in indexes)
        {
            if (row[k] is long l)
            {
                key.Append('i').Append(l);
            }
            else
            {
                key.Append('s').Append(row[k] as string ?? Convert.ToString(row[k], System.Globalization.CultureInfo.InvariantCulture));
            }

            key.Append('\u001f');
        }

        return key.ToString();
    }

    private static long Upsert(SqliteConnection c, SqliteTransaction tx, TableDefinition table, List<object?[]> rows, MergeScratch scratch)
    {
        if (rows.Count == 0)
        {
            return 0;
        }

        var sql = TablePlan.Of(table).UpsertSql;

        // Raw SQLite API: one prepared statement per table per merge, values bound by index. Microsoft.Data.Sqlite's
        // ExecuteNonQuery looks every parameter up by name and builds a reader per row, which cost more than the insert.
        _ = tx;
        var db = c.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, sql.AsSpan(), out var stmt);
        using (stmt)
        {
            Check(db, rc);
            long written = 0;
            foreach (var row in rows)
            {
                for (var i = 0; i < row.Length; i++)
                {
                    Check(db, Bind(stmt, i + 1, table.Columns[i], row[i], scratch, table));
                }

                rc = raw.sqlite3_step(stmt);
                if (rc != raw.SQLITE_DONE)
                {
                    Check(db, rc);
                }

                written += raw.sqlite3_changes(db);
                Check(db, raw.sqlite3_reset(stmt));
            }

            return written;
        }
    }

    private static string UpsertSql(TableDefinition table)
    {
        var quoted = table.Columns.Select(col => WarehouseValues.QuoteIdentifier(col.Name)).ToArray();
        var keySet = new HashSet<string>(table.Key, StringComparer.OrdinalIgnoreCase);
        var sql = new StringBuilder("INSERT INTO ").Append(WarehouseValues.QuoteIdentifier(table.Name))
            .Append(" (").AppendJoin(", ", quoted).Append(") VALUES (")
            .AppendJoin(", ", Enumerable.Range(0, quoted.Length).Select(i => "$p" + i)).Append(") ON CONFLICT (")
            .AppendJoin(", ", table.Key.Select(WarehouseValues.QuoteIdentifier)).Append(") DO ");
        var updates = table.Columns.Where(col => !keySet.Contains(col.Name)).Select(col => $"{WarehouseValues.QuoteIdentifier(col.Name)} = excluded.{WarehouseValues.QuoteIdentifier(col.Name)}").ToList();
        if (updates.Count == 0)
        {
            sql.Append("NOTHING");
        }
        else
        {
            sql.Append("UPDATE SET ").AppendJoin(", ", updates);
            var target = WarehouseValues.QuoteIdentifier(table.Name);
            var tie = TieBreakNotGreater(table, "excluded", target);
            if (table.VersionColumn is { } version)
            {
                var v = WarehouseValues.QuoteIdentifier(version);
                sql.Append(tie is null
                    ? $" WHERE excluded.{v} >= {target}.{v}"
                    : $" WHERE excluded.{v} > {target}.{v} OR (excluded.{v} = {target}.{v} AND {tie})");
            }
            else if (tie is not null)
            {
                sql.Append(" WHERE ").Append(tie);
            }
        }

        return sql.Append(';').ToString();
    }

    /// <summary>
    /// What a merge needs of a table definition, worked out (and the definition validated) once per definition
    /// object, not per merge: the column indexes it compares rows by and its statements' SQL.
    /// </summary>
    private sealed class TablePlan
    {
        private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<TableDefinition, TablePlan> Plans = new();
        private readonly TableDefinition table;
        private Superseded? superseded; // one reference, so threads merging into other databases read it whole

        private TablePlan(TableDefinition table)
        {
            this.table = table;
            KeyIndexes = table.Key.Select(k => IndexOf(table, k)).ToArray();
            VersionIndex = table.VersionColumn is null ? -1 : IndexOf(table, table.VersionColumn);
            TieBreak = TieBreakRules.Resolve(table);
            Compared = [.. KeyIndexes, .. TieBreak, .. (VersionIndex < 0 ? (int[])[] : [VersionIndex])];
            UpsertSql = Utf8z(SqliteWarehouse.UpsertSql(table));
        }

        public int[] KeyIndexes { get; }

        public int VersionIndex { get; }

        public int[] TieBreak { get; }

        /// <summary>The key columns, then the tie-break columns, then the version column.</summary>
        public int[] Compared { get; }

        /// <summary>The upsert statement, UTF-8 and NUL-terminated (prepared per merge without converting the text again).</summary>
        public byte[] UpsertSql { get; }

        /// <summary>The plan of <paramref name="table"/>; validates the definition the first time (a definition is immutable).</summary>
        public static TablePlan Of(TableDefinition table)
        {
            ArgumentNullException.ThrowIfNull(table);
            if (Plans.TryGetValue(table, out var plan))
            {
                return plan;
            }

            Validate(table);
            return Plans.GetValue(table, static t => new TablePlan(t));
        }

        public byte[] SupersededSql(TableDefinition of)
        {
            if (superseded is { } known && ReferenceEquals(known.Of, of))
            {
                return known.Sql;
            }

            var sql = Utf8z(SqliteWarehouse.SupersededSql(table, of));
            superseded = new Superseded(of, sql);
            return sql;
        }

        private static byte[] Utf8z(string sql) => Encoding.UTF8.GetBytes(sql + "\0");

        private sealed record Superseded(TableDefinition Of, byte[] Sql);
    }

    /// <summary>
    /// "incoming tie-break values &lt;= stored ones", column by column, or null without a tie-break. SQLite compares
    /// TEXT with BINARY collation (UTF-8 bytes = code point order); dates and timestamps are fixed-width text.
    /// </summary>
    private static string? TieBreakNotGreater(TableDefinition table, string incoming, string stored) =>
        TieBreakRules.NotGreaterSql((table.TieBreak ?? []).Select(c => (WarehouseValues.QuoteIdentifier(c), string.Empty)).ToList(), incoming, stored);

    /// <summary>
    /// Binds a value of a collapsed row in its stored form (as <see cref="WarehouseValues.ToStored"/> encodes it):
    /// integers and booleans as integers, decimals, dates and timestamps as their text, written into a buffer and not
    /// into a string (a merge binds millions of values).
    /// </summary>
    private static int Bind(sqlite3_stmt stmt, int index, ColumnDefinition column, object? value, MergeScratch scratch, TableDefinition table)
    {
        switch (value)
        {
            case null:
                return raw.sqlite3_bind_null(stmt, index);
            case string s:
                return BindText(stmt, index, s, scratch);
            case long l when column.Type is ColumnType.Integer or ColumnType.Boolean:
                return raw.sqlite3_bind_int64(stmt, index, l);
            case int i when column.Type is ColumnType.Integer:
                return raw.sqlite3_bind_int64(stmt, index, i);
            case short s when column.Type is ColumnType.Integer:
                return raw.sqlite3_bind_int64(stmt, index, s);
            case bool b when column.Type is ColumnType.Boolean:
                return raw.sqlite3_bind_int64(stmt, index, b ? 1 : 0);
            default:
                return BindEncoded(stmt, index, column, value, scratch, table);
        }
    }

    /// <summary>
    /// Binds a decimal, date or timestamp (or an integer in a decimal column) as its stored text. The same value
    /// object bound again in the merge (a record's boxed value is in several tables' rows) reuses the bytes.
    /// </summary>
    private static int BindEncoded(sqlite3_stmt stmt, int index, ColumnDefinition column, object value, MergeScratch scratch, TableDefinition table)
    {
        if (scratch.Encoded(value, out var known))
        {
            return raw.sqlite3_bind_text(stmt, index, known);
        }

        Span<char> text = stackalloc char[WarehouseValues.MaxCanonicalLength];
        int length;
        switch (value)
        {
            case long l when column.Type is ColumnType.Decimal:
                l.TryFormat(text, out length, default, System.Globalization.CultureInfo.InvariantCulture);
                break;
            case int i when column.Type is ColumnType.Decimal:
                i.TryFormat(text, out length, default, System.Globalization.CultureInfo.InvariantCulture);
                break;
            case decimal d when column.Type is ColumnType.Decimal:
                length = WarehouseValues.Canonical(d, text);
                break;
            case DateOnly d when column.Type is ColumnType.Date:
                WarehouseValues.Date(d, text);
                length = WarehouseValues.DateLength;
                break;
            case DateTimeOffset t when column.Type is ColumnType.Timestamp:
                WarehouseValues.Timestamp(t.UtcDateTime, text);
                length = WarehouseValues.TimestampLength;
                break;
            case DateTime t when column.Type is ColumnType.Timestamp && t.Kind == DateTimeKind.Utc:
                WarehouseValues.Timestamp(t, text);
                length = WarehouseValues.TimestampLength;
                break;
            default:
                throw new WarehouseException($"Column '{column.Name}' of table '{table.Name}' holds an unexpected {value.GetType().Name}.");
        }

        return raw.sqlite3_bind_text(stmt, index, scratch.Encode(value, text[..length]));
    }

    /// <summary>Binds text as UTF-8 from a reused buffer (SQLite copies it), so no allocation per value.</summary>
    private static int BindText(sqlite3_stmt stmt, int index, ReadOnlySpan<char> value, MergeScratch scratch)
    {
        var utf8 = scratch.Utf8(Encoding.UTF8.GetMaxByteCount(value.Length));
        var length = Encoding.UTF8.GetBytes(value, utf8);
        return raw.sqlite3_bind_text(stmt, index, utf8.AsSpan(0, length));
    }

    /// <summary>A merge's working collections, emptied and kept for the next merge.</summary>
    private sealed class MergeScratch
    {
        private readonly List<List<object?[]>> lists = [];
        private readonly RowKeyComparer keyComparer = new();
        private readonly Dictionary<object?[], int> keys;
        private readonly Dictionary<object, (int Offset, int Length)> encoded = new(ReferenceEqualityComparer.Instance);
        private int listsInUse;
        private byte[] utf8 = new byte[1024];
        private const int MaxEncodedBytes = 8 << 20;
        private byte[] encodedBytes = new byte[64 * 1024];
        private int encodedLength;

        public MergeScratch()
        {
            keys = new Dictionary<object?[], int>(keyComparer);
        }

        /// <summary>Encodes key values that are not stored as given; a value shared by several tables' keys is encoded once.</summary>
        public StoredValueCache Encoder { get; } = new();

        /// <summary>The keys DeleteSuperseded has handled.</summary>
        public HashSet<string> Seen { get; } = new(StringComparer.Ordinal);

        /// <summary>An empty list for one batch's collapsed rows (held until <see cref="Clear"/>).</summary>
        public List<object?[]> RentList(int capacity)
        {
            if (listsInUse == lists.Count)
            {
                lists.Add(new List<object?[]>(capacity));
            }

            var list = lists[listsInUse++];
            list.EnsureCapacity(capacity);
            return list;
        }

        /// <summary>The empty dictionary of rows by their values in <paramref name="keyIndexes"/> (one batch at a time).</summary>
        public Dictionary<object?[], int> Keys(int[] keyIndexes, int capacity)
        {
            keyComparer.Indexes = keyIndexes;
            keys.EnsureCapacity(capacity);
            return keys;
        }

        public byte[] Utf8(int length)
        {
            if (length > utf8.Length)
            {
                utf8 = new byte[Math.Max(length, utf8.Length * 2)];
            }

            return utf8;
        }

        /// <summary>The UTF-8 text <paramref name="value"/> (this very object) was bound as earlier in the merge.</summary>
        public bool Encoded(object value, out ReadOnlySpan<byte> text)
        {
            if (encoded.TryGetValue(value, out var at))
            {
                text = encodedBytes.AsSpan(at.Offset, at.Length);
                return true;
            }

            text = default;
            return false;
        }

        /// <summary>Remembers <paramref name="value"/>'s text (ASCII) for the rest of the merge; returns it as UTF-8.</summary>
        public ReadOnlySpan<byte> Encode(object value, ReadOnlySpan<char> text)
        {
            if (encodedLength + text.Length > encodedBytes.Length)
            {
                if (encodedBytes.Length < MaxEncodedBytes)
                {
                    // Grown (and kept) to hold a merge's values: the tables' rows are bound table after table.
                    Array.Resize(ref encodedBytes, encodedBytes.Length * 2);
                }
                else
                {
                    // Full: start again (SQLite copied every value bound so far).
                    encoded.Clear();
                    encodedLength = 0;
                }
            }

            var bytes = encodedBytes.AsSpan(encodedLength, Encoding.UTF8.GetBytes(text, encodedBytes.AsSpan(encodedLength)));
            encoded[value] = (encodedLength, bytes.Length);
            encodedLength += bytes.Length;
            return bytes;
        }

        public void Clear()
        {
            encoded.Clear();
            encodedLength = 0;
            for (var i = 0; i < listsInUse; i++)
            {
                lists[i].Clear();
            }

            listsInUse = 0;
            keys.Clear();
            Seen.Clear();
            Encoder.Clear();
        }
    }

    /// <summary>Rows equal when their values in the key columns are (stored forms: text, integers).</summary>
    private sealed class RowKeyComparer : IEqualityComparer<object?[]>
    {
        public int[] Indexes { get; set; } = [];

        public bool Equals(object?[]? x, object?[]? y)
        {
            if (x is null || y is null)
            {
                return ReferenceEquals(x, y);
            }

            foreach (var i in Indexes)
            {
                if (!object.Equals(x[i], y[i]))
                {
                    return false;
                }
            }

            return true;
        }

        public int GetHashCode(object?[] obj)
        {
            var hash = default(HashCode);
            foreach (var i in Indexes)
            {
                hash.Add(obj[i]);
            }

            return hash.ToHashCode();
        }
    }

    private static void Check(sqlite3 db, int rc)
    {
        if (rc != raw.SQLITE_OK && rc != raw.SQLITE_ROW && rc != raw.SQLITE_DONE)
        {
            throw new SqliteException(raw.sqlite3_errmsg(db).utf8_to_string(), rc);
        }
    }

    private static int IndexOf(TableDefinition table, string column)
    {
        for (var i = 0; i < table.Columns.Count; i++)
        {
            if (string.Equals(table.Columns[i].Name, column, StringComparison.OrdinalIgnoreCase))
            {
                return i;
            }
        }

        throw new WarehouseException($"Column '{column}' is not a column of table '{table.Name}'.");
    }
}
