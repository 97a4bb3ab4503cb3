using System.Text;

namespace Pipeline.Cli.Review;

/// <summary>One difference kept as an example: a row added, removed, or changed in some columns.</summary>
public sealed record DiffExample(string Change, string Key, long? Version, IReadOnlyList<ColumnChange> Columns);

public sealed record ColumnChange(string Column, object? Before, object? After);

/// <summary>
/// The difference of one table between the warehouse (before) and the recomputation (after), accumulated row by row
/// from two streams in the same key order, so neither side is held in memory; only the per-column counts and the
/// first few examples are kept.
/// </summary>
public sealed class TableDiff(string table, IReadOnlyList<string> columns, IReadOnlySet<string> ignored, int maxExamples)
{
    private readonly long[] changedPerColumn = new long[columns.Count];
    private readonly List<DiffExample> examples = [];
    private readonly int versionIndex = columns.ToList().IndexOf("version");

    public string Table { get; } = table;

    public long Before { get; private set; }

    public long After { get; private set; }

    public long Added { get; private set; }

    public long Removed { get; private set; }

    public long Changed { get; private set; }

    public bool HasDifferences => Added + Removed + Changed > 0;

    public IReadOnlyList<DiffExample> Examples => examples;

    /// <summary>Changed values per column, in the table's column order, only columns with at least one change.</summary>
    public IReadOnlyList<KeyValuePair<string, long>> ChangedColumns =>
        [.. columns.Select((c, i) => new KeyValuePair<string, long>(c, changedPerColumn[i])).Where(p => p.Value > 0)];

    /// <summary>Adds one key's rows; either may be null (row only on one side).</summary>
    public void Add(string key, object?[]? before, object?[]? after)
    {
        if (before is not null)
        {
            Before++;
        }

        if (after is not null)
        {
            After++;
        }

        if (before is null && after is not null)
        {
            Added++;
            Keep("added", key, after, []);
            return;
        }

        if (after is null && before is not null)
        {
            Removed++;
            Keep("removed", key, before, []);
            return;
        }

        if (before is null || after is null)
        {
            return;
        }

        List<ColumnChange>? changes = null;
        for (var i = 0; i < columns.Count; i++)
        {
            if (ignored.Contains(columns[i]) || Equals(before[i], after[i]))
            {
                continue;
            }

            changedPerColumn[i]++;
            (changes ??= []).Add(new ColumnChange(columns[i], before[i], after[i]));
        }

        if (changes is not null)
        {
            Changed++;
            Keep("changed", key, after, changes);
        }
    }

    private void Keep(string change, string key, object?[] row, IReadOnlyList<ColumnChange> changes)
    {
        if (examples.Count >= maxExamples)
        {
            return;
        }

        var version = versionIndex >= 0 && row[versionIndex] is long l ? l : (long?)null;
        examples.Add(new DiffExample(change, key, version, changes));
    }

    /// <summary>
    /// Orders keys as the SQLite BINARY collation does (UTF-8 bytes, i.e. Unicode code points), which differs from
    /// <see cref="string.CompareOrdinal(string, string)"/> for characters above U+FFFF against U+E000–U+FFFF.
    /// </summary>
    public static int CompareKeys(string a, string b)
    {
        ArgumentNullException.ThrowIfNull(a);
        ArgumentNullException.ThrowIfNull(b);
        var ea = a.EnumerateRunes();
        var eb = b.EnumerateRunes();
        while (true)
        {
            var hasA = ea.MoveNext();
            var hasB = eb.MoveNext();
            if (!hasA || !hasB)
            {
                return hasA.CompareTo(hasB);
            }

            var c = ea.Current.Value.CompareTo(eb.Current.Value);
            if (c != 0)
            {
                return c;
            }
        }
    }

    /// <summary>A value as the readable diff shows it: text quoted (so "" and NULL differ), the rest as <c>query</c> prints it.</summary>
    public static string Show(object? value) => value switch
    {
        null => "NULL",
        string s => Quote(s),
        _ => RunCommand.Format(value),
    };

    private static string Quote(string s)
    {
        var b = new StringBuilder(s.Length + 2).Append('"');
        foreach (var c in s)
        {
            _ = c switch
            {
                '"' => b.Append("\\\""),
                '\\' => b.Append("\\\\"),
                < ' ' => b.Append($"\\u{(int)c:x4}"),
                _ => b.Append(c),
            };
        }

        return b.Append('"').ToString();
    }
}
