using System.Diagnostics;
using System.Text;

namespace Pipeline.Lambda.Tests.Emulator;

/// <summary>
/// The PUBLISHED package (artifacts/lambda/publish from deploy/package.sh: the Native AOT bootstrap and the
/// ReadyToRun worker in worker/), shared by the test assembly. When it is missing or older than the sources,
/// the fixture runs deploy/package.sh once (a few minutes: the AOT compile). Native AOT links with clang:
/// without it, skip with the reason, or fail under CI=true (.ci/run installs it).
/// Set PIPELINE_LAMBDA_BOOTSTRAP to test another build.
/// </summary>
public sealed class BootstrapFixture : IAsyncLifetime
{
    public string? BootstrapPath { get; private set; }

    public string? UnavailableReason { get; private set; }

    public string RepositoryRoot { get; } = FindRepositoryRoot();

    /// <summary>Publishes on first use (once), then skips (or fails under CI=true) when the bootstrap is unavailable.</summary>
    public async Task RequireAvailableAsync()
    {
        await _prepared.Value;
        if (UnavailableReason is null)
        {
            return;
        }

        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail("CI=true and the Lambda bootstrap is unavailable: " + UnavailableReason);
        }

        Assert.Skip(UnavailableReason);
    }

    private readonly Lazy<Task> _prepared;

    public BootstrapFixture() => _prepared = new Lazy<Task>(PrepareAsync);

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    private async Task PrepareAsync()
    {
        var explicitPath = Environment.GetEnvironmentVariable("PIPELINE_LAMBDA_BOOTSTRAP");
        if (!string.IsNullOrWhiteSpace(explicitPath))
        {
            BootstrapPath = File.Exists(explicitPath) ? explicitPath : null;
            UnavailableReason = BootstrapPath is null ? $"PIPELINE_LAMBDA_BOOTSTRAP points to '{explicitPath}', which does not exist." : null;
            return;
        }

        var path = Path.Combine(RepositoryRoot, "artifacts", "lambda", "publish", "bootstrap");
        if (!File.Exists(path) || IsStale(path))
        {
            if (Tools.FindOnPath("clang") is null)
            {
                UnavailableReason = "clang is not on PATH: Native AOT (deploy/package.sh) links with it. Install it with 'apt-get install -y clang zlib1g-dev'.";
                return;
            }

            var script = Path.Combine(RepositoryRoot, "deploy", "package.sh");
            var (exitCode, output) = await RunAsync("bash", [script], RepositoryRoot, TimeSpan.FromMinutes(20));
            if (exitCode != 0 || !File.Exists(path))
            {
                UnavailableReason = $"deploy/package.sh failed (exit {exitCode}); the bootstrap could not be published: {Tail(output)}";
                return;
            }
        }

        BootstrapPath = path;
    }

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    /// <summary>Starts the bootstrap as Lambda would: only the given environment, working directory = task root.</summary>
    public BootstrapProcess Start(RuntimeApiEmulator emulator, string handler, IReadOnlyDictionary<string, string> environment)
    {
        ArgumentNullException.ThrowIfNull(emulator);
        var info = new ProcessStartInfo(BootstrapPath!)
        {
            WorkingDirectory = Path.GetDirectoryName(BootstrapPath)!,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        info.Environment.Clear();
        info.Environment["PATH"] = "/usr/local/bin:/usr/bin:/bin";
        info.Environment["HOME"] = Path.GetTempPath();
        info.Environment["LANG"] = "en_US.UTF-8";
        info.Environment["TZ"] = ":UTC";
        info.Environment["LAMBDA_TASK_ROOT"] = Path.GetDirectoryName(BootstrapPath)!;
        info.Environment["AWS_LAMBDA_FUNCTION_NAME"] = "pipeline-" + handler;
        info.Environment["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"] = "1024";
        info.Environment["AWS_LAMBDA_RUNTIME_API"] = emulator.Address;
        info.Environment["_HANDLER"] = handler;
        foreach (var (name, value) in environment)
        {
            info.Environment[name] = value;
        }

        return new BootstrapProcess(Process.Start(info) ?? throw new InvalidOperationException("The bootstrap did not start."));
    }

    private bool IsStale(string bootstrap)
    {
        var built = File.GetLastWriteTimeUtc(bootstrap);
        if (File.GetLastWriteTimeUtc(Path.Combine(RepositoryRoot, "deploy", "package.sh")) > built)
        {
            return true;
        }

        var sources = Path.Combine(RepositoryRoot, "src");
        return Directory.EnumerateFiles(sources, "*.*", SearchOption.AllDirectories)
            .Where(f => !f.Contains($"{Path.DirectorySeparatorChar}obj{Path.DirectorySeparatorChar}", StringComparison.Ordinal)
                && !f.Contains($"{Path.DirectorySeparatorChar}bin{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            .Where(f => f.EndsWith(".cs", StringComparison.Ordinal) || f.EndsWith(".csproj", StringComparison.Ordinal) || f.EndsWith(".json", StringComparison.Ordinal))
            .Any(f => File.GetLastWriteTimeUtc(f) > built);
    }

    private static string FindRepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Pipeline.sln not found above " + AppContext.BaseDirectory);
    }

    private static async Task<(int ExitCode, string Output)> RunAsync(string file, string[] args, string workingDirectory, TimeSpan timeout)
    {
        var info = new ProcessStartInfo(file) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
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
            return (-1, $"timed out after {timeout}: {await stdout}{await stderr}");
        }

        return (process.ExitCode, await stdout + await stderr);
    }

    private static string Tail(string text) => text.Length > 2000 ? text[^2000..] : text;
}

/// <summary>A running bootstrap; its output is captured for failure messages; disposing kills it.</summary>
public sealed class BootstrapProcess : IDisposable
{
    private readonly StringBuilder _output = new();

    public BootstrapProcess(Process process)
    {
        Process = process;
        StartedAt = DateTimeOffset.UtcNow;
        process.OutputDataReceived += (_, e) => Append(e.Data);
        process.ErrorDataReceived += (_, e) => Append(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
    }

    public Process Process { get; }

    public DateTimeOffset StartedAt { get; }

    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await Process.WaitForExitAsync(cts.Token);
        return Process.ExitCode;
    }

    public void Dispose()
    {
        try
        {
            if (!Process.HasExited)
            {
                Process.Kill(entireProcessTree: true);
                Process.WaitForExit(5000);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        Process.Dispose();
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
}
