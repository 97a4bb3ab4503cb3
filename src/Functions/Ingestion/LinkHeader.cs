namespace Pipeline.Functions.Ingestion;

/// <summary>
/// The Link header's link-values (RFC 8288 §3): <c>&lt;target&gt;; rel="next"; …, &lt;…&gt;; …</c>.
/// The BCL has no parser for it; this reads targets and the rel parameter only.
/// </summary>
internal static class LinkHeader
{
    public static IEnumerable<(string Target, string Rel)> Parse(string header)
    {
        var i = 0;
        while (i < header.Length)
        {
            var open = header.IndexOf('<', i);
            if (open < 0)
            {
                yield break;
            }

            var close = header.IndexOf('>', open + 1);
            if (close < 0)
            {
                yield break;
            }

            var target = header[(open + 1)..close].Trim();
            var rel = string.Empty;
            i = close + 1;

            // Parameters up to the next comma outside quotes.
            while (i < header.Length && header[i] != ',')
            {
                if (header[i] != ';')
                {
                    i++;
                    continue;
                }

                i++;
                var eq = header.IndexOf('=', i);
                var nextSep = IndexOfAnyOutsideQuotes(header, i);
                if (eq < 0 || (nextSep >= 0 && eq > nextSep))
                {
                    continue;
                }

                var name = header[i..eq].Trim();
                var valueStart = eq + 1;
                while (valueStart < header.Length && header[valueStart] == ' ')
                {
                    valueStart++;
                }

                string value;
                if (valueStart < header.Length && header[valueStart] == '"')
                {
                    var endQuote = header.IndexOf('"', valueStart + 1);
                    endQuote = endQuote < 0 ? header.Length : endQuote;
                    value = header[(valueStart + 1)..endQuote];
                    i = Math.Min(header.Length, endQuote + 1);
                }
                else
                {
                    var end = IndexOfAnyOutsideQuotes(header, valueStart);
                    end = end < 0 ? header.Length : end;
                    value = header[valueStart..end].Trim();
                    i = end;
                }

                if (name.Equals("rel", StringComparison.OrdinalIgnoreCase))
                {
                    rel = value;
                }
            }

            yield return (target, rel);
            i++;
        }
    }

    private static int IndexOfAnyOutsideQuotes(string s, int from)
    {
        var quoted = false;
        for (var k = from; k < s.Length; k++)
        {
            if (s[k] == '"')
            {
                quoted = !quoted;
            }
            else if (!quoted && s[k] is ';' or ',')
            {
                return k;
            }
        }

        return -1;
    }
}
