namespace Pipeline.Functions.Transactions;

/// <summary>Check-digit algorithms of the identifiers in a transaction.</summary>
public static class CheckDigits
{
    /// <summary>ISO 17442 LEI: 20 characters [0-9A-Z], the last two digits; letters expand to 10..35 and the number mod 97 must be 1.</summary>
    public static bool IsValidLei(string lei)
    {
        if (lei.Length != 20)
        {
            return false;
        }

        for (var i = 0; i < 20; i++)
        {
            var c = lei[i];
            var ok = i >= 18 ? c is >= '0' and <= '9' : c is >= '0' and <= '9' or >= 'A' and <= 'Z';
            if (!ok)
            {
                return false;
            }
        }

        return Mod97(lei) == 1;
    }

    /// <summary>The two check digits for an 18-character LEI prefix (ISO 17442 / ISO 7064 MOD 97-10).</summary>
    public static string LeiCheckDigits(string prefix18)
    {
        ArgumentNullException.ThrowIfNull(prefix18);
        if (prefix18.Length != 18)
        {
            throw new ArgumentException("An LEI prefix has 18 characters.", nameof(prefix18));
        }

        var check = 98 - Mod97(prefix18 + "00");
        return check.ToString("00", System.Globalization.CultureInfo.InvariantCulture);
    }

    private static int Mod97(string s)
    {
        var r = 0;
        foreach (var c in s)
        {
            if (c is >= '0' and <= '9')
            {
                r = ((r * 10) + (c - '0')) % 97;
            }
            else
            {
                var v = c - 'A' + 10;
                r = ((r * 100) + v) % 97;
            }
        }

        return r;
    }

    /// <summary>ISO 6166 ISIN: 2-letter country, 9 alphanumerics, a Luhn check digit over the letter-expanded digits.</summary>
    public static bool IsValidIsin(string isin)
    {
        if (isin.Length != 12 || !char.IsAsciiLetterUpper(isin[0]) || !char.IsAsciiLetterUpper(isin[1]) || !char.IsAsciiDigit(isin[11]))
        {
            return false;
        }

        for (var i = 2; i < 11; i++)
        {
            if (!char.IsAsciiDigit(isin[i]) && !char.IsAsciiLetterUpper(isin[i]))
            {
                return false;
            }
        }

        return IsinCheckDigit(isin.AsSpan(0, 11)) == isin[11] - '0';
    }

    /// <summary>The ISIN check digit of the first 11 characters.</summary>
    public static int IsinCheckDigit(string first11)
    {
        ArgumentNullException.ThrowIfNull(first11);
        return IsinCheckDigit(first11.AsSpan());
    }

    private static int IsinCheckDigit(ReadOnlySpan<char> first11)
    {
        Span<byte> digits = stackalloc byte[22];
        var n = 0;
        foreach (var c in first11)
        {
            if (char.IsAsciiDigit(c))
            {
                digits[n++] = (byte)(c - '0');
            }
            else
            {
                var v = c - 'A' + 10;
                digits[n++] = (byte)(v / 10);
                digits[n++] = (byte)(v % 10);
            }
        }

        // Luhn: from the rightmost digit of the payload, double every other digit.
        var sum = 0;
        var doubleIt = true;
        for (var i = n - 1; i >= 0; i--)
        {
            var d = digits[i] * (doubleIt ? 2 : 1);
            sum += d > 9 ? d - 9 : d;
            doubleIt = !doubleIt;
        }

        return (10 - (sum % 10)) % 10;
    }
}
