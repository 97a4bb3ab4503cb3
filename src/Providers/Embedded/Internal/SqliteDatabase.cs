using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Pipeline.Providers.Embedded.Internal;

/// <summary>
/// One long-lived SQLite connection per provider instance, serialised in-process by a semaphore;
/// other processes are coordinated by SQLite's file locks (WAL + busy timeout).
/// </summary>
internal sealed class SqliteDatabase : IDisposable
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private readonly string connectionString;
    private readonly string synchronous;
    private readonly int busyTimeoutMs;
    private readonly Action<SqliteConnection>? initialize;
    private SqliteConnection? connection;
    private bool disposed;

    public SqliteDatabase(string path, EmbeddedOptions options, Action<SqliteConnection>? initialize = null)
    {
        Path = path;
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
        busyTimeoutMs = (int)options.BusyTimeout.TotalMilliseconds;
        connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Cache = SqliteCacheMode.Private,
            Pooling = false,
            DefaultTimeout = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds),
        }.ToString();
        synchronous = options.Synchronous == SqliteSynchronous.Full ? "FULL" : "NORMAL";
        this.initialize = initialize;
    }

    public string Path { get; }

    public async Task<T> RunAsync<T>(Func<SqliteConnection, T> work, CancellationToken cancellationToken)
    {
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(disposed, this);
            return work(connection ??= Open());
        }
        finally
        {
            gate.Release();
        }
    }

    public Task RunAsync(Action<SqliteConnection> work, CancellationToken cancellationToken) =>
        RunAsync<bool>(c => { work(c); return true; }, cancellationToken);

    /// <summary>Runs <paramref name="work"/> inside BEGIN IMMEDIATE ... COMMIT (rolled back on any exception).</summary>
    public Task<T> WriteAsync<T>(Func<SqliteConnection, SqliteTransaction, T> work, CancellationToken cancellationToken) =>
        RunAsync(c =>
        {
            using var tx = c.BeginTransaction(deferred: false);
            var result = work(c, tx);
            tx.Commit();
            return result;
        }, cancellationToken);

    private SqliteConnection Open()
    {
        var c = new SqliteConnection(connectionString);
        c.Open();
        Exec(c, "PRAGMA busy_timeout = " + busyTimeoutMs.ToString(CultureInfo.InvariantCulture) + ";");
        Exec(c, "PRAGMA journal_mode = WAL;");
        Exec(c, "PRAGMA synchronous = " + synchronous + ";");
        Exec(c, "PRAGMA foreign_keys = ON;");
        initialize?.Invoke(c);
        return c;
    }

    public static void Exec(SqliteConnection c, string sql, SqliteTransaction? tx = null)
    {
        using var cmd = c.CreateCommand();
        cmd.Transaction = tx;
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        gate.Wait();
        try
        {
            disposed = true;
            connection?.Dispose();
            connection = null;
        }
        finally
        {
            gate.Release();
        }
    }
}
