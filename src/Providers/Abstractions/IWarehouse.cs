namespace Pipeline.Providers.Abstractions;

/// <summary>
/// An analytical store with idempotent, transactional merges by business key.
/// Values travel as: string, long, decimal (exact), bool, DateOnly, DateTimeOffset (UTC), or null.
/// Every provider stores exactly the values of <see cref="WarehouseDomain"/> (decimals in numeric(38,10), text
/// without NUL), refuses others in MergeAsync with a <see cref="WarehouseException"/> and nothing written, and
/// returns decimals at their smallest scale.
/// </summary>
public interface IWarehouse
{
    /// <summary>Creates the table when missing (columns, types, key); an existing table with the same definition is left alone.</summary>
    Task EnsureTableAsync(TableDefinition table, CancellationToken cancellationToken = default);

    /// <summary>
    /// Merges every batch in ONE transaction: a row whose key is new is inserted; an existing row is
    /// replaced unless the table has a version column and the incoming version is lower, or (same version, or no
    /// version column) the table declares a <see cref="TableDefinition.TieBreak"/> and the incoming row's tie-break
    /// values are greater than the stored row's. Merging the same batches twice leaves the same rows; with a tie-break
    /// covering every column that can differ, the same set of rows leaves the same rows in any order.
    /// A provider reads the rows during the call and keeps no reference to them (or their arrays) once it returns, so
    /// a caller may refill its row arrays for the next merge.
    /// </summary>
    Task<MergeResult> MergeAsync(IReadOnlyList<MergeBatch> batches, CancellationToken cancellationToken = default);

    /// <summary>Runs a read-only, parameterized query (named parameters, '@name').</summary>
    /// <exception cref="WarehouseQueryException">When the statement is not read-only or fails.</exception>
    Task<QueryResult> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default);
}

public enum ColumnType
{
    Text,
    Integer,
    Decimal,
    Boolean,
    Date,
    Timestamp,
}

public sealed record ColumnDefinition(string Name, ColumnType Type, bool Nullable = false);

/// <param name="Key">Business key columns.</param>
/// <param name="VersionColumn">Integer column; when set, the highest version wins whatever the arrival order.</param>
/// <param name="CurrentVersionOf">
/// Optional name of another table whose current (highest) version this table's rows must match: a projection
/// that holds only some versions (e.g. reportable trades only). At the end of every merge that holds a batch of
/// this table (possibly empty), in the same transaction, each row of this table whose key was touched by the
/// merge (present in this table's or that table's batches) is deleted when that table stores a HIGHER version of
/// the key. Requires a <paramref name="VersionColumn"/> here, and a batch of that table in the same merge with the
/// same key columns and a version column (else the merge throws <see cref="WarehouseException"/>, nothing written).
/// Deleted rows are not counted in <see cref="TableMergeCounts"/>. When this table declares a <paramref name="TieBreak"/>,
/// a row is also deleted when that table stores the SAME version with different values in those columns (which that
/// table must have): the projection follows the other table's choice among conflicting rows of one version.
/// </param>
/// <param name="TieBreak">
/// Optional columns (non-nullable Text, Integer, Date or Timestamp) that decide between two rows of one key with the
/// same version (or any two rows of one key when there is no version column): the row with the SMALLER values wins,
/// compared column by column; text compares by Unicode code point (UTF-8 byte order, no locale), so every warehouse
/// chooses the same row. Rows equal in every tie-break column: the incoming row replaces the stored one (and, inside
/// one batch, the later row wins). Null (the default): the incoming row always replaces (last write wins).
/// </param>
public sealed record TableDefinition(
    string Name,
    IReadOnlyList<ColumnDefinition> Columns,
    IReadOnlyList<string> Key,
    string? VersionColumn = null,
    string? CurrentVersionOf = null,
    IReadOnlyList<string>? TieBreak = null);

/// <summary>Rows for one table; each row holds a value per column of the table definition, in its order.</summary>
public sealed record MergeBatch(TableDefinition Table, IReadOnlyList<object?[]> Rows)
{
    /// <summary>
    /// Optional partition replace ("this batch is the whole partition"): column name → value (non-null). In the same
    /// transaction, BEFORE any row of the call is merged, every stored row of the table whose columns equal all these
    /// values is deleted; then the rows are merged as usual. So rows that no longer belong to the partition disappear,
    /// and empty <see cref="Rows"/> clears it. Every row of the batch must carry these values (else the merge throws
    /// <see cref="WarehouseException"/> with nothing written). Deletes of all batches of a call run before all merges,
    /// so put a partition's rows in one call; null (the default) deletes nothing.
    /// </summary>
    public IReadOnlyDictionary<string, object?>? ReplaceWhere { get; init; }
}

public sealed record MergeResult(IReadOnlyDictionary<string, TableMergeCounts> Tables);

/// <param name="Received">Rows given (after collapsing duplicate keys inside the batch to the highest version).</param>
/// <param name="Written">Rows inserted or replaced.</param>
/// <param name="Skipped">Rows ignored because a row with a higher version was already stored.</param>
public sealed record TableMergeCounts(long Received, long Written, long Skipped);

public sealed record QueryResult(IReadOnlyList<string> Columns, IReadOnlyList<object?[]> Rows);
