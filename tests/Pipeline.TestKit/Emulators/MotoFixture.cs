using Xunit;
using System.Diagnostics;
using System.Text;

namespace Pipeline.TestKit.Emulators;

/// <summary>
/// One moto server per test assembly (register with <c>[assembly: AssemblyFixture(typeof(MotoFixture))]</c>),
/// on a free loopback port. Tests call <see cref="RequireAvailable"/> first: it skips locally and fails
/// under CI=true when moto is not installed.
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

    public async ValueTask InitializeAsync()
    {
        var (fileName, prefix) = Locate();
        if (fileName is null)
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
        _process = EmulatorProcess.Start(fileName, [.. prefix, "-H", "127.0.0.1", "-p", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], _output, env);

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

    private static (string? FileName, string[] Prefix) Locate()
    {
        var moto = EmulatorProcess.FindOnPath("moto_server");
        if (moto is not null)
        {
            return (moto, []);
        }

        var python = EmulatorProcess.FindOnPath("python3");
        return python is null ? (null, []) : (python, ["-m", "moto.server"]);
    }
}
