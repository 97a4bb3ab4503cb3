using Pipeline.TestKit.Warehouse;
using Npgsql;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.RedshiftData;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// Runs the SQL the Redshift warehouse generates on PostgreSQL (Redshift speaks the Postgres 8 dialect), the way
/// the Data API would: each load call in its own transaction, the merge call in one transaction.
/// Dialect workaround: Redshift treats '\' in string literals as an escape, so the session runs with
/// standard_conforming_strings=off (PostgreSQL's equivalent behaviour).
/// </summary>
public sealed class RedshiftSqlOnPostgresTests(PostgresFixture postgres)
{
    private static readonly TableDefinition Trades = SampleTrades.Table;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Merge_OutOfOrderAndDuplicateVersions_KeepsHighestVersion()
    {
        await using var db = await DatabaseAsync();
        var first = await RunMergeAsync(db, [new MergeBatch(Trades, [Row("T1", 2, 20m), Row("T2", 1), Row("T2", 4, 40m), Row("T2", 3, 30m)])]);
        var second = await RunMergeAsync(db, [new MergeBatch(Trades, [Row("T1", 1, 10m), Row("T3", 1)]), new MergeBatch(Trades, [Row("T2", 4, 44m)])]);

        Assert.Equal((2L, 2L), first["trades"]);
        Assert.Equal((3L, 2L), second["trades"]); // T1 v1 skipped, T2 v4 replaced (>=), T3 inserted
        var rows = await QueryAsync(db, $"SELECT trade_id, version, amount FROM {db.Schema}.trades ORDER BY trade_id");
        Assert.Equal(["T1", 2L, 20m], rows[0]);
        Assert.Equal(["T2", 4L, 44m], rows[1]);
        Assert.Equal(["T3", 1L, 1.5m], rows[2]);
        Assert.Empty(await QueryAsync(db, $"SELECT tablename FROM pg_tables WHERE schemaname = '{db.Schema}' AND tablename LIKE '\\_stage%'"));
    }

    [Fact]
    public async Task Merge_HostileStrings_RoundTripExactlyAsLiterals()
    {
        await using var db = await DatabaseAsync();
        string[] notes = ["it's", "back\\slash", "\\'; DROP TABLE trades; --", "multi\nline\ttab", "ünïcødé €", "emoji 🚀", "''", "\\", "end\\"];
        await RunMergeAsync(db, [new MergeBatch(Trades, notes.Select((n, i) => Row($"T{i}", 1, note: n)).ToList())]);

        var rows = await QueryAsync(db, $"SELECT note FROM {db.Schema}.trades ORDER BY trade_id");
        Assert.Equal(notes, rows.Select(r => (string)r[0]!));
    }

    [Fact]
    public async Task Merge_ManyRowsSmallStatementBudget_SplitsIntoStatementsAndCallsWithinLimits()
    {
        await using var db = await DatabaseAsync();
        var rows = Enumerable.Range(0, 2_000).Select(i => Row($"T{i:D5}", i % 7, i * 0.01m, i % 3 == 0 ? null : new string('x', i % 50))).ToList();
        var plan = RedshiftSql.PlanMerge(db.Schema, [new MergeBatch(Trades, rows)], "t0", maxStatementBytes: 4_000);

        Assert.True(plan.LoadCalls.Count > 1, "expected more than one load call of <= 40 statements");
        Assert.All(plan.LoadCalls, c => Assert.InRange(c.Count, 1, RedshiftLimits.MaxSqlsPerBatch));
        Assert.All(plan.LoadCalls.SelectMany(c => c), s => Assert.InRange(System.Text.Encoding.UTF8.GetByteCount(s), 1, 4_000));
        var counts = await RunPlanAsync(db, plan);

        Assert.Equal((2_000L, 2_000L), counts["trades"]);
        var check = await QueryAsync(db, $"SELECT count(*), sum(amount), count(note) FROM {db.Schema}.trades");
        Assert.Equal([2_000L, rows.Sum(r => (decimal)r[2]!), (long)rows.Count(r => r[6] is not null)], check[0]);
    }

    [Fact]
    public async Task Merge_TypesRoundTrip_DateTimestampDecimalBoolNull()
    {
        await using var db = await DatabaseAsync();
        object?[] row = ["T1", 1L, -12345678901234567.0123456789m, false, new DateOnly(1999, 12, 31), new DateTimeOffset(2026, 3, 1, 23, 59, 59, 999, TimeSpan.FromHours(-5)).AddTicks(9990), null];
        await RunMergeAsync(db, [new MergeBatch(Trades, [row])]);

        var stored = (await QueryAsync(db, $"SELECT * FROM {db.Schema}.trades"))[0];
        Assert.Equal(row[2], stored[2]);
        Assert.Equal(false, stored[3]);
        Assert.Equal(row[4], stored[4]);
        Assert.Equal(((DateTimeOffset)row[5]!).UtcDateTime, ((DateTime)stored[5]!).ToUniversalTime());
        Assert.Null(stored[6]);
    }

