using System.Buffers.Binary;
using System.IO.Compression;
using System.IO.Hashing;

namespace Pipeline.Functions.Transactions.Reading;

/// <summary>
/// Detects a truncated gzip file. GZipStream ends quietly when the compressed input runs out before a member's
/// end (zlib only checks a member's CRC-32/ISIZE trailer when it reaches it), so a file cut short reads as a
/// shorter file. This checks that the last 8 bytes of the file are the trailer of the decompressed data: CRC-32
/// and size of everything (one member), or of the last member (concatenated members: its size says where it starts).
/// </summary>
internal static class GzipIntegrity
{
    /// <summary>
    /// Decompresses the whole file once, passing the content to <paramref name="consume"/> (which may read any part
    /// of it: the rest is drained), then verifies the trailer; throws when the file is truncated.
    /// </summary>
    public static async Task CheckAsync(Func<CancellationToken, Task<Stream>> open, Func<Stream, Task>? consume, CancellationToken cancellationToken)
    {
        var tail = new TailObserver();
        var output = new CrcObserver();
        var raw = await open(cancellationToken).ConfigureAwait(false);
        var compressed = new ObservedStream(raw, tail.Observe);
        await using (var content = new ObservedStream(new GZipStream(compressed, CompressionMode.Decompress), output.Observe))
        {
            UnreadableFileException? syntax = null;
            try
            {
                if (consume is not null)
                {
                    await consume(content).ConfigureAwait(false);
                }
            }
            catch (UnreadableFileException ex)
            {
                // A cut-off JSON document fails its syntax check first; report the truncation when that is the cause.
                syntax = ex;
            }

            try
            {
                await content.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false);
                await compressed.CopyToAsync(Stream.Null, cancellationToken).ConfigureAwait(false); // bytes GZipStream left unread
            }
            catch (InvalidDataException ex)
            {
                throw new UnreadableFileException($"corrupt gzip data: {ex.Message}", null, output.Length, ex);
            }

            if (!tail.Matches(output.Length, output.Crc) && !await LastMemberMatchesAsync(open, tail, output.Length, cancellationToken).ConfigureAwait(false))
            {
                throw new UnreadableFileException(
                    $"truncated gzip file: the compressed data ends after {tail.Count} bytes without a complete gzip member (its CRC-32 and size trailer do not match the {output.Length} bytes decompressed)",
                    null,
                    output.Length,
                    syntax);
            }

            if (syntax is not null)
            {
                throw syntax;
            }
        }
    }

    /// <summary>Concatenated members: the trailer covers only the last member, which starts ISIZE (mod 2^32) bytes before the end.</summary>
    private static async Task<bool> LastMemberMatchesAsync(Func<CancellationToken, Task<Stream>> open, TailObserver tail, long total, CancellationToken cancellationToken)
    {
        if (tail.Count < 18)
        {
            return false;
        }

        var starts = new List<long>();
        for (var start = total - tail.Size; start > 0; start -= 1L << 32)
        {
            starts.Add(start);
        }

        if (starts.Count == 0)
        {
            return false;
        }

        var crcs = starts.Select(_ => new Crc32()).ToArray();
        var position = 0L;
        var buffer = new byte[81920];
        await using var content = new GZipStream(await open(cancellationToken).ConfigureAwait(false), CompressionMode.Decompress);
        int n;
        while ((n = await content.ReadAsync(buffer, cancellationToken).ConfigureAwait(false)) > 0)
        {
            for (var i = 0; i < starts.Count; i++)
            {
                var from = Math.Max(0, starts[i] - position);
                if (from < n)
                {
                    crcs[i].Append(buffer.AsSpan((int)from, n - (int)from));
                }
            }

            position += n;
        }

        return position == total && crcs.Any(c => c.GetCurrentHashAsUInt32() == tail.Crc);
    }

    /// <summary>Keeps the byte count and the last 8 bytes of what was read (the gzip trailer when complete).</summary>
    private sealed class TailObserver
    {
        private readonly byte[] last = new byte[8];

        public long Count { get; private set; }

        public uint Crc => BinaryPrimitives.ReadUInt32LittleEndian(last);

        public uint Size => BinaryPrimitives.ReadUInt32LittleEndian(last.AsSpan(4));

        public void Observe(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length >= 8)
            {
                bytes[^8..].CopyTo(last);
            }
            else
            {
                last.AsSpan(bytes.Length).CopyTo(last);
                bytes.CopyTo(last.AsSpan(8 - bytes.Length));
            }

            Count += bytes.Length;
        }

        /// <summary>18 bytes is the smallest gzip member (10 header + 2 empty deflate + 8 trailer); ISIZE is the size mod 2^32.</summary>
        public bool Matches(long length, uint crc) => Count >= 18 && Size == (uint)length && Crc == crc;
    }

    /// <summary>CRC-32 as in gzip (System.IO.Hashing: IEEE 802.3, reflected) and length of the decompressed content.</summary>
    private sealed class CrcObserver
    {
        private readonly Crc32 crc = new();

        public long Length { get; private set; }

        public uint Crc => crc.GetCurrentHashAsUInt32();

        public void Observe(ReadOnlySpan<byte> bytes)
        {
            crc.Append(bytes);
            Length += bytes.Length;
        }
    }

    /// <summary>A read-only pass-through that shows every chunk read to an observer.</summary>
    private sealed class ObservedStream(Stream inner, ObservedStream.Observer observe) : Stream
    {
        public delegate void Observer(ReadOnlySpan<byte> bytes);

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position
        {
            get => throw new NotSupportedException();
            set => throw new NotSupportedException();
        }

        public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

        public override int Read(Span<byte> buffer)
        {
            var n = inner.Read(buffer);
            observe(buffer[..n]);
            return n;
        }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            observe(buffer.Span[..n]);
            return n;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
