using System.Globalization;
using System.Text.Json;

namespace Pipeline.Functions.Transactions;

public sealed record LeiEntry(string Name, string Country);

/// <summary>
/// The reference data enrichment and validation need, as loaded from the reference zone.
/// FX rates are quoted as USD per one unit of the currency (USD base), one table per date.
/// </summary>
public sealed class ReferenceData
{
    public const string FxRatesKey = "fx-rates.json";
    public const string HolidaysKey = "holidays.json";
    public const string LeiDirectoryKey = "lei-directory.json";
    public const string EeaKey = "eea.json";
    public const string WatchlistKey = "watchlist.json";

    public static IReadOnlyList<string> Keys { get; } = [FxRatesKey, HolidaysKey, LeiDirectoryKey, EeaKey, WatchlistKey];

    public required IReadOnlyDictionary<DateOnly, IReadOnlyDictionary<string, decimal>> UsdPerUnit { get; init; }

    public required IReadOnlySet<DateOnly> Holidays { get; init; }

    public required IReadOnlyDictionary<string, LeiEntry> Leis { get; init; }

    public required IReadOnlySet<string> EeaCountries { get; init; }

    public required IReadOnlySet<string> EeaVenues { get; init; }

    public required IReadOnlySet<string> WatchlistCountries { get; init; }

    public bool TryGetUsdRate(DateOnly date, string currency, out decimal usdPerUnit)
    {
        usdPerUnit = 0m;
        return UsdPerUnit.TryGetValue(date, out var day) && day.TryGetValue(currency, out usdPerUnit);
    }

    /// <summary>Parses the five reference documents, keyed by <see cref="Keys"/>.</summary>
    /// <exception cref="InvalidDataException">Naming the document and what is wrong with it.</exception>
    public static ReferenceData Parse(IReadOnlyDictionary<string, byte[]> documents)
    {
        ArgumentNullException.ThrowIfNull(documents);
        using var fx = Open(documents, FxRatesKey);
        using var holidays = Open(documents, HolidaysKey);
        using var leis = Open(documents, LeiDirectoryKey);
        using var eea = Open(documents, EeaKey);
        using var watch = Open(documents, WatchlistKey);

        var rates = new Dictionary<DateOnly, IReadOnlyDictionary<string, decimal>>();
        foreach (var day in Property(fx, FxRatesKey, "rates").EnumerateObject())
        {
            var date = ParseDate(day.Name, FxRatesKey);
            var table = new Dictionary<string, decimal>(StringComparer.Ordinal) { ["USD"] = 1m };
            foreach (var rate in day.Value.EnumerateObject())
            {
                var text = rate.Value.ValueKind == JsonValueKind.String ? rate.Value.GetString()! : rate.Value.GetRawText();
                if (!ExactDecimal.TryParse(text, out var value, out var problem) || value <= 0)
                {
                    throw new InvalidDataException($"{FxRatesKey}: rate {day.Name}/{rate.Name} = '{text}' is not {problem ?? "a decimal > 0"}.");
                }

                // fx_rate_usd is a warehouse column: a rate the warehouses would round is refused here, once.
                if (Pipeline.Providers.Abstractions.WarehouseDomain.DecimalProblem(value) is { } outside)
                {
                    throw new InvalidDataException($"{FxRatesKey}: rate {day.Name}/{rate.Name} = '{text}' has {outside}; expected {Pipeline.Providers.Abstractions.WarehouseDomain.DecimalExpectation}.");
                }

                table[rate.Name] = value;
            }

            rates[date] = table;
        }

        var leiMap = new Dictionary<string, LeiEntry>(StringComparer.Ordinal);
        foreach (var entry in Property(leis, LeiDirectoryKey, "entries").EnumerateArray())
        {
            var lei = entry.GetProperty("lei").GetString()!;
            if (!CheckDigits.IsValidLei(lei))
            {
                throw new InvalidDataException($"{LeiDirectoryKey}: '{lei}' is not a valid LEI (ISO 17442 check digits); fix the directory.");
            }

            var name = entry.GetProperty("name").GetString()!;
            var country = entry.GetProperty("country").GetString()!;
            if ((TransactionValidator.TextProblem(name) ?? TransactionValidator.TextProblem(country)) is { } problem)
            {
                throw new InvalidDataException($"{LeiDirectoryKey}: the entry of '{lei}' must have {problem} in its name and country; fix the directory.");
            }

            leiMap[lei] = new LeiEntry(name, country);
        }

        return new ReferenceData
        {
            UsdPerUnit = rates,
            Holidays = Property(holidays, HolidaysKey, "dates").EnumerateArray().Select(d => ParseDate(d.GetString()!, HolidaysKey)).ToHashSet(),
            Leis = leiMap,
            EeaCountries = Strings(eea, EeaKey, "countries"),
            EeaVenues = Strings(eea, EeaKey, "venues"),
            WatchlistCountries = Strings(watch, WatchlistKey, "countries"),
        };
    }

    private static JsonDocument Open(IReadOnlyDictionary<string, byte[]> documents, string key)
    {
        if (!documents.TryGetValue(key, out var bytes))
        {
            throw new InvalidDataException($"Reference document '{key}' is missing; upload it to the reference zone (run does this from local/reference/).");
        }

        try
        {
            return JsonDocument.Parse(bytes);
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Reference document '{key}' is not valid JSON: {ex.Message}", ex);
        }
    }

    private static JsonElement Property(JsonDocument document, string key, string name) =>
        document.RootElement.TryGetProperty(name, out var value)
            ? value
            : throw new InvalidDataException($"Reference document '{key}' lacks the property '{name}'.");

    private static HashSet<string> Strings(JsonDocument document, string key, string name) =>
        Property(document, key, name).EnumerateArray().Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal);

    private static DateOnly ParseDate(string text, string key) =>
        DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date)
            ? date
            : throw new InvalidDataException($"Reference document '{key}': '{text}' is not a date yyyy-MM-dd.");
}
