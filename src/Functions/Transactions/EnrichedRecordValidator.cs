using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Transactions;

/// <summary>
/// Defence in depth on the load side: a message from the queue is checked again (types, required
/// fields, identifiers, exact arithmetic, dedup id) before it may touch the warehouse. The value domain is the one
/// <see cref="TransactionValidator"/> enforces: no control characters in any text, every decimal in numeric(38,10).
/// </summary>
public static class EnrichedRecordValidator
{
    /// <summary>Problems with the record, empty when it may be loaded.</summary>
    public static IReadOnlyList<string> Check(EnrichedTransaction? t)
    {
        if (t is null)
        {
            return ["the record is null"];
        }

        // Made at the first problem: a valid record allocates nothing here (the loader checks every record it merges).
        List<string>? problems = null;
        void Require(bool ok, string problem)
        {
            if (!ok)
            {
                (problems ??= []).Add(problem);
            }
        }

        Require(t.TransactionId is { Length: >= 1 and <= 64 }, "transaction_id must be 1 to 64 characters");
        Require(t.Version >= 1, "version must be ≥ 1");
        Require(TransactionValidator.Statuses.Contains(t.Status), "status must be NEW, AMEND or CANCEL");
        Require(!string.IsNullOrEmpty(t.AccountId) && t.GroupId == t.AccountId, "account_id is required and must equal group_id");
        Require(!string.IsNullOrEmpty(t.TraderId), "trader_id is required");
        Require(t.CounterpartyLei is not null && CheckDigits.IsValidLei(t.CounterpartyLei), "counterparty_lei must pass ISO 17442");
        Require(t.Isin is not null && CheckDigits.IsValidIsin(t.Isin), "isin must pass ISO 6166");
        Require(TransactionValidator.AssetClasses.Contains(t.AssetClass), "asset_class is not a known class");
        Require(TransactionValidator.Sides.Contains(t.Side), "side must be BUY or SELL");
        Require(t.Quantity > 0 && t.Price > 0, "quantity and price must be > 0");
        Require(ExactDecimal.TryMultiply(t.Quantity, t.Price, out var notional) && notional == t.Notional, "notional must equal quantity × price exactly");
        Require(t.FxRateUsd > 0 && ExactDecimal.TryMultiplyRounded(t.Notional, t.FxRateUsd, 2, out var usd) && usd == t.NotionalUsd, "notional_usd must equal notional × fx_rate_usd rounded to 2 decimals");
        Require(t.Currency is { Length: 3 }, "currency must be an ISO 4217 code");
        Require(t.VenueMic is { Length: 4 }, "venue_mic must have 4 characters");
        Require(t.SettlementDate > t.TradeDate, "settlement_date must be after trade_date");
        Require(t.Cancelled == (t.Status == "CANCEL"), "cancelled must match status");
        Require(problems is not null || Enricher.ContentHashMatches(t), "content_hash must be SHA-256 of the record's business content");
        Require(t.TransactionId is not null && Enricher.DedupIdMatches(t.TransactionId, t.Version, t.ContentHash, t.DedupId), "dedup_id must be SHA-256 of (transaction_id, version, content_hash)");
        Require(!string.IsNullOrEmpty(t.SourceKey) && t.RecordNumber >= 1, "lineage (source_key, record_number) is required");
        Require(t.CounterpartyName is not null && t.CounterpartyCountry is not null && t.RiskFlags is not null && t.ReportableReason is not null, "enrichment fields are required");
        // Spans over inline arrays on the stack: no allocation per record (the loader checks every record it merges).
        ReadOnlySpan<(string Name, string? Text)> texts =
        [
            ("transaction_id", t.TransactionId), ("status", t.Status), ("account_id", t.AccountId), ("trader_id", t.TraderId),
            ("counterparty_lei", t.CounterpartyLei), ("counterparty_name", t.CounterpartyName), ("counterparty_country", t.CounterpartyCountry),
            ("isin", t.Isin), ("asset_class", t.AssetClass), ("side", t.Side), ("currency", t.Currency), ("venue_mic", t.VenueMic),
            ("risk_flags", t.RiskFlags), ("reportable_reason", t.ReportableReason), ("dedup_id", t.DedupId), ("group_id", t.GroupId),
            ("source_key", t.SourceKey), ("source_etag", t.SourceEtag), ("pipeline_version", t.PipelineVersion),
        ];
        foreach (var (name, text) in texts)
        {
            if (text is not null && TransactionValidator.TextProblem(text) is { } problem)
            {
                (problems ??= []).Add($"{name} must have {problem}");
            }
        }

        ReadOnlySpan<(string Name, decimal Value)> decimals =
        [
            ("quantity", t.Quantity), ("price", t.Price), ("notional", t.Notional), ("fx_rate_usd", t.FxRateUsd), ("notional_usd", t.NotionalUsd),
        ];
        foreach (var (name, value) in decimals)
        {
            if (WarehouseDomain.DecimalProblem(value) is { } outside)
            {
                (problems ??= []).Add($"{name} must have {WarehouseDomain.DecimalExpectation}; found {outside}");
            }
        }

        return problems is null ? Array.Empty<string>() : problems;
    }
}
