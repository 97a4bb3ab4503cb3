using System.Text;
using System.Text.Json;
using Pipeline.Functions.Functions;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>
/// A claim-check object's manifest streams its versions list from the temporary .versions file: the written JSON is
/// the manifest with every non-empty line in order, whatever the line ends and lengths (lines across read blocks, a
/// line longer than a block, no final line end).
/// </summary>
public sealed class ManifestWriteTests
{
    [Fact]
    public async Task WriteAsync_ManyLinesMixedEnds_ManifestWithEveryNonEmptyLineInOrder()
    {
        var lines = new List<string>();
        for (var i = 0; i < 5_000; i++)
        {
            lines.Add($"TX-{i:D9}\u001f{(i % 7) + 1}");
        }

        lines.Add(new string('x', 40_000) + "\u001f1");
        lines.Add("TX-ünïcödé-€\u001f2");
        lines.Add("TX-\"quoted\"\\\u001f3");
        var text = new StringBuilder();
        for (var i = 0; i < lines.Count; i++)
        {
            text.Append(lines[i]).Append((i % 3) switch { 0 => "\n", 1 => "\r\n", _ => "\n\n" });
        }

        text.Append("TX-last\u001f9");
        lines.Add("TX-last\u001f9");
        var manifest = new Manifest { SourceKey = "transactions/big.ndjson", SourceEtag = "\"e-1\"", Format = "Ndjson", Records = 9, Valid = 8, Quarantined = 1, Messages = 3 };

        using var written = new MemoryStream();
        await Manifest.WriteAsync(written, manifest, new StringReader(text.ToString()), TestContext.Current.CancellationToken);

        var read = JsonSerializer.Deserialize(written.ToArray(), ManifestJsonContext.Default.Manifest);
        Assert.NotNull(read);
        Assert.Equal(lines, read.Versions);
        Assert.Equal(manifest, read with { Versions = null });
    }

    [Fact]
    public async Task WriteAsync_NoLines_EmptyVersions()
    {
        var manifest = new Manifest { SourceKey = "k", SourceEtag = "e", Records = 0, Valid = 0, Quarantined = 0, Messages = 0 };
        using var written = new MemoryStream();
        await Manifest.WriteAsync(written, manifest, new StringReader("\n\r\n"), TestContext.Current.CancellationToken);
        Assert.Equal("{\"source_key\":\"k\",\"source_etag\":\"e\",\"records\":0,\"valid\":0,\"quarantined\":0,\"messages\":0,\"versions\":[]}", Encoding.UTF8.GetString(written.ToArray()));
    }
}
