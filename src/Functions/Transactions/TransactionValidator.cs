using System.Globalization;
using System.Text;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Transactions;

/// <summary>One broken rule: which field, the value found, and what was expected.</summary>
public sealed record ValidationFailure(string Field, string? Value, string Expected)
{
    /// <summary>"file record 3: field 'isin' = 'US0378331006': expected ..."</summary>
    public string Describe(string file, long recordNumber) =>
        Value is null
            ? $"{file} record {recordNumber}: field '{Field}': expected {Expected}"
            : $"{file} record {recordNumber}: field '{Field}' = '{Value}': expected {Expected}";
}

/// <summary>A transaction that passed every rule, with typed values.</summary>
/// <remarks>A struct: it lives only between validation and enrichment, so it need not cost an allocation per record.</remarks>
public readonly record struct ValidTransaction(
    string TransactionId,
    int Version,
    string Status,
    DateOnly TradeDate,
    DateTimeOffset ExecutedAt,
    string AccountId,
    string TraderId,
    string CounterpartyLei,
    string Isin,
    string AssetClass,
    string Side,
    decimal Quantity,
    decimal Price,
    string Currency,
    string VenueMic,
    decimal Notional,
    decimal UsdPerUnit);

/// <summary>The L0 rules; every failure of a record is collected, not just the first.</summary>
public static class TransactionValidator
{
    public const string RecordField = "(record)";

    /// <summary>Derived quantity × price: named in reasons when it leaves the warehouse domain.</summary>
    public const string NotionalField = "notional";

    /// <summary>Derived notional × fx rate, rounded to 2 decimals.</summary>
    public const string NotionalUsdField = "notional_usd";

    public static IReadOnlyList<string> Statuses { get; } = ["NEW", "AMEND", "CANCEL"];

    public static IReadOnlyList<string> AssetClasses { get; } = ["EQUITY", "BOND", "FX", "DERIVATIVE"];

    public static IReadOnlyList<string> Sides { get; } = ["BUY", "SELL"];

    public static ValidTransaction? Validate(RawRecord record, ReferenceData reference, List<ValidationFailure> failures)
    {
        ArgumentNullException.ThrowIfNull(record);
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(failures);
        var before = failures.Count;
        if (record.Malformed is not null)
        {
            failures.Add(new ValidationFailure(RecordField, null, $"a readable JSON object or CSV row ({record.Malformed})"));
            return null;
        }

        foreach (var duplicate in record.DuplicateFields)
        {
            failures.Add(new ValidationFailure(duplicate, null, "the field once per record (it occurs more than once)"));
        }

        var id = Text(record, 0, failures);
        if (id is not null && (id.Length is < 1 or > 64 || string.IsNullOrWhiteSpace(id)))
        {
            failures.Add(new(TransactionFields.TransactionId, id, "1 to 64 characters, no control characters"));
        }

        var version = Integer(record, 1, failures);
        var status = OneOf(record, 2, Statuses, failures);
        var tradeDate = Date(record, 3, failures);
        var executedAt = Timestamp(record, 4, failures);
        var account = Text(record, 5, failures);
        if (account is not null && (account.Length > 64 || string.IsNullOrWhiteSpace(account)))
        {
            failures.Add(new(TransactionFields.AccountId, account, "1 to 64 characters"));
        }

        var trader = Text(record, 6, failures);
        if (trader is not null && (trader.Length > 64 || string.IsNullOrWhiteSpace(trader)))
        {
            failures.Add(new(TransactionFields.TraderId, trader, "1 to 64 characters"));
        }

        var lei = Text(record, 7, failures);
        if (lei is not null && !CheckDigits.IsValidLei(lei))
        {
            failures.Add(new(TransactionFields.CounterpartyLei, lei, "20 characters [0-9A-Z] passing the ISO 17442 check (mod 97 = 1)"));
        }

        var isin = Text(record, 8, failures);
        if (isin is not null && !CheckDigits.IsValidIsin(isin))
        {
            failures.Add(new(TransactionFields.Isin, isin, "12 characters (country, 9 alphanumerics, digit) passing the ISO 6166 check digit"));
        }

        var assetClass = OneOf(record, 9, AssetClasses, failures);
        var side = OneOf(record, 10, Sides, failures);
        var quantity = PositiveDecimal(record, 11, failures);
        var price = PositiveDecimal(record, 12, failures);
        var currency = Text(record, 13, failures);
        var rate = 0m;
        if (currency is not null)
        {
            if (currency.Length != 3 || !AllAscii(currency, digits: false))
            {
                failures.Add(new(TransactionFields.Currency, currency, "an ISO 4217 code (3 uppercase letters)"));
            }
            else if (tradeDate is { } day && !reference.TryGetUsdRate(day, currency, out rate))
            {
                failures.Add(new(TransactionFields.Currency, currency, $"an ISO 4217 currency with an FX rate for the trade date {day:yyyy-MM-dd} (none in the reference data)"));
            }
        }

        var venue = Text(record, 14, failures);
        if (venue is not null && (venue.Length != 4 || !AllAscii(venue, digits: true)))
        {
            failures.Add(new(TransactionFields.VenueMic, venue, "a MIC of 4 uppercase letters or digits (ISO 10383)"));
        }

        var notional = 0m;
        if (quantity is { } q && price is { } p)
        {
            notional = Notional(q, p, rate, failures);
        }

        if (failures.Count > before)
        {
            return null;
        }

        return new ValidTransaction(
            id!, version!.Value, status!, tradeDate!.Value, executedAt!.Value, account!, trader!, lei!, isin!,
            assetClass!, side!, quantity!.Value, price!.Value, currency!, venue!, notional, rate);
    }

