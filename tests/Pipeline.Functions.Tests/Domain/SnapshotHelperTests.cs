using Pipeline.TestKit.Snapshots;
using Xunit.Sdk;

namespace Pipeline.Functions.Tests.Domain;

public sealed class SnapshotHelperTests : IDisposable
{
    private readonly string dir = Directory.CreateTempSubdirectory("snap-").FullName;

    private string Verified => Path.Combine(dir, "T.M.verified.json");

    private string Received => Path.Combine(dir, "T.M.received.json");

    [Fact]
    public void VerifyText_MissingOnCi_FailsWithoutAccepting()
    {
        Assert.ThrowsAny<XunitException>(() => Snapshot.VerifyText("{}\n", Verified, onCi: true, accept: true));
        Assert.False(File.Exists(Verified));
        Assert.False(File.Exists(Received));
    }

    [Fact]
    public void VerifyText_MissingLocally_WritesReceivedAndFails()
    {
        Assert.ThrowsAny<XunitException>(() => Snapshot.VerifyText("{}\n", Verified, onCi: false, accept: false));
        Assert.Equal("{}\n", File.ReadAllText(Received));
    }

    [Fact]
    public void VerifyText_Different_FailsWithLineDiff()
    {
        File.WriteAllText(Verified, "{\n  \"a\": 1,\n  \"b\": 2\n}\n");
        var ex = Assert.ThrowsAny<XunitException>(() => Snapshot.VerifyText("{\n  \"a\": 1,\n  \"b\": 3\n}\n", Verified, onCi: false, accept: false));
        Assert.Contains("-   \"b\": 2", ex.Message, StringComparison.Ordinal);
        Assert.Contains("+   \"b\": 3", ex.Message, StringComparison.Ordinal);
        Assert.True(File.Exists(Received));
    }

    [Fact]
    public void VerifyText_AcceptLocally_WritesVerifiedAndRemovesReceived()
    {
        File.WriteAllText(Received, "old");
        Snapshot.VerifyText("{}\n", Verified, onCi: false, accept: true);
        Assert.Equal("{}\n", File.ReadAllText(Verified));
        Assert.False(File.Exists(Received));
    }

    [Fact]
    public void ToSnapshotText_Object_SortedScrubbedLf()
    {
        var text = Snapshot.ToSnapshotText(
            new Dictionary<string, object?> { ["z"] = 1, ["a"] = new { ingested_at = "2026-11-21T10:00:00Z", id = "x" } },
            new SnapshotOptions { ScrubProperties = ["ingested_at"] });
        Assert.Equal("{\n  \"a\": {\n    \"id\": \"x\",\n    \"ingested_at\": \"{scrubbed}\"\n  },\n  \"z\": 1\n}\n", text);
    }

    public void Dispose() => Directory.Delete(dir, recursive: true);
}
