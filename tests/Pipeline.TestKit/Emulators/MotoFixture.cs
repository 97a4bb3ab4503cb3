using Xunit;
using System.Diagnostics;
using System.Text;

namespace Pipeline.TestKit.Emulators;

/// <summary>
/// One moto server per test assembly (register with <c>[assembly: AssemblyFixture(typeof(MotoFixture))]</c>),
/// on a free loopback port. Tests call <see cref="RequireAvailable"/> first: it skips locally and fails
/// under CI=true when moto is not installed. The server runs through moto_server.py, which makes SQS receives
/// atomic (moto 5.2.1 could hand one message to two overlapping receives).
/// </summary>
public class MotoFixture : IAsyncLifetime
{
    /// <summary>moto's documented dummy credentials; never real ones.</summary>
    public const string AccessKeyId = "testing";
    public const string SecretAccessKey = "testing";
    public const string Region = "us-east-1";

    private readonly StringBuilder _output = new();
    private Process? _process;

    /// <summary>http://127.0.0.1:PORT once started.</summary>
    public Uri Endpoint { get; private set; } = new("http://127.0.0.1:1");

    /// <summary>Why moto is not usable, or null when it is running.</summary>
    public string? UnavailableReason { get; private set; }

    /// <summary>Extra environment for the server (e.g. INITIAL_NO_AUTH_ACTION_COUNT).</summary>
    protected virtual IDictionary<string, string> Environment => new Dictionary<string, string>();

    public void RequireAvailable() => EmulatorProcess.RequireAvailable(UnavailableReason);

    /// <summary>CPU time the moto process has used so far (benchmarks report the emulator's share of a run).</summary>
    public TimeSpan ProcessorTime
    {
        get
        {
            if (_process is null || _process.HasExited)
            {
                return TimeSpan.Zero;
            }

            _process.Refresh();
            return _process.TotalProcessorTime;
        }
    }

    public async ValueTask InitializeAsync()
    {
        var python = LocatePython();
        if (python is null)
        {
            UnavailableReason = "moto is not installed: neither 'moto_server' nor 'python3' (with moto) is on PATH. Install with: pip install 'moto[server]'";
            return;
        }

        var port = EmulatorProcess.FreeLoopbackPort();
        Endpoint = new Uri($"http://127.0.0.1:{port}");
        var env = new Dictionary<string, string>(Environment)
        {
            ["AWS_ACCESS_KEY_ID"] = AccessKeyId,
            ["AWS_SECRET_ACCESS_KEY"] = SecretAccessKey,
            ["AWS_DEFAULT_REGION"] = Region,
        };
        _process = EmulatorProcess.Start(python, ["-c", ServerScript(), "-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], _output, env);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                UnavailableReason = $"moto exited with code {_process.ExitCode}: {EmulatorProcess.Snapshot(_output)}";
                return;
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Endpoint, "/moto-api/data.json")).ConfigureAwait(false);
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Slow start on a busy machine.
            }

            await Task.Delay(100).ConfigureAwait(false);
        }

        UnavailableReason = $"moto did not answer on {Endpoint} within 30 s: {EmulatorProcess.Snapshot(_output)}";
        EmulatorProcess.Kill(_process);
    }

    /// <summary>Wipes all moto state (POST /moto-api/reset).</summary>
    public async Task ResetAsync()
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(Endpoint, "/moto-api/reset"), null).ConfigureAwait(false);
        response.EnsureSuccessStatusCode();
    }

    public ValueTask DisposeAsync()
    {
        EmulatorProcess.Kill(_process);
        _process?.Dispose();
        GC.SuppressFinalize(this);
        return ValueTask.CompletedTask;
    }

    /// <summary>moto_server's own interpreter when it is a Python script (pip, pipx), else python3 on PATH.</summary>
    private static string? LocatePython()
    {
        var script = EmulatorProcess.FindOnPath("moto_server");
        var shebang = script is null ? null : File.ReadLines(script).FirstOrDefault();
        if (shebang is not null && shebang.StartsWith("#!", StringComparison.Ordinal) && shebang.Contains("python", StringComparison.Ordinal))
        {
            var parts = shebang[2..].Split(' ', StringSplitOptions.RemoveEmptyEntries);
            var interpreter = parts[0].EndsWith("/env", StringComparison.Ordinal) && parts.Length > 1 ? EmulatorProcess.FindOnPath(parts[1]) : parts[0];
            if (interpreter is not null && File.Exists(interpreter))
            {
                return interpreter;
            }
        }

        return EmulatorProcess.FindOnPath("python3");
    }

    private static string ServerScript()
    {
        using var stream = typeof(MotoFixture).Assembly.GetManifestResourceStream("Pipeline.TestKit.Emulators.moto_server.py")
            ?? throw new InvalidOperationException("moto_server.py is not embedded in Pipeline.TestKit.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}
