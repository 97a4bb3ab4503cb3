using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>Runs Tools/validate_requests.py (botocore's validate_parameters) over recorded request bodies.</summary>
internal static class RequestModelValidation
{
    public static async Task AssertValidAsync(IEnumerable<(string Service, string Operation, byte[] Body)> bodies)
    {
        var python = EmulatorProcess.FindOnPath("python3");
        if (python is null)
        {
            EmulatorProcess.RequireAvailable("python3 (with botocore) is not on PATH: cannot validate request bodies against the AWS service models.");
            return;
        }

        var input = new StringBuilder();
        foreach (var (service, operation, body) in bodies)
        {
            var record = new JsonObject
            {
                ["service"] = service,
                ["operation"] = operation,
                ["body"] = JsonNode.Parse(body),
            };
            input.AppendLine(record.ToJsonString());
        }

        var info = new ProcessStartInfo(python)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Tools", "validate_requests.py"));
        using var process = Process.Start(info)!;
        await process.StandardInput.WriteAsync(input.ToString());
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        if ((await stderr).Contains("No module named 'botocore'", StringComparison.Ordinal))
        {
            EmulatorProcess.RequireAvailable("botocore is not installed for python3 (pip install botocore).");
        }

        Assert.True(process.ExitCode == 0, $"Request bodies do not match the botocore model:\n{await stdout}\n{await stderr}");
    }
}
