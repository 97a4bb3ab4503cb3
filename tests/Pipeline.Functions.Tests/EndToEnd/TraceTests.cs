using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Tests.Domain;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Host.Telemetry;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>OpenTelemetry through the host on the embedded providers: one object's trace from enrich to load.</summary>
public sealed class TraceTests
{
    // A key no other test uses: hosts of other test classes run in this process at the same time, and their spans
    // for the same sample key (AccountingTests, ReviewTests run the samples) would match this test's filter.
    private static readonly string Key = $"transactions/trace-{Guid.NewGuid():N}/trades-2026-11-24.ndjson";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_OneFile_LoadInvocationContinuesTheEnrichTraceWithProviderSpans()
    {
        var spans = new SpanCollector();
        using var loaded = new LoadedCounter();
        await using var harness = new PipelineHarness(new Dictionary<string, string?> { ["Telemetry:Enabled"] = "true" });
        await using (var host = harness.BuildInProcess(configure: b => b.Services.ConfigureOpenTelemetryTracerProvider(t => t.AddProcessor(spans))))
        {
            await PipelineHarness.UploadReferenceAsync(host, Ct);
            await host.Services.GetRequiredService<WarehouseTables>().EnsureAsync(Ct);
            await PipelineHarness.PutAsync(host, Key, File.ReadAllBytes(Path.Combine(RepoPaths.Samples, Path.GetFileName(Key))), Ct);
            await host.StartAsync(Ct);
            await host.WaitUntilIdleAsync(TimeSpan.FromSeconds(60), Ct);
            await host.StopAsync(Ct);
        }

        // Other tests' hosts may share the process (and the ActivitySource): follow this object's trace only.
        var enrich = Assert.Single(spans.Ended, s => s.DisplayName == nameof(EnrichTransactions) && Equals(s.GetTagItem("faas.document.name"), Key));
        Assert.Equal(ActivityKind.Server, enrich.Kind);
        Assert.Equal("datasource", enrich.GetTagItem("faas.trigger"));
        var trace = spans.Ended.Where(s => s.TraceId == enrich.TraceId).ToList();
        var children = trace.Where(s => s.ParentSpanId == enrich.SpanId).ToList();
        Assert.Contains(children, s => Equals(s.GetTagItem("rpc.method"), "GetObject") && Equals(s.GetTagItem("aws.s3.key"), Key));
        var sends = children.Where(s => s.Kind == ActivityKind.Producer && Equals(s.GetTagItem("messaging.operation.type"), "send")).ToList();
        Assert.NotEmpty(sends);
        Assert.All(sends, s => Assert.Equal("transactions-enriched.fifo", s.GetTagItem("messaging.destination.name")));

        // The load runs in the same trace, parented by (and linked to) the send that carried its messages.
        var loads = trace.Where(s => s.DisplayName == nameof(LoadTransactions)).ToList();
        Assert.NotEmpty(loads);
        foreach (var load in loads)
        {
            Assert.Equal(ActivityKind.Consumer, load.Kind);
            Assert.Equal("pubsub", load.GetTagItem("faas.trigger"));
            Assert.Contains(sends, s => s.SpanId == load.ParentSpanId);
            Assert.Contains(load.Links, l => sends.Any(s => s.SpanId == l.Context.SpanId));
        }

        var merges = trace.Where(s => Equals(s.GetTagItem("db.operation.name"), "MERGE") && loads.Any(l => l.SpanId == s.ParentSpanId)).ToList();
        Assert.NotEmpty(merges);
        Assert.All(merges, m => Assert.Equal("sqlite", m.GetTagItem("db.system.name")));
        Assert.True(loaded.Total >= 1, "pipeline.records.loaded was not recorded");
    }

    [Fact]
    public async Task Build_TelemetryOff_NoSdkNoDecorators()
    {
        await using var harness = new PipelineHarness();
        await using var host = harness.BuildInProcess();

        Assert.Null(host.Services.GetService<TracerProvider>());
        Assert.Null(host.Services.GetService<MeterProvider>());
        Assert.Null(host.Services.GetService<QueueGauges>());
        Assert.Equal("FileSystemObjectStore", host.Services.GetRequiredService<IObjectStore>().GetType().Name);
        Assert.Equal("SqliteMessageQueue", host.Services.GetRequiredService<IMessageQueue>().GetType().Name);
        Assert.Equal("SqliteWarehouse", host.Services.GetRequiredService<IWarehouse>().GetType().Name);
    }

