namespace Pipeline.Providers.Embedded.Tests;

/// <summary>A throw-away data root under the temp folder.</summary>
internal sealed class TempDataRoot : IDisposable
{
    public TempDataRoot()
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "pipeline-embedded-tests", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public EmbeddedOptions Options(Action<EmbeddedOptions>? configure = null)
    {
        var options = new EmbeddedOptions { DataRoot = Path };
        configure?.Invoke(options);
        return options;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
            // A child process may still hold a file for a moment; the temp folder is cleaned by the OS eventually.
        }
    }
}