    [Fact]
    public async Task Merge_ReplaceWhere_DeletesFirstThenMergesInTheSameCall()
    {
        await using var db = await DatabaseAsync();
        await RunMergeAsync(db, [new MergeBatch(Trades, [Row("T1", 1, note: "p1"), Row("T2", 1, note: "p1"), Row("T3", 1, note: "p2")])]);
        var replace = new Dictionary<string, object?> { ["note"] = "p1", ["trade_date"] = new DateOnly(2026, 11, 21) };

        var plan = RedshiftSql.PlanMerge(db.Schema, [new MergeBatch(Trades, [Row("T1", 1, 11m, "p1")]) { ReplaceWhere = replace }], "r1", RedshiftLimits.MaxStatementBytes);
        Assert.StartsWith("DELETE FROM", plan.MergeCall[0], StringComparison.Ordinal);
        await RunPlanAsync(db, plan);
        await RunMergeAsync(db, [new MergeBatch(Trades, []) { ReplaceWhere = new Dictionary<string, object?> { ["note"] = "nothing stored" } }]);

        var rows = await QueryAsync(db, $"SELECT trade_id, amount, note FROM {db.Schema}.trades ORDER BY trade_id");
        Assert.Equal([["T1", 11m, "p1"], ["T3", 1.5m, "p2"]], rows);
        Assert.Throws<WarehouseException>(() => RedshiftSql.PlanMerge(db.Schema, [new MergeBatch(Trades, [Row("T9", 1, note: "p2")]) { ReplaceWhere = replace }], "r2", RedshiftLimits.MaxStatementBytes));
    }

    [Fact]
    public async Task Merge_CurrentVersionOf_DeletesSupersededProjectionRowsBeforeDroppingStages()
    {
        await using var db = await DatabaseAsync();
        var reports = new TableDefinition("reports", [new("trade_id", ColumnType.Text), new("version", ColumnType.Integer)], ["trade_id"], "version", CurrentVersionOf: "trades");
        await using (var create = new NpgsqlCommand(RedshiftSql.CreateTable(db.Schema, reports), db.Connection))
        {
            await create.ExecuteNonQueryAsync(Ct);
        }

        await RunMergeAsync(db, [new MergeBatch(Trades, [Row("T1", 1), Row("T2", 1)]), new MergeBatch(reports, [["T1", 1L], ["T2", 1L]])]);
        var plan = RedshiftSql.PlanMerge(db.Schema, [new MergeBatch(Trades, [Row("T1", 2)]), new MergeBatch(reports, [])], "c1", RedshiftLimits.MaxStatementBytes);
        Assert.StartsWith("DELETE FROM", plan.MergeCall[^2], StringComparison.Ordinal);
        Assert.StartsWith("DROP TABLE", plan.MergeCall[^1], StringComparison.Ordinal);
        await RunPlanAsync(db, plan);
        Assert.Equal([["T2", 1L]], await QueryAsync(db, $"SELECT trade_id, version FROM {db.Schema}.reports ORDER BY trade_id"));

        // Redelivered v1 (inserted then deleted in the same call), then a reportable v3 (kept).
        await RunMergeAsync(db, [new MergeBatch(Trades, [Row("T1", 1)]), new MergeBatch(reports, [["T1", 1L]])]);
        Assert.Equal([["T2", 1L]], await QueryAsync(db, $"SELECT trade_id, version FROM {db.Schema}.reports ORDER BY trade_id"));
        await RunMergeAsync(db, [new MergeBatch(Trades, [Row("T1", 3)]), new MergeBatch(reports, [["T1", 3L]])]);
        Assert.Equal([["T1", 3L], ["T2", 1L]], await QueryAsync(db, $"SELECT trade_id, version FROM {db.Schema}.reports ORDER BY trade_id"));
        Assert.Empty(await QueryAsync(db, $"SELECT tablename FROM pg_tables WHERE schemaname = '{db.Schema}' AND tablename LIKE '\\_stage%'"));
        Assert.Throws<WarehouseException>(() => RedshiftSql.PlanMerge(db.Schema, [new MergeBatch(reports, [["T9", 1L]])], "c2", RedshiftLimits.MaxStatementBytes));
    }

    private static object?[] Row(string id, long version, decimal amount = 1.5m, string? note = null) =>
        SampleTrades.Row(id, version, amount, note);

    private static async Task<Dictionary<string, (long Received, long Written)>> RunMergeAsync(Db db, IReadOnlyList<MergeBatch> batches) =>
        await RunPlanAsync(db, RedshiftSql.PlanMerge(db.Schema, batches, Guid.NewGuid().ToString("N")[..8], RedshiftLimits.MaxStatementBytes));

