using Pipeline.Providers.Abstractions;

namespace Pipeline.Conformance;

/// <summary>
/// What every <see cref="IWarehouse"/> must do: idempotent, versioned, transactional merges and read-only
/// parameterized queries. SQL here is portable (SQLite and PostgreSQL/Redshift dialects); tables are Guid-named.
/// </summary>
public abstract class WarehouseConformance : IAsyncLifetime
{
    private IWarehouse? warehouse;

    protected IWarehouse Warehouse => warehouse ?? throw new InvalidOperationException("InitializeAsync has not run.");

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    protected abstract ValueTask<IWarehouse> CreateWarehouseAsync();

    protected virtual ValueTask DisposeWarehouseAsync(IWarehouse warehouse) => Disposal.DisposeAsync(warehouse);

    public virtual async ValueTask InitializeAsync() => warehouse = await CreateWarehouseAsync();

    public virtual async ValueTask DisposeAsync()
    {
        if (warehouse is not null)
        {
            await DisposeWarehouseAsync(warehouse);
        }

        GC.SuppressFinalize(this);
    }

    protected static TableDefinition Trades(string? name = null) => new(
        name ?? ConformanceNames.Table("trades"),
        [
            new ColumnDefinition("transaction_id", ColumnType.Text),
            new ColumnDefinition("version", ColumnType.Integer),
            new ColumnDefinition("amount", ColumnType.Decimal),
            new ColumnDefinition("note", ColumnType.Text, Nullable: true),
        ],
        ["transaction_id"],
        "version");

    [Fact]
    public async Task Merge_SameBatchTwice_LeavesSameRows()
    {
        var t = await EnsureAsync(Trades());
        var batch = new MergeBatch(t, [["t1", 1L, 10.5m, "a"], ["t2", 1L, 20m, null]]);
        var first = await Warehouse.MergeAsync([batch], Ct);
        Assert.Equal(2, first.Tables[t.Name].Written);
        var rowsAfterFirst = await AllAsync(t);

        await Warehouse.MergeAsync([batch], Ct);
        Assert.Equal(Flatten(rowsAfterFirst), Flatten(await AllAsync(t)));
        Assert.Equal(2, rowsAfterFirst.Count);
    }

