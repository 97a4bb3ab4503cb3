using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Pipeline.Providers.Embedded.Internal;

/// <summary>
/// Who holds a lease (a received event or message): "pid:start-mark" of the receiving process. A later receiver
/// that finds the holder gone (no such process, or a different process under a reused pid) makes the leased rows
/// visible at once instead of waiting out their visibility timeout — a killed run is resumed by the next run.
/// </summary>
internal static class LeaseHolder
{
    private static readonly ConcurrentDictionary<string, bool> KnownDead = new(StringComparer.Ordinal);

    public static string Current { get; } = string.Create(CultureInfo.InvariantCulture, $"{Environment.ProcessId}:{StartMark(Environment.ProcessId)}");

    public static bool IsAlive(string holder)
    {
        if (holder == Current)
        {
            return true;
        }

        if (KnownDead.ContainsKey(holder))
        {
            return false;
        }

        var colon = holder.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0
            || !int.TryParse(holder.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out var pid)
            || !long.TryParse(holder.AsSpan(colon + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var mark))
        {
            return true; // Not ours to judge: let the visibility timeout decide.
        }

        var alive = StartMark(pid) == mark;

        if (!alive)
        {
            KnownDead[holder] = true;
        }

        return alive;
    }

    /// <summary>Makes the rows of <paramref name="table"/> leased by dead holders visible now; returns how many.</summary>
    public static int ReleaseDead(SqliteConnection c, SqliteTransaction tx, string table, string scopeColumn, string scope, long now)
    {
        var holders = new List<string>();
        using (var select = c.CreateCommand())
        {
            select.Transaction = tx;
            select.CommandText = $"SELECT DISTINCT holder FROM {table} WHERE {scopeColumn} = $scope AND visible_at > $now AND holder IS NOT NULL;";
            select.Parameters.AddWithValue("$scope", scope);
            select.Parameters.AddWithValue("$now", now);
            using var r = select.ExecuteReader();
            while (r.Read())
            {
                holders.Add(r.GetString(0));
            }
        }

        var released = 0;
        foreach (var holder in holders.Where(h => !IsAlive(h)))
        {
            using var update = c.CreateCommand();
            update.Transaction = tx;
            update.CommandText = $"UPDATE {table} SET visible_at = $now, holder = NULL WHERE {scopeColumn} = $scope AND holder = $h AND visible_at > $now;";
            update.Parameters.AddWithValue("$scope", scope);
            update.Parameters.AddWithValue("$now", now);
            update.Parameters.AddWithValue("$h", holder);
            released += update.ExecuteNonQuery();
        }

        return released;
    }

    /// <summary>Adds the holder column to a table created before leases were recorded.</summary>
    public static void EnsureColumn(SqliteConnection c, string table)
    {
        using var check = c.CreateCommand();
        check.CommandText = $"SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = 'holder';";
        if (Convert.ToInt64(check.ExecuteScalar(), CultureInfo.InvariantCulture) == 0)
        {
            SqliteDatabase.Exec(c, $"ALTER TABLE {table} ADD COLUMN holder TEXT;");
        }
    }

    /// <summary>
    /// When the process started, stable for its lifetime (-1 when there is no such process): on Linux the start time in
    /// clock ticks since boot from /proc (Process.StartTime is derived from a boot time that jitters between readers).
    /// </summary>
    private static long StartMark(int pid)
    {
        try
        {
            if (OperatingSystem.IsLinux())
            {
                var stat = File.ReadAllText($"/proc/{pid}/stat");
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] == "Z")
                {
                    return -1; // Killed, not yet reaped.
                }

                return long.Parse(fields[19], CultureInfo.InvariantCulture); // field 22, counted from 'state' (field 3)
            }

            using var process = Process.GetProcessById(pid);
            return process.HasExited ? -1 : new DateTimeOffset(process.StartTime.ToUniversalTime()).ToUnixTimeSeconds();
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or ArgumentException or InvalidOperationException)
        {
            return -1;
        }
    }
}
