using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary><c>status</c> shows the age of the oldest message in the enriched queue and its DLQ when the provider can tell.</summary>
public sealed class StatusQueueAgeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Status_DeadLetterWaiting_OldestAgeInTextAndJson()
    {
        await using var harness = new PipelineHarness();
        await using var host = await harness.BuildAsync();
        var settings = host.Services.GetRequiredService<PipelineSettings>();
        var queue = host.Services.GetRequiredService<IMessageQueue>();
        var dlq = host.DeadLetterQueueFor(settings.EnrichedQueue);
        await queue.EnsureQueueAsync(new QueueDefinition(dlq), Ct);
        await queue.SendBatchAsync(dlq, [new OutgoingMessage("poison", "g", "d1")], Ct);
        await Task.Delay(TimeSpan.FromSeconds(1.2), Ct);

        var status = await PipelineStatus.CollectAsync(host, 0, Ct);

        var dead = status.Queues.Single(q => q.Name == dlq);
        Assert.True(dead.AgeKnown);
        Assert.InRange(dead.OldestAge!.Value, TimeSpan.FromSeconds(1.1), TimeSpan.FromMinutes(1));
        var json = JsonNode.Parse(status.ToJson())!["queues"]!.AsArray();
        Assert.True((double)json.Single(q => (string?)q!["name"] == dlq)!["oldest_age_seconds"]! >= 1.1);
        Assert.Contains("age: ", status.ToText(), StringComparison.Ordinal);
    }

    [Fact]
    public void DescribeAge_ProviderCannotTell_SaysSoAndJsonNull()
    {
        var sqs = new PipelineStatus.QueueStatus("q", "dead letters", new QueueDepth(1, 0, 0)) { AgeKnown = false };

        Assert.Equal("n/a on SQS (CloudWatch ApproximateAgeOfOldestMessage)", PipelineStatus.DescribeAge(sqs));
        Assert.Equal("empty", PipelineStatus.DescribeAge(sqs with { AgeKnown = true }));
        Assert.Equal("12 s", PipelineStatus.DescribeAge(sqs with { AgeKnown = true, OldestAge = TimeSpan.FromSeconds(12.3) }));
    }
}
