using System.Security.Cryptography;

namespace Pipeline.Conformance;

/// <summary>A read-only stream of <paramref name="length"/> deterministic pseudo-random bytes, generated on the fly (never held).</summary>
public sealed class GeneratedStream(long length, ulong seed = 0x9E3779B97F4A7C15) : Stream
{
#pragma warning disable CA5351 // MD5 only fingerprints test content
    private readonly IncrementalHash md5 = IncrementalHash.CreateHash(HashAlgorithmName.MD5);
#pragma warning restore CA5351
    private ulong state = seed;
    private long position;

    /// <summary>MD5 hex of everything produced so far (the whole content once fully read).</summary>
    public string Md5Hex => Convert.ToHexStringLower(md5.GetCurrentHash());

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => length;

    public override long Position { get => position; set => throw new NotSupportedException(); }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override int Read(Span<byte> buffer)
    {
        var n = (int)Math.Min(buffer.Length, length - position);
        for (var i = 0; i < n; i++)
        {
            // xorshift64: cheap and deterministic.
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buffer[i] = (byte)state;
        }

        md5.AppendData(buffer[..n]);
        position += n;
        return n;
    }

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => Task.FromResult(Read(buffer, offset, count));

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
            md5.Dispose();
        }

        base.Dispose(disposing);
    }
}

/// <summary>
/// Samples the LIVE managed heap in the background and keeps the peak: each sample follows a blocking full
/// collection. <c>GC.GetTotalMemory(false)</c> alone also counts garbage not yet collected (the GC's budgets,
/// machine-dependent) and the garbage of tests running in parallel: measured +52–64 MB for an S3 put whose live
/// working set was 18 MB. A provider that buffers the whole object still shows it (measured +201 MB for 100 MiB).
/// The heap is process-wide: run a suite using it in a collection without parallelization when other tests of
/// its assembly hold large buffers.
/// </summary>
public sealed class ManagedMemoryProbe : IAsyncDisposable
{
    private readonly CancellationTokenSource stop = new();
    private readonly Task sampler;
    private long peak;

    public ManagedMemoryProbe()
    {
        Baseline = GC.GetTotalMemory(forceFullCollection: true);
        peak = Baseline;
        sampler = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                GC.Collect(2, GCCollectionMode.Forced, blocking: true);
                var now = GC.GetTotalMemory(false);
                if (now > Interlocked.Read(ref peak))
                {
                    Interlocked.Exchange(ref peak, now);
                }

                await Task.Delay(25).ConfigureAwait(false);
            }
        });
    }

    public long Baseline { get; }

    public long PeakGrowth => Interlocked.Read(ref peak) - Baseline;

    public async ValueTask DisposeAsync()
    {
        await stop.CancelAsync().ConfigureAwait(false);
        await sampler.ConfigureAwait(false);
        stop.Dispose();
    }
}
