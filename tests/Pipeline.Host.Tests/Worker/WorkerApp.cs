namespace Pipeline.Host.Tests.Worker;

/// <summary>Finds the build output of tests/Pipeline.Host.WorkerApp (built as a project reference of this test project).</summary>
internal static class WorkerApp
{
    public static string ScriptRoot()
    {
        var configuration = new DirectoryInfo(AppContext.BaseDirectory.TrimEnd(Path.DirectorySeparatorChar)).Parent?.Name ?? "Debug"; // bin/<Configuration>/net10.0/
        var bin = Path.Combine(RepoRoot.Find(), "tests", "Pipeline.Host.WorkerApp", "bin");
        var preferred = Path.Combine(bin, configuration, "net10.0");
        if (File.Exists(Path.Combine(preferred, "worker.config.json")))
        {
            return preferred;
        }

        var any = Directory.Exists(bin)
            ? Directory.EnumerateFiles(bin, "worker.config.json", SearchOption.AllDirectories).OrderByDescending(File.GetLastWriteTimeUtc).FirstOrDefault()
            : null;
        if (any is null)
        {
            Assert.Fail($"The worker app is not built under {bin}; build tests/Pipeline.Host.Tests (it builds the app).");
        }

        return Path.GetDirectoryName(any)!;
    }
}
