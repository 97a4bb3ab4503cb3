namespace Pipeline.Functions.Tests.Domain;

internal static class RepoPaths
{
    /// <summary>The repository root (the folder holding Pipeline.sln), found upwards from the test binaries.</summary>
    public static string Root { get; } = FindRoot();

    public static string Samples => Path.Combine(Root, "local", "samples");

    public static string Reference => Path.Combine(Root, "local", "reference");

    private static string FindRoot()
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
}
