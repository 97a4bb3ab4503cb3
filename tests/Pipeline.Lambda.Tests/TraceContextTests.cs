using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Host.Telemetry;
using Pipeline.Lambda.RuntimeApi;

namespace Pipeline.Lambda.Tests;

/// <summary>
/// The Lambda adapter on the real host and the pipeline's worker (a child process; embedded providers in this
/// build): the queue invocation continues the trace carried in the SQS records' <c>traceparent</c> message attributes.
/// </summary>
public sealed class TraceContextTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "pipeline-lambda-trace-" + Guid.NewGuid().ToString("N")[..12]);
    private readonly List<Activity> stopped = [];
    private readonly ActivityListener listener;

    public TraceContextTests()
    {
        listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == PipelineTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activity =>
            {
                lock (stopped)
                {
                    stopped.Add(activity);
                }
            },
        };
        ActivitySource.AddActivityListener(listener);
    }

    [Fact]
    public async Task Dispatch_BatchFromOneTrace_LoadInvocationIsChildOfTheSender()
    {
        var sender = NewContext();

        var load = await DispatchAsync([sender, sender]);

        Assert.Equal(sender.TraceId, load.TraceId);
        Assert.Equal(sender.SpanId, load.ParentSpanId);
        Assert.Contains(load.Links, l => l.Context.SpanId == sender.SpanId);
    }

    [Fact]
    public async Task Dispatch_BatchFromTwoTraces_LoadInvocationLinksBothAndParentsNeither()
    {
        var first = NewContext();
        var second = NewContext();

        var load = await DispatchAsync([first, second]);

        Assert.NotEqual(first.TraceId, load.TraceId);
        Assert.NotEqual(second.TraceId, load.TraceId);
        Assert.Equal(default, load.ParentSpanId);
        Assert.Equal(2, load.Links.Count());
        Assert.Contains(load.Links, l => l.Context.SpanId == first.SpanId && l.Context.TraceId == first.TraceId);
        Assert.Contains(load.Links, l => l.Context.SpanId == second.SpanId && l.Context.TraceId == second.TraceId);
    }

    public void Dispose()
    {
        listener.Dispose();
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static ActivityContext NewContext() =>
        new(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);

    /// <summary>Dispatches the FIFO fixture (several records), record i carrying <paramref name="contexts"/>[i mod length]; returns the invocation span.</summary>
    private async Task<Activity> DispatchAsync(ActivityContext[] contexts)
    {
        await using var app = await LambdaApplication.CreateAsync("LoadTransactions", Pipeline.Cli.PipelineApp.WorkerScriptRoot(), new Dictionary<string, string?>
        {
            ["Provider"] = "Embedded",
            ["Embedded:DataRoot"] = root,
            ["Zones:Raw"] = "raw",
            ["Zones:Prepare"] = "prepare",
            ["Zones:Quarantine"] = "quarantine",
            ["Zones:Reference"] = "reference",
            ["Queues:Enriched"] = "pipeline-enriched.fifo",
            ["Telemetry:Enabled"] = "true",
            ["OTEL_TRACES_EXPORTER"] = "none",
            ["OTEL_METRICS_EXPORTER"] = "none",
        }, TestContext.Current.CancellationToken);

        var sqs = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Fixtures", "sqs-fifo-batch.json")))!;
        var records = sqs["Records"]!.AsArray();
        for (var i = 0; i < records.Count; i++)
        {
            var context = contexts[i % contexts.Length];
            var traceparent = $"00-{context.TraceId.ToHexString()}-{context.SpanId.ToHexString()}-01";
            records[i]!["messageAttributes"]![PipelineTelemetry.TraceParentAttribute] = new JsonObject { ["stringValue"] = traceparent, ["dataType"] = "String" };
        }

        var invocation = new LambdaInvocation("req-trace", DateTimeOffset.UtcNow.AddMinutes(1), null, null, Encoding.UTF8.GetBytes(sqs.ToJsonString()));
        await app.Dispatcher.DispatchAsync(invocation, TestContext.Current.CancellationToken);

        lock (stopped)
        {
            // The listener is process-wide: pick the invocation that links to this test's contexts.
            return Assert.Single(stopped, a => a.DisplayName == "LoadTransactions" && a.Links.Any(l => l.Context.SpanId == contexts[0].SpanId));
        }
    }
}
