using System.Diagnostics;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Telemetry;

/// <summary>Client spans for warehouse calls made inside a traced operation (an invocation).</summary>
internal sealed class TracedWarehouse(IWarehouse inner, string system) : IWarehouse
{
    public async Task EnsureTableAsync(TableDefinition table, CancellationToken cancellationToken = default)
    {
        using var activity = Start("CREATE TABLE", table.Name);
        try
        {
            await inner.EnsureTableAsync(table, cancellationToken);
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task<MergeResult> MergeAsync(IReadOnlyList<MergeBatch> batches, CancellationToken cancellationToken = default)
    {
        using var activity = Start("MERGE", () => string.Join(",", batches.Select(b => b.Table.Name).Distinct(StringComparer.Ordinal)));
        try
        {
            var result = await inner.MergeAsync(batches, cancellationToken);
            if (activity is { IsAllDataRequested: true })
            {
                activity.SetTag("db.response.returned_rows", result.Tables.Values.Sum(t => t.Written));
                activity.SetTag("pipeline.rows.received", result.Tables.Values.Sum(t => t.Received));
                activity.SetTag("pipeline.rows.skipped", result.Tables.Values.Sum(t => t.Skipped));
            }

            return result;
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    public async Task<QueryResult> QueryAsync(string sql, IReadOnlyDictionary<string, object?>? parameters = null, CancellationToken cancellationToken = default)
    {
        using var activity = Start("SELECT", (string?)null);
        try
        {
            var result = await inner.QueryAsync(sql, parameters, cancellationToken);
            activity?.SetTag("db.response.returned_rows", result.Rows.Count);
            return result;
        }
        catch (Exception ex)
        {
            Spans.Failed(activity, ex);
            throw;
        }
    }

    private Activity? Start(string operation, Func<string> collection)
    {
        var activity = Start(operation, (string?)null);
        if (activity is { IsAllDataRequested: true })
        {
            var name = collection();
            activity.SetTag("db.collection.name", name);
            activity.DisplayName = $"{operation} {name}";
        }

        return activity;
    }

    private Activity? Start(string operation, string? collection)
    {
        // Only inside a traced operation: the listeners' idle polling would otherwise fill the trace store.
        if (Activity.Current is null)
        {
            return null;
        }

        var activity = PipelineTelemetry.Source.StartActivity(collection is null ? operation : $"{operation} {collection}", ActivityKind.Client);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag("db.system.name", system);
            activity.SetTag("db.operation.name", operation);
            if (collection is not null)
            {
                activity.SetTag("db.collection.name", collection);
            }
        }

        return activity;
    }
}
