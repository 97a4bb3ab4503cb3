using System.Text.Json.Nodes;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class TransactionValidatorTests
{
    private static async Task<(ValidTransaction? Valid, List<ValidationFailure> Failures)> ValidateAsync(JsonObject json)
    {
        var record = await TestData.OneRecordAsync(json);
        var failures = new List<ValidationFailure>();
        return (TransactionValidator.Validate(record, TestData.Reference, failures), failures);
    }

    [Fact]
    public async Task Validate_ValidRecord_TypedValuesAndExactNotional()
    {
        var (valid, failures) = await ValidateAsync(TestData.Valid());
        Assert.Empty(failures);
        var transaction = Assert.NotNull(valid);
        Assert.Equal(18923.00m, transaction.Notional);
        Assert.Equal("18923.00", transaction.Notional.ToString(System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(1m, transaction.UsdPerUnit);
    }

    [Fact]
    public async Task Validate_NumbersAsJsonNumbers_KeptExactFromTokenText()
    {
        var json = TestData.Valid();
        json["quantity"] = JsonValue.Create(0.1m);
        json["price"] = JsonNode.Parse("0.30");
        var (valid, failures) = await ValidateAsync(json);
        Assert.Empty(failures);
        Assert.Equal("0.030", valid!.Value.Notional.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("transaction_id", "\"\"", "required and empty")]
    [InlineData("transaction_id", "\"XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\"", "1 to 64 characters")]
    [InlineData("transaction_id", "42", "a string, found a JSON number")]
    [InlineData("version", "0", "an integer ≥ 1")]
    [InlineData("version", "1.5", "an integer ≥ 1")]
    [InlineData("version", "\"two\"", "an integer ≥ 1")]
    [InlineData("status", "\"PENDING\"", "one of NEW, AMEND, CANCEL")]
    [InlineData("trade_date", "\"2026-02-30\"", "an ISO date yyyy-MM-dd")]
    [InlineData("trade_date", "\"20/11/2026\"", "an ISO date yyyy-MM-dd")]
    [InlineData("executed_at", "\"2026-11-20T14:03:11\"", "ISO-8601 timestamp with offset")]
    [InlineData("executed_at", "\"yesterday\"", "ISO-8601 timestamp with offset")]
    [InlineData("account_id", "null", "required and empty")]
    [InlineData("trader_id", "true", "a string, found a JSON boolean")]
    [InlineData("counterparty_lei", "\"5493001KJTIIGC8Y1R13\"", "ISO 17442 check (mod 97 = 1)")]
    [InlineData("counterparty_lei", "\"5493001KJTIIGC8Y1R1\"", "ISO 17442")]
    [InlineData("isin", "\"US0378331006\"", "ISO 6166 check digit")]
    [InlineData("asset_class", "\"CRYPTO\"", "one of EQUITY, BOND, FX, DERIVATIVE")]
    [InlineData("side", "\"HOLD\"", "one of BUY, SELL")]
    [InlineData("quantity", "\"-5\"", "a decimal > 0")]
    [InlineData("quantity", "0", "a decimal > 0")]
    [InlineData("quantity", "1.5e3", "exponent")]
    [InlineData("quantity", "\"1,5\"", "plain decimal")]
    [InlineData("quantity", "[1]", "a decimal > 0 as a JSON number or numeric string")]
    [InlineData("price", "\"0.00\"", "a decimal > 0")]
    [InlineData("currency", "\"usd\"", "ISO 4217 code (3 uppercase letters)")]
    [InlineData("currency", "\"SEK\"", "FX rate for the trade date 2026-11-20")]
    [InlineData("venue_mic", "\"XNA\"", "4 uppercase letters or digits")]
    [InlineData("venue_mic", "\"xnas\"", "4 uppercase letters or digits")]
    public async Task Validate_BrokenField_NamesFieldValueAndExpectation(string field, string json, string expected)
    {
        var record = TestData.Valid();
        record[field] = JsonNode.Parse(json);
        var (valid, failures) = await ValidateAsync(record);
        Assert.Null(valid);
        var failure = Assert.Single(failures);
        Assert.Equal(field, failure.Field);
        Assert.Contains(expected, failure.Expected, StringComparison.Ordinal);
        var message = failure.Describe("transactions/a.json", 1);
        Assert.StartsWith("transactions/a.json record 1: field '" + field + "'", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_MissingField_Required()
    {
        var record = TestData.Valid();
        record.Remove("venue_mic");
        var (_, failures) = await ValidateAsync(record);
        var failure = Assert.Single(failures);
        Assert.Equal("venue_mic", failure.Field);
        Assert.Null(failure.Value);
        Assert.Contains("required and missing", failure.Expected, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Validate_SeveralBrokenFields_CollectsEveryFailure()
    {
        var record = TestData.Valid();
        record["isin"] = "XX123";
        record["side"] = "";
        record["quantity"] = true;
        record["currency"] = "eur";
        var (_, failures) = await ValidateAsync(record);
        Assert.Equal(["isin", "side", "quantity", "currency"], failures.Select(f => f.Field));
    }

    [Fact]
    public async Task Validate_DuplicateField_Reported()
    {
        var records = await TestData.ReadAllAsync("d.ndjson", System.Text.Encoding.UTF8.GetBytes(
            TestData.Valid().ToJsonString()[..^1] + ",\"side\":\"SELL\"}"));
        var failures = new List<ValidationFailure>();
        Assert.Null(TransactionValidator.Validate(records[0], TestData.Reference, failures));
        Assert.Equal("side", Assert.Single(failures).Field);
    }

    [Fact]
    public void Validate_MalformedRecord_OneRecordLevelFailure()
    {
        var record = new RawRecord(3, 3, new RawField?[15], "{\"a\":", "line 3: malformed JSON at byte 5");
        var failures = new List<ValidationFailure>();
        Assert.Null(TransactionValidator.Validate(record, TestData.Reference, failures));
        var failure = Assert.Single(failures);
        Assert.Equal(TransactionValidator.RecordField, failure.Field);
        Assert.Contains("line 3", failure.Expected, StringComparison.Ordinal);
    }
}
