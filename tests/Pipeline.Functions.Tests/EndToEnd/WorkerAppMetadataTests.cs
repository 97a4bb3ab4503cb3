using System.Text.Json;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>The pipeline app's build output is an isolated-worker app any host can read (functions.metadata, worker.config.json).</summary>
public sealed class WorkerAppMetadataTests
{
    [Fact]
    public void FunctionsMetadata_PipelineWorkerApp_ListsEachFunctionWithItsTriggerBinding()
    {
        var root = PipelineApp.WorkerScriptRoot();
        using var metadata = JsonDocument.Parse(File.ReadAllText(Path.Combine(root, "functions.metadata")));

        var bindings = metadata.RootElement.EnumerateArray().ToDictionary(
            f => f.GetProperty("name").GetString()!,
            f => Assert.Single(f.GetProperty("bindings").EnumerateArray().ToList()));

        Assert.Equal(["EnrichTransactions", "IngestTrades", "LoadTransactions", "RefineDaily"], bindings.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(("objectCreatedTrigger", "%Zones:Raw%", "transactions/"), (Text(bindings["EnrichTransactions"], "type"), Text(bindings["EnrichTransactions"], "zone"), Text(bindings["EnrichTransactions"], "prefix")));
        Assert.Equal(("messageQueueTrigger", "%Queues:Enriched%", "Many"), (Text(bindings["LoadTransactions"], "type"), Text(bindings["LoadTransactions"], "queueName"), Text(bindings["LoadTransactions"], "cardinality")));
        Assert.Equal(("timerTrigger", "%Ingestion:Schedule%"), (Text(bindings["IngestTrades"], "type"), Text(bindings["IngestTrades"], "schedule")));
        Assert.Equal(("timerTrigger", "%Refine:Schedule%"), (Text(bindings["RefineDaily"], "type"), Text(bindings["RefineDaily"], "schedule")));
        Assert.True(File.Exists(Path.Combine(root, "worker.config.json")));
        Assert.True(File.Exists(Path.Combine(root, "host.json")));
    }

    private static string? Text(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) ? value.GetString() : null;
}
