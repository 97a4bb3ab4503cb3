using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>
/// The validator parses the typed fields (version, dates, quantity, price) of a JSON record from their UTF-8 bytes while
/// the record is current, and from their text once it has been made: both ways must give the same typed values and the
/// same failures, value for value and reason for reason.
/// </summary>
public sealed class TypedFieldFastPathTests
{
    private static readonly (string Field, string Json)[] Variants =
    [
        ("version", "1"), ("version", "2"), ("version", "\"3\""), ("version", "0"), ("version", "-1"), ("version", "1.0"),
        ("version", "1e0"), ("version", "\"0001\""), ("version", "2147483647"), ("version", "2147483648"), ("version", "\"1 \""),
        ("version", "\"\u0661\""), ("version", "\"+1\""), ("version", "10000000000"), ("version", "\"\""),
        ("trade_date", "\"2026-11-20\""), ("trade_date", "\"2026-02-30\""), ("trade_date", "\"2026-11-20 \""), ("trade_date", "\"2026-1-20\""),
        ("trade_date", "\"20261120\""), ("trade_date", "20261120"), ("trade_date", "\"2026-11-20T00:00:00Z\""), ("trade_date", "\"2026-11-2\\u0030\""),
        ("trade_date", "\"2026-11-20\\u0000\""),
        ("executed_at", "\"2026-11-20T14:03:11.123Z\""), ("executed_at", "\"2026-11-20T14:03:11Z\""), ("executed_at", "\"2026-11-20T14:03Z\""),
        ("executed_at", "\"2026-11-20T15:03:11+01:00\""), ("executed_at", "\"2026-11-20T14:03:11\""), ("executed_at", "\"2026-11-20T14:03:11.1234567Z\""),
        ("executed_at", "\"2026-11-20T14:03:11.12345678Z\""), ("executed_at", "\"2026-11-20t14:03:11Z\""), ("executed_at", "\" 2026-11-20T14:03:11Z\""),
        ("executed_at", "\"2026-11-20T14:03:11-05:30\""), ("executed_at", "\"2026-11-20T14:03:11+0100\""), ("executed_at", "\"2026-11-20T14:03:11\\tZ\""),
        ("executed_at", "\"2026-11-20T14:03:11.123\u00A0Z\""), ("executed_at", "1"),
        ("quantity", "\"100\""), ("quantity", "\"0.5\""), ("quantity", "\".5\""), ("quantity", "\"5.\""), ("quantity", "\"-5\""), ("quantity", "\"0\""),
        ("quantity", "\"00012.50\""), ("quantity", "\"1.5e3\""), ("quantity", "1.5e3"), ("quantity", "12.3400"), ("quantity", "\"1,5\""),
        ("quantity", "\"79228162514264337593543950335\""), ("quantity", "\"79228162514264337593543950336\""), ("quantity", "\"0.00000000001\""),
        ("quantity", "\"12345678901234567890123456789\""), ("quantity", "\" 12\""), ("quantity", "\"\uFF11\uFF12\""), ("quantity", "\"1_000\""),
        ("quantity", "\"99999999999999999999999999\""), ("quantity", "\"-0\""),
        ("price", "\"189.23\""), ("price", "189.230"), ("price", "\"0.0000000001\""), ("price", "\"1234567890123456789012345678\""), ("price", "\"1e2\""),
        ("price", "\"\\u0031\""), ("price", "\"\""), ("price", "null"),
    ];

    [Fact]
    public async Task Validate_TypedFieldsFromBytesOrText_SameValuesAndFailures()
    {
        var lines = new StringBuilder();
        foreach (var (field, json) in Variants)
        {
            var record = TestData.Valid();
            record[field] = JsonNode.Parse(json);
            lines.Append(record.ToJsonString()).Append('\n');
        }

        var bytes = Encoding.UTF8.GetBytes(lines.ToString());

        // From the bytes: validated while current, as the enrich function does (no text asked for first).
        var fromBytes = new List<string>();
        var reader = await TestData.OpenAsync("variants.ndjson", TestData.Opener(bytes));
        await foreach (var record in reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            fromBytes.Add(Outcome(record));
        }

        // From the texts: every record made whole first (Original), validated after the file was read.
        var fromText = (await TestData.ReadAllAsync("variants.ndjson", bytes)).Select(Outcome).ToList();

        Assert.Equal(Variants.Length, fromBytes.Count);
        for (var i = 0; i < Variants.Length; i++)
        {
            Assert.True(fromText[i] == fromBytes[i], $"{Variants[i].Field} = {Variants[i].Json}:\n  from text:  {fromText[i]}\n  from bytes: {fromBytes[i]}");
        }

        // The variants exercise both outcomes.
        Assert.Contains(fromBytes, o => o.StartsWith("valid", StringComparison.Ordinal));
        Assert.Contains(fromBytes, o => o.StartsWith("invalid", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ReadAsync_RecordsKeptAfterOriginal_EachKeepsItsOwnTypedTexts()
    {
        var first = TestData.Valid();
        first["quantity"] = "111.5";
        first["executed_at"] = "2026-11-20T09:00:00Z";
        var second = TestData.Valid();
        second["quantity"] = "222";
        second["executed_at"] = "2026-11-20T10:30:00+01:00";
        var records = await TestData.ReadAllAsync("two.ndjson", Encoding.UTF8.GetBytes(first.ToJsonString() + "\n" + second.ToJsonString() + "\n"));

        Assert.Equal("111.5", records[0][11]!.Value.Text);
        Assert.Equal("2026-11-20T09:00:00Z", records[0][4]!.Value.Text);
        Assert.Equal("222", records[1][11]!.Value.Text);
        Assert.Equal(RawKind.String, records[1][11]!.Value.Kind);
        Assert.Equal(RawKind.Number, records[1][1]!.Value.Kind);
        Assert.Equal("1", records[1].Fields[1]!.Value.Text);
    }

    /// <summary>Everything the validator says about a record, with decimals at their scale (1.0 and 1.00 differ).</summary>
    private static string Outcome(RawRecord record)
    {
        var failures = new List<ValidationFailure>();
        if (TransactionValidator.Validate(record, TestData.Reference, failures) is not { } valid)
        {
            return "invalid: " + string.Join(" | ", failures.Select(f => $"{f.Field} = {f.Value ?? "(none)"}: {f.Expected}"));
        }

        return string.Create(
            CultureInfo.InvariantCulture,
            $"valid: {valid.Version} {valid.TradeDate:yyyy-MM-dd} {valid.ExecutedAt:O} {valid.Quantity} {valid.Price} {valid.Notional} {valid.UsdPerUnit} {valid}");
    }
}
