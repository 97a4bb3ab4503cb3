using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Transactions;

/// <summary>
/// The warehouse forms of an enriched transaction. All keyed by transaction_id with the version
/// column "version" (highest version wins whatever the arrival order), except
/// transaction_versions, the audit of every (transaction_id, version) loaded, which reconciliation counts.
/// regulatory_reports holds the reportable projection of the CURRENT version only (CurrentVersionOf transactions):
/// a trade whose highest version is not reportable has no report row, whatever the arrival order.
/// Conflicts: two different contents of one (transaction_id, version) are told apart by content_hash (SHA-256 of the
/// business content). Every table breaks ties deterministically (<see cref="TableDefinition.TieBreak"/>): on the same
/// version the row with the smaller content_hash wins, and among exact copies of that content (transactions) the smallest
/// lineage (source_key, source_etag, record_number, then the earliest ingested_at), so the rows are the same whatever
/// the arrival order, the FIFO dedup window or the warehouse. transaction_contents keeps every distinct content of every
/// version with its smallest lineage: a version with more than one content there is a conflict, recorded with each content.
/// </summary>
public static class WarehouseSchema
{
    private const string ContentHash = "content_hash";

    private static ColumnDefinition Text(string name) => new(name, ColumnType.Text);

    private static ColumnDefinition Int(string name) => new(name, ColumnType.Integer);

    private static ColumnDefinition Dec(string name) => new(name, ColumnType.Decimal);

    private static ColumnDefinition Bool(string name) => new(name, ColumnType.Boolean);

    private static ColumnDefinition Date(string name) => new(name, ColumnType.Date);

    private static ColumnDefinition Time(string name) => new(name, ColumnType.Timestamp);

    public static TableDefinition Transactions { get; } = new(
        "transactions",
        [
            Text("transaction_id"), Int("version"), Text("status"), Bool("cancelled"), Date("trade_date"), Time("executed_at"),
            Text("account_id"), Text("trader_id"), Text("counterparty_lei"), Text("counterparty_name"), Text("counterparty_country"),
            Text("isin"), Text("asset_class"), Text("side"), Dec("quantity"), Dec("price"), Text("currency"), Text("venue_mic"),
            Dec("notional"), Dec("fx_rate_usd"), Dec("notional_usd"), Date("settlement_date"),
            Bool("flag_large_notional"), Bool("flag_watchlist_country"), Bool("flag_unknown_counterparty"), Text("risk_flags"),
            Bool("reportable"), Text("reportable_reason"), Text("dedup_id"), Text("content_hash"), Text("group_id"),
            Text("source_key"), Text("source_etag"), Int("record_number"), Time("ingested_at"), Text("pipeline_version"),
        ],
        ["transaction_id"],
        "version",
        TieBreak: [ContentHash, "source_key", "source_etag", "record_number", "ingested_at"]);

    public static TableDefinition Confirmations { get; } = new(
        "confirmations",
        [
            Text("transaction_id"), Int("version"), Text("confirmation_status"), Text("counterparty_lei"), Text("counterparty_name"),
            Text("counterparty_country"), Text("side"), Text("isin"), Text("asset_class"), Dec("quantity"), Dec("price"),
            Text("currency"), Dec("notional"), Date("trade_date"), Time("executed_at"), Date("settlement_date"), Text("venue_mic"),
            Text("content_hash"),
        ],
        ["transaction_id"],
        "version",
        TieBreak: [ContentHash]);

    public static TableDefinition RegulatoryReports { get; } = new(
        "regulatory_reports",
        [
            Text("transaction_id"), Int("version"), Text("report_action"), Text("reportable_reason"), Time("executed_at"),
            Date("trade_date"), Text("isin"), Text("venue_mic"), Text("side"), Dec("quantity"), Dec("price"), Text("currency"),
            Dec("notional"), Dec("notional_usd"), Text("counterparty_lei"), Text("counterparty_country"), Text("account_id"),
            Text("content_hash"),
        ],
        ["transaction_id"],
        "version",
        CurrentVersionOf: "transactions",
        TieBreak: [ContentHash]);

    public static TableDefinition TransactionVersions { get; } = new(
        "transaction_versions",
        [
            Text("transaction_id"), Int("version"), Text("status"), Text("dedup_id"), Text("content_hash"),
        ],
        ["transaction_id", "version"],
        TieBreak: [ContentHash]);

