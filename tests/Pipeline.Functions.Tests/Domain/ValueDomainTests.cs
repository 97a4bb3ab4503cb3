using System.Globalization;
using System.Text.Json.Nodes;
using Pipeline.Functions.Tests.Refine;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>
/// One value domain (issue 10): what validation accepts, every warehouse stores exactly — decimals in numeric(38,10)
/// (derived notional and notional_usd included), text without control characters. Beyond it: quarantine with a
/// reason naming the field and the limit. The issue's example (quantity 0.0000001 × price 123456789012.1234567890,
/// once stored exactly by SQLite and rounded by PostgreSQL) is quarantined, and no warehouse accepts its notional.
/// </summary>
public sealed class ValueDomainTests(PostgresFixture postgres) : IClassFixture<PostgresFixture>
{
    private const string IssueQuantity = "0.0000001";
    private const string IssuePrice = "123456789012.1234567890";
    private const string IssueNotional = "12345.6789012123456789";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(ValidTransaction? Valid, List<ValidationFailure> Failures)> ValidateAsync(Action<JsonObject> change)
    {
        var json = TestData.Valid();
        change(json);
        var record = await TestData.OneRecordAsync(json);
        var failures = new List<ValidationFailure>();
        return (TransactionValidator.Validate(record, TestData.Reference, failures), failures);
    }

    [Fact]
    public async Task Validate_IssueExampleNotional_QuarantinedNamingNotionalAndLimit()
    {
        var (valid, failures) = await ValidateAsync(j =>
        {
            j["quantity"] = IssueQuantity;
            j["price"] = IssuePrice;
        });

        Assert.Null(valid);
        var failure = Assert.Single(failures);
        Assert.Equal("notional", failure.Field);
        Assert.Equal(IssueNotional, failure.Value);
        Assert.Equal(
            "one.json record 1: field 'notional' = '12345.6789012123456789': expected quantity × price with at most 10 fractional digits and 28 integer digits (numeric(38,10)); quantity 0.0000001 × price 123456789012.1234567890 has 16 fractional digits",
            failure.Describe("one.json", 1));
    }

