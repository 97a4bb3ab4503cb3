using System.Text.Json.Serialization;

namespace Pipeline.Functions.Transactions;

/// <summary>The L1 record: the validated L0 fields, the enrichment and the lineage.</summary>
public sealed record EnrichedTransaction
{
    public required string TransactionId { get; init; }

    public required int Version { get; init; }

    public required string Status { get; init; }

    public required DateOnly TradeDate { get; init; }

    /// <summary>Execution time normalised to UTC.</summary>
    public required DateTimeOffset ExecutedAt { get; init; }

    public required string AccountId { get; init; }

    public required string TraderId { get; init; }

    public required string CounterpartyLei { get; init; }

    public required string CounterpartyName { get; init; }

    public required string CounterpartyCountry { get; init; }

    public required string Isin { get; init; }

    public required string AssetClass { get; init; }

    public required string Side { get; init; }

    public required decimal Quantity { get; init; }

    public required decimal Price { get; init; }

    public required string Currency { get; init; }

    public required string VenueMic { get; init; }

    /// <summary>quantity × price, exact, in <see cref="Currency"/>.</summary>
    public required decimal Notional { get; init; }

    /// <summary>USD per one unit of <see cref="Currency"/> on the trade date.</summary>
    public required decimal FxRateUsd { get; init; }

    /// <summary>notional × rate, computed exactly and rounded half-to-even to 2 decimals.</summary>
    public required decimal NotionalUsd { get; init; }

    public required DateOnly SettlementDate { get; init; }

    public required bool Cancelled { get; init; }

    public required bool FlagLargeNotional { get; init; }

    public required bool FlagWatchlistCountry { get; init; }

    public required bool FlagUnknownCounterparty { get; init; }

    /// <summary>Comma-separated flag names in ordinal order, empty when none.</summary>
    public required string RiskFlags { get; init; }

    public required bool Reportable { get; init; }

    /// <summary>EEA_VENUE, EEA_COUNTERPARTY, both comma-separated, or empty.</summary>
    public required string ReportableReason { get; init; }

    /// <summary>SHA-256 hex of the business content (L0 fields, canonical; see <see cref="Enricher.ContentHash(EnrichedTransaction)"/>).</summary>
    public required string ContentHash { get; init; }

    /// <summary>SHA-256 hex of transaction_id + U+001F + version + U+001F + content hash.</summary>
    public required string DedupId { get; init; }

    /// <summary>The FIFO message group: the account.</summary>
    public required string GroupId { get; init; }

    public required string SourceKey { get; init; }

    public required string SourceEtag { get; init; }

    public required long RecordNumber { get; init; }

    public required DateTimeOffset IngestedAt { get; init; }

    public required string PipelineVersion { get; init; }
}

/// <summary>One FIFO message: many enriched records of one account group, from one source object.</summary>
public sealed record EnrichedBatchMessage
{
    public const string CurrentSchema = "enriched-transactions/v2";

    public required string Schema { get; init; }

    public required string SourceKey { get; init; }

    public required string SourceEtag { get; init; }

    /// <summary>0-based index of the message among those produced from the source object.</summary>
    public required int Chunk { get; init; }

    public required IReadOnlyList<EnrichedTransaction> Records { get; init; }
}

[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.Never,
    RespectRequiredConstructorParameters = true,
    RespectNullableAnnotations = true)]
[JsonSerializable(typeof(EnrichedTransaction))]
[JsonSerializable(typeof(EnrichedBatchMessage))]
public sealed partial class TransactionJsonContext : JsonSerializerContext
{
}
