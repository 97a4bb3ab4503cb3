using System.Diagnostics;
using System.Runtime.CompilerServices;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Telemetry;

/// <summary>Client spans for object store calls made inside a traced operation (an invocation).</summary>
internal sealed class TracedObjectStore(IObjectStore inner, string system) : IObjectStore, IObjectReadWithInfo
{
    public async Task<ObjectRead?> OpenReadWithInfoAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        using var activity = Start("GetObject", zone, key);
        try
        {
            return await inner.OpenReadWithInfoAsync(zone, key, cancellationToken);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task<ObjectInfo> PutAsync(string zone, string key, Stream content, PutOptions? options = null, CancellationToken cancellationToken = default)
    {
        using var activity = Start("PutObject", zone, key);
        try
        {
            var info = await inner.PutAsync(zone, key, content, options, cancellationToken);
            activity?.SetTag("pipeline.object.size", info.Size);
            return info;
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task<Stream> OpenReadAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        // The span covers opening (the request), not the caller's reading of the stream.
        using var activity = Start("GetObject", zone, key);
        try
        {
            return await inner.OpenReadAsync(zone, key, cancellationToken);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task<ObjectInfo?> HeadAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        using var activity = Start("HeadObject", zone, key);
        try
        {
            return await inner.HeadAsync(zone, key, cancellationToken);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string zone, string prefix = "", [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        using var activity = Start("ListObjects", zone, null);
        activity?.SetTag("pipeline.object.prefix", prefix);
        var count = 0;
        await foreach (var info in inner.ListAsync(zone, prefix, cancellationToken))
        {
            count++;
            yield return info;
        }

        activity?.SetTag("pipeline.object.count", count);
    }

    public async Task<bool> DeleteAsync(string zone, string key, CancellationToken cancellationToken = default)
    {
        using var activity = Start("DeleteObject", zone, key);
        try
        {
            return await inner.DeleteAsync(zone, key, cancellationToken);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    private Activity? Start(string operation, string zone, string? key)
    {
        // Only inside a traced operation: the listeners' idle polling would otherwise fill the trace store.
        if (Activity.Current is null)
        {
            return null;
        }

        var activity = PipelineTelemetry.Source.StartActivity($"{system}.{operation}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            // S3 conventions (rpc.* and aws.s3.*); a zone stands for a bucket on every provider.
            activity.SetTag("rpc.system", system == "aws_s3" ? "aws-api" : system);
            activity.SetTag("rpc.service", system == "aws_s3" ? "S3" : "ObjectStore");
            activity.SetTag("rpc.method", operation);
            activity.SetTag("pipeline.zone", zone);
            activity.SetTag("aws.s3.bucket", zone);
            if (key is not null)
            {
                activity.SetTag("aws.s3.key", key);
            }
        }

        return activity;
    }
}
