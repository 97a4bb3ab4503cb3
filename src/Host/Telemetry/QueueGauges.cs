using System.Diagnostics.Metrics;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Telemetry;

/// <summary>
/// Observable queue depth per queue the host consumes (and its dead-letter queue), read from
/// <see cref="IMessageQueue.GetDepthAsync"/> when the exporter collects. A meter per host, disposed with it.
/// </summary>
/// <remarks>The age of the oldest message is reported where the queue provider can tell (<see cref="IQueueAge"/>; not SQS,
/// whose figure is CloudWatch's ApproximateAgeOfOldestMessage).</remarks>
public sealed class QueueGauges : IDisposable
{
    public const string MeterName = "Pipeline.Queues";

    private readonly IMessageQueue _queues;
    private readonly IQueueAge? _ages;
    private readonly Meter _meter = new(MeterName);
    private string[] _names = [];

    public QueueGauges(IMessageQueue queues, IQueueAge? ages = null)
    {
        _queues = queues;
        _ages = ages;
        _meter.CreateObservableGauge("pipeline.queue.depth", Observe, "{message}", "Messages in the queue by state (visible, in_flight, delayed)");
        if (ages is not null)
        {
            _meter.CreateObservableGauge("pipeline.queue.oldest_age", ObserveAge, "s", "Age of the oldest message in the queue (absent when empty)");
        }
    }

    public void Track(IEnumerable<string> queueNames) =>
        _names = queueNames.Distinct(StringComparer.Ordinal).ToArray();

    public void Dispose() => _meter.Dispose();

    private IEnumerable<Measurement<double>> ObserveAge()
    {
        var measurements = new List<Measurement<double>>();
        foreach (var name in _names)
        {
            TimeSpan? age;
            try
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                age = _ages!.GetOldestMessageAgeAsync(name, timeout.Token).GetAwaiter().GetResult();
            }
#pragma warning disable CA1031 // As for depth: an unreadable queue reports nothing this time.
            catch (Exception)
#pragma warning restore CA1031
            {
                continue;
            }

            if (age is { } a)
            {
                measurements.Add(new Measurement<double>(a.TotalSeconds, new KeyValuePair<string, object?>("messaging.destination.name", name)));
            }
        }

        return measurements;
    }

    private IEnumerable<Measurement<long>> Observe()
    {
        var measurements = new List<Measurement<long>>();
        foreach (var name in _names)
        {
            QueueDepth depth;
            try
            {
                // Collection runs on the exporter's thread; a bounded wait keeps a slow queue from stalling it.
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                depth = _queues.GetDepthAsync(name, timeout.Token).GetAwaiter().GetResult();
            }
#pragma warning disable CA1031 // A queue that cannot be read (not created yet, throttled) just reports nothing this time.
            catch (Exception)
#pragma warning restore CA1031
            {
                continue;
            }

            var queue = new KeyValuePair<string, object?>("messaging.destination.name", name);
            measurements.Add(new Measurement<long>(depth.Visible, queue, new("pipeline.queue.state", "visible")));
            measurements.Add(new Measurement<long>(depth.InFlight, queue, new("pipeline.queue.state", "in_flight")));
            measurements.Add(new Measurement<long>(depth.Delayed, queue, new("pipeline.queue.state", "delayed")));
        }

        return measurements;
    }
}
