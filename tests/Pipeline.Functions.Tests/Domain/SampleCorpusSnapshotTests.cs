using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Functions.Transactions;
using Pipeline.TestKit.Snapshots;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>Pins the enriched records and the quarantine entries of the bundled sample corpus.</summary>
public sealed class SampleCorpusSnapshotTests
{
    internal static readonly SnapshotOptions Options = new() { ScrubProperties = ["ingested_at"] };

    [Fact]
    public async Task ProcessAsync_BundledSamples_EnrichedRecordsAndQuarantineMatchSnapshot()
    {
        var enriched = new JsonArray();
        var quarantine = new JsonArray();
        var outcomes = new JsonArray();
        foreach (var path in Directory.GetFiles(RepoPaths.Samples).Order(StringComparer.Ordinal))
        {
            var key = "transactions/" + Path.GetFileName(path);
            var outcome = await TransactionFileProcessor.ProcessAsync(
                key,
                "etag-" + Path.GetFileName(path),
                DateTimeOffset.UnixEpoch,
                _ => Task.FromResult<Stream>(File.OpenRead(path)),
                TestData.Reference,
                new EnrichmentOptions(),
                t =>
                {
                    enriched.Add(JsonSerializer.SerializeToNode(t, TransactionJsonContext.Default.EnrichedTransaction));
                    return ValueTask.CompletedTask;
                },
                q =>
                {
                    var node = JsonNode.Parse(q.ToJson())!.AsObject();
                    node["quarantine_key"] = q.Key;
                    quarantine.Add(node);
                    return ValueTask.CompletedTask;
                },
                TestContext.Current.CancellationToken);
            outcomes.Add(JsonSerializer.SerializeToNode(outcome));
            Assert.Equal(outcome.Records, outcome.Valid + outcome.Quarantined);
        }

        await Snapshot.VerifyJsonAsync(outcomes, Options, "outcomes");
        await Snapshot.VerifyJsonAsync(enriched, Options, "enriched");
        await Snapshot.VerifyJsonAsync(quarantine, Options, "quarantine");
    }
}
