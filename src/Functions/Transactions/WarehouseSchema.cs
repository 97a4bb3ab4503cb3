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

    public static object?[] TransactionRow(EnrichedTransaction t) => TransactionRow(t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    public static object?[] ConfirmationRow(EnrichedTransaction t) => ConfirmationRow(t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    /// <summary>Report actions follow the MiFIR/EMIR vocabulary: NEWT, MODI, CANC.</summary>
    public static object?[] RegulatoryRow(EnrichedTransaction t) => RegulatoryRow(t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    public static object?[] VersionRow(EnrichedTransaction t) => VersionRow(t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    public static object?[] ContentRow(EnrichedTransaction t) => ContentRow(t, new Boxes(t ?? throw new ArgumentNullException(nameof(t))));

    private static object?[] TransactionRow(EnrichedTransaction t, Boxes b) =>
    [
        t.TransactionId, b.Version, t.Status, Box(t.Cancelled), b.TradeDate, b.ExecutedAt,
        t.AccountId, t.TraderId, t.CounterpartyLei, t.CounterpartyName, t.CounterpartyCountry,
        t.Isin, t.AssetClass, t.Side, b.Quantity, b.Price, t.Currency, t.VenueMic,
        b.Notional, t.FxRateUsd, b.NotionalUsd, t.SettlementDate,
        Box(t.FlagLargeNotional), Box(t.FlagWatchlistCountry), Box(t.FlagUnknownCounterparty), t.RiskFlags,
        Box(t.Reportable), t.ReportableReason, t.DedupId, t.ContentHash, t.GroupId,
        t.SourceKey, t.SourceEtag, b.RecordNumber, b.IngestedAt, t.PipelineVersion,
    ];

    private static object?[] ConfirmationRow(EnrichedTransaction t, Boxes b) =>
    [
        t.TransactionId, b.Version, t.Cancelled ? "CANCELLED" : t.Version > 1 ? "AMENDED" : "CONFIRMED",
        t.CounterpartyLei, t.CounterpartyName, t.CounterpartyCountry, t.Side, t.Isin, t.AssetClass, b.Quantity, b.Price,
        t.Currency, b.Notional, b.TradeDate, b.ExecutedAt, t.SettlementDate, t.VenueMic, t.ContentHash,
    ];

    private static object?[] RegulatoryRow(EnrichedTransaction t, Boxes b)
    {
        var action = t.Status switch
        {
            "CANCEL" => "CANC",
            "AMEND" => "MODI",
            _ => "NEWT",
        };
        return
        [
            t.TransactionId, b.Version, action, t.ReportableReason, b.ExecutedAt, b.TradeDate, t.Isin, t.VenueMic, t.Side,
            b.Quantity, b.Price, t.Currency, b.Notional, b.NotionalUsd, t.CounterpartyLei, t.CounterpartyCountry, t.AccountId, t.ContentHash,
        ];
    }

    // No lineage here: the same version read from two files must give the same row whichever merges last.
    private static object?[] VersionRow(EnrichedTransaction t, Boxes b) => [t.TransactionId, b.Version, t.Status, t.DedupId, t.ContentHash];

    private static object?[] ContentRow(EnrichedTransaction t, Boxes b) =>
    [
        t.TransactionId, b.Version, t.ContentHash, t.Status, b.TradeDate, b.ExecutedAt,
        t.AccountId, t.TraderId, t.CounterpartyLei, t.Isin, t.AssetClass, t.Side,
        b.Quantity, b.Price, t.Currency, t.VenueMic,
        t.SourceKey, t.SourceEtag, b.RecordNumber, b.IngestedAt,
    ];

    private static readonly object BoxedTrue = true;
    private static readonly object BoxedFalse = false;

    private static object Box(bool value) => value ? BoxedTrue : BoxedFalse;

    /// <summary>A record's values that several tables' rows hold, boxed once for all of them (merges box millions).</summary>
    private readonly struct Boxes(EnrichedTransaction t)
    {
        public object Version { get; } = (long)t.Version;

        public object TradeDate { get; } = t.TradeDate;

        public object ExecutedAt { get; } = t.ExecutedAt;

        public object Quantity { get; } = t.Quantity;

        public object Price { get; } = t.Price;

        public object Notional { get; } = t.Notional;

        public object NotionalUsd { get; } = t.NotionalUsd;

        public object RecordNumber { get; } = t.RecordNumber;

        public object IngestedAt { get; } = t.IngestedAt;
    }

    /// <summary>The five merge batches for a set of enriched records (regulatory_reports: reportable only).</summary>
    public static IReadOnlyList<MergeBatch> Batches(IEnumerable<EnrichedTransaction> records)
    {
        var capacity = records is ICollection<EnrichedTransaction> known ? known.Count : 0;
        var transactions = new List<object?[]>(capacity);
        var confirmations = new List<object?[]>(capacity);
        var reports = new List<object?[]>(capacity);
        var versions = new List<object?[]>(capacity);
        var contents = new List<object?[]>(capacity);
        foreach (var t in records)
        {
            ArgumentNullException.ThrowIfNull(t);
            var boxes = new Boxes(t);
            transactions.Add(TransactionRow(t, boxes));
            confirmations.Add(ConfirmationRow(t, boxes));
            if (t.Reportable)
            {
                reports.Add(RegulatoryRow(t, boxes));
            }

            versions.Add(VersionRow(t, boxes));
            contents.Add(ContentRow(t, boxes));
        }

        return
        [
            new MergeBatch(Transactions, transactions),
            new MergeBatch(Confirmations, confirmations),
            new MergeBatch(RegulatoryReports, reports),
            new MergeBatch(TransactionVersions, versions),
            new MergeBatch(TransactionContents, contents),
        ];
    }
}
