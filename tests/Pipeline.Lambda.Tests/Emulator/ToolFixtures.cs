using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;

namespace Pipeline.Lambda.Tests.Emulator;

/// <summary>Finds external tools and runs them; a missing tool skips locally and fails under CI=true.</summary>
public static class Tools
{
    public static bool IsCi => string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);

    public static string? FindOnPath(string name)
        => (Environment.GetEnvironmentVariable("PATH") ?? string.Empty)
            .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, name))
            .FirstOrDefault(File.Exists);

    public static void Require(string? unavailableReason)
    {
        if (unavailableReason is null)
        {
            return;
        }

        if (IsCi)
        {
            Assert.Fail("CI=true and a required tool is unavailable: " + unavailableReason);
        }

        Assert.Skip(unavailableReason);
    }

    public static int FreeLoopbackPort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    public static async Task<(int ExitCode, string Stdout, string Stderr)> RunAsync(string file, IEnumerable<string> args, TimeSpan timeout, string? workingDirectory = null, IReadOnlyDictionary<string, string>? environment = null)
    {
        var info = new ProcessStartInfo(file) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var cts = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cts.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{file} {string.Join(' ', args)} did not finish within {timeout}: {await stderr}");
        }

        return (process.ExitCode, await stdout, await stderr);
    }
}

/// <summary>
/// One moto server for the assembly, on a free loopback port (moto_server, else python3 -m moto.server).
/// </summary>
public sealed class MotoServerFixture : IAsyncLifetime
{
    public const string AccessKeyId = "testing";
    public const string SecretAccessKey = "testing";
    public const string Region = "us-east-1";

    private readonly StringBuilder _output = new();
    private Process? _process;

    public Uri Endpoint { get; private set; } = new("http://127.0.0.1:1");

    public string? UnavailableReason { get; private set; }

    public void RequireAvailable() => Tools.Require(UnavailableReason);

    public async ValueTask InitializeAsync()
    {
        var moto = Tools.FindOnPath("moto_server");
        var python = Tools.FindOnPath("python3");
        if (moto is null && python is null)
        {
            UnavailableReason = "moto is not installed (no moto_server or python3 on PATH): pip install 'moto[server]'";
            return;
        }

        var port = Tools.FreeLoopbackPort();
        Endpoint = new Uri($"http://127.0.0.1:{port}");
        var info = new ProcessStartInfo(moto ?? python!) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        if (moto is null)
        {
            info.ArgumentList.Add("-m");
            info.ArgumentList.Add("moto.server");
        }

        foreach (var arg in new[] { "-H", "127.0.0.1", "-p", port.ToString(CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment["AWS_ACCESS_KEY_ID"] = AccessKeyId;
        info.Environment["AWS_SECRET_ACCESS_KEY"] = SecretAccessKey;
        info.Environment["AWS_DEFAULT_REGION"] = Region;
        _process = Process.Start(info)!;
        _process.OutputDataReceived += (_, e) => Append(e.Data);
        _process.ErrorDataReceived += (_, e) => Append(e.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process.HasExited)
            {
                UnavailableReason = $"moto exited with code {_process.ExitCode}: {Output()}";
                return;
            }

            try
            {
                using var response = await http.GetAsync(new Uri(Endpoint, "/moto-api/data.json"));
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
            {
                // Not listening yet.
            }

            await Task.Delay(100);
        }

        UnavailableReason = $"moto did not answer on {Endpoint} within 30 s: {Output()}";
    }

    public async Task ResetAsync()
    {
        using var http = new HttpClient();
        using var response = await http.PostAsync(new Uri(Endpoint, "/moto-api/reset"), null);
        response.EnsureSuccessStatusCode();
    }

    public ValueTask DisposeAsync()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit(5000);
        }

        _process?.Dispose();
        return ValueTask.CompletedTask;
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }
    }

    private string Output()
    {
        lock (_output)
        {
            var text = _output.ToString();
            return text.Length > 1500 ? text[^1500..] : text;
        }
    }
}
