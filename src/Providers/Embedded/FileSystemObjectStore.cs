using System.Runtime.CompilerServices;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded.Internal;

namespace Pipeline.Providers.Embedded;

/// <summary>
/// Objects as files under <c>&lt;DataRoot&gt;/objects/&lt;zone&gt;/&lt;key&gt;</c>. Writes stream into
/// <c>&lt;DataRoot&gt;/tmp/</c>, are fsynced and renamed into place (atomic); content type, metadata and ETag
/// (MD5 hex of the content) live in <c>&lt;DataRoot&gt;/objects.db</c>, which also queues object-created events.
/// </summary>
public sealed class FileSystemObjectStore : IObjectStore, IDisposable
{
    private const string DefaultContentType = "application/octet-stream";

    // Serialises the short "rename + catalog" step of puts, deletes and rescans inside this process
    // (the streaming copy runs outside it), so a rescan never announces a put half-recorded.
    private readonly SemaphoreSlim commitGate = new(1, 1);

    public FileSystemObjectStore(EmbeddedOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var error = options.Validate();
        if (error is not null)
        {
            throw new ArgumentException(error, nameof(options));
        }

        Options = options;
        DataRoot = options.FullDataRoot;
        Paths = new ObjectPaths(DataRoot);
        Directory.CreateDirectory(Paths.ObjectsRoot);
        Directory.CreateDirectory(Paths.TempRoot);
        CleanStaleTemp();
        Catalog = new ObjectCatalog(DataRoot, options);
    }

    /// <summary>Absolute data root (objects live under <c>objects/</c> below it).</summary>
    public string DataRoot { get; }

    internal EmbeddedOptions Options { get; }

    internal ObjectPaths Paths { get; }

    internal ObjectCatalog Catalog { get; }

    internal SemaphoreSlim CommitGate => commitGate;

