using System.Globalization;
using Microsoft.Data.Sqlite;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Harness;

/// <summary>
/// Consumes a queue in batches of 10 and records every delivery and every successful ack in a separate durable
/// log (its own SQLite file). With <c>stallAtBatch</c> = N it processes half of batch N, prints MIDBATCH and waits
/// to be killed. Without it, it drains the queue and exits 0.
/// </summary>
internal static class CrashConsumer
{
    public const string MidBatchSignal = "MIDBATCH";

    public static async Task<int> RunAsync(string[] args)
    {
        var (dataRoot, queueName, logPath) = (args[0], args[1], args[2]);
        var stallAt = args.Length > 3 ? int.Parse(args[3], CultureInfo.InvariantCulture) : -1;
        var visibility = TimeSpan.FromSeconds(args.Length > 4 ? int.Parse(args[4], CultureInfo.InvariantCulture) : 3);
        using var queue = new SqliteMessageQueue(new EmbeddedOptions { DataRoot = dataRoot });
        using var log = new SqliteConnection($"Data Source={logPath}");
        log.Open();
        Exec(log, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;");
        Exec(log, "CREATE TABLE IF NOT EXISTS deliveries(message_id TEXT NOT NULL, receive_count INTEGER NOT NULL, pid INTEGER NOT NULL);");
        Exec(log, "CREATE TABLE IF NOT EXISTS acks(message_id TEXT NOT NULL, pid INTEGER NOT NULL);");
        var pid = Environment.ProcessId;
        var batchNo = 0;
        var emptyReceives = 0;
        while (emptyReceives < 3)
        {
            var batch = await queue.ReceiveAsync(queueName, new ReceiveOptions { MaxMessages = 10, WaitTime = TimeSpan.FromSeconds(1), VisibilityTimeout = visibility });
            if (batch.Count == 0)
            {
                emptyReceives++;
                continue;
            }

            emptyReceives = 0;
            batchNo++;
            for (var i = 0; i < batch.Count; i++)
            {
                Record(log, "INSERT INTO deliveries(message_id, receive_count, pid) VALUES ($m, $c, $p);", batch[i].MessageId, batch[i].ReceiveCount, pid);
                if (batchNo == stallAt && i == batch.Count / 2)
                {
                    Console.Out.WriteLine(MidBatchSignal);
                    Console.Out.Flush();
                    await Task.Delay(Timeout.InfiniteTimeSpan); // the test kills us here (SIGKILL)
                }
            }

            var failed = await queue.DeleteBatchAsync(queueName, batch.Select(m => m.ReceiptHandle).ToList());
            using var tx = log.BeginTransaction();
            foreach (var m in batch.Where(m => !failed.Contains(m.ReceiptHandle)))
            {
                Record(log, "INSERT INTO acks(message_id, pid) VALUES ($m, $p);", m.MessageId, null, pid, tx);
            }

            tx.Commit();
        }

        Console.Out.WriteLine("DRAINED");
        return 0;
    }

    private static void Exec(SqliteConnection c, string sql)
    {
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    private static void Record(SqliteConnection c, string sql, string messageId, int? count, int pid, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.Parameters.AddWithValue("$m", messageId);
        if (count is not null)
        {
            cmd.Parameters.AddWithValue("$c", count.Value);
        }

        cmd.Parameters.AddWithValue("$p", pid);
        cmd.ExecuteNonQuery();
    }
}
