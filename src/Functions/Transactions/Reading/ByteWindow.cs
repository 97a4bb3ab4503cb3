using System.Buffers;

namespace Pipeline.Functions.Transactions.Reading;

/// <summary>A sliding window over a stream: holds the unconsumed bytes, tracks absolute byte offset and line.</summary>
internal sealed class ByteWindow : IDisposable
{
    private readonly Stream stream;
    private readonly int maxSize;
    private byte[] buffer;
    private int start;
    private int end;

    public ByteWindow(Stream stream, int initialSize = 256 * 1024, int maxSize = 16 * 1024 * 1024)
    {
        this.stream = stream;
        this.maxSize = maxSize;
        buffer = ArrayPool<byte>.Shared.Rent(initialSize);
    }

    /// <summary>0-based absolute offset of the first unconsumed byte.</summary>
    public long Offset { get; private set; }

    /// <summary>1-based line of the first unconsumed byte.</summary>
    public long Line { get; private set; } = 1;

    public bool EndOfStream { get; private set; }

    /// <summary>Changes whenever bytes already handed out may be overwritten (compaction, growth, disposal).</summary>
    public int Generation { get; private set; }

    public int Count => end - start;

    public ReadOnlySpan<byte> Span => buffer.AsSpan(start, end - start);

    public ReadOnlyMemory<byte> Memory => buffer.AsMemory(start, end - start);

    /// <summary>Reads more bytes (compacting, growing when full). False when the stream had nothing more.</summary>
    public async ValueTask<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (EndOfStream)
        {
            return false;
        }

        if (start > 0 && (end == buffer.Length || start > buffer.Length / 2))
        {
            Buffer.BlockCopy(buffer, start, buffer, 0, end - start);
            end -= start;
            start = 0;
            Generation++;
        }

        if (end == buffer.Length)
        {
            if (buffer.Length >= maxSize)
            {
                throw new UnreadableFileException($"a single record is larger than {maxSize / (1024 * 1024)} MB", Line, Offset);
            }

            var bigger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
            Buffer.BlockCopy(buffer, start, bigger, 0, end - start);
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = bigger;
            Generation++;
            end -= start;
            start = 0;
        }

        var read = await stream.ReadAsync(buffer.AsMemory(end), cancellationToken);
        if (read == 0)
        {
            EndOfStream = true;
            return false;
        }

        end += read;
        return true;
    }

    public void Advance(int count)
    {
        Line += System.MemoryExtensions.Count(buffer.AsSpan(start, count), (byte)'\n');
        Offset += count;
        start += count;
    }

    /// <summary>Skips JSON whitespace, reading more as needed. False at the end of the stream.</summary>
    public async ValueTask<bool> SkipWhitespaceAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            var span = Span;
            var i = 0;
            while (i < span.Length && span[i] is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n')
            {
                i++;
            }

            // A UTF-8 byte order mark at the very start is tolerated.
            if (Offset == 0 && i == 0 && span.Length >= 3 && span[0] == 0xEF && span[1] == 0xBB && span[2] == 0xBF)
            {
                Advance(3);
                continue;
            }

            Advance(i);
            if (Count > 0)
            {
                return true;
            }

            if (!await FillAsync(cancellationToken))
            {
                return false;
            }
        }
    }

    public void Dispose()
    {
        Generation++;
        ArrayPool<byte>.Shared.Return(buffer);
        buffer = [];
    }
}
