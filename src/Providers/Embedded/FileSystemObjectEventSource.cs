using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Data.Sqlite;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded.Internal;

namespace Pipeline.Providers.Embedded;

/// <summary>
/// Object-created events of a <see cref="FileSystemObjectStore"/>: one per put, plus one for every file that
/// appeared in a zone folder without a put (written while the host was stopped, or copied in by hand). The zone
/// folder is rescanned on the first receive and then at most every <see cref="EmbeddedOptions.EventRescanInterval"/>
/// while idle; the catalog (size + mtime + ETag per key) is the durable "seen" record, so a restart neither skips
/// nor re-announces objects. Deliveries have SQS-like visibility timeouts and receive counts.
/// </summary>
public sealed class FileSystemObjectEventSource : IObjectEventSource, IObjectEventDeadLetters
{
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(100);
    private readonly FileSystemObjectStore store;
    private readonly ConcurrentDictionary<string, DateTime> lastScan = new(StringComparer.Ordinal);

    public FileSystemObjectEventSource(FileSystemObjectStore store)
    {
        ArgumentNullException.ThrowIfNull(store);
        this.store = store;
    }

    public async Task<IReadOnlyList<ObjectEventDelivery>> ReceiveAsync(string zone, int maxEvents, TimeSpan waitTime, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ObjectPaths.ValidateZone(zone);
        ArgumentOutOfRangeException.ThrowIfLessThan(maxEvents, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(maxEvents, 100);
        ArgumentOutOfRangeException.ThrowIfLessThan(visibilityTimeout, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfLessThan(waitTime, TimeSpan.Zero);
        var deadline = DateTime.UtcNow + waitTime;
        while (true)
        {
            if (!lastScan.ContainsKey(zone))
            {
                await RescanAsync(zone, cancellationToken).ConfigureAwait(false);
            }

            var got = await store.Catalog.Db.WriteAsync((c, tx) => ReceiveCore(c, tx, zone, maxEvents, visibilityTimeout), cancellationToken).ConfigureAwait(false);
            if (got.Count > 0)
            {
                return got;
            }

            // Idle: look for files that arrived without a put, at most once per interval.
            if (DateTime.UtcNow - lastScan.GetValueOrDefault(zone) >= store.Options.EventRescanInterval
                && await RescanAsync(zone, cancellationToken).ConfigureAwait(false) > 0)
            {
                continue;
            }

            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero)
            {
                return got;
            }

            await store.Catalog.EventPulse.WaitAsync(remaining < PollInterval ? remaining : PollInterval, cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task AcknowledgeAsync(string zone, IReadOnlyList<ObjectEventDelivery> deliveries, CancellationToken cancellationToken = default)
    {
        ObjectPaths.ValidateZone(zone);
        ArgumentNullException.ThrowIfNull(deliveries);
        if (deliveries.Count == 0)
        {
            return;
        }

        await store.Catalog.Db.WriteAsync((c, tx) =>
        {
            // By sequence, not receipt: the work is done even if the delivery expired meanwhile (SQS deletes late acks too).
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "DELETE FROM events WHERE seq = $s AND zone = $z;";
            var s = cmd.Parameters.Add("$s", SqliteType.Integer);
            cmd.Parameters.AddWithValue("$z", zone);
            foreach (var d in deliveries)
            {
                s.Value = ParseReceipt(d.ReceiptHandle);
                cmd.ExecuteNonQuery();
            }

            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task ChangeVisibilityAsync(string zone, ObjectEventDelivery delivery, TimeSpan visibilityTimeout, CancellationToken cancellationToken = default)
    {
        ObjectPaths.ValidateZone(zone);
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentOutOfRangeException.ThrowIfLessThan(visibilityTimeout, TimeSpan.Zero);
        var seq = ParseReceipt(delivery.ReceiptHandle);
        var changed = await store.Catalog.Db.WriteAsync((c, tx) =>
        {
            using var cmd = c.CreateCommand();
            cmd.Transaction = tx;
            cmd.CommandText = "UPDATE events SET visible_at = $v WHERE seq = $s AND zone = $z AND receipt = $r;";
            cmd.Parameters.AddWithValue("$v", Clock.NowMs() + (long)visibilityTimeout.TotalMilliseconds);
            cmd.Parameters.AddWithValue("$s", seq);
            cmd.Parameters.AddWithValue("$z", zone);
            cmd.Parameters.AddWithValue("$r", delivery.ReceiptHandle);
            return cmd.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
        store.Catalog.EventPulse.Set();
        if (changed == 0)
        {
            throw new ObjectStoreException($"The event for '{delivery.Event.Key}' in zone '{zone}' was acknowledged or delivered again since this receipt was issued; its visibility was not changed.");
        }
    }

    public async Task DeadLetterAsync(string zone, ObjectEventDelivery delivery, string error, CancellationToken cancellationToken = default)
    {
        ObjectPaths.ValidateZone(zone);
        ArgumentNullException.ThrowIfNull(delivery);
        ArgumentException.ThrowIfNullOrEmpty(error);
        var seq = ParseReceipt(delivery.ReceiptHandle);
        await store.Catalog.Db.WriteAsync((c, tx) =>
        {
            // By sequence, as acks: the move is the end of this event's deliveries whoever holds it now.
            using var move = c.CreateCommand();
            move.Transaction = tx;
            move.CommandText = """
                INSERT OR REPLACE INTO dead_events(seq, zone, key, size, etag, event_time, receive_count, error, dead_at)
                SELECT seq, zone, key, size, etag, event_time, receive_count, $e, $now FROM events WHERE seq = $s AND zone = $z;
                DELETE FROM events WHERE seq = $s AND zone = $z;
                """;
            move.Parameters.AddWithValue("$e", error);
            move.Parameters.AddWithValue("$now", Clock.NowMs());
            move.Parameters.AddWithValue("$s", seq);
            move.Parameters.AddWithValue("$z", zone);
            move.ExecuteNonQuery();
            return true;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<IReadOnlyList<DeadLetteredObjectEvent>> ListDeadLettersAsync(string zone, CancellationToken cancellationToken = default)
    {
        ObjectPaths.ValidateZone(zone);
        return await store.Catalog.Db.RunAsync(c =>
        {
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT key, size, etag, event_time, receive_count, error, dead_at FROM dead_events WHERE zone = $z ORDER BY dead_at, seq;";
            cmd.Parameters.AddWithValue("$z", zone);
            using var r = cmd.ExecuteReader();
            var result = new List<DeadLetteredObjectEvent>();
            while (r.Read())
            {
                result.Add(new DeadLetteredObjectEvent(
                    new ObjectCreatedEvent(zone, r.GetString(0), r.GetInt64(1), r.GetString(2), null, Clock.FromMs(r.GetInt64(3))),
                    r.GetInt32(4),
                    r.GetString(5),
                    Clock.FromMs(r.GetInt64(6))));
            }

            return result;
        }, cancellationToken).ConfigureAwait(false);
    }

    public async Task<int> RedriveAsync(string zone, CancellationToken cancellationToken = default)
    {
        ObjectPaths.ValidateZone(zone);
        var moved = await store.Catalog.Db.WriteAsync((c, tx) =>
        {
            using (var copy = c.CreateCommand())
            {
                copy.Transaction = tx;
                copy.CommandText = """
                    INSERT INTO events(zone, key, size, etag, event_time, visible_at, receive_count, receipt)
                    SELECT zone, key, size, etag, event_time, $now, 0, NULL FROM dead_events WHERE zone = $z ORDER BY seq;
                    """;
                copy.Parameters.AddWithValue("$z", zone);
                copy.Parameters.AddWithValue("$now", Clock.NowMs());
                copy.ExecuteNonQuery();
            }

            using var delete = c.CreateCommand();
            delete.Transaction = tx;
            delete.CommandText = "DELETE FROM dead_events WHERE zone = $z;";
            delete.Parameters.AddWithValue("$z", zone);
            return delete.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
        store.Catalog.EventPulse.Set();
        return moved;
    }

    /// <summary>Catalogues files in the zone folder that differ from (or are missing in) the catalog and queues an event for each; returns how many.</summary>
    internal async Task<int> RescanAsync(string zone, CancellationToken cancellationToken)
    {
        var zoneRoot = store.Paths.ZoneRoot(zone);
        lastScan[zone] = DateTime.UtcNow;
        var known = await store.Catalog.Db.RunAsync(c =>
        {
            var map = new Dictionary<string, (long Size, long MTime)>(StringComparer.Ordinal);
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT key, size, mtime FROM objects WHERE zone = $z;";
            cmd.Parameters.AddWithValue("$z", zone);
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                map[r.GetString(0)] = (r.GetInt64(1), r.GetInt64(2));
            }

            return map;
        }, cancellationToken).ConfigureAwait(false);

        var found = 0;
        if (Directory.Exists(zoneRoot))
        {
            foreach (var path in Directory.EnumerateFiles(zoneRoot, "*", FileSystemObjectStore.Enumeration))
            {
                var key = ObjectPaths.KeyOf(zoneRoot, path);
                if (!ObjectKeys.IsValid(key))
                {
                    continue;
                }

                var file = new FileInfo(path);
                var seen = known.Remove(key, out var k);
                if (seen && k.Size == file.Length && k.MTime == file.LastWriteTimeUtc.Ticks)
                {
                    continue;
                }

                if (await CatalogueAsync(zone, key, path, cancellationToken).ConfigureAwait(false))
                {
                    found++;
                }
            }
        }

        // Files removed by hand: forget them, so a file copied back later is announced again.
        if (known.Count > 0)
        {
            await store.CommitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                await store.Catalog.Db.WriteAsync((c, tx) =>
                {
                    foreach (var key in known.Keys)
                    {
                        if (!File.Exists(Path.Combine(zoneRoot, key.Replace('/', Path.DirectorySeparatorChar))))
                        {
                            ObjectCatalog.Forget(c, tx, zone, key);
                        }
                    }

                    return true;
                }, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                store.CommitGate.Release();
            }
        }

        if (found > 0)
        {
            store.Catalog.EventPulse.Set();
        }

        return found;
    }

    private async Task<bool> CatalogueAsync(string zone, string key, string path, CancellationToken cancellationToken)
    {
        // Hash outside the gate (files can be big), then record only if the file did not change meanwhile.
        var before = new FileInfo(path);
        if (!before.Exists)
        {
            return false;
        }

        string etag;
        try
        {
            etag = await Md5Copy.HashFileAsync(path, cancellationToken).ConfigureAwait(false);
        }
        catch (FileNotFoundException)
        {
            return false;
        }

        await store.CommitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var after = new FileInfo(path);
            if (!after.Exists || after.Length != before.Length || after.LastWriteTimeUtc != before.LastWriteTimeUtc)
            {
                return false; // Still being written by hand: the next scan picks it up.
            }

            return await store.Catalog.Db.WriteAsync((c, tx) =>
            {
                var current = ObjectCatalog.Get(c, zone, key, tx);
                if (current is not null && current.Size == after.Length && current.MTime == after.LastWriteTimeUtc.Ticks)
                {
                    return false; // A put (or another process's scan) recorded it meanwhile.
                }

                ObjectCatalog.RecordCreated(c, tx, zone, key, new CatalogRow(etag, after.Length, after.LastWriteTimeUtc.Ticks, "application/octet-stream", null, new DateTimeOffset(after.LastWriteTimeUtc, TimeSpan.Zero).ToUnixTimeMilliseconds()));
                return true;
            }, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            store.CommitGate.Release();
        }
    }

    private static List<ObjectEventDelivery> ReceiveCore(SqliteConnection c, SqliteTransaction tx, string zone, int max, TimeSpan visibility)
    {
        var now = Clock.NowMs();
        LeaseHolder.ReleaseDead(c, tx, "events", "zone", zone, now);
        var rows = new List<(long Seq, string Key, long Size, string ETag, long Time, int Count)>();
        using (var select = c.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = "SELECT seq, key, size, etag, event_time, receive_count FROM events WHERE zone = $z AND visible_at <= $now ORDER BY visible_at, seq LIMIT $n;";
            select.Parameters.AddWithValue("$z", zone);
            select.Parameters.AddWithValue("$now", now);
            select.Parameters.AddWithValue("$n", max);
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                rows.Add((r.GetInt64(0), r.GetString(1), r.GetInt64(2), r.GetString(3), r.GetInt64(4), r.GetInt32(5)));
            }
        }

        var result = new List<ObjectEventDelivery>(rows.Count);
        if (rows.Count == 0)
        {
            return result;
        }

        using var update = c.CreateCommand();
        update.Transaction = tx;
        update.CommandText = "UPDATE events SET receive_count = receive_count + 1, visible_at = $v, receipt = $r, holder = $h WHERE seq = $s;";
        update.Parameters.AddWithValue("$v", now + (long)visibility.TotalMilliseconds);
        update.Parameters.AddWithValue("$h", LeaseHolder.Current);
        var ur = update.Parameters.Add("$r", SqliteType.Text);
        var us = update.Parameters.Add("$s", SqliteType.Integer);
        foreach (var row in rows)
        {
            var receipt = string.Create(CultureInfo.InvariantCulture, $"{row.Seq}:{Guid.NewGuid():N}");
            ur.Value = receipt;
            us.Value = row.Seq;
            update.ExecuteNonQuery();
            result.Add(new ObjectEventDelivery(new ObjectCreatedEvent(zone, row.Key, row.Size, row.ETag, null, Clock.FromMs(row.Time)), receipt, row.Count + 1));
        }

        return result;
    }

    private static long ParseReceipt(string handle)
    {
        var colon = handle?.IndexOf(':', StringComparison.Ordinal) ?? -1;
        if (colon <= 0 || !long.TryParse(handle.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var seq))
        {
            throw new ArgumentException($"'{handle}' is not a receipt handle issued by this event source.", nameof(handle));
        }

        return seq;
    }
}
