using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Internal;

/// <summary>
/// <see cref="WarehouseValues.ToStored"/> for one merge, remembering what it encoded: the same decimal, date or timestamp
/// in several tables' rows (a record's quantity is in four of them, a file's ingested_at in every record) becomes one
/// string, and integers and booleans reuse boxes. Equal values have equal stored forms (1.5m and 1.50m store as "1.5",
/// instants as UTC), so the cache cannot change what is written. Bounded: it starts again past <see cref="MaxEntries"/>.
/// </summary>
internal sealed class StoredValueCache
{
    private const int MaxEntries = 1 << 18;

    private static readonly object True = 1L;
    private static readonly object False = 0L;

    private readonly Dictionary<decimal, string> decimals = [];
    private readonly Dictionary<DateOnly, string> dates = [];
    private readonly Dictionary<DateTimeOffset, string> timestamps = [];

    /// <summary>Forgets the values (the tables keep their capacity for the next merge).</summary>
    public void Clear()
    {
        decimals.Clear();
        dates.Clear();
        timestamps.Clear();
    }

    public object? ToStored(ColumnType type, object value)
    {
        switch (type, value)
        {
            case (ColumnType.Integer, long):
                return value; // already the stored form: no new box
            case (ColumnType.Boolean, bool b):
                return b ? True : False;
            case (ColumnType.Decimal, decimal d):
                return Remember(decimals, d, WarehouseValues.Canonical);
            case (ColumnType.Date, DateOnly d):
                return Remember(dates, d, WarehouseValues.Date);
            case (ColumnType.Timestamp, DateTimeOffset t):
                return Remember(timestamps, t, WarehouseValues.Timestamp);
            default:
                return WarehouseValues.ToStored(type, value);
        }
    }

    private static string Remember<T>(Dictionary<T, string> cache, T value, Func<T, string> encode)
        where T : notnull
    {
        if (cache.TryGetValue(value, out var text))
        {
            return text;
        }

        if (cache.Count >= MaxEntries)
        {
            cache.Clear();
        }

        text = encode(value);
        cache[value] = text;
        return text;
    }
}
