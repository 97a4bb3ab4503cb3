using Microsoft.Extensions.Options;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// The reference documents, loaded from the reference zone once per process and kept between invocations: for
/// <see cref="EnrichmentOptions.ReferenceRefreshInterval"/> no request at all, then ONE listing of the zone (all the
/// documents' ETags in one request) and a reload only when an ETag changed (every request costs money and latency on
/// AWS). The first load is one GET per document: the GET answers with the ETag, no HEAD is needed.
/// </summary>
public sealed class ReferenceDataCache(IObjectStore store, PipelineSettings settings, IOptions<EnrichmentOptions> options)
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private string? loadedTag;
    private ReferenceData? loaded;
    private long checkedAt;

    internal TimeProvider Clock { get; init; } = TimeProvider.System;

    public async Task<ReferenceData> GetAsync(CancellationToken cancellationToken = default)
    {
        var interval = options.Value.ReferenceRefreshInterval;
        if (Volatile.Read(ref loaded) is { } fresh && interval > TimeSpan.Zero && Clock.GetElapsedTime(Interlocked.Read(ref checkedAt)) < interval)
        {
            return fresh;
        }

        await gate.WaitAsync(cancellationToken);
        try
        {
            if (loaded is not null && interval > TimeSpan.Zero && Clock.GetElapsedTime(checkedAt) < interval)
            {
                return loaded; // Another invocation checked while this one waited.
            }

            if (loaded is not null)
            {
                var listed = new Dictionary<string, string>(StringComparer.Ordinal);
                await foreach (var info in store.ListAsync(settings.ReferenceZone, string.Empty, cancellationToken))
                {
                    listed[info.Key] = info.ETag;
                }

                var tag = string.Join('|', ReferenceData.Keys.Select(k => listed.GetValueOrDefault(k) ?? throw Missing(k)));
                if (tag == loadedTag)
                {
                    Interlocked.Exchange(ref checkedAt, Clock.GetTimestamp());
                    return loaded;
                }
            }

            var documents = new Dictionary<string, byte[]>();
            var tags = new List<string>();
            foreach (var key in ReferenceData.Keys)
            {
                await using var read = await store.OpenReadWithInfoAsync(settings.ReferenceZone, key, cancellationToken) ?? throw Missing(key);
                using var buffer = new MemoryStream();
                await read.Content.CopyToAsync(buffer, cancellationToken);
                documents[key] = buffer.ToArray();
                tags.Add(read.Info.ETag);
            }

            Volatile.Write(ref loaded, ReferenceData.Parse(documents));
            loadedTag = string.Join('|', tags);
            Interlocked.Exchange(ref checkedAt, Clock.GetTimestamp());
            return loaded!;
        }
        finally
        {
            gate.Release();
        }
    }

    private InvalidOperationException Missing(string key) =>
        new($"Reference object '{key}' is missing in zone '{settings.ReferenceZone}'; upload local/reference/{key} (the run command does).");
}
