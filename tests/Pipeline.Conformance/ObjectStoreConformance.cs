using System.Text;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Conformance;

/// <summary>What every <see cref="IObjectStore"/> must do. Each test writes into its own zone (<see cref="CreateZoneAsync"/>).</summary>
public abstract class ObjectStoreConformance : IAsyncLifetime
{
    private IObjectStore? store;

    protected IObjectStore Store => store ?? throw new InvalidOperationException("InitializeAsync has not run.");

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Size of the streaming test object; at least 100 MiB by default.</summary>
    protected virtual long LargeObjectBytes => 100L * 1024 * 1024;

    protected abstract ValueTask<IObjectStore> CreateStoreAsync();

    protected virtual ValueTask DisposeStoreAsync(IObjectStore store) => Disposal.DisposeAsync(store);

    /// <summary>A fresh, empty zone for one test (S3 providers create the bucket here).</summary>
    protected virtual ValueTask<string> CreateZoneAsync() => ValueTask.FromResult(ConformanceNames.Zone());

    public virtual async ValueTask InitializeAsync() => store = await CreateStoreAsync();

    public virtual async ValueTask DisposeAsync()
    {
        if (store is not null)
        {
            await DisposeStoreAsync(store);
        }

        GC.SuppressFinalize(this);
    }

    [Fact]
    public async Task Put_ThenGetAndHead_RoundTripsContentTypeMetadataAndETag()
    {
        var zone = await CreateZoneAsync();
        var metadata = new Dictionary<string, string> { ["source"] = "unit", ["batch"] = "7" };
        var put = await Store.PutAsync(zone, "transactions/2024/t1.json", Text("{\"a\":1}"), new PutOptions { ContentType = "application/json", Metadata = metadata }, Ct);
        Assert.Equal(7, put.Size);
        Assert.False(string.IsNullOrEmpty(put.ETag));

        Assert.Equal("{\"a\":1}", await ReadTextAsync(zone, "transactions/2024/t1.json"));
        var head = await Store.HeadAsync(zone, "transactions/2024/t1.json", Ct);
        Assert.NotNull(head);
        Assert.Equal(put.ETag, head.ETag);
        Assert.Equal(7, head.Size);
        Assert.Equal("application/json", head.ContentType);
        Assert.Equal("unit", head.Metadata["source"]);
        Assert.Equal("7", head.Metadata["batch"]);
        Assert.InRange(head.LastModified, DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddMinutes(5));
    }

    [Fact]
    public async Task Put_ExistingKey_ReplacesContentAndETag()
    {
        var zone = await CreateZoneAsync();
        var first = await Store.PutAsync(zone, "k", Text("one"), cancellationToken: Ct);
        var second = await Store.PutAsync(zone, "k", Text("two!"), cancellationToken: Ct);
        Assert.NotEqual(first.ETag, second.ETag);
        Assert.Equal("two!", await ReadTextAsync(zone, "k"));
    }

