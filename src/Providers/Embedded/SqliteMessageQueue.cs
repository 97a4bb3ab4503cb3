using System.Collections.Concurrent;
using System.Globalization;
using System.Text;
using Microsoft.Data.Sqlite;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded.Internal;

namespace Pipeline.Providers.Embedded;

/// <summary>
/// Durable standard and FIFO queues in one SQLite database (<c>&lt;DataRoot&gt;/queue.db</c>, WAL).
/// Every state change is one transaction, so a killed process loses nothing: un-acked messages
/// become visible again when their visibility timeout ends.
/// </summary>
public sealed class SqliteMessageQueue : IMessageQueue, IQueueAge, IDisposable
{
    private static readonly TimeSpan MaxVisibility = TimeSpan.FromHours(12);
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);

    private readonly SqliteDatabase db;
    private readonly EmbeddedOptions options;
    private readonly ConcurrentDictionary<string, QueueRow> queues = new(StringComparer.Ordinal);
    private readonly Pulse pulse = new();
    private long nextDedupPurgeMs;

    public SqliteMessageQueue(EmbeddedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var error = options.Validate();
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(options));
        }

        this.options = options;
        db = new SqliteDatabase(Path.Combine(options.FullDataRoot, "queue.db"), options, CreateSchema);
    }

    public QueueCapabilities Capabilities { get; } = new();

    /// <summary>Path of the SQLite file (for diagnostics and tests).</summary>
    public string DatabasePath => db.Path;

    public async Task EnsureQueueAsync(QueueDefinition definition, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(definition);
        ValidateQueueName(definition.Name);
        if (definition.MaxReceiveCount < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(definition), $"MaxReceiveCount of queue '{definition.Name}' must be at least 1.");
        }

        if (definition.DeadLetterQueue is { } dlq)
        {
            ValidateQueueName(dlq);
            if (dlq.EndsWith(".fifo", StringComparison.Ordinal) != definition.IsFifo)
            {
                throw new ArgumentException($"Dead-letter queue '{dlq}' of queue '{definition.Name}' must be of the same type (both FIFO '.fifo' or both standard).", nameof(definition));
            }

            if (string.Equals(dlq, definition.Name, StringComparison.Ordinal))
            {
                throw new ArgumentException($"Queue '{definition.Name}' cannot be its own dead-letter queue.", nameof(definition));
            }
        }

        var visibility = definition.DefaultVisibilityTimeout ?? TimeSpan.FromSeconds(30);
        CheckVisibility(visibility);
        var window = definition.DeduplicationWindow ?? options.DeduplicationWindow;
        if (window <= TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(definition), $"DeduplicationWindow of queue '{definition.Name}' must be positive.");
        }

        var row = new QueueRow(definition.Name, definition.IsFifo, definition.DeadLetterQueue, definition.MaxReceiveCount, (long)visibility.TotalMilliseconds, (long)window.TotalMilliseconds);
        await db.WriteAsync((c, tx) =>
        {
            if (row.DeadLetterQueue is { } d)
            {
                using var dl = c.CreateCommand();
                dl.Transaction = tx;
                dl.CommandText = "INSERT INTO queues(name, fifo, dlq, max_receive, visibility_ms, dedup_ms) VALUES ($n, $f, NULL, 1, $v, $w) ON CONFLICT(name) DO NOTHING;";
                dl.Parameters.AddWithValue("$n", d);
                dl.Parameters.AddWithValue("$f", row.Fifo ? 1 : 0);
                dl.Parameters.AddWithValue("$v", row.VisibilityMs);
                dl.Parameters.AddWithValue("$w", row.DedupMs);
                dl.ExecuteNonQuery();
            }

            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = """
                INSERT INTO queues(name, fifo, dlq, max_receive, visibility_ms, dedup_ms) VALUES ($n, $f, $d, $m, $v, $w)
                ON CONFLICT(name) DO UPDATE SET dlq = excluded.dlq, max_receive = excluded.max_receive,
                    visibility_ms = excluded.visibility_ms, dedup_ms = excluded.dedup_ms;
                """;
            cmd.Parameters.AddWithValue("$n", row.Name);
            cmd.Parameters.AddWithValue("$f", row.Fifo ? 1 : 0);
            cmd.Parameters.AddWithValue("$d", (object?)row.DeadLetterQueue ?? DBNull.Value);
            cmd.Parameters.AddWithValue("$m", row.MaxReceive);
            cmd.Parameters.AddWithValue("$v", row.VisibilityMs);
            cmd.Parameters.AddWithValue("$w", row.DedupMs);
            cmd.ExecuteNonQuery();
            return true;
        }, cancellationToken).ConfigureAwait(false);
        queues[row.Name] = row;
        if (row.DeadLetterQueue is { } dead)
        {
            queues.TryRemove(dead, out _);
        }
    }

    public async Task<SendBatchResult> SendBatchAsync(string queue, IReadOnlyList<OutgoingMessage> messages, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        if (messages.Count is 0 or > QueueLimits.MaxBatchSize)
        {
            throw new ArgumentException($"A send batch holds 1 to {QueueLimits.MaxBatchSize} messages; got {messages.Count}. Split the batch.", nameof(messages));
        }

        var entryIds = new string[messages.Count];
        for (var i = 0; i < messages.Count; i++)
        {
            entryIds[i] = messages[i].EntryId ?? i.ToString(CultureInfo.InvariantCulture);
        }

        if (entryIds.Distinct(StringComparer.Ordinal).Count() != entryIds.Length)
        {
            throw new ArgumentException("Entry ids inside a send batch must be distinct.", nameof(messages));
        }

        var q = await GetQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        var sent = new List<SentMessage>(messages.Count);
        var failed = new List<FailedEntry>();
        var totalBytes = 0L;
        var accepted = new List<(int Index, string? Attributes)>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            var m = messages[i];
            var problem = CheckMessage(q, m, out var bytes);
            totalBytes += bytes;
            if (problem is not null)
            {
                failed.Add(new FailedEntry(entryIds[i], problem.Value.Code, problem.Value.Message, SenderFault: true));
                continue;
            }

            accepted.Add((i, JsonMap.Write(m.Attributes)));
        }

        if (totalBytes > QueueLimits.MaxBatchBytes)
        {
            throw new ArgumentException($"The send batch is {totalBytes} bytes; the limit is {QueueLimits.MaxBatchBytes}. Send fewer or smaller messages (claim checks for big payloads).", nameof(messages));
        }

        if (accepted.Count > 0)
        {
            var ids = await db.WriteAsync((c, tx) =>
            {
                var now = Clock.NowMs();
                var result = new string[accepted.Count];
                using var dedupGet = c.CreateCommand();
                dedupGet.Transaction = tx;
                dedupGet.CommandText = "SELECT message_id FROM dedup WHERE queue = $q AND dedup_id = $d AND expires_at > $now;";
                var dgQ = dedupGet.Parameters.Add("$q", SqliteType.Text);
                var dgD = dedupGet.Parameters.Add("$d", SqliteType.Text);
                var dgNow = dedupGet.Parameters.Add("$now", SqliteType.Integer);
                using var dedupPut = c.CreateCommand();
                dedupPut.Transaction = tx;
                dedupPut.CommandText = "INSERT OR REPLACE INTO dedup(queue, dedup_id, message_id, expires_at) VALUES ($q, $d, $m, $e);";
                var dpQ = dedupPut.Parameters.Add("$q", SqliteType.Text);
                var dpD = dedupPut.Parameters.Add("$d", SqliteType.Text);
                var dpM = dedupPut.Parameters.Add("$m", SqliteType.Text);
                var dpE = dedupPut.Parameters.Add("$e", SqliteType.Integer);
                using var insert = c.CreateCommand();
                insert.Transaction = tx;
                insert.CommandText = """
                    INSERT INTO messages(queue, message_id, body, group_id, dedup_id, attributes, sent_at, visible_at, receive_count, receipt)
                    VALUES ($q, $id, $body, $g, $d, $a, $now, $now, 0, NULL);
                    """;
                var iQ = insert.Parameters.Add("$q", SqliteType.Text);
                var iId = insert.Parameters.Add("$id", SqliteType.Text);
                var iBody = insert.Parameters.Add("$body", SqliteType.Text);
                var iG = insert.Parameters.Add("$g", SqliteType.Text);
                var iD = insert.Parameters.Add("$d", SqliteType.Text);
                var iA = insert.Parameters.Add("$a", SqliteType.Text);
                var iNow = insert.Parameters.Add("$now", SqliteType.Integer);
                for (var k = 0; k < accepted.Count; k++)
                {
                    var m = messages[accepted[k].Index];
                    if (q.Fifo)
                    {
                        dgQ.Value = q.Name;
                        dgD.Value = m.DeduplicationId!;
                        dgNow.Value = now;
                        if (dedupGet.ExecuteScalar() is string existing)
                        {
                            result[k] = existing;
                            continue;
                        }
                    }

                    var id = Guid.NewGuid().ToString();
                    iQ.Value = q.Name;
                    iId.Value = id;
                    iBody.Value = m.Body;
                    iG.Value = (object?)m.GroupId ?? DBNull.Value;
                    iD.Value = (object?)m.DeduplicationId ?? DBNull.Value;
                    iA.Value = (object?)accepted[k].Attributes ?? DBNull.Value;
                    iNow.Value = now;
                    insert.ExecuteNonQuery();
                    if (q.Fifo)
                    {
                        dpQ.Value = q.Name;
                        dpD.Value = m.DeduplicationId!;
                        dpM.Value = id;
                        dpE.Value = now + q.DedupMs;
                        dpE.Value = now + q.DedupMs;
                        dedupPut.ExecuteNonQuery();
                    }

                    result[k] = id;
                }

                if (q.Fifo && now >= Interlocked.Read(ref nextDedupPurgeMs))
                {
                    Interlocked.Exchange(ref nextDedupPurgeMs, now + 60_000);
                    using var purge = c.CreateCommand();
                    purge.Transaction = tx;
                    purge.CommandText = "DELETE FROM dedup WHERE expires_at <= $now;";
                    purge.Parameters.AddWithValue("$now", now);
                    purge.ExecuteNonQuery();
                }

                return result;
            }, cancellationToken).ConfigureAwait(false);
            for (var k = 0; k < accepted.Count; k++)
            {
                sent.Add(new SentMessage(entryIds[accepted[k].Index], ids[k]));
            }

            pulse.Set();
        }

        return new SendBatchResult(sent, failed);
    }

    public async Task<IReadOnlyList<ReceivedMessage>> ReceiveAsync(string queue, ReceiveOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.MaxMessages is < 1 or > QueueLimits.MaxBatchSize)
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"MaxMessages must be 1 to {QueueLimits.MaxBatchSize}; got {options.MaxMessages}.");
        }

        CheckVisibility(options.VisibilityTimeout);
        if (options.WaitTime < TimeSpan.Zero || options.WaitTime > TimeSpan.FromSeconds(20))
        {
            throw new ArgumentOutOfRangeException(nameof(options), $"WaitTime must be 0 to 20 seconds (as on SQS); got {options.WaitTime}.");
        }

        var q = await GetQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        var deadline = DateTime.UtcNow + options.WaitTime;
        while (true)
        {
            var got = await db.WriteAsync((c, tx) => ReceiveCore(c, tx, q, options), cancellationToken).ConfigureAwait(false);
            var remaining = deadline - DateTime.UtcNow;
            if (got.Count > 0 || remaining <= TimeSpan.Zero)
            {
                return got;
            }

            await pulse.WaitAsync(remaining < PollInterval ? remaining : PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<IReadOnlyList<string>> DeleteBatchAsync(string queue, IReadOnlyList<string> receiptHandles, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(receiptHandles);
        var q = await GetQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        if (receiptHandles.Count == 0)
        {
            return [];
        }

        var failed = await db.WriteAsync((c, tx) =>
        {
            var bad = new List<string>();
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM messages WHERE seq = $s AND receipt = $r AND queue = $q;";
            var s = cmd.Parameters.Add("$s", SqliteType.Integer);
            var r = cmd.Parameters.Add("$r", SqliteType.Text);
            cmd.Parameters.AddWithValue("$q", q.Name);
            foreach (var handle in receiptHandles)
            {
                if (!TryParseReceipt(handle, out var seq))
                {
                    bad.Add(handle);
                    continue;
                }

                s.Value = seq;
                r.Value = handle;
                if (cmd.ExecuteNonQuery() == 0)
                {
                    bad.Add(handle);
                }
            }

            return bad;
        }, cancellationToken).ConfigureAwait(false);
        pulse.Set();
        return failed;
    }

    public async Task ChangeVisibilityBatchAsync(string queue, IReadOnlyList<VisibilityChange> changes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(changes);
        foreach (var change in changes)
        {
            CheckVisibility(change.VisibilityTimeout);
        }

        var q = await GetQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        if (changes.Count == 0)
        {
            return;
        }

        var failed = await db.WriteAsync((c, tx) =>
        {
            var now = Clock.NowMs();
            var bad = new List<string>();
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE messages SET visible_at = $v WHERE seq = $s AND receipt = $r AND queue = $q;";
            var v = cmd.Parameters.Add("$v", SqliteType.Integer);
            var s = cmd.Parameters.Add("$s", SqliteType.Integer);
            var r = cmd.Parameters.Add("$r", SqliteType.Text);
            cmd.Parameters.AddWithValue("$q", q.Name);
            foreach (var change in changes)
            {
                if (!TryParseReceipt(change.ReceiptHandle, out var seq))
                {
                    bad.Add(change.ReceiptHandle);
                    continue;
                }

                v.Value = now + (long)change.VisibilityTimeout.TotalMilliseconds;
                s.Value = seq;
                r.Value = change.ReceiptHandle;
                if (cmd.ExecuteNonQuery() == 0)
                {
                    bad.Add(change.ReceiptHandle);
                }
            }

            return bad;
        }, cancellationToken).ConfigureAwait(false);
        pulse.Set();
        if (failed.Count > 0)
        {
            throw new QueueException($"Visibility of {failed.Count} message(s) on queue '{q.Name}' could not be changed: the receipt handle is unknown or outdated (message deleted, or received again after its visibility expired). The other changes were applied. Handles: {string.Join(", ", failed)}");
        }
    }

    public async Task<QueueDepth> GetDepthAsync(string queue, CancellationToken cancellationToken = default)
    {
        var q = await GetQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        return await db.RunAsync(c =>
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                SELECT COALESCE(SUM(visible_at <= $now), 0),
                       COALESCE(SUM(visible_at > $now AND receive_count > 0), 0),
                       COALESCE(SUM(visible_at > $now AND receive_count = 0), 0)
                FROM messages WHERE queue = $q;
                """;
            cmd.Parameters.AddWithValue("$now", Clock.NowMs());
            cmd.Parameters.AddWithValue("$q", q.Name);
            using var reader = cmd.ExecuteReader();
            reader.Read();
            return new QueueDepth(reader.GetInt64(0), reader.GetInt64(1), reader.GetInt64(2));
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<TimeSpan?> GetOldestMessageAgeAsync(string queue, CancellationToken cancellationToken = default)
    {
        var q = await GetQueueAsync(queue, cancellationToken).ConfigureAwait(false);
        return await db.RunAsync(c =>
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT MIN(sent_at) FROM messages WHERE queue = $q;";
            cmd.Parameters.AddWithValue("$q", q.Name);
            return cmd.ExecuteScalar() is long sentAt
                ? TimeSpan.FromMilliseconds(Math.Max(0, Clock.NowMs() - sentAt))
                : (TimeSpan?)null;
        }, cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => db.Dispose();

    private static List<ReceivedMessage> ReceiveCore(SqliteConnection c, SqliteTransaction tx, QueueRow q, ReceiveOptions options)
    {
        var now = Clock.NowMs();
        LeaseHolder.ReleaseDead(c, tx, "messages", "queue", q.Name, now);
        var blockedGroups = new HashSet<string>(StringComparer.Ordinal);
        if (q.Fifo)
        {
            using var held = c.CreateCommand();
            held.Transaction = tx;
            held.CommandText = "SELECT DISTINCT group_id FROM messages WHERE queue = $q AND visible_at > $now AND group_id IS NOT NULL;";
            held.Parameters.AddWithValue("$q", q.Name);
            held.Parameters.AddWithValue("$now", now);
            using var r = held.ExecuteReader();
            while (r.Read())
            {
                blockedGroups.Add(r.GetString(0));
            }
        }

        var candidates = new List<Candidate>();
        var toDeadLetter = new List<long>();
        using (var select = c.CreateCommand())
        {
            select.Transaction = tx;

            // Standard queues take the oldest visible first via the (queue, visible_at) index; FIFO queues need strict send
            // order: walk the (queue, seq) index and filter ('+' keeps SQLite from sorting all visible rows instead).
            select.CommandText = q.Fifo
                ? "SELECT seq, message_id, body, group_id, dedup_id, attributes, sent_at, receive_count FROM messages INDEXED BY ix_messages_order WHERE queue = $q AND +visible_at <= $now ORDER BY seq;"
                : "SELECT seq, message_id, body, group_id, dedup_id, attributes, sent_at, receive_count FROM messages WHERE queue = $q AND visible_at <= $now ORDER BY visible_at, seq;";
            select.Parameters.AddWithValue("$q", q.Name);
            select.Parameters.AddWithValue("$now", now);
            using var r = select.ExecuteReader();
            while (candidates.Count < options.MaxMessages && r.Read())
            {
                var group = r.IsDBNull(3) ? null : r.GetString(3);
                if (group is not null && blockedGroups.Contains(group))
                {
                    continue;
                }

                var count = r.GetInt32(7);
                if (q.DeadLetterQueue is not null && count >= q.MaxReceive)
                {
                    // As on SQS: the receive after the maximum moves the message instead of delivering it.
                    toDeadLetter.Add(r.GetInt64(0));
                    continue;
                }

                candidates.Add(new Candidate(
                    r.GetInt64(0), r.GetString(1), r.GetString(2), group, r.IsDBNull(4) ? null : r.GetString(4),
                    r.IsDBNull(5) ? null : r.GetString(5), r.GetInt64(6), count));
            }
        }

        if (toDeadLetter.Count > 0)
        {
            using var move = c.CreateCommand();
            move.Transaction = tx;
            move.CommandText = "UPDATE messages SET queue = $dlq, receive_count = 0, receipt = NULL, visible_at = $now WHERE seq = $s;";
            move.Parameters.AddWithValue("$dlq", q.DeadLetterQueue);
            move.Parameters.AddWithValue("$now", now);
            var s = move.Parameters.Add("$s", SqliteType.Integer);
            foreach (var seq in toDeadLetter)
            {
                s.Value = seq;
                move.ExecuteNonQuery();
            }
        }

        var received = new List<ReceivedMessage>(candidates.Count);
        if (candidates.Count == 0)
        {
            return received;
        }

        using var update = c.CreateCommand();
        update.Transaction = tx;
        update.CommandText = "UPDATE messages SET receive_count = receive_count + 1, visible_at = $v, receipt = $r, holder = $h WHERE seq = $s;";
        update.Parameters.AddWithValue("$v", now + (long)options.VisibilityTimeout.TotalMilliseconds);
        update.Parameters.AddWithValue("$h", LeaseHolder.Current);
        var ur = update.Parameters.Add("$r", SqliteType.Text);
        var us = update.Parameters.Add("$s", SqliteType.Integer);
        foreach (var m in candidates)
        {
            var receipt = string.Create(CultureInfo.InvariantCulture, $"{m.Seq}:{Guid.NewGuid():N}");
            ur.Value = receipt;
            us.Value = m.Seq;
            update.ExecuteNonQuery();
            received.Add(new ReceivedMessage(m.MessageId, receipt, m.Body, m.ReceiveCount + 1, m.GroupId, m.DedupId, JsonMap.Read(m.Attributes), Clock.FromMs(m.SentAt)));
        }

        return received;
    }

    private static (string Code, string Message)? CheckMessage(QueueRow q, OutgoingMessage m, out long bytes)
    {
        bytes = 0;
        if (m is null)
        {
            return ("InvalidParameterValue", "The entry is null.");
        }

        bytes = Encoding.UTF8.GetByteCount(m.Body ?? string.Empty);
        if (m.Attributes is not null)
        {
            foreach (var (name, value) in m.Attributes)
            {
                bytes += Encoding.UTF8.GetByteCount(name) + Encoding.UTF8.GetByteCount(value ?? string.Empty);
            }
        }

        if (string.IsNullOrEmpty(m.Body))
        {
            return ("InvalidParameterValue", "The message body is empty; SQS requires at least one character.");
        }

        if (bytes > QueueLimits.MaxMessageBytes)
        {
            return ("InvalidParameterValue", $"The message is {bytes} bytes; the limit is {QueueLimits.MaxMessageBytes}. Store the payload as an object and send a claim check.");
        }

        if (q.Fifo && string.IsNullOrEmpty(m.GroupId))
        {
            return ("MissingParameter", $"Queue '{q.Name}' is FIFO: every message needs a GroupId.");
        }

        if (q.Fifo && string.IsNullOrEmpty(m.DeduplicationId))
        {
            return ("MissingParameter", $"Queue '{q.Name}' is FIFO: every message needs a DeduplicationId (content-based deduplication is not used).");
        }

        if (!q.Fifo && (m.GroupId is not null || m.DeduplicationId is not null))
        {
            return ("InvalidParameterValue", $"Queue '{q.Name}' is a standard queue: GroupId and DeduplicationId are only valid on FIFO ('.fifo') queues.");
        }

        if ((m.GroupId?.Length ?? 0) > 128 || (m.DeduplicationId?.Length ?? 0) > 128)
        {
            return ("InvalidParameterValue", "GroupId and DeduplicationId are at most 128 characters.");
        }

        return null;
    }

    private static bool TryParseReceipt(string handle, out long seq)
    {
        seq = 0;
        if (string.IsNullOrEmpty(handle))
        {
            return false;
        }

        var colon = handle.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && long.TryParse(handle.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out seq);
    }

    private static void CheckVisibility(TimeSpan visibility)
    {
        if (visibility < TimeSpan.Zero || visibility > MaxVisibility)
        {
            throw new ArgumentOutOfRangeException(nameof(visibility), $"A visibility timeout must be 0 to 12 hours (as on SQS); got {visibility}.");
        }
    }

    private static void ValidateQueueName(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var stem = name.EndsWith(".fifo", StringComparison.Ordinal) ? name[..^5] : name;
        if (stem.Length is 0 || name.Length > 80 || !stem.All(ch => char.IsAsciiLetterOrDigit(ch) || ch is '-' or '_'))
        {
            throw new ArgumentException($"Queue name '{name}' is invalid: use 1-80 characters of letters, digits, '-' and '_' (FIFO names end in '.fifo'), as on SQS.", nameof(name));
        }
    }

    private async Task<QueueRow> GetQueueAsync(string queue, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(queue);
        if (queues.TryGetValue(queue, out var cached))
        {
            return cached;
        }

        var row = await db.RunAsync(c =>
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT name, fifo, dlq, max_receive, visibility_ms, dedup_ms FROM queues WHERE name = $n;";
            cmd.Parameters.AddWithValue("$n", queue);
            using var r = cmd.ExecuteReader();
            return r.Read()
                ? new QueueRow(r.GetString(0), r.GetInt32(1) != 0, r.IsDBNull(2) ? null : r.GetString(2), r.GetInt32(3), r.GetInt64(4), r.GetInt64(5))
                : null;
        }, cancellationToken).ConfigureAwait(false);
        if (row is null)
        {
            throw new QueueNotFoundException(queue);
        }

        queues[queue] = row;
        return row;
    }

    private static void CreateSchema(SqliteConnection c)
    {
        SqliteDatabase.Exec(c, """
        CREATE TABLE IF NOT EXISTS queues(
            name TEXT PRIMARY KEY, fifo INTEGER NOT NULL, dlq TEXT, max_receive INTEGER NOT NULL,
            visibility_ms INTEGER NOT NULL, dedup_ms INTEGER NOT NULL);
        CREATE TABLE IF NOT EXISTS messages(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, message_id TEXT NOT NULL, body TEXT NOT NULL,
            group_id TEXT, dedup_id TEXT, attributes TEXT, sent_at INTEGER NOT NULL, visible_at INTEGER NOT NULL,
            receive_count INTEGER NOT NULL, receipt TEXT);
        CREATE INDEX IF NOT EXISTS ix_messages_visible ON messages(queue, visible_at, seq);
        CREATE INDEX IF NOT EXISTS ix_messages_order ON messages(queue, seq);
        CREATE TABLE IF NOT EXISTS dedup(
            queue TEXT NOT NULL, dedup_id TEXT NOT NULL, message_id TEXT NOT NULL, expires_at INTEGER NOT NULL,
            PRIMARY KEY(queue, dedup_id)) WITHOUT ROWID;
        """);
        LeaseHolder.EnsureColumn(c, "messages");
    }

    private sealed record QueueRow(string Name, bool Fifo, string? DeadLetterQueue, int MaxReceive, long VisibilityMs, long DedupMs);

    private sealed record Candidate(long Seq, string MessageId, string Body, string? GroupId, string? DedupId, string? Attributes, long SentAt, int ReceiveCount);
}
