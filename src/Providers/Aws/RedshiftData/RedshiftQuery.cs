using System.Globalization;
using System.Text;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Aws.RedshiftData;

/// <summary>Query text and result values between the warehouse contract and the Data API.</summary>
internal static class RedshiftQuery
{
    /// <summary>
    /// '@name' (the contract) → ':name' (Data API), outside quoted strings and identifiers; and a read-only guard:
    /// one statement, starting with SELECT or WITH, without data-changing keywords. The Data API has no
    /// read-only transaction; use a read-only database user for a hard guarantee.
    /// </summary>
    public static (string Sql, IReadOnlyList<string> Parameters) Translate(string sql)
    {
        var output = new StringBuilder(sql.Length);
        var names = new List<string>();
        var words = new StringBuilder();
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c is '\'' or '"')
            {
                var end = sql.IndexOf(c, i + 1);
                while (end > 0 && end + 1 < sql.Length && sql[end + 1] == c)
                {
                    end = sql.IndexOf(c, end + 2);
                }

                if (end < 0)
                {
                    throw new WarehouseQueryException("The query has an unterminated quoted string or identifier.");
                }

                output.Append(sql, i, end - i + 1);
                words.Append(' ');
                i = end + 1;
                continue;
            }

            if (c == '@' && i + 1 < sql.Length && (char.IsAsciiLetter(sql[i + 1]) || sql[i + 1] == '_'))
            {
                var start = ++i;
                while (i < sql.Length && (char.IsAsciiLetterOrDigit(sql[i]) || sql[i] == '_'))
                {
                    i++;
                }

                names.Add(sql[start..i]);
                output.Append(':').Append(sql, start, i - start);
                continue;
            }

            if (c == ';' && sql[(i + 1)..].Trim().Length > 0)
            {
                throw new WarehouseQueryException("The query holds more than one statement. QueryAsync runs one SELECT.");
            }

            output.Append(c);
            words.Append(char.ToUpperInvariant(c));
            i++;
        }

        var tokens = words.ToString().Split([' ', '\t', '\r', '\n', '(', ')', ',', ';'], StringSplitOptions.RemoveEmptyEntries);
        if (tokens.Length == 0 || tokens[0] is not ("SELECT" or "WITH"))
        {
            throw new WarehouseQueryException("The query is not read-only: QueryAsync runs SELECT (or WITH ... SELECT) statements only; writes go through MergeAsync.");
        }

        string[] writes = ["INSERT", "UPDATE", "DELETE", "MERGE", "DROP", "ALTER", "CREATE", "TRUNCATE", "GRANT", "REVOKE", "COPY", "UNLOAD", "CALL", "INTO"];
        if (tokens.FirstOrDefault(t => writes.Contains(t, StringComparer.Ordinal)) is { } write)
        {
            throw new WarehouseQueryException($"The query is not read-only (it contains {write}): QueryAsync runs SELECT statements only; writes go through MergeAsync.");
        }

        return (output.ToString().TrimEnd().TrimEnd(';'), names);
    }

    /// <summary>A Data API field → the contract's value types, by the column's Redshift type name.</summary>
    public static object? Convert(Field field, string? typeName)
    {
        if (field.IsNull == true)
        {
            return null;
        }

        var type = (typeName ?? string.Empty).ToLowerInvariant();
        if (field.LongValue is { } l)
        {
            return type is "numeric" or "decimal" ? (object)(decimal)l : l;
        }

        if (field.StringValue is { } text && type is "numeric" or "decimal")
        {
            // DECIMAL(38,10) comes back at scale 10 ("1.5000000000"): the smallest scale, as on the other providers.
            return WarehouseDomain.Normalize(decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        if (field.BooleanValue is { } b)
        {
            return b;
        }

        if (field.DoubleValue is { } d)
        {
            return d;
        }

        if (field.StringValue is { } s)
        {
            return type switch
            {
                "int2" or "int4" or "int8" or "integer" or "bigint" => long.Parse(s, CultureInfo.InvariantCulture),
                "bool" or "boolean" => s is "t" or "true" or "1",
                "date" => DateOnly.ParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture),
                "timestamptz" or "timestamp" => DateTimeOffset.Parse(s, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal),
                _ => s,
            };
        }

        return field.BlobValue is { } blob ? System.Convert.FromBase64String(blob) : null;
    }
}
