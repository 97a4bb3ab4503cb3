using System.Globalization;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Internal;

/// <summary>
/// How warehouse values are stored in SQLite and read back (exact decimals as canonical TEXT, never REAL). Decimals
/// read back at their smallest scale, as the PostgreSQL and Redshift providers return them (see WarehouseDomain).
/// </summary>
internal static class WarehouseValues
{
    // Declared types carry the logical type so query results map back (SQLite reports declared types of result columns).
    // Each contains "TEXT"/"INT" for the intended SQLite affinity; none contains "INT" by accident.
    public static string DeclaredType(ColumnType type) => type switch
    {
        ColumnType.Text => "TEXT",
        ColumnType.Integer => "INTEGER",
        ColumnType.Decimal => "DECIMAL_TEXT",
        ColumnType.Boolean => "BOOLEAN",
        ColumnType.Date => "DATE_TEXT",
        ColumnType.Timestamp => "TIMESTAMP_TEXT",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Unknown column type."),
    };

    /// <summary>The stored form of <paramref name="value"/> for a column of <paramref name="type"/>, or null when it does not fit.</summary>
    public static object? ToStored(ColumnType type, object value) => (type, value) switch
    {
        (ColumnType.Text, string s) => s,
        (ColumnType.Integer, long l) => l,
        (ColumnType.Integer, int i) => (long)i,
        (ColumnType.Integer, short s) => (long)s,
        (ColumnType.Decimal, decimal d) => Canonical(d),
        (ColumnType.Decimal, long l) => l.ToString(CultureInfo.InvariantCulture),
        (ColumnType.Decimal, int i) => i.ToString(CultureInfo.InvariantCulture),
        (ColumnType.Boolean, bool b) => b ? 1L : 0L,
        (ColumnType.Date, DateOnly d) => Date(d),
        (ColumnType.Timestamp, DateTimeOffset t) => Timestamp(t),
        (ColumnType.Timestamp, DateTime t) when t.Kind == DateTimeKind.Utc => Timestamp(new DateTimeOffset(t)),
        _ => null,
    };

