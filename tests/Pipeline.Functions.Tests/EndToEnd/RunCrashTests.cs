using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Functions.Tests.Domain;

namespace Pipeline.Functions.Tests.EndToEnd;

/// <summary>
/// The main job killed with SIGKILL at several moments — during the upload, during enrichment (manifests appearing),
/// while loading (warehouse rows appearing) and at fixed delays — then restarted at once: the restart must finish
/// the dead process's work (its leases released, not waited out), reconcile, and leave the warehouse a clean run
/// leaves, cell for cell (ingest times aside).
/// </summary>
public sealed class RunCrashTests : IDisposable
{
    private readonly string root = Path.Combine(Path.GetTempPath(), "pipeline-crash-" + Guid.NewGuid().ToString("N")[..12]);

    public RunCrashTests()
    {
        // Samples (every format, duplicates, unreadable files) plus many one-trade files, so each stage takes a while.
        var input = Path.Combine(root, "input");
        Directory.CreateDirectory(input);
        foreach (var file in Directory.GetFiles(RepoPaths.Samples))
        {
            File.Copy(file, Path.Combine(input, Path.GetFileName(file)));
        }

        for (var i = 0; i < 60; i++)
        {
            var record = TestData.Valid();
            record["transaction_id"] = $"TX-CRASH-{i:D4}";
            record["account_id"] = $"ACC-{i % 7:D5}";
            File.WriteAllText(Path.Combine(input, $"single-{i:D3}.json"), record.ToJsonString());
        }
    }

    public static TheoryData<string> KillPoints() => new()
    {
        "upload:3",     // a few raw objects written
        "manifests:1",  // the first object enriched (claimed by a manifest: its own or a batch's)
        "manifests:20", // enrichment well under way
        "loaded",       // the warehouse has rows
        "delay:700",    // the moment from the bug report
    };

    [Theory]
    [MemberData(nameof(KillPoints))]
    public async Task Run_KilledThenRestartedAtOnce_ReconcilesToCleanRunsWarehouse(string killPoint)
    {
        var app = Path.Combine(AppContext.BaseDirectory, "Pipeline.Cli.dll");
        var clean = Path.Combine(root, "clean");
        var (cleanExit, cleanOut, cleanErr) = await RunAsync(app, clean);
        Assert.True(cleanExit == 0, $"clean run: exit {cleanExit}\n{cleanOut}\n{cleanErr}");

        var crashed = Path.Combine(root, "crashed");
        var killed = await RunAndKillAsync(app, crashed, killPoint);
        Assert.True(killed, $"the run finished before the kill point {killPoint} was reached: the case proves nothing");

        var (exit, output, error) = await RunAsync(app, crashed);
        Assert.True(exit == 0, $"restart after kill at {killPoint} (killed: {killed}): exit {exit}\n{output}\n{error}");
        using var summary = JsonDocument.Parse(output);
        Assert.True(summary.RootElement.GetProperty("reconciled").GetBoolean(), output);
        Assert.Equal(0, summary.RootElement.GetProperty("pending_objects").GetInt32());
        using var cleanSummary = JsonDocument.Parse(cleanOut);
        foreach (var field in new[] { "objects", "records", "loaded", "quarantined", "dead_lettered", "duplicates" })
        {
            Assert.Equal(cleanSummary.RootElement.GetProperty(field).GetInt64(), summary.RootElement.GetProperty(field).GetInt64());
        }

        Assert.Equal(await DumpAsync(clean), await DumpAsync(crashed));
    }