    [Fact]
    public async Task Merge_OlderVersionAfterNewer_ChangesNothing()
    {
        var t = await EnsureAsync(Trades());
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 3L, 30m, "v3"]])], Ct);
        var result = await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 2L, 20m, "v2"]])], Ct);

        Assert.Equal(new TableMergeCounts(1, 0, 1), result.Tables[t.Name]);
        var row = Assert.Single(await AllAsync(t));
        Assert.Equal(["t1", 3L, 30m, "v3"], row);
    }

    [Fact]
    public async Task Merge_EqualOrHigherVersion_Replaces()
    {
        var t = await EnsureAsync(Trades());
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 1m, "first"]])], Ct);
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 2m, "same version"]])], Ct);
        Assert.Equal(["t1", 1L, 2m, "same version"], Assert.Single(await AllAsync(t)));
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 4L, 4m, null]])], Ct);
        Assert.Equal(["t1", 4L, 4m, null], Assert.Single(await AllAsync(t)));
    }

    [Fact]
    public async Task Merge_DuplicateKeysInOneBatch_HighestVersionWins()
    {
        var t = await EnsureAsync(Trades());
        var result = await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 2L, 2m, "v2"], ["t1", 5L, 5m, "v5"], ["t1", 1L, 1m, "v1"], ["t2", 1L, 7m, null]])], Ct);
        Assert.Equal(2, result.Tables[t.Name].Received);
        var rows = await AllAsync(t);
        Assert.Equal(["t1", 5L, 5m, "v5"], rows[0]);
        Assert.Equal(["t2", 1L, 7m, null], rows[1]);
    }

    [Fact]
    public async Task Merge_TableWithoutVersion_LastWriteWins()
    {
        var t = await EnsureAsync(new TableDefinition(
            ConformanceNames.Table("plain"),
            [new ColumnDefinition("id", ColumnType.Integer), new ColumnDefinition("name", ColumnType.Text)],
            ["id"]));
        await Warehouse.MergeAsync([new MergeBatch(t, [[1L, "a"]])], Ct);
        await Warehouse.MergeAsync([new MergeBatch(t, [[1L, "b"], [2L, "c"]])], Ct);
        var rows = await AllAsync(t);
        Assert.Equal([[1L, "b"], [2L, "c"]], rows);
    }

    [Fact]
    public async Task Merge_MissingTableInLastBatch_RollsBackEveryTable()
    {
        var a = await EnsureAsync(Trades());
        var b = await EnsureAsync(Trades());
        var missing = Trades(ConformanceNames.Table("never_created"));
        await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync(
            [new MergeBatch(a, [["t1", 1L, 1m, null]]), new MergeBatch(b, [["t2", 1L, 2m, null]]), new MergeBatch(missing, [["t3", 1L, 3m, null]])], Ct));

        Assert.Empty(await AllAsync(a));
        Assert.Empty(await AllAsync(b));
    }

    [Fact]
    public async Task Merge_InvalidValueInLaterBatch_WritesNothing()
    {
        var a = await EnsureAsync(Trades());
        var b = await EnsureAsync(Trades());
        await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync(
            [new MergeBatch(a, [["t1", 1L, 1m, null]]), new MergeBatch(b, [["t2", 1L, null, null]])], Ct));

        Assert.Empty(await AllAsync(a));
        Assert.Empty(await AllAsync(b));
    }

    [Fact]
    public async Task MergeAndQuery_AllColumnTypes_RoundTripExactly()
    {
        var t = await EnsureAsync(new TableDefinition(
            ConformanceNames.Table("types"),
            [
                new ColumnDefinition("id", ColumnType.Text),
                new ColumnDefinition("n", ColumnType.Integer),
                new ColumnDefinition("amount", ColumnType.Decimal),
                new ColumnDefinition("flag", ColumnType.Boolean),
                new ColumnDefinition("trade_date", ColumnType.Date),
                new ColumnDefinition("booked_at", ColumnType.Timestamp),
                new ColumnDefinition("maybe", ColumnType.Text, Nullable: true),
            ],
            ["id"]));
        var booked = new DateTimeOffset(2024, 3, 31, 23, 59, 58, 123, TimeSpan.FromHours(2));
        await Warehouse.MergeAsync([new MergeBatch(t, [
            ["x", long.MaxValue, 12345678901234567.123456789m, true, new DateOnly(2024, 2, 29), booked, null],
            ["y", -1L, -0.000001m, false, new DateOnly(1999, 12, 31), booked.AddDays(1), "text with 'quotes' and ; semicolons"],
        ])], Ct);

        var rows = await AllAsync(t);
        Assert.Equal("x", rows[0][0]);
        Assert.Equal(long.MaxValue, rows[0][1]);
        Assert.Equal(12345678901234567.123456789m, rows[0][2]);
        Assert.Equal(true, rows[0][3]);
        Assert.Equal(new DateOnly(2024, 2, 29), rows[0][4]);
        var at = Assert.IsType<DateTimeOffset>(rows[0][5]);
        Assert.Equal(booked.UtcDateTime, at.UtcDateTime);
        Assert.Null(rows[0][6]);
        Assert.Equal(-0.000001m, rows[1][2]);
        Assert.Equal(false, rows[1][3]);
        Assert.Equal("text with 'quotes' and ; semicolons", rows[1][6]);
    }

    [Fact]
    public async Task Query_NamedParameters_FilterRows()
    {
        var t = await EnsureAsync(Trades());
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 5m, null], ["t2", 1L, 50m, null], ["t3", 1L, 500m, null]])], Ct);
        var result = await Warehouse.QueryAsync(
            $"SELECT transaction_id FROM {t.Name} WHERE transaction_id <> @skip AND version = @version ORDER BY transaction_id",
            new Dictionary<string, object?> { ["skip"] = "t2", ["version"] = 1L },
            Ct);
        Assert.Equal(["transaction_id"], result.Columns);
        Assert.Equal(["t1", "t3"], result.Rows.Select(r => (string)r[0]!));
    }

    [Theory]
    [InlineData("DELETE FROM {0}")]
    [InlineData("INSERT INTO {0} (transaction_id, version, amount) VALUES ('evil', 1, 1)")]
    [InlineData("UPDATE {0} SET version = 99")]
    [InlineData("DROP TABLE {0}")]
    [InlineData("SELECT 1; DELETE FROM {0}")]
    public async Task Query_WriteStatement_RejectedAndNothingChanges(string template)
    {
        var t = await EnsureAsync(Trades());
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 5m, null]])], Ct);
        await Assert.ThrowsAsync<WarehouseQueryException>(() => Warehouse.QueryAsync(string.Format(System.Globalization.CultureInfo.InvariantCulture, template, t.Name), null, Ct));
        Assert.Equal(["t1", 1L, 5m, null], Assert.Single(await AllAsync(t)));
    }

    [Fact]
    public async Task EnsureTable_Twice_KeepsRows()
    {
        var t = await EnsureAsync(Trades());
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 5m, null]])], Ct);
        await Warehouse.EnsureTableAsync(t, Ct);
        Assert.Single(await AllAsync(t));
    }

    [Fact]
    public async Task Merge_ThousandsOfRowsAcrossTables_AllWrittenInOneCall()
    {
        var a = await EnsureAsync(Trades());
        var b = await EnsureAsync(Trades());
        var rows = Enumerable.Range(0, 5000).Select(i => new object?[] { $"t{i:D5}", 1L, i * 1.25m, null }).ToList();
        var result = await Warehouse.MergeAsync([new MergeBatch(a, rows), new MergeBatch(b, rows)], Ct);
        Assert.Equal(5000, result.Tables[a.Name].Written);
        Assert.Equal(5000, result.Tables[b.Name].Written);
        var count = await Warehouse.QueryAsync($"SELECT COUNT(*) FROM {b.Name}", null, Ct);
        Assert.Equal(5000L, Convert.ToInt64(count.Rows[0][0], System.Globalization.CultureInfo.InvariantCulture));
    }

    protected static TableDefinition Daily() => new(
        ConformanceNames.Table("daily"),
        [
            new ColumnDefinition("trade_date", ColumnType.Date),
            new ColumnDefinition("name", ColumnType.Text),
            new ColumnDefinition("amount", ColumnType.Decimal),
        ],
        ["trade_date", "name"]);

    private static readonly DateOnly Day1 = new(2026, 11, 20);
    private static readonly DateOnly Day2 = new(2026, 11, 21);

    private static MergeBatch Day(TableDefinition t, DateOnly day, params (string Name, decimal Amount)[] rows) =>
        new(t, rows.Select(r => new object?[] { day, r.Name, r.Amount }).ToList()) { ReplaceWhere = new Dictionary<string, object?> { ["trade_date"] = day } };

    [Fact]
    public async Task Merge_ReplaceWhere_RowsMissingFromBatchDisappearOnlyInThatPartition()
    {
        var t = await EnsureAsync(Daily());
        await Warehouse.MergeAsync([Day(t, Day1, ("a", 1m), ("b", 2m), ("c", 3m)), Day(t, Day2, ("a", 10m), ("c", 30m))], Ct);

        await Warehouse.MergeAsync([Day(t, Day1, ("a", 1.5m), ("b", 2m))], Ct);

        Assert.Equal(
            [[Day1, "a", 1.5m], [Day1, "b", 2m], [Day2, "a", 10m], [Day2, "c", 30m]],
            await AllAsync(t));
    }

    [Fact]
    public async Task Merge_ReplaceWhereNoRows_ClearsPartition()
    {
        var t = await EnsureAsync(Daily());
        await Warehouse.MergeAsync([Day(t, Day1, ("a", 1m)), Day(t, Day2, ("a", 2m))], Ct);

        await Warehouse.MergeAsync([Day(t, Day1)], Ct);
        await Warehouse.MergeAsync([Day(t, Day1)], Ct);

        Assert.Equal([[Day2, "a", 2m]], await AllAsync(t));
    }

    [Fact]
    public async Task Merge_NullInNotNullColumn_ThrowsWarehouseRejectedException()
    {
        // A refusal of the rows themselves: callers narrow the merge to find them (poison isolation).
        var t = await EnsureAsync(Trades());
        await Assert.ThrowsAsync<WarehouseRejectedException>(() => Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, null, null]])], Ct));
    }

    [Fact]
    public async Task Merge_MissingTable_ThrowsWarehouseExceptionThatIsNotARejection()
    {
        // Nothing to do with the rows: narrowing would only repeat it, so it must not look like a rejection.
        var missing = Trades(ConformanceNames.Table("never_created"));
        var e = await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync([new MergeBatch(missing, [["t1", 1L, 1m, null]])], Ct));
        Assert.IsNotType<WarehouseRejectedException>(e);
    }

    [Fact]
    public async Task Merge_ReplaceWhereRowOutsidePartition_ThrowsAndWritesNothing()
    {
        var t = await EnsureAsync(Daily());
        await Warehouse.MergeAsync([Day(t, Day1, ("a", 1m))], Ct);
        var bad = new MergeBatch(t, [[Day2, "x", 9m]]) { ReplaceWhere = new Dictionary<string, object?> { ["trade_date"] = Day1 } };

        await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync([bad], Ct));

        Assert.Equal([[Day1, "a", 1m]], await AllAsync(t));
    }

    [Fact]
    public async Task Merge_ReplaceWhereThenFailingBatch_RollsBackTheDelete()
    {
        var t = await EnsureAsync(Daily());
        await Warehouse.MergeAsync([Day(t, Day1, ("a", 1m))], Ct);
        var missing = Trades(ConformanceNames.Table("never_created"));

        await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync([Day(t, Day1), new MergeBatch(missing, [["t1", 1L, 1m, null]])], Ct));

        Assert.Equal([[Day1, "a", 1m]], await AllAsync(t));
    }

    /// <summary>A projection of <paramref name="of"/> that holds only some versions (like regulatory_reports: reportable only).</summary>
    protected static TableDefinition Reports(TableDefinition of) => new(
        ConformanceNames.Table("reports"),
        [new ColumnDefinition("transaction_id", ColumnType.Text), new ColumnDefinition("version", ColumnType.Integer), new ColumnDefinition("action", ColumnType.Text)],
        ["transaction_id"],
        "version",
        CurrentVersionOf: of.Name);

    [Fact]
    public async Task Merge_CurrentVersionOf_ProjectionKeepsOnlyTheCurrentVersionWhateverTheOrder()
    {
        var t = await EnsureAsync(Trades());
        var r = await EnsureAsync(Reports(t));
        async Task MergeAsync(object?[][] trades, object?[][] reports) =>
            await Warehouse.MergeAsync([new MergeBatch(t, trades), new MergeBatch(r, reports)], Ct);

        await MergeAsync([["t1", 1L, 1m, null], ["t2", 1L, 2m, null]], [["t1", 1L, "NEWT"], ["t2", 1L, "NEWT"]]);
        await MergeAsync([["t1", 2L, 1m, "no longer reportable"]], []);
        Assert.Equal([["t2", 1L, "NEWT"]], await AllAsync(r));

        // Redelivery of v1 after v2: inserted, then deleted in the same transaction.
        await MergeAsync([["t1", 1L, 1m, null]], [["t1", 1L, "NEWT"]]);
        Assert.Equal([["t2", 1L, "NEWT"]], await AllAsync(r));
        Assert.Equal(2L, (await AllAsync(t))[0][1]);

        // Reportable again at v3.
        await MergeAsync([["t1", 3L, 3m, null]], [["t1", 3L, "MODI"]]);
        Assert.Equal([["t1", 3L, "MODI"], ["t2", 1L, "NEWT"]], await AllAsync(r));

        // Out of order inside one merge and across merges: the non-reportable v2 arrives first.
        await MergeAsync([["t3", 2L, 3m, "not reportable"]], []);
        await MergeAsync([["t3", 1L, 3m, null], ["t4", 2L, 4m, null], ["t4", 1L, 4m, null]], [["t3", 1L, "NEWT"], ["t4", 1L, "NEWT"]]);
        Assert.Equal([["t1", 3L, "MODI"], ["t2", 1L, "NEWT"]], await AllAsync(r));
    }

    [Fact]
    public async Task Merge_CurrentVersionOfTableNotInMerge_ThrowsAndWritesNothing()
    {
        var t = await EnsureAsync(Trades());
        var r = await EnsureAsync(Reports(t));
        var other = await EnsureAsync(Trades());

        var e = await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync([new MergeBatch(other, [["t1", 1L, 1m, null]]), new MergeBatch(r, [["t1", 1L, "NEWT"]])], Ct));

        Assert.Contains(t.Name, e.Message, StringComparison.Ordinal);
        Assert.Empty(await AllAsync(r));
        Assert.Empty(await AllAsync(other));
    }

    /// <summary>The edges of the value domain (<see cref="WarehouseDomain"/>: numeric(38,10)), each as a decimal.</summary>
    protected static readonly string[] DomainDecimals =
    [
        "9999999999999999999999999999", // 28 integer digits
        "-9999999999999999999999999999",
        "999999999999999999.9999999999", // 28 significant digits, 10 of them fractional
        "7922816251426433759.3543950335", // the largest .NET decimal mantissa at scale 10
        "0.0000000001",
        "-0.0000000001",
        "12345.6789012123",
        "0.0123456789",
        "1500",
        "0",
    ];

    [Fact]
    public async Task MergeAndQuery_DecimalExtremes_ReturnExactlyTheStoredValueAndText()
    {
        var t = await EnsureAsync(Trades());
        var values = DomainDecimals.Select(d => decimal.Parse(d, System.Globalization.CultureInfo.InvariantCulture)).ToList();
        // The same values at a larger scale (trailing zeros): stored and read back at their smallest scale.
        values.Add(1.5000000000m);
        values.Add(-42.10m);
        await Warehouse.MergeAsync([new MergeBatch(t, values.Select((v, i) => new object?[] { $"d{i:D2}", 1L, v, null }).ToList())], Ct);

        var rows = await AllAsync(t);
        Assert.Equal(values.Count, rows.Count);
        for (var i = 0; i < values.Count; i++)
        {
            var stored = Assert.IsType<decimal>(rows[i][2]);
            Assert.Equal(values[i], stored);
            Assert.Equal(WarehouseDomain.Normalize(values[i]).ToString(System.Globalization.CultureInfo.InvariantCulture), stored.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        Assert.Equal("1.5", ((decimal)rows[^2][2]!).ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal("-42.1", ((decimal)rows[^1][2]!).ToString(System.Globalization.CultureInfo.InvariantCulture));

        // A decimal parameter matches the stored value exactly.
        var hit = await Warehouse.QueryAsync($"SELECT transaction_id FROM {t.Name} WHERE amount = @amount", new Dictionary<string, object?> { ["amount"] = -0.0000000001m }, Ct);
        Assert.Equal("d05", Assert.Single(hit.Rows)[0]);
    }

    [Theory]
    [InlineData("0.00000000001", "11 fractional digits")] // one digit finer than numeric(38,10)
    [InlineData("12345.6789012123456789", "16 fractional digits")] // the notional: PostgreSQL rounded it
    [InlineData("10000000000000000000000000000", "29 integer digits")]
    [InlineData("-79228162514264337593543950335", "29 integer digits")]
    public async Task Merge_DecimalOutsideDomain_ThrowsNamingTheLimitAndWritesNothing(string text, string found)
    {
        var t = await EnsureAsync(Trades());
        var value = decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);

        var e = await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync([new MergeBatch(t, [["ok", 1L, 1m, null], ["bad", 1L, value, null]])], Ct));

        Assert.Contains(found, e.Message, StringComparison.Ordinal);
        Assert.Contains("numeric(38,10)", e.Message, StringComparison.Ordinal);
        Assert.Empty(await AllAsync(t));
    }

    /// <summary>Text every warehouse must store and return exactly (the pipeline's validation is stricter).</summary>
    protected static readonly string[] HostileTexts =
    [
        "it's",
        "''",
        "\"quoted\" and \\ backslash",
        "end\\",
        "\\'; DROP TABLE trades; --",
        "'); DELETE FROM trades; --",
        "@note :note $1 ? %s {0}",
        "ünïcødé € ß ﬁ",
        "emoji 🚀 astral 𝄞 𠜎 and ZWJ 👩‍💻",
        "e\u0301 combining, RTL עברית العربية",
        "multi\nline\ttab",
        "",
        " leading and trailing spaces ",
        new string('x', 4000) + "𝄞",
    ];

    [Fact]
    public async Task MergeAndQuery_HostileText_RoundTripsExactlyAndMatchesAsParameter()
    {
        var t = await EnsureAsync(Trades());
        var texts = HostileTexts.ToList();
        await Warehouse.MergeAsync([new MergeBatch(t, texts.Select((n, i) => new object?[] { $"s{i:D2}", 1L, 1m, n }).ToList())], Ct);

        var rows = await AllAsync(t);
        Assert.Equal(texts, rows.Select(r => (string?)r[3]));
        for (var i = 0; i < texts.Count; i++)
        {
            if (texts[i].Length == 0)
            {
                continue; // the Redshift Data API takes no empty parameter value
            }

            var hit = await Warehouse.QueryAsync($"SELECT transaction_id FROM {t.Name} WHERE note = @note", new Dictionary<string, object?> { ["note"] = texts[i] }, Ct);
            Assert.Equal($"s{i:D2}", Assert.Single(hit.Rows)[0]);
        }
    }

    private static readonly string[] UnstorableTexts = ["nul \0 inside", "\0", "lone surrogate \ud800 inside", "\udc00"];

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task Merge_TextNoWarehouseCanStore_ThrowsAndWritesNothing(int which)
    {
        var t = await EnsureAsync(Trades());
        var text = UnstorableTexts[which];

        await Assert.ThrowsAnyAsync<WarehouseException>(() => Warehouse.MergeAsync([new MergeBatch(t, [["ok", 1L, 1m, "fine"], ["bad", 1L, 1m, text]])], Ct));

        Assert.Empty(await AllAsync(t));
    }


    /// <summary>Like transactions: a version, a content hash and lineage that break ties between rows of one version.</summary>
    protected static TableDefinition Contents(string? name = null) => new(
        name ?? ConformanceNames.Table("contents"),
        [
            new ColumnDefinition("transaction_id", ColumnType.Text),
            new ColumnDefinition("version", ColumnType.Integer),
            new ColumnDefinition("price", ColumnType.Decimal),
            new ColumnDefinition("content_hash", ColumnType.Text),
            new ColumnDefinition("source_key", ColumnType.Text),
            new ColumnDefinition("record_number", ColumnType.Integer),
            new ColumnDefinition("ingested_at", ColumnType.Timestamp),
        ],
        ["transaction_id"],
        "version",
        TieBreak: ["content_hash", "source_key", "record_number", "ingested_at"]);

    private static readonly DateTimeOffset T0 = new(2026, 12, 1, 8, 0, 0, TimeSpan.Zero);

    private static IEnumerable<IReadOnlyList<T>> Permutations<T>(IReadOnlyList<T> items) =>
        items.Count <= 1
            ? [items]
            : items.SelectMany((item, i) => Permutations(items.Where((_, j) => j != i).ToList()).Select(rest => (IReadOnlyList<T>)[item, .. rest]));

    /// <summary>Three conflicting contents of one version and an exact duplicate of one with other lineage, in every order.</summary>
    public static TheoryData<string> TieBreakOrders() =>
        new(Permutations([0, 1, 2, 3]).Select(p => string.Join(",", p)));

    private static readonly object?[][] Conflicting =
    [
        ["t1", 1L, 101m, "bbbb", "raw/b.json", 1L, T0],
        ["t1", 1L, 100m, "aaaa", "raw/c.json", 9L, T0.AddMinutes(1)],
        ["t1", 1L, 102m, "cccc", "raw/a.json", 1L, T0],
        ["t1", 1L, 100m, "aaaa", "raw/c.json", 2L, T0.AddMinutes(5)],
    ];

    [Theory]
    [MemberData(nameof(TieBreakOrders))]
    public async Task Merge_SameVersionConflictingRowsInAnyOrder_SmallestTieBreakWins(string order)
    {
        var oneByOne = await EnsureAsync(Contents());
        var oneBatch = await EnsureAsync(Contents());
        var rows = order.Split(',').Select(i => Conflicting[int.Parse(i, System.Globalization.CultureInfo.InvariantCulture)]).ToList();
        foreach (var row in rows)
        {
            await Warehouse.MergeAsync([new MergeBatch(oneByOne, [row])], Ct);
        }

        await Warehouse.MergeAsync([new MergeBatch(oneBatch, rows)], Ct);
        await Warehouse.MergeAsync([new MergeBatch(oneBatch, rows)], Ct); // redelivery

        // Smallest content hash, then for its exact duplicates the smallest lineage (source_key, record_number).
        object?[] expected = ["t1", 1L, 100m, "aaaa", "raw/c.json", 2L, T0.AddMinutes(5)];
        Assert.Equal(expected, Assert.Single(await AllAsync(oneByOne)));
        Assert.Equal(expected, Assert.Single(await AllAsync(oneBatch)));
    }

    [Fact]
    public async Task Merge_TieBreak_HigherVersionStillWinsAndFullTieReplaces()
    {
        var t = await EnsureAsync(Contents());
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 2L, 200m, "ffff", "raw/z.json", 5L, T0]])], Ct);
        var lower = await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 100m, "0000", "raw/a.json", 1L, T0]])], Ct);
        Assert.Equal(new TableMergeCounts(1, 0, 1), lower.Tables[t.Name]);
        var larger = await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 2L, 201m, "ffff", "raw/z.json", 6L, T0]])], Ct);
        Assert.Equal(new TableMergeCounts(1, 0, 1), larger.Tables[t.Name]);
        var same = await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 2L, 200m, "ffff", "raw/z.json", 5L, T0]])], Ct);
        Assert.Equal(new TableMergeCounts(1, 1, 0), same.Tables[t.Name]);
        Assert.Equal(["t1", 2L, 200m, "ffff", "raw/z.json", 5L, T0], Assert.Single(await AllAsync(t)));

        // The same instant a minute earlier wins the last tie-break column.
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 2L, 200m, "ffff", "raw/z.json", 5L, T0.AddMinutes(-1)]])], Ct);
        Assert.Equal(T0.AddMinutes(-1), (DateTimeOffset)Assert.Single(await AllAsync(t))[6]!);
    }

    [Fact]
    public async Task Merge_TieBreakText_ComparesByCodePointNotLocale()
    {
        // Byte (code point) order: 'Z' (5A) < 'a' (61) < 'é' (E9) < U+FFFD < U+1F600 (UTF-16 ordinal order would put the emoji first).
        string[] smallestFirst = ["Zeta", "alpha", "été", "�", "😀"];
        foreach (var (winner, loser) in smallestFirst.SelectMany((w, i) => smallestFirst.Skip(i + 1).Select(l => (w, l))))
        {
            var t = await EnsureAsync(Contents());
            await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 1m, "h", loser, 1L, T0]])], Ct);
            await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 1m, "h", winner, 1L, T0]])], Ct);
            await Warehouse.MergeAsync([new MergeBatch(t, [["t1", 1L, 1m, "h", loser, 1L, T0]])], Ct);
            await Warehouse.MergeAsync([new MergeBatch(t, [["t2", 1L, 1m, "h", loser, 1L, T0], ["t2", 1L, 1m, "h", winner, 1L, T0], ["t2", 1L, 1m, "h", loser, 1L, T0]])], Ct);
            Assert.Equal([winner, winner], (await AllAsync(t)).Select(r => r[4]));
        }
    }

    [Fact]
    public async Task Merge_TieBreakWithoutVersion_SmallestWinsWhateverTheOrder()
    {
        var t = await EnsureAsync(new TableDefinition(
            ConformanceNames.Table("conflicts"),
            [new ColumnDefinition("id", ColumnType.Text), new ColumnDefinition("hash", ColumnType.Text), new ColumnDefinition("source_key", ColumnType.Text), new ColumnDefinition("record_number", ColumnType.Integer)],
            ["id", "hash"],
            TieBreak: ["source_key", "record_number"]));
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", "h1", "raw/b", 1L], ["t1", "h2", "raw/b", 1L]])], Ct);
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", "h1", "raw/a", 3L], ["t1", "h1", "raw/a", 2L], ["t1", "h1", "raw/c", 1L]])], Ct);
        await Warehouse.MergeAsync([new MergeBatch(t, [["t1", "h2", "raw/b", 1L]])], Ct);
        Assert.Equal([["t1", "h1", "raw/a", 2L], ["t1", "h2", "raw/b", 1L]], await AllAsync(t));
    }

    [Fact]
    public async Task Merge_TieBreakOnNullableOrDecimalColumn_Throws()
    {
        var nullable = Trades() with { TieBreak = ["note"] };
        var money = Trades() with { TieBreak = ["amount"] };
        var key = Trades() with { TieBreak = ["transaction_id"] };
        foreach (var table in new[] { nullable, money, key })
        {
            await Assert.ThrowsAnyAsync<WarehouseException>(async () =>
            {
                await Warehouse.EnsureTableAsync(table, Ct);
                await Warehouse.MergeAsync([new MergeBatch(table, [["t1", 1L, 1m, "x"]])], Ct);
            });
        }
    }

    [Fact]
    public async Task Merge_CurrentVersionOfWithTieBreak_ProjectionFollowsTheChosenRowWhateverTheOrder()
    {
        foreach (var reportableFirst in new[] { true, false })
        {
            var t = await EnsureAsync(Contents());
            var r = await EnsureAsync(new TableDefinition(
                ConformanceNames.Table("reports"),
                [new ColumnDefinition("transaction_id", ColumnType.Text), new ColumnDefinition("version", ColumnType.Integer), new ColumnDefinition("content_hash", ColumnType.Text)],
                ["transaction_id"],
                "version",
                CurrentVersionOf: t.Name,
                TieBreak: ["content_hash"]));

            // Two contents of v1: "aaaa" (wins, not reportable) and "bbbb" (reportable): no report row either way.
            MergeBatch[] winner = [new MergeBatch(t, [["t1", 1L, 100m, "aaaa", "raw/a.json", 1L, T0]]), new MergeBatch(r, [])];
            MergeBatch[] reportable = [new MergeBatch(t, [["t1", 1L, 101m, "bbbb", "raw/b.json", 1L, T0]]), new MergeBatch(r, [["t1", 1L, "bbbb"]])];
            foreach (var merge in reportableFirst ? [reportable, winner] : new[] { winner, reportable })
            {
                await Warehouse.MergeAsync(merge, Ct);
            }

            Assert.Equal("aaaa", Assert.Single(await AllAsync(t))[3]);
            Assert.Empty(await AllAsync(r));
        }
    }

    [Fact]
    public async Task Merge_CompositeKeysWhoseTextsJoinAlike_KeptApart()
    {
        // Two different keys that a key text joined with U+001F would confuse: both rows are kept.
        var t = await EnsureAsync(new TableDefinition(
            ConformanceNames.Table("pairs"),
            [new ColumnDefinition("a", ColumnType.Text), new ColumnDefinition("b", ColumnType.Text), new ColumnDefinition("v", ColumnType.Integer)],
            ["a", "b"],
            "v"));

        var result = await Warehouse.MergeAsync([new MergeBatch(t, [["x\u001fsy", "z", 1L], ["x", "y\u001fsz", 2L]])], Ct);

        Assert.Equal(new TableMergeCounts(2, 2, 0), result.Tables[t.Name]);
        Assert.Equal(2, (await AllAsync(t)).Count);
    }

    [Fact]
    public async Task Merge_RowArraysReusedAfterTheCall_EachMergeStoresItsOwnValues()
    {
        // A caller may refill its row arrays once MergeAsync returns (the loader does): the provider keeps no reference.
        var t = await EnsureAsync(Trades());
        object?[] first = ["t1", 1L, 1.5m, "a"];
        object?[] second = ["t2", 1L, 2m, null];
        await Warehouse.MergeAsync([new MergeBatch(t, [first, second])], Ct);

        first[0] = "t3";
        first[2] = 3m;
        second[0] = "t1";
        second[1] = 2L;
        second[3] = "b";
        Assert.Equal([["t1", 1L, 1.5m, "a"], ["t2", 1L, 2m, null]], await AllAsync(t));
        await Warehouse.MergeAsync([new MergeBatch(t, [first, second])], Ct);

        Assert.Equal([["t1", 2L, 2m, "b"], ["t2", 1L, 2m, null], ["t3", 1L, 3m, "a"]], await AllAsync(t));
    }

    protected async Task<TableDefinition> EnsureAsync(TableDefinition table)
    {
        await Warehouse.EnsureTableAsync(table, Ct);
        return table;
    }

    protected async Task<IReadOnlyList<object?[]>> AllAsync(TableDefinition table)
    {
        var columns = string.Join(", ", table.Columns.Select(c => c.Name));
        var keys = string.Join(", ", table.Key);
        return (await Warehouse.QueryAsync($"SELECT {columns} FROM {table.Name} ORDER BY {keys}", null, Ct)).Rows;
    }

    private static List<string> Flatten(IReadOnlyList<object?[]> rows) =>
        rows.Select(r => string.Join("|", r.Select(v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture)))).ToList();
}