    /// <summary>Parameter form for query parameters (same encoding as stored values).</summary>
    public static object ToParameter(object? value) => value switch
    {
        null => DBNull.Value,
        decimal d => Canonical(d),
        bool b => b ? 1L : 0L,
        DateOnly d => Date(d),
        DateTimeOffset t => Timestamp(t),
        DateTime t => Timestamp(new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t)),
        int i => (long)i,
        _ => value,
    };

    /// <param name="declaredType">The declared type in upper case (as <see cref="DeclaredType"/> writes it).</param>
    public static object? FromStored(string declaredType, object? value)
    {
        if (value is null or DBNull)
        {
            return null;
        }

        return declaredType switch
        {
            "DECIMAL_TEXT" when value is string s => WarehouseDomain.Normalize(decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture)),
            "DATE_TEXT" when value is string s => DateOnly.ParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture),
            "TIMESTAMP_TEXT" when value is string s => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
            "BOOLEAN" when value is long l => l != 0,
            _ => value,
        };
    }

    /// <summary>Invariant text without trailing zeros: 1.50m and 1.5m store as "1.5"; never an exponent.</summary>
    public static string Canonical(decimal value)
    {
        if (value == 0m)
        {
            return "0";
        }

        // Formatted into a stack buffer and trimmed there: one allocation per value (merges encode millions).
        Span<char> buffer = stackalloc char[MaxCanonicalLength];
        return new string(buffer[..Canonical(value, buffer)]);
    }

    /// <summary>The longest <see cref="Canonical(decimal)"/> text (a sign, 29 digits and a point fit with room to spare).</summary>
    public const int MaxCanonicalLength = 64;

    /// <summary><see cref="Canonical(decimal)"/> written into <paramref name="destination"/> (at least <see cref="MaxCanonicalLength"/>); returns its length.</summary>
    public static int Canonical(decimal value, Span<char> destination)
    {
        if (value == 0m)
        {
            destination[0] = '0';
            return 1;
        }

        if (!value.TryFormat(destination, out var length, default, CultureInfo.InvariantCulture))
        {
            var slow = CanonicalSlow(value);
            slow.CopyTo(destination);
            return slow.Length;
        }

        var text = destination[..length];
        if (text.Contains('.'))
        {
            text = text.TrimEnd('0').TrimEnd('.');
        }

        return text.Length;
    }

    /// <summary>UTC ISO-8601 with a fixed width (7 fraction digits), so text order is time order.</summary>
    public static string Timestamp(DateTimeOffset value) => string.Create(TimestampLength, value.UtcDateTime, static (span, t) => Timestamp(t, span));

    /// <summary>The length of <see cref="Timestamp(DateTimeOffset)"/>.</summary>
    public const int TimestampLength = 28;

    /// <summary><see cref="Timestamp(DateTimeOffset)"/> of a UTC time, written into the first <see cref="TimestampLength"/> characters of <paramref name="span"/>.</summary>
    public static void Timestamp(DateTime utc, Span<char> span)
    {
        Digits(span[..4], utc.Year);
        span[4] = '-';
        Digits(span.Slice(5, 2), utc.Month);
        span[7] = '-';
        Digits(span.Slice(8, 2), utc.Day);
        span[10] = 'T';
        Digits(span.Slice(11, 2), utc.Hour);
        span[13] = ':';
        Digits(span.Slice(14, 2), utc.Minute);
        span[16] = ':';
        Digits(span.Slice(17, 2), utc.Second);
        span[19] = '.';
        Digits(span.Slice(20, 7), (int)(utc.Ticks % TimeSpan.TicksPerSecond));
        span[27] = 'Z';
    }

    /// <summary>yyyy-MM-dd.</summary>
    public static string Date(DateOnly value) => string.Create(DateLength, value, static (span, d) => Date(d, span));

    /// <summary>The length of <see cref="Date(DateOnly)"/>.</summary>
    public const int DateLength = 10;

    /// <summary><see cref="Date(DateOnly)"/> written into the first <see cref="DateLength"/> characters of <paramref name="span"/>.</summary>
    public static void Date(DateOnly value, Span<char> span)
    {
        Digits(span[..4], value.Year);
        span[4] = '-';
        Digits(span.Slice(5, 2), value.Month);
        span[7] = '-';
        Digits(span.Slice(8, 2), value.Day);
    }

    /// <summary>Whether <see cref="ToStored"/> takes <paramref name="value"/> for a column of <paramref name="type"/> (without encoding it).</summary>
    public static bool Fits(ColumnType type, object value) => (type, value) switch
    {
        (ColumnType.Text, string) => true,
        (ColumnType.Integer, long or int or short) => true,
        (ColumnType.Decimal, decimal or long or int) => true,
        (ColumnType.Boolean, bool) => true,
        (ColumnType.Date, DateOnly) => true,
        (ColumnType.Timestamp, DateTimeOffset) => true,
        (ColumnType.Timestamp, DateTime t) => t.Kind == DateTimeKind.Utc,
        _ => false,
    };

    private static void Digits(Span<char> span, int value)
    {
        for (var i = span.Length - 1; i >= 0; i--)
        {
            span[i] = (char)('0' + (value % 10));
            value /= 10;
        }
    }

    private static string CanonicalSlow(decimal value)
    {
        var text = value.ToString(CultureInfo.InvariantCulture);
        if (text.Contains('.', StringComparison.Ordinal))
        {
            text = text.TrimEnd('0').TrimEnd('.');
        }

        return text;
    }

    public static string QuoteIdentifier(string name)
    {
        ValidateIdentifier(name);
        return "\"" + name + "\"";
    }

    public static void ValidateIdentifier(string name)
    {
        ArgumentNullException.ThrowIfNull(name);
        var ok = name.Length is >= 1 and <= 63
            && (char.IsAsciiLetter(name[0]) || name[0] == '_')
            && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
        if (!ok)
        {
            throw new WarehouseException($"'{name}' is not a valid table or column name: use 1-63 ASCII letters, digits or '_', starting with a letter or '_'.");
        }
    }
}
