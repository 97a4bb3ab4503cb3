using System.Buffers;
using System.Net;
using System.Runtime.CompilerServices;
using Amazon.S3;
using Amazon.S3.Model;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Aws.S3;

/// <summary>
/// <see cref="IObjectStore"/> on S3. Zones map to buckets (Aws:Buckets). Uploads stream: a body smaller than
/// the multipart threshold goes in one PutObject; a larger one in parts of Aws:MultipartPartSizeBytes. Memory stays
/// at one pooled staging buffer (the threshold rounded up to whole parts) whatever the object size: parts are views
/// over it, never copies. Put-if-absent is S3's conditional write (If-None-Match: *). A put costs its upload requests
/// only: the result comes from the PUT (or CompleteMultipartUpload) response, never from a HEAD afterwards, so a writer
/// needs s3:PutObject and nothing else.
/// </summary>
internal sealed class S3ObjectStore : IObjectStore, IObjectReadWithInfo
{
    /// <summary>First read of every put: bodies smaller than this never rent a part-sized buffer.</summary>
    private const int SmallBufferBytes = 1 << 20;

    private readonly IAmazonS3 _s3;
    private readonly AwsOptions _options;

    public S3ObjectStore(IAmazonS3 s3, AwsOptions options)
    {
        _s3 = s3;
        _options = options;
    }

    public async Task<ObjectInfo> PutAsync(string zone, string key, Stream content, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        ObjectKeys.Validate(key);
        options ??= new PutOptions();
        var bucket = _options.BucketFor(zone);

        // A small first read decides most puts without touching a part-sized buffer; only a body that outgrows it
        // rents the staging buffer (pooled: a stream of large puts reuses the same arrays).
        var threshold = _options.MultipartThresholdBytes;
        var smallSize = (int)Math.Min(threshold, SmallBufferBytes);
        var small = ArrayPool<byte>.Shared.Rent(smallSize);
        byte[]? staging = null;
        string etag;
        long size;
        try
        {
            var smallLength = await FillAsync(content, small.AsMemory(0, smallSize), cancellationToken).ConfigureAwait(false);
            if (smallLength < smallSize)
            {
                etag = await PutSingleAsync(bucket, key, small, smallLength, options, cancellationToken).ConfigureAwait(false);
                size = smallLength;
            }
            else
            {
                var stagingLength = StagingBytes(threshold, _options.MultipartPartSizeBytes);
                staging = ArrayPool<byte>.Shared.Rent(stagingLength);
                small.AsSpan(0, smallLength).CopyTo(staging);
                var length = smallLength + await FillAsync(content, staging.AsMemory(smallLength, stagingLength - smallLength), cancellationToken).ConfigureAwait(false);
                if (length < stagingLength && length < threshold)
                {
                    etag = await PutSingleAsync(bucket, key, staging, length, options, cancellationToken).ConfigureAwait(false);
                    size = length;
                }
                else
                {
                    (etag, size) = await MultipartAsync(bucket, key, staging, stagingLength, length, content, options, cancellationToken).ConfigureAwait(false);
                }
            }
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed || e.ErrorCode is "PreconditionFailed" or "ConditionalRequestConflict")
        {
            throw new ObjectAlreadyExistsException(zone, key, e);
        }
        catch (AmazonS3Exception e)
        {
            throw Translate(e, zone, key, "write");
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(small);
            if (staging is not null)
            {
                ArrayPool<byte>.Shared.Return(staging);
            }
        }

        // S3 is strongly consistent and the PUT answer carries the ETag; the store knows the size, type and metadata it
        // sent. Last-modified is the time of the answer (S3 keeps its own to the second; a HEAD returns that one).
        return new ObjectInfo(zone, key, size, Unquote(etag), DateTimeOffset.UtcNow, options.ContentType, new Dictionary<string, string>(options.Metadata, StringComparer.Ordinal));
    }

