using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.SampleApp;

/// <summary>
/// <c>bench [messages] [newBatchThreshold]</c>: queue-trigger throughput through the host (no-op function) beside a baseline of the
/// same receive/delete loop on the embedded queue without the host, and the cost of a direct invocation.
/// </summary>
internal static class HostBenchmark
{
    public static async Task<int> RunAsync(string[] args)
    {
        var count = args.Length > 0 ? int.Parse(args[0], CultureInfo.InvariantCulture) : 5_000;
        var threshold = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 0;
        var root = Directory.CreateTempSubdirectory("pipeline-host-bench-").FullName;
        try
        {
            var builder = FunctionsHost.CreateBuilder(new FunctionsHostOptions
            {
                ContentRoot = AppContext.BaseDirectory,
                DataRoot = root,
                ConsoleLogging = false,
                Functions = ["Sink"],
                IdleQuietPeriod = TimeSpan.FromMilliseconds(100),
            });
            builder.HostSettings = builder.HostSettings with { Queues = builder.HostSettings.Queues with { NewBatchThreshold = threshold } };
            builder.Functions.AddQueueFunction("Sink", new QueueTriggerBinding("bench"), (_, _, _) => Task.CompletedTask);
            await using var host = builder.Build();
            var queue = host.Services.GetRequiredService<IMessageQueue>();
            await queue.EnsureQueueAsync(new QueueDefinition("bench", "bench-dlq"));
            await queue.EnsureQueueAsync(new QueueDefinition("baseline"));

            // Baseline: send, then receive + delete in batches of 10 without the host.
            await SendAsync(queue, "baseline", count);
            var watch = Stopwatch.StartNew();
            var drained = 0;
            while (drained < count)
            {
                var batch = await queue.ReceiveAsync("baseline", new ReceiveOptions());
                await queue.DeleteBatchAsync("baseline", batch.Select(m => m.ReceiptHandle).ToList());
                drained += batch.Count;
            }

            var baseline = count / watch.Elapsed.TotalSeconds;

            // Through the host: listener, executor (scope, timeout, logging filters), heartbeat, delete.
            await SendAsync(queue, "bench", count);
            watch.Restart();
            await host.StartAsync();
            await host.WaitUntilIdleAsync(TimeSpan.FromMinutes(10));
            var hosted = count / (watch.Elapsed.TotalSeconds - 0.1); // minus the idle quiet period
            await host.StopAsync();

            // Direct invocation cost (no provider I/O).
            var message = new ReceivedMessage("m", "r", "{}", 1, null, null, new Dictionary<string, string>(), DateTimeOffset.UtcNow);
            for (var i = 0; i < 1_000; i++)
            {
                await host.InvokeAsync("Sink", message);
            }

            const int invocations = 20_000;
            watch.Restart();
            for (var i = 0; i < invocations; i++)
            {
                await host.InvokeAsync("Sink", message);
            }

            var perInvocation = watch.Elapsed.TotalMicroseconds / invocations;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"messages={count} newBatchThreshold={threshold} baseline_receive_delete={baseline:F0} msg/s host_queue_trigger={hosted:F0} msg/s ({hosted / baseline:P0} of baseline) direct_invoke={perInvocation:F1} us"));
            return 0;
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task SendAsync(IMessageQueue queue, string name, int count)
    {
        for (var i = 0; i < count; i += QueueLimits.MaxBatchSize)
        {
            var batch = Enumerable.Range(i, Math.Min(QueueLimits.MaxBatchSize, count - i)).Select(n => new OutgoingMessage($"{{\"n\":{n}}}")).ToList();
            var result = await queue.SendBatchAsync(name, batch);
            if (!result.AllSucceeded)
            {
                throw new InvalidOperationException(result.Failed[0].Message);
            }
        }
    }
}
