using Pipeline.Functions.Refine;

namespace Pipeline.Functions.Tests.Refine;

public sealed class RefineAggregatorTests
{
    private static readonly DateOnly Day = new(2026, 11, 20);

    private static RefineTrade T(string id, string side, decimal quantity, decimal notionalUsd, string lei = "L1", string account = "A1", string isin = "I1", DateOnly? date = null) =>
        new(id, date ?? Day, lei, "Name " + lei, account, isin, side, quantity, notionalUsd);

    [Fact]
    public void Add_BuysAndSells_GrossIsAbsoluteSumNetIsSigned()
    {
        var aggregator = new RefineAggregator(Day, Day);
        aggregator.Add(T("1", "BUY", 0.1m, 100.10m));
        aggregator.Add(T("2", "SELL", 0.2m, 0.20m));
        aggregator.Add(T("3", "SELL", 0.3m, 33.333m));

        var day = Assert.Single(aggregator.Days());
        var e = Assert.Single(day.Exposures);
        Assert.Equal((3L, 1L, 2L), (e.TradeCount, e.BuyCount, e.SellCount));
        Assert.Equal(133.633m, e.GrossNotionalUsd);
        Assert.Equal(66.567m, e.NetNotionalUsd);
        var p = Assert.Single(day.Positions);
        Assert.Equal(-0.4m, p.NetQuantity);
        Assert.Equal("-0.4", p.NetQuantity.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Days_TradesBeforeFirstDay_OpenPositionOnlyAndClosedPositionDropsAfterItsDay()
    {
        var aggregator = new RefineAggregator(Day, Day.AddDays(2));
        aggregator.Add(T("0", "BUY", 5m, 50m, date: Day.AddDays(-3)));
        aggregator.Add(T("1", "SELL", 5m, 50m, date: Day.AddDays(1)));
        aggregator.Add(T("9", "BUY", 1m, 1m, date: Day.AddDays(9))); // after the range: ignored

        var days = aggregator.Days().ToList();

        Assert.Equal(3, days.Count);
        Assert.All(days, d => Assert.True(d.Day == Day.AddDays(1) ? d.Exposures.Count == 1 : d.Exposures.Count == 0));
        Assert.Equal(new Position(Day, "A1", "I1", 5m, 0m, 0), Assert.Single(days[0].Positions));
        Assert.Equal(new Position(Day.AddDays(1), "A1", "I1", 0m, -5m, 1), Assert.Single(days[1].Positions));
        Assert.Empty(days[2].Positions);
        Assert.Equal(2, aggregator.TradesSeen);
    }

    [Fact]
    public void Add_UnknownSide_ThrowsNamingTheTransaction()
    {
        var aggregator = new RefineAggregator(Day, Day);
        var ex = Assert.Throws<InvalidOperationException>(() => aggregator.Add(T("TX-9", "HOLD", 1m, 1m)));
        Assert.Contains("TX-9", ex.Message, StringComparison.Ordinal);
    }
}
