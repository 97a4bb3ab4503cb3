using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>Loads the reference documents from the reference zone once and reloads only when an ETag changes.</summary>
public sealed class ReferenceDataCache(IObjectStore store, PipelineSettings settings)
{
    private readonly SemaphoreSlim gate = new(1, 1);
    private string? loadedTag;
    private ReferenceData? loaded;

    public async Task<ReferenceData> GetAsync(CancellationToken cancellationToken = default)
    {
        var tags = new List<string>();
        foreach (var key in ReferenceData.Keys)
        {
            var info = await store.HeadAsync(settings.ReferenceZone, key, cancellationToken)
                ?? throw new InvalidOperationException($"Reference object '{key}' is missing in zone '{settings.ReferenceZone}'; upload local/reference/{key} (the run command does).");
            tags.Add(info.ETag);
        }

        var tag = string.Join('|', tags);
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (loaded is not null && loadedTag == tag)
            {
                return loaded;
            }

            var documents = new Dictionary<string, byte[]>();
            foreach (var key in ReferenceData.Keys)
            {
                await using var stream = await store.OpenReadAsync(settings.ReferenceZone, key, cancellationToken);
                using var buffer = new MemoryStream();
                await stream.CopyToAsync(buffer, cancellationToken);
                documents[key] = buffer.ToArray();
            }

            loaded = ReferenceData.Parse(documents);
            loadedTag = tag;
            return loaded;
        }
        finally
        {
            gate.Release();
        }
    }
}
