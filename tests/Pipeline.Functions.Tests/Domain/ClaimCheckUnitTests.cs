using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class ClaimCheckUnitTests
{
    private static List<EnrichedTransaction> Records(int count) =>
        EndToEnd.PipelineEndToEndTests.Records(Enumerable.Range(1, count).Select(v => ("TX-C", v, v == 1 ? "NEW" : "AMEND")).ToArray()).ToList();

    [Fact]
    public async Task Seal_Records_ChunkReadsBackAndClaimNamesThem()
    {
        var records = Records(5);
        using var builder = new ChunkBuilder();
        records.ForEach(builder.Add);
        var (content, message, claim) = builder.Seal("prepare", "transactions/p.json", "\"e\"", 3, 40);

        Assert.Equal("chunks/transactions/p.json/e/000003.ndjson.gz", claim.Key);
        Assert.Equal((5, 40L, 3), (claim.Records, claim.FirstRecord, claim.Chunk));
        Assert.Equal(MessagePacker.MessageDedupId(records.Select(r => r.DedupId)), claim.RecordsSha256);
        Assert.Equal(MessagePacker.SourceDedupId("transactions/p.json", "\"e\"", claim.RecordsSha256), message.DeduplicationId);
        Assert.Equal(MessageGroups.ForSource("transactions/p.json"), message.GroupId);
        Assert.True(EnrichedMessageKind.IsChunk(message.Body));
        Assert.Equal(0, builder.Count);

        var back = await ChunkReader.ReadAsync(new MemoryStream(content), claim.Records, TestContext.Current.CancellationToken);
        Assert.Equal(records, back);
    }

    [Fact]
    public void Seal_SameRecordsTwice_SameBytes()
    {
        using var a = new ChunkBuilder();
        using var b = new ChunkBuilder();
        Records(50).ForEach(a.Add);
        Records(50).ForEach(b.Add);
        Assert.Equal(a.Seal("prepare", "k", "e", 0, 0).Content, b.Seal("prepare", "k", "e", 0, 0).Content);
    }

    [Fact]
    public async Task ReadAsync_TruncatedChunk_InvalidData()
    {
        using var builder = new ChunkBuilder();
        Records(3).ForEach(builder.Add);
        var content = builder.Seal("prepare", "k", "e", 0, 0).Content;
        var plain = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(new MemoryStream(content), System.IO.Compression.CompressionMode.Decompress))
        {
            await gzip.CopyToAsync(plain, TestContext.Current.CancellationToken);
        }

        // Cut mid-line and compress again: the last line has no end.
        var cut = new MemoryStream();
        await using (var gzip = new System.IO.Compression.GZipStream(cut, System.IO.Compression.CompressionLevel.Fastest, leaveOpen: true))
        {
            await gzip.WriteAsync(plain.ToArray().AsMemory(0, (int)plain.Length - 10), TestContext.Current.CancellationToken);
        }

        cut.Position = 0;
        await Assert.ThrowsAsync<InvalidDataException>(() => ChunkReader.ReadAsync(cut, 3, TestContext.Current.CancellationToken));
    }

    [Fact]
    public void IsChunk_InlineBatchOrJunk_False()
    {
        Assert.False(EnrichedMessageKind.IsChunk("""{"schema":"enriched-transactions/v1","records":[]}"""));
        Assert.False(EnrichedMessageKind.IsChunk("{not json"));
        Assert.False(EnrichedMessageKind.IsChunk(string.Empty));
    }

    [Theory]
    [InlineData("ACC-10001", "ACC-10001")]
    [InlineData("acc 1", null)]
    [InlineData("Konto-ü", null)]
    public void ForAccount_AccountId_AccountOrStableHashWhenSqsWouldRefuseIt(string account, string? expected)
    {
        var group = MessageGroups.ForAccount(account);
        if (expected is not null)
        {
            Assert.Equal(expected, group);
        }
        else
        {
            Assert.StartsWith("account-", group, StringComparison.Ordinal);
            Assert.Equal(group, MessageGroups.ForAccount(account));
        }

        Assert.True(MessageGroups.ForAccount(new string('A', 200)).Length <= 128);
    }
}