    [Fact]
    public async Task Put_IfNoneMatchOnExistingKey_ThrowsAndKeepsOriginal()
    {
        var zone = await CreateZoneAsync();
        await Store.PutAsync(zone, "once", Text("original"), cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<ObjectAlreadyExistsException>(() => Store.PutAsync(zone, "once", Text("other"), new PutOptions { IfNoneMatch = true }, Ct));
        Assert.Equal("once", ex.Key);
        Assert.Equal("original", await ReadTextAsync(zone, "once"));
    }

    [Fact]
    public async Task Put_IfNoneMatchRacing_ExactlyOneWins()
    {
        var zone = await CreateZoneAsync();
        var attempts = Enumerable.Range(0, 8).Select(async i =>
        {
            try
            {
                await Store.PutAsync(zone, "race", Text($"writer-{i}"), new PutOptions { IfNoneMatch = true }, Ct);
                return true;
            }
            catch (ObjectAlreadyExistsException)
            {
                return false;
            }
        });

        var results = await Task.WhenAll(attempts);
        Assert.Equal(1, results.Count(won => won));
        Assert.StartsWith("writer-", await ReadTextAsync(zone, "race"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenRead_MissingKey_ThrowsObjectNotFound()
    {
        var zone = await CreateZoneAsync();
        await Store.PutAsync(zone, "present", Text("x"), cancellationToken: Ct);
        var ex = await Assert.ThrowsAsync<ObjectNotFoundException>(() => Store.OpenReadAsync(zone, "absent/file.json", Ct));
        Assert.Equal("absent/file.json", ex.Key);
        Assert.Equal(zone, ex.Zone);
        Assert.Null(await Store.HeadAsync(zone, "absent/file.json", Ct));
    }

    [Fact]
    public async Task Delete_ExistingThenMissing_ReturnsTrueThenFalse()
    {
        var zone = await CreateZoneAsync();
        await Store.PutAsync(zone, "a/b/c.txt", Text("x"), cancellationToken: Ct);
        Assert.True(await Store.DeleteAsync(zone, "a/b/c.txt", Ct));
        Assert.Null(await Store.HeadAsync(zone, "a/b/c.txt", Ct));
        Assert.False(await Store.DeleteAsync(zone, "a/b/c.txt", Ct));
    }

    [Fact]
    public async Task List_Prefix_ReturnsMatchingKeysInOrdinalOrder()
    {
        var zone = await CreateZoneAsync();
        foreach (var key in (string[])["a/b", "a-c", "a/a", "b", "a/z/deep.json", "A"])
        {
            await Store.PutAsync(zone, key, Text(key), cancellationToken: Ct);
        }

        var listed = new List<ObjectInfo>();
        await foreach (var info in Store.ListAsync(zone, "a", Ct))
        {
            listed.Add(info);
        }

        Assert.Equal(["a-c", "a/a", "a/b", "a/z/deep.json"], listed.Select(i => i.Key));
        Assert.All(listed, i => Assert.Equal(Encoding.UTF8.GetByteCount(i.Key), i.Size));

        var folder = new List<string>();
        await foreach (var info in Store.ListAsync(zone, "a/z/", Ct))
        {
            folder.Add(info.Key);
        }

        Assert.Equal(["a/z/deep.json"], folder);

        var all = new List<string>();
        await foreach (var info in Store.ListAsync(zone, cancellationToken: Ct))
        {
            all.Add(info.Key);
        }

        Assert.Equal(["A", "a-c", "a/a", "a/b", "a/z/deep.json", "b"], all);
    }

    public static TheoryData<string> HostileKeys => new()
    {
        "../escape",
        "a/../../escape",
        "a/..",
        "./a",
        "/etc/passwd",
        "C:/windows",
        "a\\..\\b",
        "a\0b",
        "a//b",
        "a/",
        "",
        "tab\there",
    };

    [Theory]
    [MemberData(nameof(HostileKeys))]
    public async Task AllOperations_HostileKey_RejectedWithInvalidObjectKey(string key)
    {
        var zone = await CreateZoneAsync();
        await Assert.ThrowsAsync<InvalidObjectKeyException>(() => Store.PutAsync(zone, key, Text("x"), cancellationToken: Ct));
        await Assert.ThrowsAsync<InvalidObjectKeyException>(() => Store.OpenReadAsync(zone, key, Ct));
        await Assert.ThrowsAsync<InvalidObjectKeyException>(() => Store.HeadAsync(zone, key, Ct));
        await Assert.ThrowsAsync<InvalidObjectKeyException>(() => Store.DeleteAsync(zone, key, Ct));
    }

    /// <summary>Percent-encoding is not decoded: "%2e%2e" is a literal (harmless) key that stays inside the zone.</summary>
    [Fact]
    public async Task Put_PercentEncodedDots_IsALiteralKeyInsideTheZone()
    {
        var zone = await CreateZoneAsync();
        await Store.PutAsync(zone, "%2e%2e/x", Text("literal"), cancellationToken: Ct);
        Assert.Equal("literal", await ReadTextAsync(zone, "%2e%2e/x"));
        var keys = new List<string>();
        await foreach (var info in Store.ListAsync(zone, cancellationToken: Ct))
        {
            keys.Add(info.Key);
        }

        Assert.Equal(["%2e%2e/x"], keys);
    }

    [Fact]
    public async Task PutAndRead_LargeObject_StreamedWithoutBufferingWhole()
    {
        var zone = await CreateZoneAsync();
        var size = LargeObjectBytes;
        long peakGrowth;
        string written;
        string read;
        long readBytes = 0;
        await using (var probe = new ManagedMemoryProbe())
        {
            using var source = new GeneratedStream(size);
            var info = await Store.PutAsync(zone, "big/object.bin", source, cancellationToken: Ct);
            Assert.Equal(size, info.Size);
            written = source.Md5Hex;

#pragma warning disable CA5351 // MD5 only fingerprints test content
            using var md5 = System.Security.Cryptography.IncrementalHash.CreateHash(System.Security.Cryptography.HashAlgorithmName.MD5);
#pragma warning restore CA5351
            await using (var stream = await Store.OpenReadAsync(zone, "big/object.bin", Ct))
            {
                var buffer = new byte[81920];
                int n;
                while ((n = await stream.ReadAsync(buffer, Ct)) > 0)
                {
                    md5.AppendData(buffer, 0, n);
                    readBytes += n;
                }
            }

            read = Convert.ToHexStringLower(md5.GetHashAndReset());
            peakGrowth = probe.PeakGrowth;
        }

        Assert.Equal(size, readBytes);
        Assert.Equal(written, read);
        Assert.True(peakGrowth < size / 4, $"Managed heap grew by {peakGrowth:N0} bytes while streaming a {size:N0}-byte object: it must not be buffered whole.");
        Assert.True(await Store.DeleteAsync(zone, "big/object.bin", Ct));
    }

    protected static MemoryStream Text(string text) => new(Encoding.UTF8.GetBytes(text));

    protected async Task<string> ReadTextAsync(string zone, string key)
    {
        await using var stream = await Store.OpenReadAsync(zone, key, Ct);
        using var reader = new StreamReader(stream, Encoding.UTF8);
        return await reader.ReadToEndAsync(Ct);
    }
}
