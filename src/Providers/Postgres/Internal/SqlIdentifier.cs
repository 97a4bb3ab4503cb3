using System.Text.RegularExpressions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Postgres.Internal;

/// <summary>Table/column names are validated against a strict pattern, then double-quoted: never raw user text in SQL.</summary>
internal static partial class SqlIdentifier
{
    public static bool IsValid(string? name) => name is not null && Pattern().IsMatch(name);

    public static string Quote(string name)
    {
        if (!IsValid(name))
        {
            throw new WarehouseException($"'{name}' is not a valid table or column name: use letters, digits and '_' (max 63), starting with a letter or '_'.");
        }

        return "\"" + name + "\"";
    }

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex Pattern();
}
