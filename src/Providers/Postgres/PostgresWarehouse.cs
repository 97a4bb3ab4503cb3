using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Npgsql;
using NpgsqlTypes;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Postgres.Internal;

namespace Pipeline.Providers.Postgres;

/// <summary>
/// <see cref="IWarehouse"/> on PostgreSQL (the local stand-in for Redshift). A merge binary-COPYs each batch
/// into a temporary stage, collapses duplicate keys to the highest version (the last row on ties), then
/// upserts with the version rule (INSERT ... ON CONFLICT DO UPDATE WHERE incoming.version >= stored.version),
/// all batches in ONE transaction. Decimals are numeric(38,10): exact, 28 integer digits, 10 fractional
/// digits (<see cref="WarehouseDomain"/>: finer or larger values are refused, not rounded), read back at their
/// smallest scale. Timestamps are timestamptz (UTC), dates are date.
/// Queries run through a second login that holds SELECT only (Postgres:ReadOnlyConnectionString, or a login role
/// the provider creates), so the database refuses writes whatever the query text does to its session.
/// </summary>
internal sealed class PostgresWarehouse : IWarehouse, IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly PostgresWarehouseOptions _options;
    private readonly string _schema;
    private readonly SemaphoreSlim _readerGate = new(1, 1);
    private NpgsqlDataSource? _readers;

    public PostgresWarehouse(PostgresWarehouseOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _options = options;
        _schema = SqlIdentifier.Quote(options.Schema);
        _dataSource = NpgsqlDataSource.Create(options.ConnectionString!);
    }

    public async Task EnsureTableAsync(TableDefinition table, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(table);
        TableShape.Validate(table);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"CREATE SCHEMA IF NOT EXISTS {_schema}", cancellationToken).ConfigureAwait(false);

        var existing = await ExistingColumnsAsync(connection, transaction, table.Name, cancellationToken).ConfigureAwait(false);
        if (existing.Count == 0)
        {
            var columns = table.Columns.Select(c => $"{SqlIdentifier.Quote(c.Name)} {TypeOf(c.Type)}{(c.Nullable ? string.Empty : " NOT NULL")}");
            var key = string.Join(", ", table.Key.Select(SqlIdentifier.Quote));
            // IF NOT EXISTS: two processes may race to create the table.
            await ExecuteAsync(connection, transaction, $"CREATE TABLE IF NOT EXISTS {Qualified(table.Name)} ({string.Join(", ", columns)}, PRIMARY KEY ({key}))", cancellationToken).ConfigureAwait(false);
        }
        else
        {
            var expected = table.Columns.ToDictionary(c => c.Name, c => UdtOf(c.Type), StringComparer.Ordinal);
            var differences = expected.Where(e => !existing.TryGetValue(e.Key, out var t) || t != e.Value).Select(e => $"{e.Key} {e.Value}")
                .Concat(existing.Keys.Where(k => !expected.ContainsKey(k)).Select(k => $"unexpected column {k}"))
                .ToList();
            if (differences.Count > 0)
            {
                throw new WarehouseException($"Table {_options.Schema}.{table.Name} exists with a different definition ({string.Join(", ", differences)}). Migrate the table (ALTER TABLE) or drop it in a test environment; the warehouse does not alter existing tables.");
            }
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    public async Task<MergeResult> MergeAsync(IReadOnlyList<MergeBatch> batches, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batches);
        var counts = new Dictionary<string, TableMergeCounts>(StringComparer.Ordinal);
        var rules = CurrentVersionRules.Resolve(batches);
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Partition replaces first (all of them), then the merges: the contract's order.
            foreach (var batch in batches)
            {
                TableShape.Validate(batch.Table);
                if (batch.ReplaceWhere is { } where)
                {
                    await DeletePartitionAsync(connection, transaction, batch, where, cancellationToken).ConfigureAwait(false);
                }
            }

            for (var i = 0; i < batches.Count; i++)
            {
                var batch = batches[i];
                TableShape.Validate(batch.Table);
                var c = await MergeBatchAsync(connection, transaction, batch, i, cancellationToken).ConfigureAwait(false);
                counts[batch.Table.Name] = counts.TryGetValue(batch.Table.Name, out var prior)
                    ? new TableMergeCounts(prior.Received + c.Received, prior.Written + c.Written, prior.Skipped + c.Skipped)
                    : c;
            }

            // Last, in the same transaction: projections drop rows that are no longer the current version.
            foreach (var rule in rules)
            {
                await DeleteSupersededAsync(connection, transaction, rule, batches, cancellationToken).ConfigureAwait(false);
            }

            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (RejectsRows(e))
        {
            throw new WarehouseRejectedException($"Merge failed and was rolled back (nothing written): {e.SqlState} {e.MessageText}. {Hint(e)}", e);
        }
        catch (PostgresException e)
        {
            throw new WarehouseException($"Merge failed and was rolled back (nothing written): {e.SqlState} {e.MessageText}. {Hint(e)}", e);
        }

        return new MergeResult(counts);
    }

    public async Task<QueryResult> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(sql);
        try
        {
            var readers = await ReadersAsync(cancellationToken).ConfigureAwait(false);
            await using var connection = await readers.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            // The login holds SELECT only: that is what refuses writes. READ ONLY just gives the plain case a clearer error.
            await ExecuteAsync(connection, transaction, "SET TRANSACTION READ ONLY", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, $"SET LOCAL search_path TO {_schema}", cancellationToken).ConfigureAwait(false);
            await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = _options.CommandTimeoutSeconds };
            foreach (var (name, value) in parameters ?? new Dictionary<string, object?>())
            {
                command.Parameters.Add(new NpgsqlParameter(name.TrimStart('@'), ToParameter(value)));
            }

            var rows = new List<object?[]>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var row = new object?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = await ReadValueAsync(reader, i, cancellationToken).ConfigureAwait(false);
                }

                rows.Add(row);
            }

            await reader.CloseAsync().ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return new QueryResult(columns, rows);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.ReadOnlySqlTransaction)
        {
            throw new WarehouseQueryException($"The query is not read-only ({e.MessageText}). QueryAsync runs SELECTs only; writes go through MergeAsync.", e);
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
        {
            throw new WarehouseQueryException($"The query was refused: {e.MessageText}. Queries run with a login that may only SELECT from the warehouse tables; writes go through MergeAsync.", e);
        }
        catch (PostgresException e)
        {
            throw new WarehouseQueryException($"The query failed: {e.SqlState} {e.MessageText}{(e.Position > 0 ? $" at position {e.Position}" : string.Empty)}. Fix the SQL or its parameters.", e);
        }
    }

    /// <summary>The login queries run with (known once a query has run).</summary>
    internal string? ReadOnlyConnectionString { get; private set; }

    public async ValueTask DisposeAsync()
    {
        if (_readers is not null)
        {
            await _readers.DisposeAsync().ConfigureAwait(false);
        }

        await _dataSource.DisposeAsync().ConfigureAwait(false);
        _readerGate.Dispose();
    }

    /// <summary>
    /// The read-only login, set up once per process with the owner login: USAGE on the schema and SELECT on every table
    /// in it, now and later (default privileges); nothing else. Checked before first use: a login that can write is
    /// refused, naming the setting to fix.
    /// </summary>
    private async Task<NpgsqlDataSource> ReadersAsync(CancellationToken cancellationToken)
    {
        if (_readers is { } ready)
        {
            return ready;
        }

        await _readerGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_readers is not null)
            {
                return _readers;
            }

            var connectionString = _options.ReadOnlyConnectionString is { Length: > 0 } configured ? configured : null;
            var role = connectionString is null ? OwnReaderRole() : new NpgsqlConnectionStringBuilder(connectionString).Username;
            if (string.IsNullOrEmpty(role) || role.Contains('"', StringComparison.Ordinal))
            {
                throw new WarehouseException("Setting 'Postgres:ReadOnlyConnectionString' names no usable Username: name the login that may only SELECT.");
            }

            var password = connectionString is null ? OwnReaderPassword(role) : null;
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await GrantSelectAsync(role, password, cancellationToken).ConfigureAwait(false);
                    break;
                }
                catch (PostgresException e) when (attempt < 3 && e.SqlState is PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.UniqueViolation or PostgresErrorCodes.InternalError)
                {
                    // Another process set up the same login at the same moment ("tuple concurrently updated"): again.
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedObject && password is null)
                {
                    throw new WarehouseException($"The login '{role}' of setting 'Postgres:ReadOnlyConnectionString' does not exist: create it (CREATE ROLE \"{role}\" LOGIN PASSWORD '...') or fix the setting.", e);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.InsufficientPrivilege)
                {
                    throw new WarehouseException(
                        $"The login of 'Postgres:ConnectionString' cannot set up the read-only login '{role}' ({e.MessageText}): give it CREATEROLE, or create a login with SELECT only yourself and set 'Postgres:ReadOnlyConnectionString' (README, Read-only queries).",
                        e);
                }
            }

            connectionString ??= new NpgsqlConnectionStringBuilder(_options.ConnectionString) { Username = role, Password = password }.ConnectionString;
            var readers = NpgsqlDataSource.Create(connectionString);
            try
            {
                await RequireReadOnlyAsync(readers, cancellationToken).ConfigureAwait(false);
            }
            catch
            {
                await readers.DisposeAsync().ConfigureAwait(false);
                throw;
            }

            ReadOnlyConnectionString = connectionString;
            return _readers = readers;
        }
        finally
        {
            _readerGate.Release();
        }
    }

    private async Task GrantSelectAsync(string role, string? password, CancellationToken cancellationToken)
    {
        var reader = "\"" + role + "\"";
        await using var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (password is not null)
        {
            // Our own login: its name and password are hex (OwnReaderRole / OwnReaderPassword), safe to inline (DDL takes no parameters).
            await ExecuteAsync(connection, transaction, $"DO $$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '{role}') THEN CREATE ROLE {reader}; END IF; END $$", cancellationToken).ConfigureAwait(false);
            await ExecuteAsync(connection, transaction, $"ALTER ROLE {reader} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT NOREPLICATION NOBYPASSRLS PASSWORD '{password}'", cancellationToken).ConfigureAwait(false);
        }

        await ExecuteAsync(connection, transaction, $"CREATE SCHEMA IF NOT EXISTS {_schema}", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"GRANT USAGE ON SCHEMA {_schema} TO {reader}", cancellationToken).ConfigureAwait(false);
        await ExecuteAsync(connection, transaction, $"GRANT SELECT ON ALL TABLES IN SCHEMA {_schema} TO {reader}", cancellationToken).ConfigureAwait(false);
        // Tables this (owner) login creates later are readable too.
        await ExecuteAsync(connection, transaction, $"ALTER DEFAULT PRIVILEGES IN SCHEMA {_schema} GRANT SELECT ON TABLES TO {reader}", cancellationToken).ConfigureAwait(false);
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task RequireReadOnlyAsync(NpgsqlDataSource readers, CancellationToken cancellationToken)
    {
        const string Sql = """
            SELECT current_user::text,
                   (SELECT rolsuper OR rolcreaterole OR rolcreatedb FROM pg_roles WHERE rolname = current_user),
                   has_schema_privilege(@schema, 'CREATE'),
                   (SELECT string_agg(c.relname, ', ' ORDER BY c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                    WHERE n.nspname = @schema AND c.relkind IN ('r', 'p', 'v', 'm')
                      AND (pg_has_role(c.relowner, 'USAGE') OR has_table_privilege(c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE, TRIGGER, REFERENCES')))
            """;
        await using var connection = await readers.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var command = new NpgsqlCommand(Sql, connection);
        command.Parameters.AddWithValue("schema", _options.Schema);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        var user = reader.GetString(0);
        var powers = !reader.IsDBNull(1) && reader.GetBoolean(1);
        var create = reader.GetBoolean(2);
        var tables = reader.IsDBNull(3) ? null : reader.GetString(3);
        if (powers || create || tables is not null)
        {
            var why = powers ? "it is a superuser or may create roles or databases" : create ? $"it may CREATE in schema {_options.Schema}" : $"it owns or may change {tables}";
            throw new WarehouseException($"The query login '{user}' can write ({why}): set 'Postgres:ReadOnlyConnectionString' to a login that may only SELECT (README, Read-only queries), or leave it unset so the provider creates one.");
        }
    }

    /// <summary>One login per database and schema (roles are cluster-wide): pipeline_reader_ and 16 hex digits.</summary>
    private string OwnReaderRole()
    {
        var database = new NpgsqlConnectionStringBuilder(_options.ConnectionString).Database ?? string.Empty;
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(database + "\n" + _options.Schema));
        return "pipeline_reader_" + Convert.ToHexStringLower(hash.AsSpan(0, 8));
    }

    /// <summary>Derived from the owner's connection string: every process of the pipeline sets the same password.</summary>
    private string OwnReaderPassword(string role) =>
        Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(_options.ConnectionString!), Encoding.UTF8.GetBytes(role)));

    private async Task<TableMergeCounts> MergeBatchAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, MergeBatch batch, int index, CancellationToken cancellationToken)
    {
        var table = batch.Table;
        var stage = SqlIdentifier.Quote($"_stage_{index}");
        var dedup = SqlIdentifier.Quote($"_dedup_{index}");
        var cols = table.Columns.Select(c => SqlIdentifier.Quote(c.Name)).ToList();
        var colList = string.Join(", ", cols);
        var keys = table.Key.Select(SqlIdentifier.Quote).ToList();
        var keyList = string.Join(", ", keys);

        var stageColumns = string.Join(", ", table.Columns.Select(c => $"{SqlIdentifier.Quote(c.Name)} {TypeOf(c.Type)}"));
        await ExecuteAsync(connection, transaction, $"CREATE TEMP TABLE {stage} ({stageColumns}, \"_ord\" bigint NOT NULL) ON COMMIT DROP", cancellationToken).ConfigureAwait(false);

        await using (var writer = await connection.BeginBinaryImportAsync($"COPY {stage} ({colList}, \"_ord\") FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false))
        {
            long ordinal = 0;
            foreach (var row in batch.Rows)
            {
                if (row.Length != table.Columns.Count)
                {
                    throw new WarehouseException($"Row {ordinal} for table {table.Name} has {row.Length} values; the table definition has {table.Columns.Count} columns.");
                }

                await writer.StartRowAsync(cancellationToken).ConfigureAwait(false);
                for (var i = 0; i < row.Length; i++)
                {
                    await WriteValueAsync(writer, table.Columns[i], row[i], table.Name, cancellationToken).ConfigureAwait(false);
                }

                await writer.WriteAsync(ordinal++, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            }

            await writer.CompleteAsync(cancellationToken).ConfigureAwait(false);
        }

        // Inside the batch: the highest version per key wins, then the smallest tie-break values, then the last row.
        var version = table.VersionColumn is { } v ? SqlIdentifier.Quote(v) : null;
        var order = string.Join(", ", keys.Concat(version is null ? [] : [$"{version} DESC"]).Concat(TieBreakColumns(table).Select(c => $"{c.Sql}{c.Collate} ASC")).Append("\"_ord\" DESC"));
        await ExecuteAsync(connection, transaction, $"CREATE TEMP TABLE {dedup} ON COMMIT DROP AS SELECT DISTINCT ON ({keyList}) {colList} FROM {stage} ORDER BY {order}", cancellationToken).ConfigureAwait(false);
        long received;
        await using (var count = new NpgsqlCommand($"SELECT count(*) FROM {dedup}", connection, transaction))
        {
            received = (long)(await count.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }


        var nonKey = table.Columns.Where(c => !table.Key.Contains(c.Name, StringComparer.Ordinal)).Select(c => SqlIdentifier.Quote(c.Name)).ToList();
        var target = Qualified(table.Name);
        var tie = TieBreakNotGreater(table, "EXCLUDED", "\"t\"");
        var condition = (version, tie) switch
        {
            (null, null) => string.Empty,
            (null, _) => $" WHERE {tie}",
            (_, null) => $" WHERE EXCLUDED.{version} >= \"t\".{version}",
            _ => $" WHERE EXCLUDED.{version} > \"t\".{version} OR (EXCLUDED.{version} = \"t\".{version} AND {tie})",
        };
        var action = nonKey.Count == 0
            ? "DO NOTHING"
            : $"DO UPDATE SET {string.Join(", ", nonKey.Select(c => $"{c} = EXCLUDED.{c}"))}{condition}";
        var written = await ExecuteAsync(connection, transaction, $"INSERT INTO {target} AS \"t\" ({colList}) SELECT {colList} FROM {dedup} ON CONFLICT ({keyList}) {action}", cancellationToken).ConfigureAwait(false);

        return new TableMergeCounts(received, written, received - written);
    }

    /// <summary>
    /// Deletes rows of the rule's table whose key is in this merge's deduplicated stages (of either table) and
    /// whose version is lower than the other table's.
    /// </summary>
    private async Task DeleteSupersededAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CurrentVersionRule rule, IReadOnlyList<MergeBatch> batches, CancellationToken cancellationToken)
    {
        var keys = rule.Table.Key.Select(SqlIdentifier.Quote).ToList();
        var keyList = string.Join(", ", keys);
        var touched = string.Join(
            " UNION ",
            batches.Select((b, i) => (b, i))
                .Where(x => x.b.Table.Name == rule.Table.Name || x.b.Table.Name == rule.Of.Name)
                .Select(x => $"SELECT {keyList} FROM {SqlIdentifier.Quote($"_dedup_{x.i}")}"));
        var target = Qualified(rule.Table.Name);
        var sql = $"DELETE FROM {target} AS \"t\" USING {Qualified(rule.Of.Name)} AS \"o\" "
            + $"WHERE {string.Join(" AND ", keys.Select(k => $"\"t\".{k} = \"o\".{k}"))} "
            + $"AND ({Superseded(rule)}) "
            + $"AND ({string.Join(", ", keys.Select(k => $"\"t\".{k}"))}) IN ({touched})";
        await ExecuteAsync(connection, transaction, sql, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The projection row "t" is not the current row "o" of the other table: lower version, or same version and another tie-break choice.</summary>
    private static string Superseded(CurrentVersionRule rule)
    {
        var version = SqlIdentifier.Quote(rule.Table.VersionColumn!);
        var ofVersion = SqlIdentifier.Quote(rule.Of.VersionColumn!);
        var differs = string.Concat((rule.Table.TieBreak ?? []).Select(SqlIdentifier.Quote).Select(c => $" OR \"t\".{c} <> \"o\".{c}"));
        return differs.Length == 0
            ? $"\"t\".{version} < \"o\".{ofVersion}"
            : $"\"t\".{version} < \"o\".{ofVersion} OR (\"t\".{version} = \"o\".{ofVersion} AND (FALSE{differs}))";
    }

    /// <summary>Tie-break columns, quoted, with COLLATE "C" for text: byte order whatever the database's locale (as SQLite and Redshift compare).</summary>
    private static List<(string Sql, string Collate)> TieBreakColumns(TableDefinition table) =>
        TieBreakRules.Resolve(table).Select(i => (SqlIdentifier.Quote(table.Columns[i].Name), table.Columns[i].Type == ColumnType.Text ? " COLLATE \"C\"" : string.Empty)).ToList();

    /// <summary>"incoming tie-break values &lt;= stored ones", column by column, or null without a tie-break.</summary>
    private static string? TieBreakNotGreater(TableDefinition table, string incoming, string stored) =>
        TieBreakRules.NotGreaterSql(TieBreakColumns(table), incoming, stored);

    private async Task DeletePartitionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, MergeBatch batch, IReadOnlyDictionary<string, object?> where, CancellationToken cancellationToken)
    {
        var table = batch.Table;
        var partition = TableShape.Partition(table, where, batch.Rows);
        await using var command = new NpgsqlCommand(
            $"DELETE FROM {Qualified(table.Name)} WHERE {string.Join(" AND ", partition.Select((p, i) => $"{SqlIdentifier.Quote(p.Column.Name)} = @w{i}"))}",
            connection,
            transaction) { CommandTimeout = _options.CommandTimeoutSeconds };
        for (var i = 0; i < partition.Count; i++)
        {
            command.Parameters.Add(new NpgsqlParameter("w" + i, NpgsqlTypeOf(partition[i].Column.Type)) { Value = ToParameter(partition[i].Value) });
        }

        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static NpgsqlDbType NpgsqlTypeOf(ColumnType type) => type switch
    {
        ColumnType.Text => NpgsqlDbType.Text,
        ColumnType.Integer => NpgsqlDbType.Bigint,
        ColumnType.Decimal => NpgsqlDbType.Numeric,
        ColumnType.Boolean => NpgsqlDbType.Boolean,
        ColumnType.Date => NpgsqlDbType.Date,
        ColumnType.Timestamp => NpgsqlDbType.TimestampTz,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown column type."),
    };

    private static async Task WriteValueAsync(NpgsqlBinaryImporter writer, ColumnDefinition column, object? value, string table, CancellationToken cancellationToken)
    {
        if (value is null)
        {
            if (!column.Nullable)
            {
                throw new WarehouseRejectedException($"Column {table}.{column.Name} is not nullable but a row has null. Quarantine such rows before merging.");
            }

            await writer.WriteNullAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        // numeric(38,10) would round a finer decimal silently and PostgreSQL rejects NUL: refuse before writing.
        if (WarehouseDomain.ValueProblem(column.Type, value) is { } problem)
        {
            throw new WarehouseRejectedException($"Column {table}.{column.Name} holds a value outside the warehouse domain ({problem}). Quarantine such rows before merging.");
        }

        switch (column.Type, value)
        {
            case (ColumnType.Text, string s):
                await writer.WriteAsync(s, NpgsqlDbType.Text, cancellationToken).ConfigureAwait(false);
                break;
            case (ColumnType.Integer, long l):
                await writer.WriteAsync(l, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                break;
            case (ColumnType.Integer, int n):
                await writer.WriteAsync((long)n, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
                break;
            case (ColumnType.Decimal, decimal d):
                await writer.WriteAsync(d, NpgsqlDbType.Numeric, cancellationToken).ConfigureAwait(false);
                break;
            case (ColumnType.Decimal, long l):
                await writer.WriteAsync((decimal)l, NpgsqlDbType.Numeric, cancellationToken).ConfigureAwait(false);
                break;
            case (ColumnType.Boolean, bool b):
                await writer.WriteAsync(b, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
                break;
            case (ColumnType.Date, DateOnly date):
                await writer.WriteAsync(date, NpgsqlDbType.Date, cancellationToken).ConfigureAwait(false);
                break;
            case (ColumnType.Timestamp, DateTimeOffset ts):
                await writer.WriteAsync(ts.ToUniversalTime(), NpgsqlDbType.TimestampTz, cancellationToken).ConfigureAwait(false);
                break;
            default:
                throw new WarehouseRejectedException($"Column {table}.{column.Name} is {column.Type} but a row holds a {value.GetType().Name} ('{Convert.ToString(value, CultureInfo.InvariantCulture)}'). Convert the value to the column's type before merging.");
        }
    }

    private static async Task<object?> ReadValueAsync(NpgsqlDataReader reader, int i, CancellationToken cancellationToken)
    {
        if (await reader.IsDBNullAsync(i, cancellationToken).ConfigureAwait(false))
        {
            return null;
        }

        return reader.GetDataTypeName(i) switch
        {
            "date" => await reader.GetFieldValueAsync<DateOnly>(i, cancellationToken).ConfigureAwait(false),
            "timestamp with time zone" => new DateTimeOffset(DateTime.SpecifyKind(reader.GetDateTime(i), DateTimeKind.Utc)),
            "integer" or "smallint" => Convert.ToInt64(reader.GetValue(i), CultureInfo.InvariantCulture),
            // numeric(38,10) comes back at scale 10 (1.5000000000): the smallest scale gives the same text as the other providers.
            _ => reader.GetValue(i) is decimal d ? WarehouseDomain.Normalize(d) : reader.GetValue(i),
        };
    }

    private static object ToParameter(object? value) => value switch
    {
        null => DBNull.Value,
        DateTimeOffset ts => ts.ToUniversalTime(),
        _ => value,
    };

    private async Task<Dictionary<string, string>> ExistingColumnsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string table, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand("SELECT column_name, udt_name FROM information_schema.columns WHERE table_schema = @schema AND table_name = @table", connection, transaction);
        command.Parameters.AddWithValue("schema", _options.Schema);
        command.Parameters.AddWithValue("table", table);
        var result = new Dictionary<string, string>(StringComparer.Ordinal);
        await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            result[reader.GetString(0)] = reader.GetString(1);
        }

        return result;
    }

    private async Task<int> ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction) { CommandTimeout = _options.CommandTimeoutSeconds };
        return await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private string Qualified(string table) => $"{_schema}.{SqlIdentifier.Quote(table)}";

    private static string TypeOf(ColumnType type) => type switch
    {
        ColumnType.Text => "text",
        ColumnType.Integer => "bigint",
        ColumnType.Decimal => "numeric(38,10)",
        ColumnType.Boolean => "boolean",
        ColumnType.Date => "date",
        ColumnType.Timestamp => "timestamptz",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown column type."),
    };

    private static string UdtOf(ColumnType type) => type switch
    {
        ColumnType.Text => "text",
        ColumnType.Integer => "int8",
        ColumnType.Decimal => "numeric",
        ColumnType.Boolean => "bool",
        ColumnType.Date => "date",
        ColumnType.Timestamp => "timestamptz",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown column type."),
    };

    /// <summary>
    /// The server refused the rows themselves: data exceptions (class 22: a value out of range, NUL in text, bad
    /// encoding), integrity constraints (class 23), a row too big (54000). Retrying the same rows fails again.
    /// Serialization failures, deadlocks, lost connections and cancellation are not: they fail the whole call.
    /// </summary>
    private static bool RejectsRows(PostgresException e) =>
        e.SqlState.StartsWith("22", StringComparison.Ordinal) || e.SqlState.StartsWith("23", StringComparison.Ordinal) || e.SqlState == PostgresErrorCodes.ProgramLimitExceeded;

    private static string Hint(PostgresException e) => e.SqlState switch
    {
        PostgresErrorCodes.UndefinedTable => "Call EnsureTableAsync for the table first.",
        PostgresErrorCodes.NumericValueOutOfRange => "A decimal exceeds numeric(38,10): check the value's scale and magnitude.",
        PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected => "A concurrent merge conflicted: retry the merge (it is idempotent).",
        _ => "Check the batch against the table definition.",
    };
}
