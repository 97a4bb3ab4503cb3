using System.Text.Json;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>What worker.config.json (written by the Worker Sdk into the build output) says about starting the worker.</summary>
internal sealed record WorkerConfig(string Language, string ExecutablePath, IReadOnlyList<string> Arguments, string WorkerPath, IReadOnlyList<string> WorkerArguments)
{
    public const string FileName = "worker.config.json";

    /// <exception cref="HostConfigurationException">The file is missing or lacks what starting the worker needs.</exception>
    public static WorkerConfig Load(string scriptRoot)
    {
        var path = Path.Combine(scriptRoot, FileName);
        if (!File.Exists(path))
        {
            throw new HostConfigurationException(
                $"No {FileName} in '{scriptRoot}': --script-root must be the build output of an isolated-worker app (Microsoft.Azure.Functions.Worker.Sdk writes {FileName} and functions.metadata there).");
        }

        try
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            var description = document.RootElement.GetProperty("description");
            var language = String(description, "language") ?? "dotnet-isolated";
            var executable = String(description, "defaultExecutablePath")
                ?? throw new HostConfigurationException($"{path}: description.defaultExecutablePath is missing.");
            var worker = String(description, "defaultWorkerPath") ?? string.Empty;
            return new WorkerConfig(language, executable, Strings(description, "arguments"), worker, Strings(description, "workerArguments"));
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            throw new HostConfigurationException($"{path} is not a valid worker configuration: {ex.Message}", ex);
        }
    }

    private static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } s ? s : null;

    private static string[] Strings(JsonElement element, string name) =>
        element.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Array
            ? value.EnumerateArray().Select(v => v.GetString()).OfType<string>().Where(s => s.Length > 0).ToArray()
            : [];
}
