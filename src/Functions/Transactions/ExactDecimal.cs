using System.Globalization;
using System.Numerics;

namespace Pipeline.Functions.Transactions;

/// <summary>Exact decimal parsing and arithmetic: no binary floating point, no silent rounding.</summary>
public static class ExactDecimal
{
    /// <summary>
    /// Parses a plain decimal ("123", "0.5", "-2.25") exactly. Exponent forms, thousands separators,
    /// leading '+', whitespace and more than 28 significant digits are rejected with a reason.
    /// </summary>
    public static bool TryParse(string text, out decimal value, out string? problem) =>
        TryParse(text is null ? default : text.AsSpan(), out value, out problem);

    /// <inheritdoc cref="TryParse(string, out decimal, out string?)"/>
    public static bool TryParse(ReadOnlySpan<char> text, out decimal value, out string? problem)
    {
        value = 0m;
        problem = null;
        if (text.IsEmpty)
        {
            problem = "a decimal number, got an empty value";
            return false;
        }

        var i = 0;
        if (text[0] == '-')
        {
            i = 1;
        }

        var digits = 0;
        var dot = false;
        var fractionDigits = 0;
        for (var p = i; p < text.Length; p++)
        {
            var c = text[p];
            if (c is >= '0' and <= '9')
            {
                digits++;
                if (dot)
                {
                    fractionDigits++;
                }
            }
            else if (c == '.' && !dot)
            {
                dot = true;
            }
            else if (c is 'e' or 'E')
            {
                problem = "a plain decimal without exponent notation (write 1500 instead of 1.5e3)";
                return false;
            }
            else
            {
                problem = "a plain decimal number (digits with an optional '.' fraction)";
                return false;
            }
        }

        if (digits == 0 || (dot && (fractionDigits == 0 || text[i] == '.')))
        {
            problem = "a plain decimal number (digits with an optional '.' fraction)";
            return false;
        }

        if (fractionDigits > 28 || digits - CountLeadingZeros(text, i) > 28)
        {
            problem = "at most 28 significant digits";
            return false;
        }

        if (!decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out value))
        {
            problem = "a decimal within ±79228162514264337593543950335";
            return false;
        }

