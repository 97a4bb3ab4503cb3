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

    /// <summary>
    /// Property: the rounded product (the 64-bit fast path for common trades) is the exact BigInteger product rounded
    /// half-to-even, signs included, and keeps the scale (notional_usd is checked against it on both sides of the queue).
    /// </summary>
    [Fact]
    public void TryMultiplyRounded_AnySignedFactors_EqualsBigIntegerHalfEven()
    {
        var amounts = from mantissa in Gen.Choose(0, int.MaxValue).Select(i => (long)i * 4099)
                      from scale in Gen.Choose(0, 12)
                      from negative in Gen.Elements(false, true)
                      select new decimal((int)(mantissa & 0xFFFFFFFF), (int)(mantissa >> 32), 0, negative, (byte)scale);
        Prop.ForAll(amounts.ToArbitrary(), amounts.ToArbitrary(), Gen.Choose(0, 4).ToArbitrary(), (a, b, decimals) =>
        {
            var (ma, sa) = ExactDecimal.Decompose(a);
            var (mb, sb) = ExactDecimal.Decompose(b);
            var exact = ma * mb;
            var scale = sa + sb;
            if (scale > decimals)
            {
                var divisor = BigInteger.Pow(10, scale - decimals);
                var q = BigInteger.DivRem(BigInteger.Abs(exact), divisor, out var r);
                if (r * 2 > divisor || (r * 2 == divisor && !q.IsEven))
                {
                    q += 1;
                }

                exact = exact.Sign < 0 ? -q : q;
                scale = decimals;
            }

            Assert.True(ExactDecimal.TryMultiplyRounded(a, b, decimals, out var rounded));
            var (m, s) = ExactDecimal.Decompose(rounded);
            Assert.Equal(scale, s);
            Assert.Equal(exact, m);
            Assert.False(exact.IsZero && decimal.IsNegative(rounded));
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

    [Theory]
    [InlineData("0.0000001", "123456789012.1234567890", "12345.6789012123456789", 5, 16)]
    [InlineData("1.50", "2.0", "3", 1, 0)]
    [InlineData("0.001", "0.002", "0.000002", 0, 6)]
    [InlineData("-2.5", "4", "-10", 2, 0)]
    [InlineData("79228162514264337593543950335", "10", "792281625142643375935439503350", 30, 0)]
    public void ExactProduct_AnyFactors_PlainTextAndDigitCountsEvenBeyondDecimal(string a, string b, string product, int integerDigits, int fractionDigits)
    {
        var text = ExactDecimal.ExactProduct(Parse(a), Parse(b), out var i, out var f);

        Assert.Equal(product, text);
        Assert.Equal((integerDigits, fractionDigits), (i, f));
    }

    [Fact]
    public void TryMultiplyRounded_ProductBeyondDecimal_FalseInsteadOfOverflow()
    {
        Assert.False(ExactDecimal.TryMultiplyRounded(decimal.MaxValue, 2m, 2, out _));
        Assert.True(ExactDecimal.TryMultiplyRounded(12345.6789012123m, 1m, 2, out var usd));
        Assert.Equal(12345.68m, usd);
    }

    /// <summary>Property: Normalize keeps the value and leaves no trailing zero (the text every warehouse returns).</summary>
    [Fact]
    public void Normalize_AnyDecimal_SameValueSmallestScale()
    {
        Prop.ForAll<decimal>(d =>
        {
            var normal = Pipeline.Providers.Abstractions.WarehouseDomain.Normalize(d);
            Assert.Equal(d, normal);
            var text = normal.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(text.Contains('.', StringComparison.Ordinal) && text.EndsWith('0'), text);
        }).QuickCheckThrowOnFailure();
    }

    private static decimal Parse(string text) => decimal.Parse(text, System.Globalization.CultureInfo.InvariantCulture);
}
