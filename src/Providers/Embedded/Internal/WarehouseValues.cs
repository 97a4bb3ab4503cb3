using System.Globalization;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Internal;

/// <summary>How warehouse values are stored in SQLite and read back (exact decimals as canonical TEXT, never REAL).</summary>
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
        (ColumnType.Date, DateOnly d) => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
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
        DateOnly d => d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture),
        DateTimeOffset t => Timestamp(t),
        DateTime t => Timestamp(new DateTimeOffset(t.Kind == DateTimeKind.Unspecified ? DateTime.SpecifyKind(t, DateTimeKind.Utc) : t)),
        int i => (long)i,
        _ => value,
    };

    public static object? FromStored(string declaredType, object? value)
    {
        if (value is null or DBNull)
        {
            return null;
        }

        return declaredType.ToUpperInvariant() switch
        {
            "DECIMAL_TEXT" when value is string s => decimal.Parse(s, NumberStyles.Number, CultureInfo.InvariantCulture),
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

        var text = value.ToString(CultureInfo.InvariantCulture);
        if (text.Contains('.', StringComparison.Ordinal))
        {
            text = text.TrimEnd('0').TrimEnd('.');
        }

        return text;
    }

    /// <summary>UTC ISO-8601 with a fixed width (7 fraction digits), so text order is time order.</summary>
    public static string Timestamp(DateTimeOffset value) =>
        value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

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
