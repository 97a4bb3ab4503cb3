using System.Diagnostics;
using Microsoft.Data.Sqlite;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Tests;

/// <summary>
/// A real consumer process (tests/Pipeline.Providers.Embedded.Harness) is killed with SIGKILL in the middle of a
/// batch; a second consumer then drains the queue. Every message must be delivered at least once and acknowledged
/// exactly once, counted in the consumers' own durable log.
/// </summary>
public sealed class CrashTests : IDisposable
{
    private readonly TempDataRoot root = new();

    public void Dispose() => root.Dispose();

    [Fact]
    public async Task Consumer_KilledMidBatch_EveryMessageDeliveredAtLeastOnceAndAckedExactlyOnce()
    {
        var ct = TestContext.Current.CancellationToken;
        var harness = HarnessPath();
        const string queueName = "crash.fifo";
        const int total = 200;
        var sentIds = new List<string>();
        using (var queue = new SqliteMessageQueue(root.Options()))
        {
            await queue.EnsureQueueAsync(new QueueDefinition(queueName), ct);
            for (var i = 0; i < total; i += 10)
            {
                var result = await queue.SendBatchAsync(queueName, Enumerable.Range(i, 10).Select(k => new OutgoingMessage($"m{k}", $"g{k % 5}", $"d{k}")).ToList(), ct);
                Assert.True(result.AllSucceeded);
                sentIds.AddRange(result.Sent.Select(s => s.MessageId));
            }
        }

        var log = Path.Combine(root.Path, "consumer-log.db");

        // First consumer: killed (SIGKILL) while holding its third batch, half processed.
        using (var victim = Start(harness, queueName, log, stallAtBatch: 3))
        {
            var line = await ReadUntilAsync(victim, "MIDBATCH", TimeSpan.FromSeconds(60), ct);
            Assert.Equal("MIDBATCH", line);
            victim.Kill(); // SIGKILL on Unix: no finally blocks, no disposal, no graceful anything
            await victim.WaitForExitAsync(ct);
        }

        // Second consumer: drains everything, including the killed batch once its visibility (3 s) expires.
        using (var survivor = Start(harness, queueName, log, stallAtBatch: null))
        {
            var line = await ReadUntilAsync(survivor, "DRAINED", TimeSpan.FromSeconds(90), ct);
            Assert.Equal("DRAINED", line);
            await survivor.WaitForExitAsync(ct);
            Assert.Equal(0, survivor.ExitCode);
        }

        var deliveries = Count(log, "SELECT message_id, COUNT(*) FROM deliveries GROUP BY message_id");
        var acks = Count(log, "SELECT message_id, COUNT(*) FROM acks GROUP BY message_id");
        Assert.All(sentIds, id => Assert.True(deliveries.GetValueOrDefault(id) >= 1, $"message {id} was never delivered"));
        Assert.All(sentIds, id => Assert.Equal(1, acks.GetValueOrDefault(id)));
        Assert.Equal(total, acks.Count);
        Assert.Contains(deliveries, d => d.Value >= 2); // the killed batch really was delivered again

        using var check = new SqliteMessageQueue(root.Options());
        Assert.Equal(0, (await check.GetDepthAsync(queueName, ct)).Total);
    }

    [Fact]
    public async Task Receive_HolderKilled_ItsMessagesReceivableAtOnceButNotWhileItLives()
    {
        var ct = TestContext.Current.CancellationToken;
        const string queueName = "lease";
        using var queue = new SqliteMessageQueue(root.Options());
        await queue.EnsureQueueAsync(new QueueDefinition(queueName), ct);
        for (var i = 0; i < 20; i += 10)
        {
            Assert.True((await queue.SendBatchAsync(queueName, Enumerable.Range(i, 10).Select(k => new OutgoingMessage($"m{k}")).ToList(), ct)).AllSucceeded);
        }

        // The victim takes 10 messages with a 10-minute lease and stalls; while it lives, its lease holds.
        using var victim = Start(HarnessPath(), queueName, Path.Combine(root.Path, "lease-log.db"), stallAtBatch: 1, visibilitySeconds: 600);
        Assert.Equal("MIDBATCH", await ReadUntilAsync(victim, "MIDBATCH", TimeSpan.FromSeconds(60), ct));
        var others = await queue.ReceiveAsync(queueName, new ReceiveOptions { MaxMessages = 10, VisibilityTimeout = TimeSpan.FromMinutes(10) }, ct);
        Assert.Equal(10, others.Count);
        Assert.Empty(await queue.ReceiveAsync(queueName, new ReceiveOptions { MaxMessages = 10 }, ct));

        victim.Kill();
        await victim.WaitForExitAsync(ct);

        // Its holder is gone: the next receive gets its 10 messages now, not in 10 minutes.
        var taken = await queue.ReceiveAsync(queueName, new ReceiveOptions { MaxMessages = 10 }, ct);
        Assert.Equal(10, taken.Count);
        Assert.All(taken, m => Assert.Equal(2, m.ReceiveCount));
        Assert.Empty(taken.Select(m => m.Body).Intersect(others.Select(m => m.Body)));
    }

    internal static string HarnessPath()
    {
        // The harness is built beside this project (ProjectReference without output assembly): same configuration and TFM.
        var baseDir = AppContext.BaseDirectory;
        var marker = $"{Path.DirectorySeparatorChar}Pipeline.Providers.Embedded.Tests{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}";
        var at = baseDir.LastIndexOf(marker, StringComparison.Ordinal);
        Assert.True(at >= 0, $"Cannot locate the harness from {baseDir}.");
        var path = Path.Combine(
            baseDir[..at],
            "Pipeline.Providers.Embedded.Harness",
            "bin",
            baseDir[(at + marker.Length)..].TrimEnd(Path.DirectorySeparatorChar),
            "Pipeline.Providers.Embedded.Harness.dll");
        Assert.True(File.Exists(path), $"Harness not built at {path}; build tests/Pipeline.Providers.Embedded.Tests (it builds the harness).");
        return path;
    }

    private Process Start(string harness, string queue, string log, int? stallAtBatch, int? visibilitySeconds = null)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in (string[])[harness, "consume", root.Path, queue, log])
        {
            info.ArgumentList.Add(a);
        }

        if (stallAtBatch is { } n)
        {
            info.ArgumentList.Add(n.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        if (visibilitySeconds is { } v)
        {
            info.ArgumentList.Add(v.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        return Process.Start(info) ?? throw new InvalidOperationException("dotnet did not start.");
    }

    private static async Task<string> ReadUntilAsync(Process process, string expected, TimeSpan timeout, CancellationToken ct)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(ct);
        cts.CancelAfter(timeout);
        while (await process.StandardOutput.ReadLineAsync(cts.Token) is { } line)
        {
            if (line == expected)
            {
                return line;
            }
        }

        var error = await process.StandardError.ReadToEndAsync(ct);
        return $"process ended without '{expected}': {error}";
    }

    private static Dictionary<string, long> Count(string log, string sql)
    {
        using var c = new SqliteConnection($"Data Source={log};Mode=ReadOnly");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        using var r = cmd.ExecuteReader();
        var map = new Dictionary<string, long>(StringComparer.Ordinal);
        while (r.Read())
        {
            map[r.GetString(0)] = r.GetInt64(1);
        }

        return map;
    }
}
