using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Pipeline.Host.Tests;

/// <summary>Runs a host executable as a child process: optionally until a line appears, then SIGTERM; collects its output.</summary>
internal static class HostProcess
{
    /// <param name="waitFor">Wait for this line before stopping; null lets the process exit by itself.</param>
    /// <param name="stop">Send SIGTERM (after <paramref name="waitFor"/>, when given).</param>
    public static async Task<(int ExitCode, string Output)> RunAsync(ProcessStartInfo start, string? waitFor, bool stop, TimeSpan timeout, string name)
    {
        ArgumentNullException.ThrowIfNull(start);
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        var seen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                output.AppendLine(line);
            }

            if (waitFor is not null && line.Contains(waitFor, StringComparison.Ordinal))
            {
                seen.TrySetResult();
            }
        }

        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();

        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            if (waitFor is not null)
            {
                await seen.Task.WaitAsync(cancel.Token);
            }

            if (stop)
            {
                using var kill = Process.Start("kill", ["-TERM", process.Id.ToString(CultureInfo.InvariantCulture)]);
                await kill.WaitForExitAsync(cancel.Token);
            }

            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"{name} did not start/stop in time. Output:\n{output}");
        }

        lock (output)
        {
            return (process.ExitCode, output.ToString());
        }
    }
}
