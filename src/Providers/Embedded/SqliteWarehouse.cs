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
    private StoredValueCache? spareEncoder;

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

        // Validate and encode everything before the transaction: a bad value fails the merge with nothing written.
        var prepared = new List<(TableDefinition Table, List<object?[]> Rows, long Received)>(batches.Count);
        var replaces = new List<(TableDefinition Table, (int Index, object Value)[] Where)>();
        // One encoder per merge: a value that several tables share (a record's decimals, dates, timestamps) is encoded once.
        // Kept for the next merge (emptied, its tables keep their size), so a merge does not regrow them.
        var encoder = Interlocked.Exchange(ref spareEncoder, null) ?? new StoredValueCache();
        foreach (var batch in batches)
        {
            Validate(batch.Table);
            var rows = Collapse(batch.Table, batch.Rows, encoder);
            prepared.Add((batch.Table, rows, rows.Count));
            if (batch.ReplaceWhere is { } where)
            {
                replaces.Add((batch.Table, Partition(batch.Table, where, rows)));
            }
        }

        encoder.Clear();
        spareEncoder = encoder;
        var rules = CurrentVersionRules.Resolve(batches);
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
                    var written = Upsert(c, tx, table, rows);
                    counts[table.Name] = counts.TryGetValue(table.Name, out var sum)
                        ? new TableMergeCounts(sum.Received + received, sum.Written + written, sum.Skipped + received - written)
                        : new TableMergeCounts(received, written, received - written);
                }

                // Last, in the same transaction: projections drop rows that are no longer the current version.
                foreach (var rule in rules)
                {
                    DeleteSuperseded(c, rule, prepared.Where(p => p.Table.Name == rule.Table.Name || p.Table.Name == rule.Of.Name).Select(p => (p.Table, p.Rows)));
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
    /// Encodes rows and keeps, per key, the row with the highest version, then the smallest tie-break values (stored
    /// forms: text, integers, fixed-width date/timestamp text, so ordinal order is value order), then the last one.
    /// </summary>
    private static List<object?[]> Collapse(TableDefinition table, IReadOnlyList<object?[]> rows, StoredValueCache encoder)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var keyIndexes = table.Key.Select(k => IndexOf(table, k)).ToArray();
        var versionIndex = table.VersionColumn is null ? -1 : IndexOf(table, table.VersionColumn);
        var tieBreak = TieBreakRules.Resolve(table);
        var result = new List<object?[]>(rows.Count);
        var byKey = new Dictionary<string, int>(rows.Count, StringComparer.Ordinal);
        var key = new StringBuilder();
        for (var r = 0; r < rows.Count; r++)
        {
            var row = rows[r];
            if (row is null || row.Length != table.Columns.Count)
            {
                throw new WarehouseException($"Row {r} for table '{table.Name}' has {row?.Length ?? 0} values; the table has {table.Columns.Count} columns (one value per column, in definition order).");
            }

            var stored = new object?[row.Length];
            for (var i = 0; i < row.Length; i++)
            {
                var column = table.Columns[i];
                if (row[i] is null)
                {
                    if (!column.Nullable)
                    {
                        throw new WarehouseRejectedException($"Row {r} for table '{table.Name}': column '{column.Name}' is not nullable but the value is null.");
                    }

                    continue;
                }

                if (WarehouseDomain.ValueProblem(column.Type, row[i]) is { } problem)
                {
                    throw new WarehouseRejectedException($"Row {r} for table '{table.Name}': column '{column.Name}' holds a value outside the warehouse domain ({problem}). Quarantine such rows before merging.");
                }

                stored[i] = encoder.ToStored(column.Type, row[i]!)
                    ?? throw new WarehouseRejectedException($"Row {r} for table '{table.Name}': column '{column.Name}' is {column.Type} but the value is a {row[i]!.GetType().Name}. Use string, long, decimal, bool, DateOnly or DateTimeOffset.");
            }

            string keyText;
            if (keyIndexes.Length == 1 && stored[keyIndexes[0]] is string single)
            {
                // The common single text key needs no composite key text.
                keyText = single;
            }
            else
            {
                keyText = CompositeKey(key, stored, keyIndexes);
            }

            if (byKey.TryGetValue(keyText, out var at))
            {
                // Higher version wins; on the same version the smaller tie-break values; on a full tie the later row.
                var byVersion = versionIndex < 0 ? 0 : ((long)stored[versionIndex]!).CompareTo((long)result[at][versionIndex]!);
                if (byVersion > 0 || (byVersion == 0 && TieBreakRules.Compare(tieBreak, stored, result[at]) <= 0))
                {
                    result[at] = stored;
                }
            }
            else
            {
                byKey[keyText] = result.Count;
                result.Add(stored);
            }
        }

        return result;
    }

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
                if (!Equals(rows[r][index], value))
                {
                    throw new WarehouseException($"A row for table '{table.Name}' has {table.Columns[index].Name} = '{rows[r][index]}' outside the partition being replaced ('{value}'). Every row of a ReplaceWhere batch must belong to its partition.");
                }
            }
        }

        return result;
    }

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
    private static void DeleteSuperseded(SqliteConnection c, CurrentVersionRule rule, IEnumerable<(TableDefinition Table, List<object?[]> Rows)> touched)
    {
        var table = WarehouseValues.QuoteIdentifier(rule.Table.Name);
        var of = WarehouseValues.QuoteIdentifier(rule.Of.Name);
        var keys = rule.Table.Key.Select(WarehouseValues.QuoteIdentifier).ToArray();
        var version = WarehouseValues.QuoteIdentifier(rule.Table.VersionColumn!);
        var ofVersion = WarehouseValues.QuoteIdentifier(rule.Of.VersionColumn!);
        var differs = string.Concat((rule.Table.TieBreak ?? []).Select(WarehouseValues.QuoteIdentifier).Select(c => $" OR \"o\".{c} <> {table}.{c}"));
        var superseded = differs.Length == 0
            ? $"\"o\".{ofVersion} > {table}.{version}"
            : $"\"o\".{ofVersion} > {table}.{version} OR (\"o\".{ofVersion} = {table}.{version} AND (FALSE{differs}))";
        var sql = $"DELETE FROM {table} WHERE {string.Join(" AND ", keys.Select((k, i) => $"{k} = ?{i + 1}"))} AND EXISTS "
            + $"(SELECT 1 FROM {of} AS \"o\" WHERE {string.Join(" AND ", keys.Select((k, i) => $"\"o\".{k} = ?{i + 1}"))} AND ({superseded}));";

        // Raw SQLite API as in Upsert: one prepared statement, keys bound by index (one delete per touched key).
        var db = c.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, sql, out var stmt);
        using (stmt)
        {
            Check(db, rc);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            var keyText = new StringBuilder();
            var utf8 = new byte[1024];
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
                            string text => BindText(stmt, i + 1, text, ref utf8),
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

    private static long Upsert(SqliteConnection c, SqliteTransaction tx, TableDefinition table, List<object?[]> rows)
    {
        if (rows.Count == 0)
        {
            return 0;
        }

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

        // Raw SQLite API: one prepared statement per table per merge, values bound by index. Microsoft.Data.Sqlite's
        // ExecuteNonQuery looks every parameter up by name and builds a reader per row, which cost more than the insert.
        _ = tx;
        var db = c.Handle!;
        var rc = raw.sqlite3_prepare_v2(db, sql.Append(';').ToString(), out var stmt);
        using (stmt)
        {
            Check(db, rc);
            var integer = table.Columns.Select(col => col.Type is ColumnType.Integer or ColumnType.Boolean).ToArray();
            long written = 0;
            var utf8 = new byte[1024];
            foreach (var row in rows)
            {
                for (var i = 0; i < row.Length; i++)
                {
                    var value = row[i];
                    rc = value switch
                    {
                        null => raw.sqlite3_bind_null(stmt, i + 1),
                        long l when integer[i] => raw.sqlite3_bind_int64(stmt, i + 1, l),
                        long l => raw.sqlite3_bind_text(stmt, i + 1, l.ToString(System.Globalization.CultureInfo.InvariantCulture)),
                        string s => BindText(stmt, i + 1, s, ref utf8),
                        _ => throw new WarehouseException($"Column '{table.Columns[i].Name}' of table '{table.Name}' holds an unexpected {value.GetType().Name}."),
                    };
                    Check(db, rc);
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

    /// <summary>
    /// "incoming tie-break values &lt;= stored ones", column by column, or null without a tie-break. SQLite compares
    /// TEXT with BINARY collation (UTF-8 bytes = code point order); dates and timestamps are fixed-width text.
    /// </summary>
    private static string? TieBreakNotGreater(TableDefinition table, string incoming, string stored) =>
        TieBreakRules.NotGreaterSql((table.TieBreak ?? []).Select(c => (WarehouseValues.QuoteIdentifier(c), string.Empty)).ToList(), incoming, stored);

    /// <summary>Binds text as UTF-8 from a reused buffer (SQLite copies it), so no allocation per value.</summary>
    private static int BindText(sqlite3_stmt stmt, int index, string value, ref byte[] utf8)
    {
        var needed = Encoding.UTF8.GetMaxByteCount(value.Length);
        if (needed > utf8.Length)
        {
            utf8 = new byte[Math.Max(needed, utf8.Length * 2)];
        }

        var length = Encoding.UTF8.GetBytes(value, utf8);
        return raw.sqlite3_bind_text(stmt, index, utf8.AsSpan(0, length));
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
