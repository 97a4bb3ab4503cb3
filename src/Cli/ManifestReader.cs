using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Pipeline.Functions;
using Pipeline.Functions.Functions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary>
/// Reads the prepare zone's manifests in both layouts: one object per object version
/// (manifests/&lt;source key&gt;/&lt;etag&gt;.json — claim-check objects, and everything written before batch manifests)
/// and batch manifests (manifests/batches/&lt;hash&gt;.json, one per group of small objects enriched together).
/// An object version listed more than once (a redelivered event, a rewritten batch) counts once.
/// </summary>
public static class ManifestReader
{
    /// <summary>Object reads in flight at once.</summary>
    private const int ReadParallelism = 16;

    /// <summary>
    /// Every object version's manifest (with its versions list), in listing order, each once; one GET per manifest
    /// object (two for a per-object manifest of the older layout with a .versions file), none for what
    /// <paramref name="cache"/> has seen with the same ETag.
    /// </summary>
    public static async Task<IReadOnlyList<Manifest>> ReadAllAsync(IObjectStore store, PipelineSettings settings, ManifestCache? cache, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(settings);
        var read = await ReadEachAsync(store, settings, await ListAsync(store, settings, cancellationToken), cache, cancellationToken);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var manifests = new List<Manifest>();
        foreach (var manifest in read.SelectMany(m => m))
        {
            if (seen.Add(Manifest.KeyFor(manifest.SourceKey, manifest.SourceEtag)))
            {
                manifests.Add(manifest);
            }
        }

        return manifests;
    }

    /// <summary>
    /// The object versions some manifest claims, each as its per-object manifest key (<see cref="Manifest.KeyFor"/>):
    /// per-object manifests by their listed key (no read), batch manifests by one GET each (none for what
    /// <paramref name="cache"/> has seen).
    /// </summary>
    public static async Task<HashSet<string>> ProcessedAsync(IObjectStore store, PipelineSettings settings, ManifestCache? cache, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(settings);
        var processed = new HashSet<string>(StringComparer.Ordinal);
        var batches = new List<ObjectInfo>();
        foreach (var info in await ListAsync(store, settings, cancellationToken))
        {
            if (Manifest.IsBatchKey(info.Key))
            {
                batches.Add(info);
            }
            else
            {
                processed.Add(info.Key);
            }
        }

        foreach (var manifest in (await ReadEachAsync(store, settings, batches, cache, cancellationToken)).SelectMany(m => m))
        {
            processed.Add(Manifest.KeyFor(manifest.SourceKey, manifest.SourceEtag));
        }

        return processed;
    }

    private static async Task<List<ObjectInfo>> ListAsync(IObjectStore store, PipelineSettings settings, CancellationToken cancellationToken)
    {
        var infos = new List<ObjectInfo>();
        await foreach (var info in store.ListAsync(settings.PrepareZone, PipelineSettings.ManifestPrefix, cancellationToken))
        {
            if (info.Key.EndsWith(".json", StringComparison.Ordinal))
            {
                infos.Add(info);
            }
        }

        return infos;
    }

    /// <summary>The manifests each listed object holds, in listing order, <see cref="ReadParallelism"/> reads at once.</summary>
    private static async Task<IReadOnlyList<Manifest>[]> ReadEachAsync(IObjectStore store, PipelineSettings settings, IReadOnlyList<ObjectInfo> infos, ManifestCache? cache, CancellationToken cancellationToken)
    {
        var read = new IReadOnlyList<Manifest>[infos.Count];
        await Parallel.ForAsync(0, infos.Count, new ParallelOptions { MaxDegreeOfParallelism = ReadParallelism, CancellationToken = cancellationToken }, async (i, ct) =>
        {
            read[i] = await ReadAsync(store, settings, infos[i], cache, ct);
        });

        return read;
    }

    /// <summary>The manifests one listed object holds: one for a per-object manifest, several for a batch.</summary>
    private static async Task<IReadOnlyList<Manifest>> ReadAsync(IObjectStore store, PipelineSettings settings, ObjectInfo listed, ManifestCache? cache, CancellationToken cancellationToken)
    {
        if (cache is not null && cache.Read.TryGetValue(listed.Key, out var known) && known.ETag == listed.ETag)
        {
            return known.Manifests;
        }

        IReadOnlyList<Manifest> manifests;
        if (Manifest.IsBatchKey(listed.Key))
        {
            await using var stream = await store.OpenReadAsync(settings.PrepareZone, listed.Key, cancellationToken);
            var batch = await JsonSerializer.DeserializeAsync(stream, ManifestJsonContext.Default.BatchManifest, cancellationToken)
                ?? throw new InvalidDataException($"Batch manifest {listed.Key} is empty.");
            manifests = batch.Objects;
        }
        else
        {
            manifests = [await ReadOneAsync(store, settings, listed.Key, cancellationToken)];
        }

        if (cache is not null && listed.ETag.Length > 0)
        {
            cache.Read[listed.Key] = (listed.ETag, manifests);
        }

        return manifests;
    }

    /// <summary>A per-object manifest with its versions (a manifest of the older layout has them in a .versions object beside).</summary>
    /// <exception cref="ObjectNotFoundException">When there is no such manifest.</exception>
    public static async Task<Manifest> ReadOneAsync(IObjectStore store, PipelineSettings settings, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(settings);
        Manifest manifest;
        await using (var stream = await store.OpenReadAsync(settings.PrepareZone, key, cancellationToken))
        {
            manifest = await JsonSerializer.DeserializeAsync(stream, ManifestJsonContext.Default.Manifest, cancellationToken)
                ?? throw new InvalidDataException($"Manifest {key} is empty.");
        }

        if (manifest.Versions is null)
        {
            try
            {
                await using var versions = await store.OpenReadAsync(settings.PrepareZone, Manifest.VersionsKeyFor(manifest.SourceKey, manifest.SourceEtag), cancellationToken);
                using var reader = new StreamReader(versions, Encoding.UTF8);
                var lines = new List<string>();
                while (await reader.ReadLineAsync(cancellationToken) is { } line)
                {
                    if (line.Length > 0)
                    {
                        lines.Add(line);
                    }
                }

                manifest = manifest with { Versions = lines };
            }
            catch (ObjectNotFoundException)
            {
                // Reported by the summary as a missing versions list.
            }
        }

        return manifest;
    }
}

/// <summary>
/// Manifest objects already read, by key and the ETag the listing showed: a summary or progress poll repeated in the
/// same run lists again but reads only manifest objects that are new or changed.
/// </summary>
public sealed class ManifestCache
{
    internal ConcurrentDictionary<string, (string ETag, IReadOnlyList<Manifest> Manifests)> Read { get; } = new(StringComparer.Ordinal);
}
