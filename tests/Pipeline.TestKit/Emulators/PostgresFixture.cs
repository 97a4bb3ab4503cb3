using Xunit;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Pipeline.TestKit.Emulators;

/// <summary>
/// A throwaway PostgreSQL 15 cluster per test assembly (register with
/// <c>[assembly: AssemblyFixture(typeof(PostgresFixture))]</c>): initdb into a temp dir, pg_ctl start on a
/// free loopback port with fsync off, removed afterwards. Runs the server as 'postgres' when the tests run as root.
/// </summary>
public sealed class PostgresFixture : IAsyncLifetime
{
    public const string BinDirectoryVariable = "PIPELINE_PG_BIN";

    private string? _dataRoot;
    private string? _binDirectory;
    private bool _asPostgresUser;

    /// <summary>Why PostgreSQL is not usable, or null when it is running.</summary>
    public string? UnavailableReason { get; private set; }

    public int Port { get; private set; }

    /// <summary>Connection string to the 'postgres' database as superuser 'postgres' (trust auth, loopback only).</summary>
    public string ConnectionString => $"Host=127.0.0.1;Port={Port};Username=postgres;Database=postgres;Pooling=true;Include Error Detail=true";

    public void RequireAvailable() => EmulatorProcess.RequireAvailable(UnavailableReason);

    public async ValueTask InitializeAsync()
    {
        _binDirectory = Environment.GetEnvironmentVariable(BinDirectoryVariable) ?? "/usr/lib/postgresql/15/bin";
        var initdb = Path.Combine(_binDirectory, "initdb");
        if (!File.Exists(initdb))
        {
            UnavailableReason = $"PostgreSQL is not installed: '{initdb}' is missing (apt-get install postgresql-15, or set {BinDirectoryVariable}).";
            return;
        }

        _asPostgresUser = Environment.UserName == "root";
        if (_asPostgresUser && EmulatorProcess.FindOnPath("runuser") is null)
        {
            UnavailableReason = "Running as root but 'runuser' is missing: PostgreSQL refuses to run as root.";
            return;
        }

        _dataRoot = Path.Combine(Path.GetTempPath(), "pipeline-pg-" + Guid.NewGuid().ToString("N")[..12]);
        Directory.CreateDirectory(_dataRoot);
        var data = Path.Combine(_dataRoot, "data");
        var sockets = Path.Combine(_dataRoot, "sock");
        Directory.CreateDirectory(sockets);
        if (_asPostgresUser)
        {
            var chown = await EmulatorProcess.RunAsync("chown", ["-R", "postgres:postgres", _dataRoot]).ConfigureAwait(false);
            if (chown.ExitCode != 0)
            {
                UnavailableReason = $"chown of the PostgreSQL temp dir failed: {chown.Output}";
                return;
            }
        }

        var init = await RunAsync(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]).ConfigureAwait(false);
        if (init.ExitCode != 0)
        {
            UnavailableReason = $"initdb failed: {init.Output}";
            return;
        }

        Port = EmulatorProcess.FreeLoopbackPort();
        var options = string.Create(CultureInfo.InvariantCulture, $"-p {Port} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -k {sockets}");
        var start = await RunAsync(Path.Combine(_binDirectory, "pg_ctl"), ["start", "-w", "-t", "30", "-D", data, "-l", Path.Combine(_dataRoot, "server.log"), "-o", options]).ConfigureAwait(false);
        if (start.ExitCode != 0)
        {
            var log = Path.Combine(_dataRoot, "server.log");
            UnavailableReason = $"pg_ctl start failed: {start.Output} {(File.Exists(log) ? await File.ReadAllTextAsync(log).ConfigureAwait(false) : string.Empty)}";
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_dataRoot is null || _binDirectory is null)
        {
            return;
        }

        if (UnavailableReason is null)
        {
            await RunAsync(Path.Combine(_binDirectory, "pg_ctl"), ["stop", "-m", "immediate", "-w", "-D", Path.Combine(_dataRoot, "data")]).ConfigureAwait(false);
        }

        try
        {
            Directory.Delete(_dataRoot, recursive: true);
        }
        catch (IOException)
        {
            // Best effort: a temp dir left behind is harmless.
        }
    }

    private Task<(int ExitCode, string Output)> RunAsync(string fileName, string[] arguments) =>
        _asPostgresUser
            ? EmulatorProcess.RunAsync("runuser", ["-u", "postgres", "--", fileName, .. arguments])
            : EmulatorProcess.RunAsync(fileName, arguments);
}
