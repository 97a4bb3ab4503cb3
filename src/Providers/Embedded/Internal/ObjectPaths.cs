using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Internal;

/// <summary>Maps (zone, key) to a path under <c>&lt;root&gt;/objects/&lt;zone&gt;/</c> and refuses anything that could leave it.</summary>
internal sealed class ObjectPaths
{
    public ObjectPaths(string dataRoot)
    {
        ObjectsRoot = Path.Combine(dataRoot, "objects");
        TempRoot = Path.Combine(dataRoot, "tmp");
    }

    public string ObjectsRoot { get; }

    public string TempRoot { get; }

    public static void ValidateZone(string zone)
    {
        ArgumentNullException.ThrowIfNull(zone);
        var ok = zone.Length is >= 1 and <= 63
            && char.IsAsciiLetterOrDigit(zone[0])
            && zone.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_')
            && !zone.Contains("..", StringComparison.Ordinal);
        if (!ok)
        {
            throw new ArgumentException($"Zone name '{zone.Replace("\0", "\\0", StringComparison.Ordinal)}' is invalid: use 1-63 letters, digits, '.', '-' or '_', starting with a letter or digit (a bucket-like name).", nameof(zone));
        }
    }

    public string ZoneRoot(string zone)
    {
        ValidateZone(zone);
        return Path.Combine(ObjectsRoot, zone);
    }

    /// <summary>Validates the key with <see cref="ObjectKeys.Validate"/> and returns a full path proven to lie under the zone folder.</summary>
    public string Resolve(string zone, string key)
    {
        var zoneRoot = ZoneRoot(zone);
        ObjectKeys.Validate(key);
        var full = Path.GetFullPath(Path.Combine(zoneRoot, key.Replace('/', Path.DirectorySeparatorChar)));
        if (!full.StartsWith(zoneRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            throw new InvalidObjectKeyException(key, "it resolves outside the zone folder");
        }

        // A symbolic link inside the zone could point anywhere: refuse to traverse one.
        var current = zoneRoot;
        foreach (var segment in key.Split('/'))
        {
            current = Path.Combine(current, segment);
            var info = new FileInfo(current);
            if (!info.Exists && !Directory.Exists(current))
            {
                break;
            }

            if (info.LinkTarget is not null)
            {
                throw new InvalidObjectKeyException(key, "it goes through a symbolic link on disk");
            }
        }

        return full;
    }

    public static string KeyOf(string zoneRoot, string fullPath) =>
        Path.GetRelativePath(zoneRoot, fullPath).Replace(Path.DirectorySeparatorChar, '/');
}
