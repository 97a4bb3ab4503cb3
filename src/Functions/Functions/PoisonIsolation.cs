using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Functions;

/// <summary>
/// Merges the work of several messages in one warehouse call and, when the warehouse refuses the rows
/// (<see cref="WarehouseRejectedException"/>), narrows the refusal down to the messages that cause it: the items are
/// split in halves and each half merged on its own, recursively, so the good ones load and each culprit is returned with
/// the warehouse's error. Any other error (connection lost, cancellation, a warehouse error that says nothing about the
/// rows) escapes and fails the whole call, as transient errors must. Merges are idempotent, so re-merging a half that
/// was part of a refused call writes nothing twice. One culprit among n items costs about 2·log2(n) extra merges.
/// </summary>
public static class PoisonIsolation
{
    /// <summary>The items the warehouse refused, each with its error; empty when everything merged.</summary>
    public static async Task<IReadOnlyList<(T Item, WarehouseRejectedException Error)>> MergeAsync<T>(
        IReadOnlyList<T> items,
        Func<IReadOnlyList<T>, CancellationToken, Task> merge,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(items);
        ArgumentNullException.ThrowIfNull(merge);
        var rejected = new List<(T, WarehouseRejectedException)>();
        if (items.Count > 0)
        {
            await MergeOrSplitAsync(items, merge, rejected, cancellationToken);
        }

        return rejected;
    }

    private static async Task MergeOrSplitAsync<T>(
        IReadOnlyList<T> items,
        Func<IReadOnlyList<T>, CancellationToken, Task> merge,
        List<(T, WarehouseRejectedException)> rejected,
        CancellationToken cancellationToken)
    {
        try
        {
            await merge(items, cancellationToken);
        }
        catch (WarehouseRejectedException ex) when (items.Count == 1)
        {
            rejected.Add((items[0], ex));
        }
        catch (WarehouseRejectedException)
        {
            var half = items.Count / 2;
            await MergeOrSplitAsync(items.Take(half).ToList(), merge, rejected, cancellationToken);
            await MergeOrSplitAsync(items.Skip(half).ToList(), merge, rejected, cancellationToken);
        }
    }
}