    /// <summary>
    /// Null when every character of <paramref name="text"/> may be stored: no control character (C0 such as NUL,
    /// BEL, ESC, newline; DEL; C1) and no unpaired UTF-16 surrogate. Else the expectation with what was found.
    /// </summary>
    public static string? TextProblem(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsControl(c))
            {
                return $"no control characters (found U+{(int)c:X4} at index {i})";
            }

            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                i++;
            }
            else if (char.IsSurrogate(c))
            {
                return $"valid Unicode text (found an unpaired surrogate U+{(int)c:X4} at index {i})";
            }
        }

        return null;
    }

    /// <summary>The text with control characters and unpaired surrogates written as \uXXXX, for reasons and logs.</summary>
    public static string Visible(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var builder = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (char.IsHighSurrogate(c) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
            {
                builder.Append(c).Append(text[++i]);
            }
            else if (char.IsControl(c) || char.IsSurrogate(c))
            {
                builder.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:X4}");
            }
            else
            {
                builder.Append(c);
            }
        }

        return builder.ToString();
    }

    /// <summary>
    /// quantity × price, exact, when it and notional × rate (rounded to 2 decimals) stay inside the warehouse domain
    /// (numeric(38,10), and a .NET decimal); else a failure naming notional or notional_usd, and 0.
    /// </summary>
    private static decimal Notional(decimal quantity, decimal price, decimal rate, List<ValidationFailure> failures)
    {
        // The texts of a failure (the exact product, the factors) are made only when there is one.
        ExactDecimal.ProductDigits(quantity, price, out var integerDigits, out var fractionDigits);
        if (fractionDigits > WarehouseDomain.DecimalScale || integerDigits > WarehouseDomain.DecimalIntegerDigits)
        {
            var found = new List<string>(2);
            if (fractionDigits > WarehouseDomain.DecimalScale)
            {
                found.Add($"{fractionDigits} fractional digits");
            }

            if (integerDigits > WarehouseDomain.DecimalIntegerDigits)
            {
                found.Add($"{integerDigits} integer digits");
            }

            failures.Add(new(NotionalField, ExactDecimal.ExactProduct(quantity, price, out _, out _), $"quantity × price with {WarehouseDomain.DecimalExpectation}; {Factors(quantity, price)} has {string.Join(" and ", found)}"));
            return 0m;
        }

        if (!ExactDecimal.TryMultiply(quantity, price, out var notional))
        {
            failures.Add(new(NotionalField, ExactDecimal.ExactProduct(quantity, price, out _, out _), $"quantity × price exactly representable in 28 significant digits; {Factors(quantity, price)} has {integerDigits + fractionDigits}"));
            return 0m;
        }

        if (rate > 0 && (!ExactDecimal.TryMultiplyRounded(notional, rate, 2, out var usd) || !WarehouseDomain.IsExactDecimal(usd)))
        {
            var usdText = ExactDecimal.ExactProduct(notional, rate, out _, out _);
            failures.Add(new(NotionalUsdField, usdText, $"notional × fx_rate_usd ({rate.ToString(CultureInfo.InvariantCulture)}) rounded to 2 decimals with {WarehouseDomain.DecimalExpectation}"));
            return 0m;
        }

        return notional;
    }

    private static string Factors(decimal quantity, decimal price) => string.Create(CultureInfo.InvariantCulture, $"quantity {quantity} × price {price}");

    private static bool Contains(IReadOnlyList<string> allowed, string text)
    {
        for (var i = 0; i < allowed.Count; i++)
        {
            if (string.Equals(allowed[i], text, StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Every character an ASCII uppercase letter (or, with <paramref name="digits"/>, an ASCII digit).</summary>
    private static bool AllAscii(string text, bool digits)
    {
        foreach (var c in text)
        {
            if (!char.IsAsciiLetterUpper(c) && !(digits && char.IsAsciiDigit(c)))
            {
                return false;
            }
        }

        return true;
    }

    private static bool AllAsciiDigits(ReadOnlySpan<char> text) => !text.ContainsAnyExceptInRange('0', '9');

    private static string? Raw(RawRecord record, int index) => record[index]?.Text;

    private static string Name(int index) => TransactionFields.All[index];

    private static RawField? Required(RawRecord record, int index, List<ValidationFailure> failures)
    {
        var field = record[index];
        if (field is null)
        {
            failures.Add(new(Name(index), null, "a value (the field is required and missing)"));
            return null;
        }

        if (field.Value.Kind == RawKind.Null || (field.Value.Kind == RawKind.String && field.Value.Text.Length == 0))
        {
            failures.Add(new(Name(index), field.Value.Kind == RawKind.Null ? "null" : string.Empty, "a value (the field is required and empty)"));
            return null;
        }

        return field;
    }

    private static string? Text(RawRecord record, int index, List<ValidationFailure> failures)
    {
        if (Required(record, index, failures) is not { } field)
        {
            return null;
        }

        if (field.Kind != RawKind.String)
        {
            failures.Add(new(Name(index), field.Text, $"a string, found a JSON {field.Kind.ToString().ToLowerInvariant()}"));
            return null;
        }

        // Every text field: a NUL makes PostgreSQL and Redshift refuse the whole merge; other controls corrupt exports.
        if (TextProblem(field.Text) is { } problem)
        {
            failures.Add(new(Name(index), Visible(field.Text), problem));
            return null;
        }

        return field.Text;
    }

    private static string? OneOf(RawRecord record, int index, IReadOnlyList<string> allowed, List<ValidationFailure> failures)
    {
        var text = Text(record, index, failures);
        if (text is not null && !Contains(allowed, text))
        {
            failures.Add(new(Name(index), text, $"one of {string.Join(", ", allowed)}"));
            return null;
        }

        return text;
    }

    private static int? Integer(RawRecord record, int index, List<ValidationFailure> failures)
    {
        Span<char> buffer = stackalloc char[MaxTypedChars];
        var chars = TypedChars(record, index, buffer, out var kind);
        if (!chars.IsEmpty && kind is RawKind.Number or RawKind.String && chars.Length <= 10 && AllAsciiDigits(chars)
            && int.TryParse(chars, NumberStyles.None, CultureInfo.InvariantCulture, out var fast) && fast >= 1)
        {
            return fast;
        }

        if (Required(record, index, failures) is not { } field)
        {
            return null;
        }

        if (field.Kind is RawKind.Number or RawKind.String
            && field.Text.Length is > 0 and <= 10
            && AllAsciiDigits(field.Text)
            && int.TryParse(field.Text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && value >= 1)
        {
            return value;
        }

        failures.Add(new(Name(index), field.Text, "an integer ≥ 1 (JSON number or digit string)"));
        return null;
    }

    private static decimal? PositiveDecimal(RawRecord record, int index, List<ValidationFailure> failures)
    {
        Span<char> buffer = stackalloc char[MaxTypedChars];
        var chars = TypedChars(record, index, buffer, out var kind);
        if (!chars.IsEmpty && kind is RawKind.Number or RawKind.String && ExactDecimal.TryParse(chars, out var fast, out _)
            && fast > 0 && WarehouseDomain.DecimalProblem(fast) is null)
        {
            return fast;
        }

        if (Required(record, index, failures) is not { } field)
        {
            return null;
        }

        if (field.Kind is not (RawKind.Number or RawKind.String))
        {
            failures.Add(new(Name(index), field.Text, "a decimal > 0 as a JSON number or numeric string"));
            return null;
        }

        if (!ExactDecimal.TryParse(field.Text, out var value, out var problem))
        {
            failures.Add(new(Name(index), field.Text, problem!));
            return null;
        }

        if (value <= 0)
        {
            failures.Add(new(Name(index), field.Text, "a decimal > 0"));
            return null;
        }

        if (WarehouseDomain.DecimalProblem(value) is { } outside)
        {
            failures.Add(new(Name(index), field.Text, $"{WarehouseDomain.DecimalExpectation}; found {outside}"));
            return null;
        }

        return value;
    }

    private static DateOnly? Date(RawRecord record, int index, List<ValidationFailure> failures)
    {
        Span<char> buffer = stackalloc char[MaxTypedChars];
        var chars = TypedChars(record, index, buffer, out var kind);
        if (!chars.IsEmpty && kind == RawKind.String
            && DateOnly.TryParseExact(chars, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var fast))
        {
            return fast;
        }

        var text = Text(record, index, failures);
        if (text is null)
        {
            return null;
        }

        if (DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var date))
        {
            return date;
        }

        failures.Add(new(Name(index), text, "an ISO date yyyy-MM-dd"));
        return null;
    }

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd'T'HH:mm:ssK",
        "yyyy-MM-dd'T'HH:mm:ss.FFFFFFFK",
        "yyyy-MM-dd'T'HH:mmK",
    ];

    private static DateTimeOffset? Timestamp(RawRecord record, int index, List<ValidationFailure> failures)
    {
        Span<char> buffer = stackalloc char[MaxTypedChars];
        var chars = TypedChars(record, index, buffer, out var kind);
        if (!chars.IsEmpty && kind == RawKind.String && HasOffset(chars)
            && DateTimeOffset.TryParseExact(chars, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var fast))
        {
            return fast;
        }

        var text = Text(record, index, failures);
        if (text is null)
        {
            return null;
        }

        if (HasOffset(text) && DateTimeOffset.TryParseExact(text, TimestampFormats, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            return value;
        }

        failures.Add(new(Name(index), text, "an ISO-8601 timestamp with offset, e.g. 2026-11-20T14:03:11.123Z or 2026-11-20T15:03:11+01:00"));
        return null;
    }

    private static bool HasOffset(ReadOnlySpan<char> text) =>
        text.EndsWith('Z') || (text.Length > 6 && text[^6] is '+' or '-' && text[^3] == ':' && char.IsAsciiDigit(text[^1]));

    private const int MaxTypedChars = 64;

    /// <summary>
    /// The fast path of the typed fields: when the field's text was never made (its UTF-8 bytes are still in the
    /// reader's buffer) and it is printable ASCII, the bytes as chars on the caller's stack; else empty. A value the fast
    /// path does not accept goes the ordinary way (text, then the same checks), so results and reasons are the same.
    /// </summary>
    private static ReadOnlySpan<char> TypedChars(RawRecord record, int index, Span<char> buffer, out RawKind kind)
    {
        if (!record.TryGetUtf8(index, out kind, out var utf8) || utf8.IsEmpty || utf8.Length > buffer.Length
            || utf8.ContainsAnyExceptInRange((byte)0x20, (byte)0x7E))
        {
            return default;
        }

        Ascii.ToUtf16(utf8, buffer, out var written);
        return buffer[..written];
    }
}
