using Pipeline.Providers.Aws.S3;

namespace Pipeline.Providers.Aws.Tests;

public sealed class S3EventParserTests
{
    private static string Fixture(string name) => File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "S3", name));

    [Fact]
    public void Parse_ObjectCreatedPut_DecodesPlusPercent20AndUtf8InKey()
    {
        var (kind, records) = S3EventParser.Parse(Fixture("object-created-put.json"));

        Assert.Equal(S3MessageKind.ObjectCreated, kind);
        var r = Assert.Single(records);
        Assert.Equal("pipeline-raw", r.Bucket);
        Assert.Equal("transactions/2026-11-21/trades batch one+plusé.json", r.Key);
        Assert.Equal(1048, r.Size);
        Assert.Equal("d41d8cd98f00b204e9800998ecf8427e", r.ETag);
        Assert.Equal("096fKKXTRTtl3on89fVO.nfljtsv6qko", r.VersionId);
        Assert.Equal(new DateTimeOffset(2026, 11, 21, 9, 15, 2, 481, TimeSpan.Zero), r.EventTime);
    }

    [Fact]
    public void Parse_TestEvent_IsIgnorable()
    {
        Assert.Equal(S3MessageKind.Ignorable, S3EventParser.Parse(Fixture("test-event.json")).Kind);
    }

    [Fact]
    public void Parse_ObjectRemoved_IsIgnorable()
    {
        Assert.Equal(S3MessageKind.Ignorable, S3EventParser.Parse(Fixture("object-removed.json")).Kind);
    }

    [Fact]
    public void Parse_SnsEnvelope_UnwrapsTheS3Event()
    {
        var (kind, records) = S3EventParser.Parse(Fixture("sns-wrapped.json"));

        Assert.Equal(S3MessageKind.ObjectCreated, kind);
        Assert.Equal("transactions/big file.csv", Assert.Single(records).Key);
    }

    [Theory]
    [InlineData("not json")]
    [InlineData("[]")]
    [InlineData("{\"hello\":1}")]
    [InlineData("{\"Records\":[{\"eventSource\":\"aws:sqs\"}]}")]
    public void Parse_NotAnS3Notification_IsUnrecognized(string body)
    {
        Assert.Equal(S3MessageKind.Unrecognized, S3EventParser.Parse(body).Kind);
    }
}
