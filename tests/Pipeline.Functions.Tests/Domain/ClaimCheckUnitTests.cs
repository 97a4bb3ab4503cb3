using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class ClaimCheckUnitTests
{
    private static List<EnrichedTransaction> Records(int count) =>
        EndToEnd.PipelineEndToEndTests.Records(Enumerable.Range(1, count).Select(v => ("TX-C", v, v == 1 ? "NEW" : "AMEND")).ToArray()).ToList();

    [Fact]
    public async Task SealAsync_Records_ChunkReadsBackAndClaimNamesThem()
    {
        var records = Records(5);
        using var builder = new ChunkBuilder();
        records.ForEach(builder.Add);
        var (content, message, claim) = await builder.SealAsync("prepare", "transactions/p.json", "\"e\"", 3, 40, TestContext.Current.CancellationToken);

        Assert.Equal("chunks/transactions/p.json/e/000003.parquet", claim.Key);
        Assert.Equal(EnrichedChunkMessage.CurrentSchema, claim.Schema);
        Assert.Equal((5, 40L, 3), (claim.Records, claim.FirstRecord, claim.Chunk));
        Assert.Equal(MessagePacker.MessageDedupId(records.Select(r => r.DedupId)), claim.RecordsSha256);
        Assert.Equal(MessagePacker.SourceDedupId("transactions/p.json", "\"e\"", claim.RecordsSha256), message.DeduplicationId);
        Assert.Equal(MessageGroups.ForSource("transactions/p.json"), message.GroupId);
        Assert.True(EnrichedMessageKind.IsChunk(message.Body));
        Assert.Equal(0, builder.Count);

        var back = await ChunkReader.ReadAsync(new MemoryStream(content), claim, TestContext.Current.CancellationToken);
        Assert.Equal(records, back);
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
