namespace Pipeline.Providers.Abstractions;

/// <summary>
/// The one value domain every <see cref="IWarehouse"/> stores exactly and reads back identically.
/// Decimals: numeric(38,10) — at most 28 integer digits and 10 fractional digits (trailing zeros do not count);
/// PostgreSQL and Redshift would round a finer value and overflow a larger one, so every provider rejects both.
/// Values are read back at their smallest scale (1.5000000000 → 1.5), so the same value prints the same text on
/// every provider. Text: no NUL (PostgreSQL and Redshift cannot store it) and no unpaired UTF-16 surrogate (it has
/// no UTF-8 form). Stricter rules (e.g. no control characters at all) belong to the pipeline's validation.
/// </summary>
public static class WarehouseDomain
{
    public const int DecimalPrecision = 38;

    public const int DecimalScale = 10;

    public const int DecimalIntegerDigits = DecimalPrecision - DecimalScale;

    /// <summary>What a decimal must be, for error messages and quarantine reasons.</summary>
    public const string DecimalExpectation = "at most 10 fractional digits and 28 integer digits (numeric(38,10))";

    /// <summary>10^28: the smallest magnitude with 29 integer digits.</summary>
    private static readonly decimal IntegerLimit = 10_000_000_000_000_000_000_000_000_000m;

    /// <summary>True when <paramref name="value"/> fits numeric(38,10) exactly.</summary>
    public static bool IsExactDecimal(decimal value) => DecimalProblem(value) is null;

    /// <summary>Null when the value fits, else what is wrong ("17 fractional digits", "29 integer digits").</summary>
    public static string? DecimalProblem(decimal value)
    {
        if (value.Scale <= DecimalScale && Math.Abs(value) < IntegerLimit)
        {
            return null; // the common case, without normalizing
        }

        var normal = Normalize(value);
        if (normal.Scale > DecimalScale)
        {
            return $"{normal.Scale} fractional digits";
        }

        if (Math.Abs(value) >= IntegerLimit)
        {
            var integerDigits = decimal.Truncate(Math.Abs(value)).ToString(System.Globalization.CultureInfo.InvariantCulture).Length;
            return $"{integerDigits} integer digits";
        }

        return null;
    }

    /// <summary>The same value at its smallest scale (1.50m → 1.5m, 0.000m → 0m), exactly.</summary>
    public static decimal Normalize(decimal value)
    {
        var scale = value.Scale;
        if (scale == 0)
        {
            return value;
        }

        Span<int> bits = stackalloc int[4];
        decimal.GetBits(value, bits);
        var mantissa = ((UInt128)(uint)bits[2] << 64) | ((UInt128)(uint)bits[1] << 32) | (uint)bits[0];
        if (mantissa == 0)
        {
            return 0m;
        }

        while (scale > 0 && mantissa % 10 == 0)
        {
            mantissa /= 10;
            scale--;
        }

        return new decimal((int)(uint)mantissa, (int)(uint)(mantissa >> 32), (int)(uint)(mantissa >> 64), value < 0, (byte)scale);
    }

    /// <summary>
    /// Null when every warehouse stores a value of <paramref name="type"/> exactly, else the reason with the limit
    /// ("17 fractional digits; expected at most 10 fractional digits and 28 integer digits (numeric(38,10))").
    /// Values of other types (or mistyped) pass here; the providers' type checks report those.
    /// </summary>
    public static string? ValueProblem(ColumnType type, object? value) => (type, value) switch
    {
        (ColumnType.Decimal, decimal d) when DecimalProblem(d) is { } problem => $"{problem}; expected {DecimalExpectation}",
        (ColumnType.Text, string s) when TextProblem(s) is { } problem => $"{problem}; expected text without NUL, valid UTF-16",
        _ => null,
    };

    /// <summary>Null when every warehouse can store <paramref name="text"/> exactly, else what is wrong.</summary>
    public static string? TextProblem(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0')
            {
                return $"a NUL character at position {i}";
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"an unpaired UTF-16 surrogate U+{(int)c:X4} at position {i}";
            }
        }

        return null;
    }
}
