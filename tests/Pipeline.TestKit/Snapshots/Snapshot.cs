using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using DiffPlex;
using DiffPlex.DiffBuilder;
using DiffPlex.DiffBuilder.Model;
using Xunit;

namespace Pipeline.TestKit.Snapshots;

/// <summary>How a value becomes its snapshot text.</summary>
public sealed record SnapshotOptions
{
    /// <summary>Properties (any depth) whose values are replaced by "{scrubbed}" — volatile values such as ingest time.</summary>
    public IReadOnlyCollection<string> ScrubProperties { get; init; } = [];

    /// <summary>Regex replacements applied to every string value (pattern → replacement).</summary>
    public IReadOnlyDictionary<string, string> ScrubPatterns { get; init; } = new Dictionary<string, string>();

    /// <summary>Serializer options used to turn the value into JSON before it is normalised.</summary>
    public JsonSerializerOptions? SerializerOptions { get; init; }

    /// <summary>Sort object properties ordinally (default); false keeps the serializer's order.</summary>
    public bool SortProperties { get; init; } = true;
}

/// <summary>
/// A small Verify-style snapshot assertion. The snapshot of a test lives beside the test as
/// <c>&lt;TestFile&gt;.&lt;TestName&gt;.verified.json</c>. On mismatch the new output is written as
/// <c>.received.json</c> and the test fails with a line diff. To accept: run
/// <c>tests/accept-snapshots.sh</c> (renames received → verified), or run the tests with
/// <c>PIPELINE_ACCEPT_SNAPSHOTS=1</c>. Under <c>CI=true</c> nothing is ever accepted: a missing or
/// different snapshot fails.
/// </summary>
public static class Snapshot
{
    public const string AcceptVariable = "PIPELINE_ACCEPT_SNAPSHOTS";

    public static Task VerifyJsonAsync(
        object? value,
        SnapshotOptions? options = null,
        string? name = null,
        [CallerFilePath] string sourceFile = "",
        [CallerMemberName] string testName = "")
    {
        options ??= new SnapshotOptions();
        var text = ToSnapshotText(value, options);
        var directory = Path.GetDirectoryName(sourceFile) ?? throw new InvalidOperationException("The caller file path is unknown; call VerifyJsonAsync from a test method.");
        var stem = $"{Path.GetFileNameWithoutExtension(sourceFile)}.{testName}{(name is null ? string.Empty : "." + name)}";
        var verified = Path.Combine(directory, stem + ".verified.json");
        var onCi = string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase);
        var accept = !onCi && Environment.GetEnvironmentVariable(AcceptVariable) == "1";
        VerifyText(text, verified, onCi, accept);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Compares <paramref name="text"/> with the verified file. On CI (<paramref name="onCi"/>) nothing is
    /// written and nothing accepted; locally a mismatch writes the .received.json beside it.
    /// </summary>
    public static void VerifyText(string text, string verifiedPath, bool onCi, bool accept)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(verifiedPath);
        var verified = verifiedPath;
        var received = verifiedPath[..^".verified.json".Length] + ".received.json";
        accept &= !onCi;
        if (!File.Exists(verified))
        {
            if (accept)
            {
                File.WriteAllText(verified, text, new UTF8Encoding(false));
                DeleteIfExists(received);
                return;
            }

            if (!onCi)
            {
                File.WriteAllText(received, text, new UTF8Encoding(false));
            }

            Assert.Fail($"No verified snapshot {Path.GetFileName(verified)}." + (onCi
                ? " CI never accepts snapshots: run the tests locally, review and accept, then commit the .verified.json file."
                : $" Wrote {Path.GetFileName(received)}; review it, then accept with tests/accept-snapshots.sh (or {AcceptVariable}=1)."));
        }

        var expected = File.ReadAllText(verified).ReplaceLineEndings("\n");
        if (expected == text)
        {
            DeleteIfExists(received);
            return;
        }

        if (accept)
        {
            File.WriteAllText(verified, text, new UTF8Encoding(false));
            DeleteIfExists(received);
            return;
        }

        if (!onCi)
        {
            File.WriteAllText(received, text, new UTF8Encoding(false));
        }

        Assert.Fail($"Snapshot {Path.GetFileName(verified)} differs (- verified, + received):\n{Diff(expected, text)}\n"
            + (onCi ? "Accept locally and commit the .verified.json file." : $"Wrote {Path.GetFileName(received)}; accept with tests/accept-snapshots.sh (or {AcceptVariable}=1)."));
    }

    /// <summary>The normalised snapshot text: scrubbed, properties sorted, indented, LF line ends, final newline.</summary>
    public static string ToSnapshotText(object? value, SnapshotOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var node = value as JsonNode ?? JsonSerializer.SerializeToNode(value, value?.GetType() ?? typeof(object), options.SerializerOptions ?? JsonSerializerOptions.Default);
        var normalised = Normalise(node, options);
        var json = normalised?.ToJsonString(new JsonSerializerOptions
        {
            WriteIndented = true,
            Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
        }) ?? "null";
        return json.ReplaceLineEndings("\n") + "\n";
    }

    private static JsonNode? Normalise(JsonNode? node, SnapshotOptions options)
    {
        switch (node)
        {
            case JsonObject obj:
                var properties = obj.Select(p => p.Key);
                var ordered = options.SortProperties ? properties.Order(StringComparer.Ordinal) : properties;
                var copy = new JsonObject();
                foreach (var key in ordered.ToList())
                {
                    var child = obj[key];
                    copy[key] = options.ScrubProperties.Contains(key) && child is not null
                        ? JsonValue.Create("{scrubbed}")
                        : Normalise(child, options);
                }

                return copy;
            case JsonArray array:
                return new JsonArray(array.Select(item => Normalise(item, options)).ToArray());
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var text = value.GetValue<string>();
                foreach (var (pattern, replacement) in options.ScrubPatterns)
                {
                    text = Regex.Replace(text, pattern, replacement, RegexOptions.CultureInvariant);
                }

                return JsonValue.Create(text);
            case null:
                return null;
            default:
                return JsonNode.Parse(node.ToJsonString());
        }
    }

    private static string Diff(string expected, string actual)
    {
        var model = new InlineDiffBuilder(new Differ()).BuildDiffModel(expected, actual);
        var output = new StringBuilder();
        var lines = model.Lines;
        const int context = 2;
        var lastPrinted = -1;
        for (var i = 0; i < lines.Count; i++)
        {
            if (lines[i].Type == ChangeType.Unchanged)
            {
                continue;
            }

            if (lastPrinted >= 0 && i - context > lastPrinted + 1)
            {
                output.AppendLine("  ...");
            }

            for (var c = Math.Max(lastPrinted + 1, i - context); c < i; c++)
            {
                output.Append("  ").AppendLine(lines[c].Text);
            }

            output.Append(lines[i].Type switch
            {
                ChangeType.Inserted => "+ ",
                ChangeType.Deleted => "- ",
                _ => "~ ",
            }).AppendLine(lines[i].Text);
            lastPrinted = i;
            for (var c = i + 1; c < lines.Count && c <= i + context && lines[c].Type == ChangeType.Unchanged; c++)
            {
                output.Append("  ").AppendLine(lines[c].Text);
                lastPrinted = c;
            }
        }

        return output.ToString();
    }

    private static void DeleteIfExists(string path)
    {
        if (File.Exists(path))
        {
            File.Delete(path);
        }
    }
}
