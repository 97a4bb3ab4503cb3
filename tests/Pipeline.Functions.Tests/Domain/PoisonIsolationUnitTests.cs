using Pipeline.Functions.Functions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.Domain;

/// <summary>The bisection itself, with a merge that refuses given items (the warehouse cases are in PoisonIsolationTests).</summary>
public sealed class PoisonIsolationUnitTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(IReadOnlyList<int> Refused, int Merges, List<int> Merged)> RunAsync(int count, params int[] bad)
    {
        var merges = 0;
        var merged = new List<int>();
        var refused = await PoisonIsolation.MergeAsync(Enumerable.Range(0, count).ToList(), (items, _) =>
        {
            merges++;
            if (items.Any(bad.Contains))
            {
                throw new WarehouseRejectedException($"refused {string.Join(",", items.Where(bad.Contains))}");
            }

            merged.AddRange(items);
            return Task.CompletedTask;
        }, Ct);
        return (refused.Select(r => r.Item).ToList(), merges, merged);
    }

    [Fact]
    public async Task MergeAsync_NothingRefused_OneMerge()
    {
        var (refused, merges, merged) = await RunAsync(10);
        Assert.Empty(refused);
        Assert.Equal(1, merges);
        Assert.Equal(10, merged.Count);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(6)]
    [InlineData(9)]
    public async Task MergeAsync_OneCulpritOfTen_IsolatedInAtMostNineMergesOthersMerged(int culprit)
    {
        var (refused, merges, merged) = await RunAsync(10, culprit);
        Assert.Equal([culprit], refused);
        Assert.InRange(merges, 1, 9);
        Assert.Equal(Enumerable.Range(0, 10).Where(i => i != culprit), merged.Order());
    }

    [Fact]
    public async Task MergeAsync_AllRefused_EachFailsWithItsOwnError()
    {
        var (refused, merges, merged) = await RunAsync(4, 0, 1, 2, 3);
        Assert.Equal([0, 1, 2, 3], refused);
        Assert.Equal(7, merges);
        Assert.Empty(merged);
    }

    [Fact]
    public async Task MergeAsync_OtherWarehouseError_EscapesWithoutSplitting()
    {
        var merges = 0;
        await Assert.ThrowsAsync<WarehouseException>(() => PoisonIsolation.MergeAsync(Enumerable.Range(0, 10).ToList(), (_, _) =>
        {
            merges++;
            throw new WarehouseException("connection lost");
        }, Ct));
        Assert.Equal(1, merges);
    }
}