    public void Dispose()
    {
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }
    }

    private static async Task<string> DumpAsync(string dataRoot)
    {
        await using var harness = HarnessOver(dataRoot);
        var dump = await harness.DumpWarehouseAsync(TestContext.Current.CancellationToken);
        foreach (var (_, rows) in dump)
        {
            foreach (var row in rows!.AsArray())
            {
                row!.AsObject().Remove("ingested_at");
                row.AsObject().Remove("loaded_at");
            }
        }

        return dump.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static PipelineHarness HarnessOver(string dataRoot) => new(dataRootOverride: dataRoot);

    /// <summary>Starts run and SIGKILLs it when the kill point is reached; false when it finished first.</summary>
    private async Task<bool> RunAndKillAsync(string app, string dataRoot, string killPoint)
    {
        using var process = Process.Start(StartInfo(app, dataRoot))!;
        var drainOut = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var drainErr = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        var started = Stopwatch.StartNew();
        var (kind, arg) = killPoint.Split(':') is [var k, var a] ? (k, int.Parse(a, System.Globalization.CultureInfo.InvariantCulture)) : (killPoint, 0);
        while (!process.HasExited && started.Elapsed < TimeSpan.FromMinutes(1))
        {
            var reached = kind switch
            {
                "upload" => Count(Path.Combine(dataRoot, "objects", "raw", "transactions"), "*") >= arg,
                "manifests" => ClaimedObjects(Path.Combine(dataRoot, "objects", "prepare", "manifests")) >= arg,
                "loaded" => LoadedVersions(dataRoot) > 0,
                "delay" => started.ElapsedMilliseconds >= arg,
                _ => throw new ArgumentException(killPoint),
            };
            if (reached)
            {
                process.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no disposal
                await process.WaitForExitAsync(TestContext.Current.CancellationToken);
                await Task.WhenAll(drainOut, drainErr);
                return true;
            }

            await Task.Delay(kind == "loaded" ? 10 : 2, TestContext.Current.CancellationToken);
        }

        await process.WaitForExitAsync(TestContext.Current.CancellationToken);
        await Task.WhenAll(drainOut, drainErr);
        return false;
    }

    private static long LoadedVersions(string dataRoot)
    {
        var path = Path.Combine(dataRoot, "warehouse.db");
        if (!File.Exists(path))
        {
            return 0;
        }

        try
        {
            using var db = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
            db.Open();
            using var cmd = db.CreateCommand();
            cmd.CommandText = "SELECT COUNT(*) FROM transaction_versions";
            return (long)cmd.ExecuteScalar()!;
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            return 0; // Not created yet, or locked for a moment.
        }
    }

    /// <summary>Object versions the manifests claim: one per per-object manifest, the listed ones of each batch manifest.</summary>
    private static int ClaimedObjects(string folder)
    {
        var claimed = 0;
        if (!Directory.Exists(folder))
        {
            return 0;
        }

        foreach (var file in Directory.EnumerateFiles(folder, "*.json", SearchOption.AllDirectories))
        {
            if (!file.Contains($"{Path.DirectorySeparatorChar}batches{Path.DirectorySeparatorChar}", StringComparison.Ordinal))
            {
                claimed++;
                continue;
            }

            try
            {
                using var batch = JsonDocument.Parse(File.ReadAllBytes(file));
                claimed += batch.RootElement.GetProperty("objects").GetArrayLength();
            }
            catch (IOException)
            {
                // Replaced while read (the store writes by rename): counted on the next poll.
            }
        }

        return claimed;
    }

    private static int Count(string folder, string pattern) =>
        Directory.Exists(folder) ? Directory.EnumerateFiles(folder, pattern, SearchOption.AllDirectories).Count() : 0;

    private ProcessStartInfo StartInfo(string app, string dataRoot)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = RepoPaths.Root,
        };
        foreach (var arg in new[] { app, "run", Path.Combine(root, "input"), "--json", "--data-root", dataRoot, "--content-root", RepoPaths.Root, "--timeout", "00:02:00" })
        {
            start.ArgumentList.Add(arg);
        }

        return start;
    }

    private async Task<(int Exit, string Output, string Error)> RunAsync(string app, string dataRoot)
    {
        using var process = Process.Start(StartInfo(app, dataRoot))!;
        var output = process.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = process.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(TestContext.Current.CancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