    [Fact]
    public async Task Build_TelemetryOn_ProvidersTracedAndSdkRegistered()
    {
        await using var harness = new PipelineHarness(new Dictionary<string, string?> { ["OTEL_TRACES_EXPORTER"] = "none", ["Telemetry:Enabled"] = "true" });
        await using var host = harness.BuildInProcess();

        Assert.NotNull(host.Services.GetService<TracerProvider>());
        Assert.NotNull(host.Services.GetService<MeterProvider>());
        Assert.Equal("TracedObjectStore", host.Services.GetRequiredService<IObjectStore>().GetType().Name);
        Assert.Equal("TracedMessageQueue", host.Services.GetRequiredService<IMessageQueue>().GetType().Name);
        Assert.Equal("TracedWarehouse", host.Services.GetRequiredService<IWarehouse>().GetType().Name);
    }

    [Fact]
    public async Task QueueGauges_OneMessageWaiting_ReportOneVisibleAndItsAge()
    {
        var queue = "gauge-" + Guid.NewGuid().ToString("N")[..8] + ".fifo";
        await using var harness = new PipelineHarness(new Dictionary<string, string?> { ["Telemetry:Enabled"] = "true", ["OTEL_METRICS_EXPORTER"] = "none", ["Queues:Enriched"] = queue });
        await using var host = harness.BuildInProcess([nameof(LoadTransactions)]);
        var queues = host.Services.GetRequiredService<IMessageQueue>();
        await queues.EnsureQueueAsync(new QueueDefinition(queue), Ct);
        await queues.SendBatchAsync(queue, [new OutgoingMessage("{}", "g", "d") { EntryId = "0" }], Ct);

        var seen = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == QueueGauges.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            var pairs = tags.ToArray();
            if (pairs.Any(t => t.Key == "messaging.destination.name" && Equals(t.Value, queue)))
            {
                seen[(string)pairs.Single(t => t.Key == "pipeline.queue.state").Value!] = value;
            }
        });
        double? age = null;
        listener.SetMeasurementEventCallback<double>((instrument, value, tags, _) =>
        {
            if (instrument.Name == "pipeline.queue.oldest_age" && tags.ToArray().Any(t => t.Key == "messaging.destination.name" && Equals(t.Value, queue)))
            {
                age = value;
            }
        });
        listener.Start();
        await Task.Delay(TimeSpan.FromMilliseconds(300), Ct);
        listener.RecordObservableInstruments();

        Assert.Equal(1, seen["visible"]);
        Assert.Equal(0, seen["in_flight"]);
        Assert.NotNull(age);
        Assert.InRange(age.Value, 0.25, 120); // the message waited at least the 300 ms above
    }

    /// <summary>An in-process exporter: every ended span, thread-safe.</summary>
    private sealed class SpanCollector : BaseProcessor<Activity>
    {
        private readonly List<Activity> ended = [];

        public IReadOnlyList<Activity> Ended
        {
            get
            {
                lock (ended)
                {
                    return ended.ToList();
                }
            }
        }

        public override void OnEnd(Activity data)
        {
            lock (ended)
            {
                ended.Add(data);
            }
        }
    }

    /// <summary>Listens to pipeline.records.loaded (process-wide: a lower bound is all it can assert).</summary>
    private sealed class LoadedCounter : IDisposable
    {
        private readonly MeterListener listener = new();
        private long total;

        public LoadedCounter()
        {
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == PipelineTelemetry.Name && instrument.Name == "pipeline.records.loaded")
                {
                    l.EnableMeasurementEvents(instrument);
                }
            };
            listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref total, value));
            listener.Start();
        }

        public long Total => Interlocked.Read(ref total);

        public void Dispose() => listener.Dispose();
    }
}