    public async Task<Stream> OpenReadAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        try
        {
            var response = await _s3.GetObjectAsync(_options.BucketFor(zone), key, cancellationToken).ConfigureAwait(false);
            return new ResponseStream(response);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            throw new ObjectNotFoundException(zone, key, e);
        }
        catch (AmazonS3Exception e)
        {
            throw Translate(e, zone, key, "read");
        }
    }

    /// <summary>One GET: the answer's headers carry what a HEAD would (ETag, size, last-modified, type, metadata).</summary>
    public async Task<ObjectRead?> OpenReadWithInfoAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        GetObjectResponse response;
        try
        {
            response = await _s3.GetObjectAsync(_options.BucketFor(zone), key, cancellationToken).ConfigureAwait(false);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
        catch (AmazonS3Exception e)
        {
            throw Translate(e, zone, key, "read");
        }

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in response.Metadata.Keys)
        {
            metadata[StripMetaPrefix(name)] = response.Metadata[name];
        }

        var info = new ObjectInfo(zone, key, response.ContentLength, Unquote(response.ETag), ToOffset(response.LastModified), response.Headers.ContentType ?? "application/octet-stream", metadata);
        return new ObjectRead(new ResponseStream(response), info);
    }

    public async Task<ObjectInfo?> HeadAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        ObjectKeys.Validate(key);
        var bucket = _options.BucketFor(zone);
        try
        {
            var head = await _s3.GetObjectMetadataAsync(bucket, key, cancellationToken).ConfigureAwait(false);
            var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var name in head.Metadata.Keys)
            {
                metadata[StripMetaPrefix(name)] = head.Metadata[name];
            }

            return new ObjectInfo(zone, key, head.ContentLength, Unquote(head.ETag), ToOffset(head.LastModified), head.Headers.ContentType ?? "application/octet-stream", metadata);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound && e.ErrorCode != "NoSuchBucket")
        {
            return null;
        }
        catch (AmazonS3Exception e)
        {
            throw Translate(e, zone, key, "read the metadata of");
        }
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string zone, string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var request = new ListObjectsV2Request { BucketName = _options.BucketFor(zone), Prefix = prefix ?? string.Empty };
        while (true)
        {
            ListObjectsV2Response page;
            try
            {
                page = await _s3.ListObjectsV2Async(request, cancellationToken).ConfigureAwait(false);
            }
            catch (AmazonS3Exception e)
            {
                throw Translate(e, zone, prefix ?? string.Empty, "list");
            }

            // S3 lists in UTF-8 byte order (= ordinal for the keys we allow); the listing has no content
            // type or metadata: HeadAsync gives those (one call per object is left to callers that need it).
            foreach (var o in page.S3Objects ?? [])
            {
                yield return new ObjectInfo(zone, o.Key, o.Size ?? 0, Unquote(o.ETag), ToOffset(o.LastModified), string.Empty, new Dictionary<string, string>());
            }

            if (page.IsTruncated != true || string.IsNullOrEmpty(page.NextContinuationToken))
            {
                yield break;
            }

            request.ContinuationToken = page.NextContinuationToken;
        }
    }

    public async Task<bool> DeleteAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        // S3 DELETE answers 204 whether or not the object existed: HEAD first to report absence.
        if (await HeadAsync(zone, key, cancellationToken).ConfigureAwait(false) is null)
        {
            return false;
        }

        try
        {
            await _s3.DeleteObjectAsync(_options.BucketFor(zone), key, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (AmazonS3Exception e)
        {
            throw Translate(e, zone, key, "delete");
        }
    }

    /// <returns>The ETag S3 answered.</returns>
    private async Task<string> PutSingleAsync(string bucket, string key, byte[] buffer, int length, PutOptions options, CancellationToken cancellationToken)
    {
        var request = new PutObjectRequest
        {
            BucketName = bucket,
            Key = key,
            // A view over the pooled bytes: seekable with a known length, so the SDK sends it without copying. It is
            // in memory already, so the payload is signed whole (one hash pass) instead of aws-chunked, whose
            // per-chunk wrapper allocates about 0.7 MB per 8 MiB part (measured).
            InputStream = new MemoryStream(buffer, 0, length, writable: false),
            ContentType = options.ContentType,
            AutoCloseStream = true,
            UseChunkEncoding = false,
        };
        AddMetadata(request.Metadata, options.Metadata);
        if (options.IfNoneMatch)
        {
            request.IfNoneMatch = "*";
        }

        var response = await _s3.PutObjectAsync(request, cancellationToken).ConfigureAwait(false);
        return response.ETag ?? throw new ObjectStoreException($"S3 answered the PUT of '{key}' in bucket '{bucket}' without an ETag.");
    }

    /// <summary>
    /// Uploads the <paramref name="filled"/> bytes already in <paramref name="staging"/>, then refills it from
    /// <paramref name="rest"/> until the end. The staging length is a multiple of the part size, so every part
    /// but the last is exactly the part size and each part is a view over the same buffer (no copies). Returns the completed object's ETag and size.
    /// </summary>
    private async Task<(string ETag, long Size)> MultipartAsync(string bucket, string key, byte[] staging, int stagingLength, int filled, Stream rest, PutOptions options, CancellationToken cancellationToken)
    {
        var initiate = new InitiateMultipartUploadRequest { BucketName = bucket, Key = key, ContentType = options.ContentType };
        AddMetadata(initiate.Metadata, options.Metadata);
        var upload = await _s3.InitiateMultipartUploadAsync(initiate, cancellationToken).ConfigureAwait(false);
        var parts = new List<PartETag>();
        long total = 0;
        try
        {
            var partSize = (int)_options.MultipartPartSizeBytes;
            var length = filled;
            while (length > 0)
            {
                for (var offset = 0; offset < length; offset += partSize)
                {
                    var size = Math.Min(partSize, length - offset);
                    var response = await _s3.UploadPartAsync(
                        new UploadPartRequest
                        {
                            BucketName = bucket,
                            Key = key,
                            UploadId = upload.UploadId,
                            PartNumber = parts.Count + 1,
                            InputStream = new MemoryStream(staging, offset, size, writable: false),
                            PartSize = size,
                            UseChunkEncoding = false,
                        },
                        cancellationToken).ConfigureAwait(false);
                    parts.Add(new PartETag(parts.Count + 1, response.ETag));
                    total += size;
                }

                // A short fill means the stream ended: that was the last (possibly short) part.
                length = length < stagingLength ? 0 : await FillAsync(rest, staging.AsMemory(0, stagingLength), cancellationToken).ConfigureAwait(false);
            }

            var complete = new CompleteMultipartUploadRequest { BucketName = bucket, Key = key, UploadId = upload.UploadId, PartETags = parts };
            if (options.IfNoneMatch)
            {
                complete.IfNoneMatch = "*";
            }

            var completed = await _s3.CompleteMultipartUploadAsync(complete, cancellationToken).ConfigureAwait(false);
            return (completed.ETag ?? throw new ObjectStoreException($"S3 completed the multipart upload of '{key}' in bucket '{bucket}' without an ETag."), total);
        }
        catch
        {
            // Abort so the parts stop costing storage; the original error is rethrown.
            await _s3.AbortMultipartUploadAsync(bucket, key, upload.UploadId, CancellationToken.None).ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>Reads until <paramref name="buffer"/> is full or the stream ends; returns the bytes read.</summary>
    private static async Task<int> FillAsync(Stream content, Memory<byte> buffer, CancellationToken cancellationToken)
    {
        var length = 0;
        while (length < buffer.Length)
        {
            var n = await content.ReadAsync(buffer[length..], cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                break;
            }

            length += n;
        }

        return length;
    }

    /// <summary>The threshold rounded up to whole parts: enough to decide single-put vs multipart, and parts cut evenly.</summary>
    private static int StagingBytes(long threshold, long partSize)
    {
        var parts = Math.Max(1, (threshold + partSize - 1) / partSize);
        var bytes = parts * partSize;
        return bytes <= Array.MaxLength
            ? (int)bytes
            : throw new InvalidOperationException($"Settings 'Aws:MultipartThresholdBytes' ({threshold}) and 'Aws:MultipartPartSizeBytes' ({partSize}) need a {bytes}-byte buffer: keep both under 1 GiB.");
    }

    private static void AddMetadata(MetadataCollection target, IReadOnlyDictionary<string, string> metadata)
    {
        foreach (var (name, value) in metadata)
        {
            target[name] = value;
        }
    }

    private ObjectStoreException Translate(AmazonS3Exception e, string zone, string key, string action) => e.ErrorCode switch
    {
        "NoSuchBucket" => new ObjectStoreException($"Bucket '{_options.BucketFor(zone)}' of zone '{zone}' does not exist: create it (local/emulators.sh, the deployment template) or fix Aws:Buckets:{zone}.", e),
        "AccessDenied" => new ObjectStoreException($"Access denied to {action} '{key}' in bucket '{_options.BucketFor(zone)}': grant the s3 action to the role/user in use.", e),
        _ => new ObjectStoreException($"S3 could not {action} '{key}' in bucket '{_options.BucketFor(zone)}' (zone '{zone}'): {e.ErrorCode} {e.Message}", e),
    };

    private static string StripMetaPrefix(string name) =>
        name.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? name["x-amz-meta-".Length..] : name;

    private static string Unquote(string? etag) => (etag ?? string.Empty).Trim('"');

    private static DateTimeOffset ToOffset(DateTime? value) =>
        value is { } v ? new DateTimeOffset(v.ToUniversalTime(), TimeSpan.Zero) : DateTimeOffset.MinValue;

    /// <summary>The body stream; disposing it disposes the S3 response (returns the connection).</summary>
    private sealed class ResponseStream(GetObjectResponse response) : Stream
    {
        private readonly Stream _inner = response.ResponseStream;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => response.ContentLength;

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => _inner.Read(buffer, offset, count);

        public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) => _inner.ReadAsync(buffer, cancellationToken);

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => _inner.ReadAsync(buffer, offset, count, cancellationToken);

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
                _inner.Dispose();
                response.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