    /// <summary>Every distinct content of every version (the L0 fields) with its smallest lineage: the conflict record.</summary>
    public static TableDefinition TransactionContents { get; } = new(
        "transaction_contents",
        [
            Text("transaction_id"), Int("version"), Text("content_hash"), Text("status"), Date("trade_date"), Time("executed_at"),
            Text("account_id"), Text("trader_id"), Text("counterparty_lei"), Text("isin"), Text("asset_class"), Text("side"),
            Dec("quantity"), Dec("price"), Text("currency"), Text("venue_mic"),
            Text("source_key"), Text("source_etag"), Int("record_number"), Time("ingested_at"),
        ],
        ["transaction_id", "version", ContentHash],
        TieBreak: ["source_key", "source_etag", "record_number", "ingested_at"]);

    /// <summary>(transaction_id, version) pairs loaded with more than one distinct content.</summary>
    public const string ConflictsSql =
        "SELECT COUNT(*) FROM (SELECT transaction_id, version FROM transaction_contents GROUP BY transaction_id, version HAVING COUNT(*) > 1) AS conflicts";

    public static IReadOnlyList<TableDefinition> All { get; } = [Transactions, Confirmations, RegulatoryReports, TransactionVersions, TransactionContents];

    public static object?[] TransactionRow(EnrichedTransaction t) => FillTransactionRow(new object?[Transactions.Columns.Count], t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    public static object?[] ConfirmationRow(EnrichedTransaction t) => FillConfirmationRow(new object?[Confirmations.Columns.Count], t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    /// <summary>Report actions follow the MiFIR/EMIR vocabulary: NEWT, MODI, CANC.</summary>
    public static object?[] RegulatoryRow(EnrichedTransaction t) => FillRegulatoryRow(new object?[RegulatoryReports.Columns.Count], t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    public static object?[] VersionRow(EnrichedTransaction t) => FillVersionRow(new object?[TransactionVersions.Columns.Count], t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    public static object?[] ContentRow(EnrichedTransaction t) => FillContentRow(new object?[TransactionContents.Columns.Count], t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    // The rows are filled into given arrays (one value per column, in definition order) so WarehouseRows can reuse them.
    internal static object?[] FillTransactionRow(object?[] r, EnrichedTransaction t, in Boxes b)
    {
        r[0] = t.TransactionId; r[1] = b.Version; r[2] = t.Status; r[3] = Box(t.Cancelled); r[4] = b.TradeDate; r[5] = b.ExecutedAt;
        r[6] = t.AccountId; r[7] = t.TraderId; r[8] = t.CounterpartyLei; r[9] = t.CounterpartyName; r[10] = t.CounterpartyCountry;
        r[11] = t.Isin; r[12] = t.AssetClass; r[13] = t.Side; r[14] = b.Quantity; r[15] = b.Price; r[16] = t.Currency; r[17] = t.VenueMic;
        r[18] = b.Notional; r[19] = b.FxRateUsd; r[20] = b.NotionalUsd; r[21] = b.SettlementDate;
        r[22] = Box(t.FlagLargeNotional); r[23] = Box(t.FlagWatchlistCountry); r[24] = Box(t.FlagUnknownCounterparty); r[25] = t.RiskFlags;
        r[26] = Box(t.Reportable); r[27] = t.ReportableReason; r[28] = t.DedupId; r[29] = t.ContentHash; r[30] = t.GroupId;
        r[31] = t.SourceKey; r[32] = t.SourceEtag; r[33] = b.RecordNumber; r[34] = b.IngestedAt; r[35] = t.PipelineVersion;
        return r;
    }

    internal static object?[] FillConfirmationRow(object?[] r, EnrichedTransaction t, in Boxes b)
    {
        r[0] = t.TransactionId; r[1] = b.Version; r[2] = t.Cancelled ? "CANCELLED" : t.Version > 1 ? "AMENDED" : "CONFIRMED";
        r[3] = t.CounterpartyLei; r[4] = t.CounterpartyName; r[5] = t.CounterpartyCountry; r[6] = t.Side; r[7] = t.Isin; r[8] = t.AssetClass;
        r[9] = b.Quantity; r[10] = b.Price; r[11] = t.Currency; r[12] = b.Notional; r[13] = b.TradeDate; r[14] = b.ExecutedAt;
        r[15] = b.SettlementDate; r[16] = t.VenueMic; r[17] = t.ContentHash;
        return r;
    }

    internal static object?[] FillRegulatoryRow(object?[] r, EnrichedTransaction t, in Boxes b)
    {
        r[0] = t.TransactionId; r[1] = b.Version;
        r[2] = t.Status switch
        {
            "CANCEL" => "CANC",
            "AMEND" => "MODI",
            _ => "NEWT",
        };
        r[3] = t.ReportableReason; r[4] = b.ExecutedAt; r[5] = b.TradeDate; r[6] = t.Isin; r[7] = t.VenueMic; r[8] = t.Side;
        r[9] = b.Quantity; r[10] = b.Price; r[11] = t.Currency; r[12] = b.Notional; r[13] = b.NotionalUsd; r[14] = t.CounterpartyLei;
        r[15] = t.CounterpartyCountry; r[16] = t.AccountId; r[17] = t.ContentHash;
        return r;
    }

    // No lineage here: the same version read from two files must give the same row whichever merges last.
    internal static object?[] FillVersionRow(object?[] r, EnrichedTransaction t, in Boxes b)
    {
        r[0] = t.TransactionId; r[1] = b.Version; r[2] = t.Status; r[3] = t.DedupId; r[4] = t.ContentHash;
        return r;
    }

    internal static object?[] FillContentRow(object?[] r, EnrichedTransaction t, in Boxes b)
    {
        r[0] = t.TransactionId; r[1] = b.Version; r[2] = t.ContentHash; r[3] = t.Status; r[4] = b.TradeDate; r[5] = b.ExecutedAt;
        r[6] = t.AccountId; r[7] = t.TraderId; r[8] = t.CounterpartyLei; r[9] = t.Isin; r[10] = t.AssetClass; r[11] = t.Side;
        r[12] = b.Quantity; r[13] = b.Price; r[14] = t.Currency; r[15] = t.VenueMic;
        r[16] = t.SourceKey; r[17] = t.SourceEtag; r[18] = b.RecordNumber; r[19] = b.IngestedAt;
        return r;
    }

    private static readonly object BoxedTrue = true;
    private static readonly object BoxedFalse = false;

    private static object Box(bool value) => value ? BoxedTrue : BoxedFalse;

    /// <summary>
    /// A record's values that several tables' rows hold, boxed once for all of them (merges box millions); with a
    /// <see cref="BoxCache"/>, values that repeat across records (versions, dates, a file's ingested_at) are not boxed again.
    /// </summary>
    internal readonly struct Boxes(EnrichedTransaction t, BoxCache? cache = null)
    {
        public object Version { get; } = cache?.Version(t.Version) ?? (long)t.Version;

        public object TradeDate { get; } = cache?.Date(t.TradeDate) ?? t.TradeDate;

        public object ExecutedAt { get; } = t.ExecutedAt;

        public object Quantity { get; } = t.Quantity;

        public object Price { get; } = t.Price;

        public object Notional { get; } = t.Notional;

        public object FxRateUsd { get; } = t.FxRateUsd;

        public object NotionalUsd { get; } = t.NotionalUsd;

        public object SettlementDate { get; } = cache?.Date(t.SettlementDate) ?? t.SettlementDate;

        public object RecordNumber { get; } = t.RecordNumber;

        public object IngestedAt { get; } = cache?.Instant(t.IngestedAt) ?? t.IngestedAt;
    }

    /// <summary>
    /// Boxes of values that repeat across records. A box is immutable and equal values are the same value (dates;
    /// instants compared with their offset), so sharing one cannot change a row. Decimals are not shared: 1.5 and 1.50
    /// are equal but not the same value.
    /// </summary>
    internal sealed class BoxCache
    {
        private const int MaxDates = 4096;
        private readonly object[] versions = new object[16];
        private readonly Dictionary<DateOnly, object> dates = [];
        private object? lastInstant;

        public object Version(int version)
        {
            if ((uint)version >= (uint)versions.Length)
            {
                return (long)version;
            }

            return versions[version] ??= (long)version;
        }

        public object Date(DateOnly date)
        {
            if (!dates.TryGetValue(date, out var box))
            {
                if (dates.Count >= MaxDates)
                {
                    dates.Clear();
                }

                dates[date] = box = date;
            }

            return box;
        }

        /// <summary>The previous record's box when the instant and offset are the same (ingested_at is one per file).</summary>
        public object Instant(DateTimeOffset instant)
        {
            if (lastInstant is DateTimeOffset last && last.EqualsExact(instant))
            {
                return lastInstant;
            }

            return lastInstant = instant;
        }
    }

    /// <summary>The five merge batches for a set of enriched records (regulatory_reports: reportable only).</summary>
    /// <remarks>A row set of its own that is never refilled, so the batches stay valid (loaders reuse theirs: <see cref="WarehouseRows"/>).</remarks>
    public static IReadOnlyList<MergeBatch> Batches(IEnumerable<EnrichedTransaction> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        return new WarehouseRows().Fill([records as IReadOnlyList<EnrichedTransaction> ?? records.ToList()]);
    }
}
