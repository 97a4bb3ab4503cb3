using System.Text.Json.Nodes;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class EnricherTests
{
    private static readonly DateTimeOffset Ingested = new(2026, 11, 21, 8, 0, 0, TimeSpan.Zero);

    private static async Task<EnrichedTransaction> EnrichAsync(Action<JsonObject> change, decimal largeNotionalUsd = 1_000_000m)
    {
        var json = TestData.Valid();
        change(json);
        var record = await TestData.OneRecordAsync(json);
        var failures = new List<ValidationFailure>();
        var valid = TransactionValidator.Validate(record, TestData.Reference, failures);
        Assert.True(valid is not null, string.Join("; ", failures.Select(f => f.Describe("t", 1))));
        return new Enricher(TestData.Reference, new EnrichmentOptions { LargeNotionalUsd = largeNotionalUsd })
            .Enrich(valid, new Lineage("transactions/t.json", "etag-1", 1, Ingested));
    }

    [Theory]
    [InlineData("2026-11-20", "EQUITY", "2026-11-23")] // Friday → Monday
    [InlineData("2026-11-19", "EQUITY", "2026-11-20")]
    [InlineData("2026-11-20", "BOND", "2026-11-24")] // Friday T+2 → Tuesday
    [InlineData("2026-11-25", "EQUITY", "2026-11-27")] // Thanksgiving skipped
    [InlineData("2026-11-24", "FX", "2026-11-27")] // T+2 over the holiday
    [InlineData("2026-12-23", "DERIVATIVE", "2026-12-29")] // 24th, 25th and the weekend skipped
    [InlineData("2026-11-21", "EQUITY", "2026-11-23")] // Saturday trade
    public void SettlementDate_WeekendsAndHolidays_Skipped(string trade, string assetClass, string expected) =>
        Assert.Equal(DateOnly.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), Enricher.SettlementDate(
            DateOnly.Parse(trade, System.Globalization.CultureInfo.InvariantCulture), assetClass, TestData.Reference.Holidays));

    [Fact]
    public async Task Enrich_EurTrade_NotionalUsdViaTradeDateRateRoundedHalfEven()
    {
        var t = await EnrichAsync(j =>
        {
            j["currency"] = "EUR";
            j["quantity"] = "2500";
            j["price"] = "61.48";
        });
        Assert.Equal(153700.00m, t.Notional);
        TestData.Reference.TryGetUsdRate(new DateOnly(2026, 11, 20), "EUR", out var rate);
        Assert.Equal(rate, t.FxRateUsd);
        Assert.Equal(ExactDecimal.MultiplyRounded(153700.00m, rate, 2), t.NotionalUsd);
        Assert.Equal(2, t.NotionalUsd.Scale);
    }

    [Fact]
    public async Task Enrich_KnownLei_CounterpartyFromDirectory()
    {
        var t = await EnrichAsync(_ => { });
        Assert.Equal("Northwind Securities AG", t.CounterpartyName);
        Assert.Equal("DE", t.CounterpartyCountry);
        Assert.False(t.FlagUnknownCounterparty);
        Assert.True(t.Reportable); // German counterparty, US venue
        Assert.Equal("EEA_COUNTERPARTY", t.ReportableReason);
    }

    [Fact]
    public async Task Enrich_UnknownLei_EnrichedAsUnknownAndFlagged()
    {
        var t = await EnrichAsync(j => j["counterparty_lei"] = "HWUPKR0MPOU8FGXBT394");
        Assert.Equal(Enricher.Unknown, t.CounterpartyName);
        Assert.Equal(Enricher.Unknown, t.CounterpartyCountry);
        Assert.True(t.FlagUnknownCounterparty);
        Assert.Equal("UNKNOWN_COUNTERPARTY", t.RiskFlags);
        Assert.False(t.Reportable);
    }

    [Fact]
    public async Task Enrich_EeaVenue_ReportableEvenWithUnknownCounterparty()
    {
        var t = await EnrichAsync(j =>
        {
            j["counterparty_lei"] = "HWUPKR0MPOU8FGXBT394";
            j["venue_mic"] = "XETR";
        });
        Assert.True(t.Reportable);
        Assert.Equal("EEA_VENUE", t.ReportableReason);
    }

    [Fact]
    public async Task Enrich_WatchlistedCountryAndLargeNotional_BothFlags()
    {
        var t = await EnrichAsync(j =>
        {
            j["counterparty_lei"] = "254900OPPU84GM83MG36"; // Cayman Islands
            j["quantity"] = "10000";
        }, largeNotionalUsd: 1_000_000m);
        Assert.True(t.FlagLargeNotional);
        Assert.True(t.FlagWatchlistCountry);
        Assert.Equal("LARGE_NOTIONAL,WATCHLIST_COUNTRY", t.RiskFlags);
    }

    [Fact]
    public async Task Enrich_ThresholdFromOptions_AppliesAtOrAbove()
    {
        Assert.True((await EnrichAsync(_ => { }, largeNotionalUsd: 18923.00m)).FlagLargeNotional);
        Assert.False((await EnrichAsync(_ => { }, largeNotionalUsd: 18923.01m)).FlagLargeNotional);
    }

    [Fact]
    public async Task Enrich_Any_LineageDedupAndGroup()
    {
        var t = await EnrichAsync(j => j["executed_at"] = "2026-11-20T15:03:11.123+01:00");
        Assert.Equal(new DateTimeOffset(2026, 11, 20, 14, 3, 11, 123, TimeSpan.Zero), t.ExecutedAt);
        Assert.Equal(TimeSpan.Zero, t.ExecutedAt.Offset);
        Assert.Equal("ACC-10001", t.GroupId);
        Assert.Equal(Enricher.DedupId("TX-2026-000001", 1, Enricher.ContentHash(t)), t.DedupId);
        Assert.Equal(Enricher.ContentHash(t), t.ContentHash);
        Assert.Equal(64, t.DedupId.Length);
        Assert.Equal(("transactions/t.json", "etag-1", 1L, Ingested, Enricher.PipelineVersion), (t.SourceKey, t.SourceEtag, t.RecordNumber, t.IngestedAt, t.PipelineVersion));
        Assert.Empty(EnrichedRecordValidator.Check(t));
    }

    [Fact]
    public async Task Enrich_Cancel_MarkedCancelled()
    {
        var t = await EnrichAsync(j =>
        {
            j["status"] = "CANCEL";
            j["version"] = 2;
        });
        Assert.True(t.Cancelled);
        Assert.Equal("CANC", WarehouseSchema.RegulatoryRow(t)[2]);
        Assert.Equal("CANCELLED", WarehouseSchema.ConfirmationRow(t)[2]);
    }

    [Fact]
    public void DedupId_KnownInput_Sha256OfIdVersionAndContentHash() =>
        Assert.Equal(
            Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("TX-1\u001f2\u001fabc"u8)),
            Enricher.DedupId("TX-1", 2, "abc"));

    [Fact]
    public async Task Enrich_SameContentOtherLineage_SameContentHashAndDedupId()
    {
        var a = await EnrichAsync(_ => { });
        var b = new Enricher(TestData.Reference, new EnrichmentOptions()).Enrich(
            TransactionValidator.Validate(await TestData.OneRecordAsync(TestData.Valid()), TestData.Reference, [])!,
            new Lineage("transactions/other.csv", "etag-9", 77, Ingested.AddDays(1)));
        Assert.Equal(a.ContentHash, b.ContentHash);
        Assert.Equal(a.DedupId, b.DedupId);
        Assert.NotEqual(a.SourceKey, b.SourceKey);
    }

    [Fact]
    public async Task Enrich_SameValueWrittenDifferently_SameContentHash()
    {
        var plain = await EnrichAsync(_ => { });
        var written = await EnrichAsync(j =>
        {
            j["price"] = j["price"]!.ToString() + "000";
            j["executed_at"] = DateTimeOffset.Parse(j["executed_at"]!.ToString(), System.Globalization.CultureInfo.InvariantCulture).ToOffset(TimeSpan.FromHours(5)).ToString("O", System.Globalization.CultureInfo.InvariantCulture);
        });
        Assert.Equal(plain.ContentHash, written.ContentHash);
    }

    [Theory]
    [InlineData("price")]
    [InlineData("quantity")]
    [InlineData("side")]
    [InlineData("status")]
    [InlineData("trader_id")]
    [InlineData("executed_at")]
    public async Task Enrich_OneFieldDiffers_OtherContentHashAndDedupId(string field)
    {
        var a = await EnrichAsync(_ => { });
        var b = await EnrichAsync(j => j[field] = field switch
        {
            "price" => "101.5",
            "quantity" => "7",
            "side" => j["side"]!.ToString() == "BUY" ? "SELL" : "BUY",
            "status" => "AMEND",
            "trader_id" => "TRD-OTHER",
            _ => "2026-11-20T09:00:00Z",
        });
        Assert.NotEqual(a.ContentHash, b.ContentHash);
        Assert.NotEqual(a.DedupId, b.DedupId);
        Assert.Equal((a.TransactionId, a.Version), (b.TransactionId, b.Version));
    }

    [Fact]
    public async Task Check_ContentHashNotOfTheContent_Rejected()
    {
        var t = await EnrichAsync(_ => { });
        var tampered = t with { Price = t.Price + 1, Notional = (t.Price + 1) * t.Quantity, NotionalUsd = ExactDecimal.MultiplyRounded((t.Price + 1) * t.Quantity, t.FxRateUsd, 2) };
        Assert.Contains(EnrichedRecordValidator.Check(tampered), p => p.Contains("content_hash", StringComparison.Ordinal));
    }
}
