using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Domain;

public sealed class ExactDecimalTests
{
    [Theory]
    [InlineData("189.23", "189.23")]
    [InlineData("100", "100")]
    [InlineData("0.000000000000000000000000001", "0.000000000000000000000000001")]
    [InlineData("007.50", "7.50")]
    [InlineData("-2.5", "-2.5")]
    public void TryParse_PlainDecimal_ExactValueAndScale(string text, string expected)
    {
        Assert.True(ExactDecimal.TryParse(text, out var value, out _));
        Assert.Equal(expected, value.ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    [Theory]
    [InlineData("1.5e3", "exponent")]
    [InlineData("1E-2", "exponent")]
    [InlineData("1,5", "plain decimal")]
    [InlineData("+1", "plain decimal")]
    [InlineData(" 1", "plain decimal")]
    [InlineData(".5", "plain decimal")]
    [InlineData("5.", "plain decimal")]
    [InlineData("", "empty")]
    [InlineData("12345678901234567890123456789", "28 significant")]
    public void TryParse_NotPlain_RejectedWithReason(string text, string reason)
    {
        Assert.False(ExactDecimal.TryParse(text, out _, out var problem));
        Assert.Contains(reason, problem, StringComparison.Ordinal);
    }

    [Fact]
    public void TryMultiply_TooManyDigits_False() =>
        Assert.False(ExactDecimal.TryMultiply(1234567890.123456789m, 9876543210.987654321m, out _));

    [Theory]
    [InlineData("0.125", "1", "0.12")]
    [InlineData("0.135", "1", "0.14")]
    [InlineData("-0.125", "1", "-0.12")]
    [InlineData("18923.00", "1.0842", "20516.32")]
    [InlineData("2840000", "0.006456", "18335.04")]
    public void MultiplyRounded_Midpoints_RoundHalfToEven(string a, string b, string expected) =>
        Assert.Equal(decimal.Parse(expected, System.Globalization.CultureInfo.InvariantCulture), ExactDecimal.MultiplyRounded(
            decimal.Parse(a, System.Globalization.CultureInfo.InvariantCulture),
            decimal.Parse(b, System.Globalization.CultureInfo.InvariantCulture),
            2));

    /// <summary>Property: quantity × price equals the exact product of the mantissas, scales added.</summary>
    [Fact]
    public void TryMultiply_AnyQuantityAndPrice_EqualsExactBigIntegerProduct()
    {
        var amounts = from mantissa in Gen.Choose(1, int.MaxValue).Select(i => (long)i * 997)
                      from scale in Gen.Choose(0, 10)
                      select new decimal((int)(mantissa & 0xFFFFFFFF), (int)(mantissa >> 32), 0, false, (byte)scale);
        Prop.ForAll(amounts.ToArbitrary(), amounts.ToArbitrary(), (q, p) =>
        {
            Assert.True(ExactDecimal.TryMultiply(q, p, out var product));
            var (mq, sq) = ExactDecimal.Decompose(q);
            var (mp, sp) = ExactDecimal.Decompose(p);
            var (m, s) = ExactDecimal.Decompose(product);
            // product × 10^(sq+sp) == mq × mp × 10^s
            Assert.Equal(mq * mp * BigInteger.Pow(10, s), m * BigInteger.Pow(10, sq + sp));
        }).QuickCheckThrowOnFailure();
    }

    /// <summary>Property: a decimal written as text parses back to the same value and scale (no binary floating point).</summary>
    [Fact]
    public void TryParse_RoundTripOfAnyDecimal_SameValueAndScale()
    {
        Prop.ForAll<decimal>(d =>
        {
            var text = d.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.True(ExactDecimal.TryParse(text, out var back, out var problem), problem);
            Assert.Equal(text, back.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }).QuickCheckThrowOnFailure();
    }
}
