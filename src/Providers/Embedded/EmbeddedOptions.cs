namespace Pipeline.Providers.Embedded;

/// <summary>Settings of the embedded providers, bound from the <c>Embedded</c> configuration section.</summary>
public sealed class EmbeddedOptions
{
    public const string SectionName = "Embedded";

    /// <summary>Folder holding objects, the queue, the warehouse and their catalogs. Relative paths resolve against the working directory.</summary>
    public string DataRoot { get; set; } = ".pipeline";

    /// <summary>FIFO deduplication window used when a queue definition does not set one.</summary>
    public TimeSpan DeduplicationWindow { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// SQLite <c>synchronous</c> level: <c>Normal</c> (default) survives a killed process (WAL commits are in the OS
    /// cache); <c>Full</c> also survives power loss at the price of an fsync per commit.
    /// </summary>
    public SqliteSynchronous Synchronous { get; set; } = SqliteSynchronous.Normal;

    /// <summary>How often, at most, an idle object-event receive rescans a zone folder for objects copied in by hand.</summary>
    public TimeSpan EventRescanInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long a SQLite writer waits for a lock held by another process before failing.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Returns the first invalid setting as a message naming it, or null when all are valid.</summary>
    public string? Validate()
    {
        if (string.IsNullOrWhiteSpace(DataRoot))
        {
            return $"{SectionName}:{nameof(DataRoot)} is empty; set it to a writable folder (default '.pipeline').";
        }

        if (DataRoot.Contains('\0', StringComparison.Ordinal))
        {
            return $"{SectionName}:{nameof(DataRoot)} contains a NUL character.";
        }

        if (DeduplicationWindow <= TimeSpan.Zero || DeduplicationWindow > TimeSpan.FromDays(1))
        {
            return $"{SectionName}:{nameof(DeduplicationWindow)} must be between 00:00:00 (exclusive) and 1.00:00:00; got {DeduplicationWindow}.";
        }

        if (!Enum.IsDefined(Synchronous))
        {
            return $"{SectionName}:{nameof(Synchronous)} must be Normal or Full; got {Synchronous}.";
        }

        if (EventRescanInterval < TimeSpan.FromMilliseconds(50) || EventRescanInterval > TimeSpan.FromHours(1))
        {
            return $"{SectionName}:{nameof(EventRescanInterval)} must be between 00:00:00.050 and 01:00:00; got {EventRescanInterval}.";
        }

        if (BusyTimeout < TimeSpan.FromSeconds(1))
        {
            return $"{SectionName}:{nameof(BusyTimeout)} must be at least 00:00:01; got {BusyTimeout}.";
        }

        return null;
    }

    internal string FullDataRoot => Path.GetFullPath(DataRoot);
}

public enum SqliteSynchronous
{
    Normal,
    Full,
}
