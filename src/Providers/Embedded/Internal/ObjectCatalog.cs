using Microsoft.Data.Sqlite;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Internal;

/// <summary>
/// <c>&lt;root&gt;/objects.db</c>: per-object metadata (content type, user metadata, ETag) keyed by the file's size and
/// mtime — which is also the durable "seen" record of the event source — and the object-created event table.
/// </summary>
internal sealed class ObjectCatalog : IDisposable
{
    public ObjectCatalog(string dataRoot, EmbeddedOptions options)
    {
        Db = new SqliteDatabase(Path.Combine(dataRoot, "objects.db"), options, CreateSchema);
    }

    public SqliteDatabase Db { get; }

    public Pulse EventPulse { get; } = new();

    public static CatalogRow? Get(SqliteConnection c, string zone, string key, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "SELECT etag, size, mtime, content_type, metadata, last_modified FROM objects WHERE zone = $z AND key = $k;";
        cmd.Parameters.AddWithValue("$z", zone);
        cmd.Parameters.AddWithValue("$k", key);
        using var r = cmd.ExecuteReader();
        return r.Read()
            ? new CatalogRow(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetString(3), r.IsDBNull(4) ? null : r.GetString(4), r.GetInt64(5))
            : null;
    }

    /// <summary>Records the object and queues its object-created event, in one transaction.</summary>
    public static void RecordCreated(SqliteConnection c, SqliteTransaction tx, string zone, string key, CatalogRow row)
    {
        using (var upsert = c.CreateCommand())
        {
            upsert.Transaction = tx;
            upsert.CommandText = """
                INSERT INTO objects(zone, key, etag, size, mtime, content_type, metadata, last_modified) VALUES ($z, $k, $e, $s, $m, $ct, $md, $lm)
                ON CONFLICT(zone, key) DO UPDATE SET etag = excluded.etag, size = excluded.size, mtime = excluded.mtime,
                    content_type = excluded.content_type, metadata = excluded.metadata, last_modified = excluded.last_modified;
                """;
            upsert.Parameters.AddWithValue("$z", zone);
            upsert.Parameters.AddWithValue("$k", key);
            upsert.Parameters.AddWithValue("$e", row.ETag);
            upsert.Parameters.AddWithValue("$s", row.Size);
            upsert.Parameters.AddWithValue("$m", row.MTime);
            upsert.Parameters.AddWithValue("$ct", row.ContentType);
            upsert.Parameters.AddWithValue("$md", (object?)row.Metadata ?? DBNull.Value);
            upsert.Parameters.AddWithValue("$lm", row.LastModifiedMs);
            upsert.ExecuteNonQuery();
        }

        using var ev = c.CreateCommand();
        ev.Transaction = tx;
        ev.CommandText = """
            INSERT INTO events(zone, key, size, etag, event_time, visible_at, receive_count, receipt)
            VALUES ($z, $k, $s, $e, $t, $t, 0, NULL);
            """;
        ev.Parameters.AddWithValue("$z", zone);
        ev.Parameters.AddWithValue("$k", key);
        ev.Parameters.AddWithValue("$s", row.Size);
        ev.Parameters.AddWithValue("$e", row.ETag);
        ev.Parameters.AddWithValue("$t", Clock.NowMs());
        ev.ExecuteNonQuery();
    }

    public static void Forget(SqliteConnection c, SqliteTransaction? tx, string zone, string key)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = "DELETE FROM objects WHERE zone = $z AND key = $k;";
        cmd.Parameters.AddWithValue("$z", zone);
        cmd.Parameters.AddWithValue("$k", key);
        cmd.ExecuteNonQuery();
    }

    public void Dispose() => Db.Dispose();

    private static void CreateSchema(SqliteConnection c)
    {
        SqliteDatabase.Exec(c, """
        CREATE TABLE IF NOT EXISTS objects(
            zone TEXT NOT NULL, key TEXT NOT NULL, etag TEXT NOT NULL, size INTEGER NOT NULL, mtime INTEGER NOT NULL,
            content_type TEXT NOT NULL, metadata TEXT, last_modified INTEGER NOT NULL,
            PRIMARY KEY(zone, key)) WITHOUT ROWID;
        CREATE TABLE IF NOT EXISTS events(
            seq INTEGER PRIMARY KEY AUTOINCREMENT, zone TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL,
            etag TEXT NOT NULL, event_time INTEGER NOT NULL, visible_at INTEGER NOT NULL,
            receive_count INTEGER NOT NULL, receipt TEXT);
        CREATE INDEX IF NOT EXISTS ix_events_visible ON events(zone, visible_at, seq);
        CREATE TABLE IF NOT EXISTS dead_events(
            seq INTEGER PRIMARY KEY, zone TEXT NOT NULL, key TEXT NOT NULL, size INTEGER NOT NULL, etag TEXT NOT NULL,
            event_time INTEGER NOT NULL, receive_count INTEGER NOT NULL, error TEXT NOT NULL, dead_at INTEGER NOT NULL);
        """);
        LeaseHolder.EnsureColumn(c, "events");
    }
}

/// <param name="MTime">Last-write time of the file in UTC ticks, as recorded when the object was catalogued.</param>
internal sealed record CatalogRow(string ETag, long Size, long MTime, string ContentType, string? Metadata, long LastModifiedMs)
{
    public ObjectInfo ToInfo(string zone, string key) =>
        new(zone, key, Size, ETag, Clock.FromMs(LastModifiedMs), ContentType, JsonMap.Read(Metadata));
}
