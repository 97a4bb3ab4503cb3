namespace Pipeline.Providers.Abstractions;

public class ObjectStoreException : Exception
{
    public ObjectStoreException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

public sealed class ObjectNotFoundException : ObjectStoreException
{
    public ObjectNotFoundException(string zone, string key, Exception? innerException = null)
        : base($"Object '{key}' does not exist in zone '{zone}'. Check the key and the zone (bucket) name.", innerException)
    {
        Zone = zone;
        Key = key;
    }

    public string Zone { get; }

    public string Key { get; }
}

public sealed class ObjectAlreadyExistsException : ObjectStoreException
{
    public ObjectAlreadyExistsException(string zone, string key, Exception? innerException = null)
        : base($"Object '{key}' already exists in zone '{zone}' and the put was conditional (IfNoneMatch).", innerException)
    {
        Zone = zone;
        Key = key;
    }

    public string Zone { get; }

    public string Key { get; }
}

public sealed class InvalidObjectKeyException : ObjectStoreException
{
    public InvalidObjectKeyException(string key, string reason)
        : base($"Object key '{Printable(key)}' is not allowed: {reason}. Keys are relative, '/'-separated, without '..', '.', empty segments, backslashes or control characters.")
    {
        Key = key;
        Reason = reason;
    }

    public string Key { get; }

    public string Reason { get; }

    private static string Printable(string key) => key.Replace("\0", "\\0", StringComparison.Ordinal);
}

public class QueueException : Exception
{
    public QueueException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

public sealed class QueueNotFoundException : QueueException
{
    public QueueNotFoundException(string queue, Exception? innerException = null)
        : base($"Queue '{queue}' does not exist. Create it (EnsureQueueAsync, local/ init scripts or the deployment template) or fix the queue name in configuration.", innerException)
    {
        Queue = queue;
    }

    public string Queue { get; }
}

public class WarehouseException : Exception
{
    public WarehouseException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

public sealed class WarehouseQueryException : WarehouseException
{
    public WarehouseQueryException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}

/// <summary>
/// The warehouse refused the rows of a merge (a value it cannot store, a constraint, a trigger): the same rows fail
/// again on every retry, so a caller merging rows from several sources can narrow the call to find them. Other
/// <see cref="WarehouseException"/>s and connection errors may be transient and say nothing about the rows.
/// </summary>
public sealed class WarehouseRejectedException : WarehouseException
{
    public WarehouseRejectedException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