    [Theory]
    [InlineData("0.0000001", "123456789012.123", "12345.6789012123")] // the issue's example at 10 fractional digits
    [InlineData("0.00001", "0.00001", "0.0000000001")]
    [InlineData("7922816251426433", "999999999999.9", "7922816251425640718374857356.7")] // 28 integer digits, 29 significant (the decimal's widest)
    [InlineData("1.50000000000000", "2", "3.00000000000000")] // trailing zeros do not count
    public async Task Validate_NotionalInsideDomain_AcceptedExactly(string quantity, string price, string notional)
    {
        var (valid, failures) = await ValidateAsync(j =>
        {
            j["quantity"] = quantity;
            j["price"] = price;
        });

        Assert.Empty(failures);
        Assert.Equal(notional, valid!.Value.Notional.ToString(CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("quantity", "0.00000000001", "found 11 fractional digits")]
    [InlineData("price", "1.12345678901", "found 11 fractional digits")]
    public async Task Validate_InputDecimalBeyondScale_QuarantinedNamingFieldAndLimit(string field, string value, string found)
    {
        var (valid, failures) = await ValidateAsync(j => j[field] = value);

        Assert.Null(valid);
        var failure = Assert.Single(failures);
        Assert.Equal(field, failure.Field);
        Assert.Equal($"{WarehouseDomain.DecimalExpectation}; {found}", failure.Expected);
    }

    [Theory]
    [InlineData("9999999999999999999999999999", "10", "USD", "notional", "29 integer digits")]
    [InlineData("123456789012345.12345", "123456789012.12345", "USD", "notional", "exactly representable in 28 significant digits")]
    [InlineData("9999999999999999999999999999", "1", "GBP", "notional_usd", "numeric(38,10)")]
    public async Task Validate_DerivedValueOutsideDomain_QuarantinedNamingTheDerivedField(string quantity, string price, string currency, string field, string expected)
    {
        var (valid, failures) = await ValidateAsync(j =>
        {
            j["quantity"] = quantity;
            j["price"] = price;
            j["currency"] = currency;
        });

        Assert.Null(valid);
        var failure = Assert.Single(failures);
        Assert.Equal(field, failure.Field);
        Assert.Contains(expected, failure.Expected, StringComparison.Ordinal);
    }

    private static readonly string[] TextFields =
    [
        "transaction_id", "status", "trade_date", "executed_at", "account_id", "trader_id", "counterparty_lei", "isin",
        "asset_class", "side", "currency", "venue_mic",
    ];

    /// <summary>NUL, BEL, TAB, LF, CR, ESC, US, DEL, C1 NEL, C1 APC.</summary>
    private static readonly int[] Controls = [0x00, 0x07, 0x09, 0x0A, 0x0D, 0x1B, 0x1F, 0x7F, 0x85, 0x9F];

    public static TheoryData<string, int> ControlInTextField { get; } = new(TextFields.SelectMany(f => Controls.Select(c => (f, c))));

    [Theory]
    [MemberData(nameof(ControlInTextField))]
    public async Task Validate_ControlCharacterInAnyTextField_QuarantinedNamingFieldAndCharacter(string field, int control)
    {
        var (valid, failures) = await ValidateAsync(j =>
        {
            var text = j[field]!.GetValue<string>();
            j[field] = text[..2] + (char)control + text[2..];
        });

        Assert.Null(valid);
        var failure = Assert.Single(failures);
        Assert.Equal(field, failure.Field);
        Assert.Equal($"no control characters (found U+{control:X4} at index 2)", failure.Expected);
        Assert.Contains($"\\u{control:X4}", failure.Value, StringComparison.Ordinal);
        Assert.DoesNotContain(failure.Value!, char.IsControl);
    }

    [Theory]
    [InlineData("trader-🚀-𝄞")]
    [InlineData("Ünïcødé Trader €")]
    [InlineData("O'Brien \"quoted\" \\ '; DROP TABLE transactions; --")]
    public async Task Validate_UnicodeAndInjectionTextWithoutControls_Accepted(string trader)
    {
        var (valid, failures) = await ValidateAsync(j => j["trader_id"] = trader);

        Assert.Empty(failures);
        Assert.Equal(trader, valid!.Value.TraderId);
    }

    [Fact]
    public void TextProblem_UnpairedSurrogate_Named()
    {
        Assert.Equal("valid Unicode text (found an unpaired surrogate U+D800 at index 1)", TransactionValidator.TextProblem("a\ud800b"));
        Assert.Equal("valid Unicode text (found an unpaired surrogate U+DC00 at index 0)", TransactionValidator.TextProblem("\udc00"));
        Assert.Null(TransactionValidator.TextProblem("𝄞"));
    }

    [Fact]
    public async Task EnrichedRecordValidator_ControlCharactersOrDecimalsOutsideDomain_Refused()
    {
        var valid = await EnrichedAsync("0.0000001", "123456789012.123");
        Assert.Empty(EnrichedRecordValidator.Check(valid));

        Assert.Contains("trader_id must have no control characters (found U+0000 at index 1)", EnrichedRecordValidator.Check(valid with { TraderId = "t\0x" }));
        Assert.Contains("counterparty_name must have no control characters (found U+001B at index 0)", EnrichedRecordValidator.Check(valid with { CounterpartyName = "\u001b[31mRED" }));
        Assert.Contains("source_etag must have no control characters (found U+000A at index 4)", EnrichedRecordValidator.Check(valid with { SourceEtag = "etag\nx" }));

        // The issue's notional, equal to quantity × price exactly, but finer than every warehouse stores.
        var issue = valid with { Price = decimal.Parse(IssuePrice, CultureInfo.InvariantCulture), Notional = decimal.Parse(IssueNotional, CultureInfo.InvariantCulture) };
        Assert.Contains($"notional must have {WarehouseDomain.DecimalExpectation}; found 16 fractional digits", EnrichedRecordValidator.Check(issue));
        Assert.Contains($"quantity must have {WarehouseDomain.DecimalExpectation}; found 11 fractional digits", EnrichedRecordValidator.Check(valid with { Quantity = 0.00000000001m }));
    }

    /// <summary>
    /// The same enriched record on the embedded (SQLite) and the PostgreSQL warehouse: every decimal column reads back
    /// as the same value with the same text; the issue's exact notional is refused by both with nothing written.
    /// (The Redshift SQL is covered by the shared warehouse conformance suite, run on PostgreSQL.)
    /// </summary>
    [Fact]
    public async Task Merge_IssueExampleOnEveryWarehouse_SameTextOrRefusedAlike()
    {
        postgres.RequireAvailable();
        var atEdge = await EnrichedAsync("0.0000001", "123456789012.123");
        var issue = atEdge with { TransactionId = "TX-ISSUE-10", Price = decimal.Parse(IssuePrice, CultureInfo.InvariantCulture), Notional = decimal.Parse(IssueNotional, CultureInfo.InvariantCulture) };
        var stored = new List<string>();
        foreach (var connection in new[] { null, postgres.ConnectionString })
        {
            await using var bed = new RefineTestBed(connection);
            await bed.LoadAsync(atEdge);
            var refused = await Assert.ThrowsAnyAsync<WarehouseException>(() => bed.LoadAsync(atEdge with { Version = 2 }, issue));
            Assert.Contains("notional", refused.Message, StringComparison.Ordinal);
            Assert.Contains("16 fractional digits", refused.Message, StringComparison.Ordinal);

            var rows = await bed.RowsAsync("SELECT transaction_id, version, quantity, price, notional, fx_rate_usd, notional_usd FROM transactions ORDER BY transaction_id");
            var row = Assert.Single(rows);
            stored.Add(string.Join("|", row.Values.Select(v => Convert.ToString(v, CultureInfo.InvariantCulture))));
        }

        Assert.Equal("TX-2026-000001|1|0.0000001|123456789012.123|12345.6789012123|1|12345.68", stored[0]);
        Assert.Equal(stored[0], stored[1]);
    }

    private static async Task<EnrichedTransaction> EnrichedAsync(string quantity, string price)
    {
        var json = TestData.Valid();
        json["quantity"] = quantity;
        json["price"] = price;
        var record = await TestData.OneRecordAsync(json);
        var failures = new List<ValidationFailure>();
        var valid = TransactionValidator.Validate(record, TestData.Reference, failures) ?? throw new InvalidOperationException(string.Join("; ", failures));
        return new Enricher(TestData.Reference, new EnrichmentOptions())
            .Enrich(valid, new Lineage("transactions/domain.json", "etag-1", 1, new DateTimeOffset(2026, 11, 20, 15, 0, 0, TimeSpan.Zero)));
    }
}
