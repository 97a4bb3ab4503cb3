using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

internal static class TestData
{
    public const string Lei = "5493001KJTIIGC8Y1R12";

    public static ReferenceData Reference { get; } = LoadReference();

    public static ReferenceData LoadReference() =>
        ReferenceData.Parse(ReferenceData.Keys.ToDictionary(k => k, k => File.ReadAllBytes(Path.Combine(RepoPaths.Reference, k))));

    public static JsonObject Valid() => new()
    {
        ["transaction_id"] = "TX-2026-000001",
        ["version"] = 1,
        ["status"] = "NEW",
        ["trade_date"] = "2026-11-20",
        ["executed_at"] = "2026-11-20T14:03:11.123Z",
        ["account_id"] = "ACC-10001",
        ["trader_id"] = "trader-17",
        ["counterparty_lei"] = Lei,
        ["isin"] = "US0378331005",
        ["asset_class"] = "EQUITY",
        ["side"] = "BUY",
        ["quantity"] = "100",
        ["price"] = "189.23",
        ["currency"] = "USD",
        ["venue_mic"] = "XNAS",
    };

    public static Func<CancellationToken, Task<Stream>> Opener(byte[] bytes) => _ => Task.FromResult<Stream>(new MemoryStream(bytes, writable: false));

    public static Func<CancellationToken, Task<Stream>> Opener(string text) => Opener(Encoding.UTF8.GetBytes(text));

    public static Task<Transactions.Reading.TransactionFileReader> OpenAsync(string name, Func<CancellationToken, Task<Stream>> open) =>
        Transactions.Reading.TransactionFileReader.OpenAsync(name, open, TestContext.Current.CancellationToken);

    public static async Task<List<RawRecord>> ReadAllAsync(string name, byte[] bytes)
    {
        var reader = await OpenAsync(name, Opener(bytes));
        var list = new List<RawRecord>();
        await foreach (var record in reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            _ = record.Original();
            list.Add(record);
        }

        return list;
    }

    public static async Task<RawRecord> OneRecordAsync(JsonObject json)
    {
        var records = await ReadAllAsync("one.json", Encoding.UTF8.GetBytes(json.ToJsonString()));
        return Assert.Single(records);
    }
}