    public async Task<ObjectInfo> PutAsync(string zone, string key, Stream content, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        options ??= new PutOptions();
        var target = Paths.Resolve(zone, key);
        if (options.IfNoneMatch && File.Exists(target))
        {
            throw new ObjectAlreadyExistsException(zone, key);
        }

        var temp = Path.Combine(Paths.TempRoot, Guid.NewGuid().ToString("N") + ".tmp");
        var committed = false;
        try
        {
            string etag;
            long size;
            var file = new FileStream(temp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1, FileOptions.None);
            await using (file.ConfigureAwait(false))
            {
                (etag, size) = await Md5Copy.CopyAsync(content, file, cancellationToken).ConfigureAwait(false);
                file.Flush(flushToDisk: true);
            }

            await commitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                MoveIntoPlace(zone, key, temp, target, options.IfNoneMatch);
                committed = true;
                var now = Clock.NowMs();
                var row = new CatalogRow(etag, size, File.GetLastWriteTimeUtc(target).Ticks, options.ContentType ?? DefaultContentType, JsonMap.Write(options.Metadata), now);

                // Not cancellable: the file is in place, its record and event must follow.
                await Catalog.Db.WriteAsync((c, tx) =>
                {
                    ObjectCatalog.RecordCreated(c, tx, zone, key, row);
                    return true;
                }, CancellationToken.None).ConfigureAwait(false);
                Catalog.EventPulse.Set();
                return row.ToInfo(zone, key);
            }
            finally
            {
                commitGate.Release();
            }
        }
        finally
        {
            if (!committed)
            {
                File.Delete(temp);
            }
        }
    }

    public Task<Stream> OpenReadAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        var path = Paths.Resolve(zone, key);
        try
        {
            // FileShare.Delete: a reader keeps its snapshot while a writer renames a new version into place.
            Stream stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, FileOptions.Asynchronous | FileOptions.SequentialScan);
            return Task.FromResult(stream);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException || (ex is UnauthorizedAccessException && Directory.Exists(path)))
        {
            throw new ObjectNotFoundException(zone, key, ex);
        }
    }

    public async Task<ObjectInfo?> HeadAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        var path = Paths.Resolve(zone, key);
        return await DescribeAsync(zone, key, path, cancellationToken).ConfigureAwait(false);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string zone, string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prefix);
        var zoneRoot = Paths.ZoneRoot(zone);

        // Start at the deepest folder the prefix names; keys are sorted ordinally (not folder by folder).
        var slash = prefix.LastIndexOf('/');
        var start = zoneRoot;
        if (slash > 0)
        {
            var folder = prefix[..slash];
            if (!ObjectKeys.IsValid(folder))
            {
                yield break;
            }

            start = Path.Combine(zoneRoot, folder.Replace('/', Path.DirectorySeparatorChar));
        }

        if (!Directory.Exists(start))
        {
            yield break;
        }

        var keys = new List<string>();
        foreach (var file in Directory.EnumerateFiles(start, "*", Enumeration))
        {
            var key = ObjectPaths.KeyOf(zoneRoot, file);
            if (key.StartsWith(prefix, StringComparison.Ordinal) && ObjectKeys.IsValid(key))
            {
                keys.Add(key);
            }
        }

        keys.Sort(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var info = await DescribeAsync(zone, key, Path.Combine(zoneRoot, key.Replace('/', Path.DirectorySeparatorChar)), cancellationToken).ConfigureAwait(false);
            if (info is not null)
            {
                yield return info;
            }
        }
    }

    public async Task<bool> DeleteAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        var path = Paths.Resolve(zone, key);
        await commitGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var existed = File.Exists(path);
            if (existed)
            {
                File.Delete(path);
                PruneEmptyFolders(Paths.ZoneRoot(zone), Path.GetDirectoryName(path)!);
            }

            await Catalog.Db.RunAsync(c => ObjectCatalog.Forget(c, null, zone, key), CancellationToken.None).ConfigureAwait(false);
            return existed;
        }
        finally
        {
            commitGate.Release();
        }
    }

    public void Dispose() => Catalog.Dispose();

    internal static EnumerationOptions Enumeration { get; } = new()
    {
        RecurseSubdirectories = true,
        AttributesToSkip = FileAttributes.ReparsePoint,
        IgnoreInaccessible = true,
        ReturnSpecialDirectories = false,
    };

    /// <summary>Catalog entry when it still matches the file (size + mtime); otherwise the file is described afresh (hashing it).</summary>
    internal async Task<ObjectInfo?> DescribeAsync(string zone, string key, string path, CancellationToken cancellationToken)
    {
        var file = new FileInfo(path);
        if (!file.Exists)
        {
            return null;
        }

        var row = await Catalog.Db.RunAsync(c => ObjectCatalog.Get(c, zone, key), cancellationToken).ConfigureAwait(false);
        if (row is not null && row.Size == file.Length && row.MTime == file.LastWriteTimeUtc.Ticks)
        {
            return row.ToInfo(zone, key);
        }

        // Copied or changed by hand and not catalogued yet: describe without recording (recording is the event source's job).
        try
        {
            var etag = await Md5Copy.HashFileAsync(path, cancellationToken).ConfigureAwait(false);
            return new ObjectInfo(zone, key, file.Length, etag, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero), DefaultContentType, JsonMap.Empty);
        }
        catch (FileNotFoundException)
        {
            return null;
        }
    }

    private static void MoveIntoPlace(string zone, string key, string temp, string target, bool ifNoneMatch)
    {
        try
        {
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
        }
        catch (IOException ex)
        {
            throw new ObjectStoreException($"Cannot store '{key}' in zone '{zone}': a parent of the key is an existing object (on disk a folder cannot also be a file). Choose a key that does not extend another object's key.", ex);
        }

        if (Directory.Exists(target))
        {
            throw new ObjectStoreException($"Cannot store '{key}' in zone '{zone}': other objects use it as a folder ('{key}/...'). Choose a different key.");
        }

        try
        {
            // overwrite: false fails atomically when the target exists (link + unlink on Unix): put-if-absent across processes.
            File.Move(temp, target, overwrite: !ifNoneMatch);
        }
        catch (IOException ex) when (ifNoneMatch && File.Exists(target))
        {
            throw new ObjectAlreadyExistsException(zone, key, ex);
        }
    }

    private static void PruneEmptyFolders(string zoneRoot, string folder)
    {
        while (folder.Length > zoneRoot.Length && folder.StartsWith(zoneRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            if (Directory.EnumerateFileSystemEntries(folder).Any())
            {
                return;
            }

            try
            {
                Directory.Delete(folder);
            }
            catch (IOException)
            {
                // A concurrent writer (another process) just put something there: the folder stays, which is right.
                return;
            }

            folder = Path.GetDirectoryName(folder)!;
        }
    }

    private void CleanStaleTemp()
    {
        // Leftovers of writers killed mid-copy; an hour is far beyond any live copy's age.
        var cutoff = DateTime.UtcNow.AddHours(-1);
        foreach (var file in Directory.EnumerateFiles(Paths.TempRoot, "*.tmp"))
        {
            if (File.GetLastWriteTimeUtc(file) < cutoff)
            {
                File.Delete(file);
            }
        }
    }
}
