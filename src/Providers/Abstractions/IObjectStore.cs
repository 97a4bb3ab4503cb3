namespace Pipeline.Providers.Abstractions;

/// <summary>
/// A flat object store split into zones (a bucket on S3, a folder on disk).
/// Keys are '/'-separated relative paths; providers reject keys that could escape the zone.
/// </summary>
public interface IObjectStore
{
    /// <summary>Streams <paramref name="content"/> into the object atomically: readers see the old object or the new one, never a part.</summary>
    /// <exception cref="ObjectAlreadyExistsException">When <see cref="PutOptions.IfNoneMatch"/> is set and the object exists.</exception>
    /// <exception cref="InvalidObjectKeyException">When the key is not a safe relative key.</exception>
    Task<ObjectInfo> PutAsync(string zone, string key, Stream content, PutOptions? options = null, CancellationToken cancellationToken = default);

    /// <summary>Opens the object for streaming reads; the caller disposes the stream.</summary>
    /// <exception cref="ObjectNotFoundException">When the object does not exist.</exception>
    Task<Stream> OpenReadAsync(string zone, string key, CancellationToken cancellationToken = default);

    /// <summary>Size, ETag, last-modified, content type and metadata, or null when the object does not exist.</summary>
    Task<ObjectInfo?> HeadAsync(string zone, string key, CancellationToken cancellationToken = default);

    /// <summary>Objects whose key starts with <paramref name="prefix"/>, in ordinal key order, as a stream.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string zone, string prefix = "", CancellationToken cancellationToken = default);

    /// <summary>Deletes the object; returns false when it did not exist.</summary>
    Task<bool> DeleteAsync(string zone, string key, CancellationToken cancellationToken = default);
}

/// <summary>Options for <see cref="IObjectStore.PutAsync"/>.</summary>
public sealed record PutOptions
{
    public string ContentType { get; init; } = "application/octet-stream";

    public IReadOnlyDictionary<string, string> Metadata { get; init; } = new Dictionary<string, string>();

    /// <summary>Put-if-absent: fail with <see cref="ObjectAlreadyExistsException"/> instead of overwriting.</summary>
    public bool IfNoneMatch { get; init; }
}

/// <summary>What a store knows about one object.</summary>
public sealed record ObjectInfo(
    string Zone,
    string Key,
    long Size,
    string ETag,
    DateTimeOffset LastModified,
    string ContentType,
    IReadOnlyDictionary<string, string> Metadata);

/// <summary>
/// Optional capability of an <see cref="IObjectStore"/>: open an object and learn its info (ETag, size, last-modified,
/// metadata) from the same answer — one GET on S3 instead of a HEAD and a GET. Callers use
/// <see cref="ObjectStoreReads.OpenReadWithInfoAsync"/>, which falls back to HEAD + open on stores without it.
/// </summary>
public interface IObjectReadWithInfo
{
    /// <summary>The open content and the info of the version it reads, or null when the object does not exist.</summary>
    Task<ObjectRead?> OpenReadWithInfoAsync(string zone, string key, CancellationToken cancellationToken = default);
}

/// <summary>An open object and the info of the version being read; disposing it closes the content.</summary>
public sealed record ObjectRead(Stream Content, ObjectInfo Info) : IAsyncDisposable
{
    public ValueTask DisposeAsync() => Content.DisposeAsync();
}

public static class ObjectStoreReads
{
    /// <summary>One request where the store can (<see cref="IObjectReadWithInfo"/>), else HEAD then open.</summary>
    public static async Task<ObjectRead?> OpenReadWithInfoAsync(this IObjectStore store, string zone, string key, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        if (store is IObjectReadWithInfo reader)
        {
            return await reader.OpenReadWithInfoAsync(zone, key, cancellationToken).ConfigureAwait(false);
        }

        var info = await store.HeadAsync(zone, key, cancellationToken).ConfigureAwait(false);
        if (info is null)
        {
            return null;
        }

        try
        {
            return new ObjectRead(await store.OpenReadAsync(zone, key, cancellationToken).ConfigureAwait(false), info);
        }
        catch (ObjectNotFoundException)
        {
            return null;
        }
    }
}
