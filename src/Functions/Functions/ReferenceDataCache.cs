using Microsoft.Extensions.Options;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// The reference documents, loaded from the reference zone once per process and kept between invocations: for
/// <see cref="EnrichmentOptions.ReferenceRefreshInterval"/> no request at all, then one HEAD per document and a
/// reload only when an ETag changed (every request costs money and latency on AWS).
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

            var tags = new List<string>();
            foreach (var key in ReferenceData.Keys)
            {
                var info = await store.HeadAsync(settings.ReferenceZone, key, cancellationToken)
                    ?? throw new InvalidOperationException($"Reference object '{key}' is missing in zone '{settings.ReferenceZone}'; upload local/reference/{key} (the run command does).");
                tags.Add(info.ETag);
            }

            var tag = string.Join('|', tags);
            if (loaded is null || loadedTag != tag)
            {
                var documents = new Dictionary<string, byte[]>();
                foreach (var key in ReferenceData.Keys)
                {
                    await using var stream = await store.OpenReadAsync(settings.ReferenceZone, key, cancellationToken);
                    using var buffer = new MemoryStream();
                    await stream.CopyToAsync(buffer, cancellationToken);
                    documents[key] = buffer.ToArray();
                }

                Volatile.Write(ref loaded, ReferenceData.Parse(documents));
                loadedTag = tag;
            }

            Interlocked.Exchange(ref checkedAt, Clock.GetTimestamp());
            return loaded;
        }
        finally
        {
            gate.Release();
        }
    }
}
