using System.Buffers;
using System.Security.Cryptography;

namespace Pipeline.Providers.Embedded.Internal;

internal static class Md5Copy
{
    private const int BufferSize = 128 * 1024;

    /// <summary>Copies <paramref name="source"/> to <paramref name="target"/> (if any) through one pooled buffer, hashing on the way.</summary>
    public static async Task<(string ETag, long Size)> CopyAsync(Stream source, Stream? target, CancellationToken cancellationToken)
    {
        // MD5 only because S3 ETags of single-part uploads are the content MD5: same ETag on disk and on S3.
#pragma warning disable CA5351
        using var md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
        var buffer = ArrayPool<byte>.Shared.Rent(BufferSize);
        long size = 0;
        try
        {
            int read;
            while ((read = await source.ReadAsync(buffer.AsMemory(0, BufferSize), cancellationToken).ConfigureAwait(false)) > 0)
            {
                md5.AppendData(buffer, 0, read);
                if (target is not null)
                {
                    await target.WriteAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                }

                size += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }

        return (Convert.ToHexStringLower(md5.GetHashAndReset()), size);
    }

    public static async Task<string> HashFileAsync(string path, CancellationToken cancellationToken)
    {
        var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, FileOptions.SequentialScan);
        await using (stream.ConfigureAwait(false))
        {
            return (await CopyAsync(stream, null, cancellationToken).ConfigureAwait(false)).ETag;
        }
    }
}
