using System.Text.Json;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class MessagePackerTests
{
    private static EnrichedTransaction Record(int i, string account) => new()
    {
        TransactionId = $"TX-{i}", Version = 1, Status = "NEW", TradeDate = new DateOnly(2026, 11, 20),
        ExecutedAt = new DateTimeOffset(2026, 11, 20, 14, 0, 0, TimeSpan.Zero), AccountId = account, TraderId = "t",
        CounterpartyLei = TestData.Lei, CounterpartyName = "N", CounterpartyCountry = "DE", Isin = "US0378331005",
        AssetClass = "EQUITY", Side = "BUY", Quantity = 1m, Price = 2.5m, Currency = "USD", VenueMic = "XNAS",
        Notional = 2.5m, FxRateUsd = 1m, NotionalUsd = 2.50m, SettlementDate = new DateOnly(2026, 11, 23), Cancelled = false,
        FlagLargeNotional = false, FlagWatchlistCountry = false, FlagUnknownCounterparty = false, RiskFlags = string.Empty,
        Reportable = true, ReportableReason = "EEA_COUNTERPARTY", ContentHash = $"h{i}", DedupId = Enricher.DedupId($"TX-{i}", 1, $"h{i}"), GroupId = account,
        SourceKey = "transactions/a.ndjson", SourceEtag = "e1", RecordNumber = i, IngestedAt = DateTimeOffset.UnixEpoch,
        PipelineVersion = Enricher.PipelineVersion,
    };

    private static List<Providers.Abstractions.OutgoingMessage> Pack(int count, int accounts, int maxRecords = 250, int maxBytes = 200_000, int maxBuffered = 20_000)
    {
        var packer = new MessagePacker("transactions/a.ndjson", "e1", maxRecords, maxBytes, maxBuffered);
        var messages = new List<Providers.Abstractions.OutgoingMessage>();
        for (var i = 1; i <= count; i++)
        {
            messages.AddRange(packer.Add(Record(i, $"ACC-{i % accounts}")));
        }

        messages.AddRange(packer.Flush());
        return messages;
    }

    [Fact]
    public void Add_ManyRecords_OneGroupPerMessageUnderTheSizeLimit()
    {
        var messages = Pack(2000, 3, maxRecords: 100, maxBytes: 60_000);
        Assert.All(messages, m => Assert.True(System.Text.Encoding.UTF8.GetByteCount(m.Body) <= 64_000));
        var total = 0;
        foreach (var message in messages)
        {
            var batch = JsonSerializer.Deserialize(message.Body, TransactionJsonContext.Default.EnrichedBatchMessage)!;
            Assert.All(batch.Records, r => Assert.Equal(r.AccountId, message.GroupId));
            Assert.Equal(MessagePacker.SourceDedupId("transactions/a.ndjson", "e1", MessagePacker.MessageDedupId(batch.Records.Select(r => r.DedupId))), message.DeduplicationId);
            Assert.True(batch.Records.Count <= 100);
            total += batch.Records.Count;
        }

        Assert.Equal(2000, total);
        Assert.Equal(Enumerable.Range(0, messages.Count).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)), messages.Select(m => m.EntryId));
    }

    [Fact]
    public void Add_SameInputTwice_SameMessagesAndDedupIds()
    {
        var first = Pack(1234, 7, maxBuffered: 500);
        var second = Pack(1234, 7, maxBuffered: 500);
        Assert.Equal(first.Select(m => (m.Body, m.DeduplicationId, m.GroupId)), second.Select(m => (m.Body, m.DeduplicationId, m.GroupId)));
    }

    [Fact]
    public void Add_BufferLimitReached_FlushesAllGroups()
    {
        var messages = Pack(10, 10, maxBuffered: 5);
        Assert.Equal(10, messages.Sum(m => JsonSerializer.Deserialize(m.Body, TransactionJsonContext.Default.EnrichedBatchMessage)!.Records.Count));
        Assert.True(messages.Count >= 2);
    }

    [Fact]
    public void Flush_SameRecordsFromAnotherObject_OtherDedupIds()
    {
        // Exact duplicates in two files must both reach the warehouse (whose tie-break picks the lineage), even inside the FIFO window.
        static string DedupIdOf(string key, string etag)
        {
            var packer = new MessagePacker(key, etag);
            Assert.Empty(packer.Add(Record(1, "ACC-1")));
            return Assert.Single(packer.Flush()).DeduplicationId!;
        }

        Assert.NotEqual(DedupIdOf("transactions/a.ndjson", "e1"), DedupIdOf("transactions/b.ndjson", "e1"));
        Assert.NotEqual(DedupIdOf("transactions/a.ndjson", "e1"), DedupIdOf("transactions/a.ndjson", "e2"));
        Assert.Equal(DedupIdOf("transactions/a.ndjson", "e1"), DedupIdOf("transactions/a.ndjson", "e1"));
    }
}
