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