        return true;
    }

    private static int CountLeadingZeros(ReadOnlySpan<char> text, int start)
    {
        var n = 0;
        for (var p = start; p < text.Length && (text[p] == '0' || text[p] == '.'); p++)
        {
            if (text[p] == '0')
            {
                n++;
            }
        }

        return n;
    }

    /// <summary>Multiplies exactly; false when the exact product does not fit a decimal (more than 28 digits or scale).</summary>
    public static bool TryMultiply(decimal a, decimal b, out decimal product)
    {
        // Fast path without BigInteger (the common trade: both mantissas within 64 bits, the product within 96).
        if (Small(a, out var ua, out var sa0, out var na) && Small(b, out var ub, out var sb0, out var nb))
        {
            var p = (UInt128)ua * ub;
            if (TryComposeSmall(p, sa0 + sb0, na != nb, out product))
            {
                return true;
            }
        }

        var (ma, sa) = Decompose(a);
        var (mb, sb) = Decompose(b);
        var m = ma * mb;
        var scale = sa + sb;
        return TryCompose(m, scale, out product);
    }

    /// <summary>
    /// The exact product as plain invariant text without trailing zeros ("12345.6789012123456789"), with the count
    /// of its integer digits (0 for 0.5) and fractional digits; computed even when the product fits no decimal.
    /// </summary>
    public static string ExactProduct(decimal a, decimal b, out int integerDigits, out int fractionDigits)
    {
        var (ma, sa) = Decompose(a);
        var (mb, sb) = Decompose(b);
        var m = ma * mb;
        var scale = sa + sb;
        while (scale > 0 && !m.IsZero && (m % 10).IsZero)
        {
            m /= 10;
            scale--;
        }

        if (m.IsZero)
        {
            integerDigits = 0;
            fractionDigits = 0;
            return "0";
        }

        var digits = BigInteger.Abs(m).ToString(CultureInfo.InvariantCulture);
        integerDigits = Math.Max(0, digits.Length - scale);
        fractionDigits = scale;
        var text = scale == 0
            ? digits
            : integerDigits == 0
                ? "0." + new string('0', scale - digits.Length) + digits
                : digits[..integerDigits] + "." + digits[integerDigits..];
        return m.Sign < 0 ? "-" + text : text;
    }

    /// <summary>
    /// The integer and fractional digit counts of the exact product, as <see cref="ExactProduct"/> gives them, without
    /// its text (no allocation when both mantissas fit 64 bits, the common trade).
    /// </summary>
    public static void ProductDigits(decimal a, decimal b, out int integerDigits, out int fractionDigits)
    {
        if (!Small(a, out var ua, out var sa, out _) || !Small(b, out var ub, out var sb, out _))
        {
            _ = ExactProduct(a, b, out integerDigits, out fractionDigits);
            return;
        }

        var m = (UInt128)ua * ub;
        var scale = sa + sb;
        if (m == UInt128.Zero)
        {
            integerDigits = 0;
            fractionDigits = 0;
            return;
        }

        while (scale > 0 && m % 10 == UInt128.Zero)
        {
            m /= 10;
            scale--;
        }

        var digits = 0;
        for (var rest = m; rest != UInt128.Zero; rest /= 10)
        {
            digits++;
        }

        integerDigits = Math.Max(0, digits - scale);
        fractionDigits = scale;
    }

    /// <summary>a × b, computed exactly, then rounded half-to-even to <paramref name="decimals"/> places.</summary>
    /// <exception cref="OverflowException">When the rounded product does not fit a decimal.</exception>
    public static decimal MultiplyRounded(decimal a, decimal b, int decimals) =>
        TryMultiplyRounded(a, b, decimals, out var result)
            ? result
            : throw new OverflowException($"The product {a} × {b} does not fit a decimal.");

    /// <summary>a × b, computed exactly, then rounded half-to-even to <paramref name="decimals"/> places; false when that does not fit a decimal.</summary>
    public static bool TryMultiplyRounded(decimal a, decimal b, int decimals, out decimal result)
    {
        // Fast path without BigInteger, the same half-to-even rounding on the magnitude (see the general path below).
        if (decimals >= 0 && Small(a, out var ua, out var sa0, out var na) && Small(b, out var ub, out var sb0, out var nb))
        {
            var p = (UInt128)ua * ub;
            var s = sa0 + sb0;
            if (s > decimals && s - decimals <= 38)
            {
                var divisor = Pow10(s - decimals);
                var q = UInt128.DivRem(p, divisor);
                var twice = q.Remainder * 2;
                if (twice > divisor || (twice == divisor && (q.Quotient & 1) == 1))
                {
                    q.Quotient++;
                }

                p = q.Quotient;
                s = decimals;
            }

            if (s <= decimals && TryComposeSmall(p, s, na != nb, out result))
            {
                return true;
            }
        }

        var (ma, sa) = Decompose(a);
        var (mb, sb) = Decompose(b);
        var m = ma * mb;
        var scale = sa + sb;
        if (scale > decimals)
        {
            var divisor = BigInteger.Pow(10, scale - decimals);
            var q = BigInteger.DivRem(m, divisor, out var r);
            var twice = BigInteger.Abs(r) * 2;
            var cmp = twice.CompareTo(divisor);
            if (cmp > 0 || (cmp == 0 && !q.IsEven))
            {
                q += m.Sign;
            }

            m = q;
            scale = decimals;
        }

        return TryCompose(m, scale, out result);
    }

    internal static (BigInteger Mantissa, int Scale) Decompose(decimal d)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(d, bits);
        var mantissa = new BigInteger((uint)bits[0]) | (new BigInteger((uint)bits[1]) << 32) | (new BigInteger((uint)bits[2]) << 64);
        if (bits[3] < 0)
        {
            mantissa = -mantissa;
        }

        return (mantissa, (bits[3] >> 16) & 0xFF);
    }

    private static readonly BigInteger MaxMantissa = (BigInteger.One << 96) - 1;

    private static readonly UInt128 MaxSmallMantissa = (UInt128.One << 96) - 1;

    /// <summary>The magnitude when it fits 64 bits, with scale and sign.</summary>
    private static bool Small(decimal d, out ulong magnitude, out int scale, out bool negative)
    {
        Span<int> bits = stackalloc int[4];
        decimal.GetBits(d, bits);
        magnitude = (uint)bits[0] | ((ulong)(uint)bits[1] << 32);
        scale = (bits[3] >> 16) & 0xFF;
        negative = bits[3] < 0;
        return bits[2] == 0;
    }

    private static UInt128 Pow10(int exponent)
    {
        UInt128 value = 1;
        for (var i = 0; i < exponent; i++)
        {
            value *= 10;
        }

        return value;
    }

    /// <summary>As <see cref="TryCompose"/> for a magnitude that fits as it is (false: take the general path).</summary>
    private static bool TryComposeSmall(UInt128 magnitude, int scale, bool negative, out decimal value)
    {
        if (scale > 28 || magnitude > MaxSmallMantissa)
        {
            value = 0m;
            return false;
        }

        var lo = (int)(uint)magnitude;
        var mid = (int)(uint)(magnitude >> 32);
        var hi = (int)(uint)(magnitude >> 64);
        value = new decimal(lo, mid, hi, negative && magnitude != UInt128.Zero, (byte)scale);
        return true;
    }

    private static bool TryCompose(BigInteger mantissa, int scale, out decimal value)
    {
        // Trim trailing zeros only when needed to fit.
        while ((scale > 28 || BigInteger.Abs(mantissa) > MaxMantissa) && scale > 0 && (mantissa % 10).IsZero)
        {
            mantissa /= 10;
            scale--;
        }

        var abs = BigInteger.Abs(mantissa);
        if (scale > 28 || abs > MaxMantissa)
        {
            value = 0m;
            return false;
        }

        var lo = (int)(uint)(abs & uint.MaxValue);
        var mid = (int)(uint)((abs >> 32) & uint.MaxValue);
        var hi = (int)(uint)((abs >> 64) & uint.MaxValue);
        value = new decimal(lo, mid, hi, mantissa.Sign < 0, (byte)scale);
        return true;
    }
}
