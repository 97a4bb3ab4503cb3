using System.Text.Json;

namespace Pipeline.Host.Internal;

/// <summary>Reads local.settings.json as func does: <c>Values</c> and <c>ConnectionStrings</c> become configuration.</summary>
internal static class LocalSettings
{
    /// <summary>The <c>Values</c> as written (names unchanged), for the worker's environment.</summary>
    public static Dictionary<string, string?> LoadValues(string path) =>
        Load(path)
            .Where(kv => !kv.Key.StartsWith("ConnectionStrings:", StringComparison.OrdinalIgnoreCase))
            .ToDictionary(kv => kv.Key.Replace(":", "__", StringComparison.Ordinal), kv => kv.Value, StringComparer.Ordinal);

    public static Dictionary<string, string?> Load(string path)
    {
        var result = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        if (!File.Exists(path))
        {
            return result;
        }

        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(File.ReadAllText(path), new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException ex)
        {
            throw new HostConfigurationException($"{path} is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new HostConfigurationException($"{path}: the root must be a JSON object with 'Values' and optionally 'ConnectionStrings'.");
            }

            foreach (var section in root.EnumerateObject())
            {
                var prefix = section.Name switch
                {
                    _ when section.Name.Equals("Values", StringComparison.OrdinalIgnoreCase) => string.Empty,
                    _ when section.Name.Equals("ConnectionStrings", StringComparison.OrdinalIgnoreCase) => "ConnectionStrings:",
                    _ => null,
                };
                if (prefix is null)
                {
                    continue; // IsEncrypted, Host: func-specific, not configuration.
                }

                if (section.Value.ValueKind != JsonValueKind.Object)
                {
                    throw new HostConfigurationException($"{path}: '{section.Name}' must be a JSON object of name/value pairs.");
                }

                foreach (var entry in section.Value.EnumerateObject())
                {
                    var value = entry.Value.ValueKind switch
                    {
                        JsonValueKind.String => entry.Value.GetString(),
                        JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False => entry.Value.GetRawText(),
                        JsonValueKind.Null => null,
                        _ => throw new HostConfigurationException($"{path}: '{section.Name}.{entry.Name}' must be a string (got {entry.Value.ValueKind})."),
                    };

                    // "A__B" (environment style) and "A:B" both mean section A, key B.
                    result[prefix + entry.Name.Replace("__", ":", StringComparison.Ordinal)] = value;
                }
            }
        }

        return result;
    }
}