    /// <summary>Executes a plan as the Data API would and derives counts as the warehouse does (sub-statement row counts).</summary>
    private static async Task<Dictionary<string, (long Received, long Written)>> RunPlanAsync(Db db, MergePlan plan)
    {
        foreach (var call in plan.LoadCalls)
        {
            await RunCallAsync(db, call);
        }

        var rowCounts = await RunCallAsync(db, plan.MergeCall);
        var written = plan.Received.Keys.ToDictionary(k => k, _ => 0L);
        for (var i = 0; i < plan.MergeRoles.Count; i++)
        {
            if (plan.MergeRoles[i].CountsWritten)
            {
                written[plan.MergeRoles[i].Table] += rowCounts[i];
            }
        }

        return plan.Received.ToDictionary(kv => kv.Key, kv => (kv.Value, written[kv.Key]));
    }

    private static async Task<List<long>> RunCallAsync(Db db, IReadOnlyList<string> statements)
    {
        await using var transaction = await db.Connection.BeginTransactionAsync(Ct);
        var counts = new List<long>();
        foreach (var sql in statements)
        {
            await using var command = new NpgsqlCommand(sql, db.Connection, transaction);
            counts.Add(await command.ExecuteNonQueryAsync(Ct));
        }

        await transaction.CommitAsync(Ct);
        return counts;
    }

    private static async Task<List<object?[]>> QueryAsync(Db db, string sql)
    {
        await using var command = new NpgsqlCommand(sql, db.Connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<object?[]>();
        while (await reader.ReadAsync(Ct))
        {
            var row = new object?[reader.FieldCount];
            for (var i = 0; i < row.Length; i++)
            {
                row[i] = reader.IsDBNull(i) ? null : reader.GetValue(i);
            }

            rows.Add(row);
        }

        return rows;
    }

    private async Task<Db> DatabaseAsync()
    {
        postgres.RequireAvailable();
        var builder = new NpgsqlConnectionStringBuilder(postgres.ConnectionString) { Options = "-c standard_conforming_strings=off -c escape_string_warning=off" };
        var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(Ct);
        var schema = "rs_" + Guid.NewGuid().ToString("N")[..12];
        var db = new Db(connection, schema);
        await using (var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection))
        {
            await create.ExecuteNonQueryAsync(Ct);
        }

        await using (var table = new NpgsqlCommand(RedshiftSql.CreateTable(schema, Trades), connection))
        {
            await table.ExecuteNonQueryAsync(Ct);
        }

        return db;
    }

    private sealed record Db(NpgsqlConnection Connection, string Schema) : IAsyncDisposable
    {
        public ValueTask DisposeAsync() => Connection.DisposeAsync();
    }
}

/// <summary>
/// The shared warehouse suite against the Redshift Data API warehouse, its SQL executed on the assembly's
/// PostgreSQL through <see cref="RedshiftDataOnPostgresHandler"/> (one schema per test): the provider, its client,
/// the wire shapes and the generated Redshift SQL are all real; only the engine is PostgreSQL.
/// </summary>
public sealed class RedshiftSqlOnPostgresConformanceTests(PostgresFixture postgres) : Pipeline.Conformance.WarehouseConformance
{
    protected override async ValueTask<IWarehouse> CreateWarehouseAsync()
    {
        postgres.RequireAvailable();
        var schema = "rs_" + Guid.NewGuid().ToString("N")[..12];
        await using (var connection = new NpgsqlConnection(postgres.ConnectionString))
        {
            await connection.OpenAsync(Ct);
            await using var create = new NpgsqlCommand($"CREATE SCHEMA {schema}", connection);
            await create.ExecuteNonQueryAsync(Ct);
        }

        // A small page size, so results of a few rows already travel in several GetStatementResult pages.
        var handler = new RedshiftDataOnPostgresHandler(postgres.ConnectionString, schema, pageSize: 7);
        var options = new AwsOptions { Region = "eu-west-1", ServiceUrl = "https://redshift-data.eu-west-1.amazonaws.com/", AccessKeyId = "AKIDEXAMPLE", SecretAccessKey = "secret", MaxRetries = 0 };
        var json = new Pipeline.Providers.Aws.Internal.AwsJsonClient(new HttpClient(handler), new Pipeline.Providers.Aws.Internal.AwsCredentialSource(options), new Uri(options.ServiceUrl), "eu-west-1", "redshift-data", "RedshiftData", "1.1", 0, TimeSpan.Zero);
        var redshift = new RedshiftOptions { WorkgroupName = "pipeline", Database = "dev", Schema = schema, PollInitialDelay = TimeSpan.FromMilliseconds(1), StatementTimeout = TimeSpan.FromSeconds(30) };
        return new RedshiftDataWarehouse(new RedshiftDataClient(json), redshift);
    }
}
