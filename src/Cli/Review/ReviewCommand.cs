using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded;

namespace Pipeline.Cli.Review;

/// <summary>What to review: raw-zone key prefixes (none = every object under transactions/), objects modified since a date.</summary>
public sealed record ReviewRequest(IReadOnlyList<string> Selectors, DateOnly? Since = null, int Examples = 3);

/// <summary>What <c>review</c> found.</summary>
public sealed class ReviewReport
{
    public int Objects { get; set; }

    public long Records { get; set; }

    public long Valid { get; set; }

    public long Quarantined { get; set; }

    public int Unreadable { get; set; }

    /// <summary>Recomputed transactions whose current row in the warehouse comes from an object outside the review (not compared).</summary>
    public long NotCompared { get; set; }

    public List<TableDiff> Tables { get; } = [];

    public bool HasDifferences => Tables.Any(t => t.HasDifferences);
}

/// <summary>
/// <c>review [KEY…] [--since yyyy-MM-dd] [--json]</c>: recomputes transactions, confirmations and regulatory_reports
/// from the raw zone with the current code and configuration and compares them with what the warehouse holds.
/// The recomputed rows are merged into a scratch SQLite warehouse (temp folder, same table definitions, so the real
/// version / tie-break / current-version rules choose the rows); the warehouse's three tables are copied there page by
/// page; both are then read in key order page by page and compared, so nothing is held in memory but one page and the
/// counts. Writes nothing but the scratch folder, which is deleted. Exit 0: no differences, 1: differences, 2: usage.
/// </summary>
public static class ReviewCommand
{
    /// <summary>The three warehouse forms a transform change can alter (the audit tables follow from them).</summary>
    public static IReadOnlyList<TableDefinition> Forms { get; } = [WarehouseSchema.Transactions, WarehouseSchema.Confirmations, WarehouseSchema.RegulatoryReports];

    /// <summary>Columns not compared: the raw object's upload time, which differs between data roots and reloads.</summary>
    public static IReadOnlySet<string> Ignored { get; } = new HashSet<string>(StringComparer.Ordinal) { "ingested_at" };

    private const int PageSize = 2000;
    private const int MergeRecords = 1000;
    private const string KeyColumn = "transaction_id";
    private const string BeforePrefix = "before_";

    /// <summary>The reviewed objects, in the scratch warehouse only: a warehouse row is in scope when its source_key is here.</summary>
    private static readonly TableDefinition ReviewObjects = new(
        "review_objects", [new ColumnDefinition("source_key", ColumnType.Text), new ColumnDefinition("source_etag", ColumnType.Text)], ["source_key"]);

    /// <summary>
    /// A key is compared when the warehouse has no transactions row for it (new) or that row's lineage is a reviewed
    /// object; a key whose current row comes from another object is left out (the review does not recompute that object).
    /// </summary>
    private const string InScopeSql =
        $"COALESCE((SELECT EXISTS (SELECT 1 FROM review_objects o WHERE o.source_key = t.source_key) FROM {BeforePrefix}transactions t WHERE t.transaction_id = x.transaction_id), 1)";

    public static async Task<int> RunAsync(
        IReadOnlyList<string> selectors, string? since, int examples, bool json, string? dataRoot, string? contentRootOption,
        TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(error);
        DateOnly? sinceDate = null;
        if (since is not null)
        {
            if (!DateOnly.TryParseExact(since, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed))
            {
                await error.WriteLineAsync($"--since '{since}' is not a date; expected yyyy-MM-dd (objects last modified on or after that day, UTC).");
                return 2;
            }

            sinceDate = parsed;
        }

        if (examples < 0)
        {
            await error.WriteLineAsync("--examples must be 0 or more.");
            return 2;
        }

        var built = await PipelineApp.TryBuildHostAsync(dataRoot, contentRootOption, consoleLogging: false, error);
        if (built is null)
        {
            return 2;
        }

        await using var host = built;
        return await RunAsync(host.Services, new ReviewRequest(selectors, sinceDate, examples), json, output, error, cancellationToken);
    }

    /// <summary>Reviews with the services of a built (not started) host and prints the report; returns the exit code.</summary>
    public static async Task<int> RunAsync(IServiceProvider services, ReviewRequest request, bool json, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        ReviewReport report;
        try
        {
            report = await ReviewAsync(services, request, cancellationToken);
        }
        catch (ReviewUsageException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 2;
        }

        await output.WriteAsync(json ? ToJson(report) + "\n" : ToText(report));
        return report.HasDifferences ? 1 : 0;
    }

    public static async Task<ReviewReport> ReviewAsync(IServiceProvider services, ReviewRequest request, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(request);
        var store = services.GetRequiredService<IObjectStore>();
        var warehouse = services.GetRequiredService<IWarehouse>();
        var settings = services.GetRequiredService<PipelineSettings>();
        var options = services.GetRequiredService<IOptions<EnrichmentOptions>>().Value;
        ReferenceData reference;
        try
        {
            reference = await services.GetRequiredService<ReferenceDataCache>().GetAsync(cancellationToken);
        }
        catch (InvalidOperationException ex)
        {
            throw new ReviewUsageException(ex.Message);
        }

        var report = new ReviewReport();
        var scratchRoot = Path.Combine(Path.GetTempPath(), "pipeline-review-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            using (var scratch = new SqliteWarehouse(new EmbeddedOptions { DataRoot = scratchRoot }))
            {
                await scratch.EnsureTableAsync(ReviewObjects, cancellationToken);
                foreach (var form in Forms)
                {
                    await scratch.EnsureTableAsync(form, cancellationToken);
                    await scratch.EnsureTableAsync(Before(form), cancellationToken);
                }

                await RecomputeAsync(store, settings, reference, options, scratch, request, report, cancellationToken);
                foreach (var form in Forms)
                {
                    await CopyAsync(warehouse, form, scratch, cancellationToken);
                }

                foreach (var form in Forms)
                {
                    report.Tables.Add(await CompareAsync(scratch, form, request.Examples, report, cancellationToken));
                }
            }

            return report;
        }
        finally
        {
            DeleteScratch(scratchRoot);
        }
    }

    /// <summary>The current code over the selected raw objects, merged into the scratch warehouse a thousand records at a time.</summary>
    private static async Task RecomputeAsync(
        IObjectStore store, PipelineSettings settings, ReferenceData reference, EnrichmentOptions options, SqliteWarehouse scratch,
        ReviewRequest request, ReviewReport report, CancellationToken cancellationToken)
    {
        var selectors = request.Selectors
            .Select(s => s.StartsWith(PipelineSettings.RawPrefix, StringComparison.Ordinal) ? s : PipelineSettings.RawPrefix + s.TrimStart('/'))
            .ToList();
        var matched = new bool[selectors.Count];
        DateTimeOffset? since = request.Since is { } day ? new DateTimeOffset(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero) : null;
        var records = new List<EnrichedTransaction>(MergeRecords);
        var objects = new List<object?[]>();

        async ValueTask FlushAsync()
        {
            if (records.Count > 0)
            {
                // Only the compared forms: the audit tables (versions, contents) would cost merges and change no row here.
                await scratch.MergeAsync([.. WarehouseSchema.Batches(records).Where(b => Forms.Contains(b.Table))], cancellationToken);
                records.Clear();
            }

            if (objects.Count > 0)
            {
                await scratch.MergeAsync([new MergeBatch(ReviewObjects, objects)], cancellationToken);
                objects.Clear();
            }
        }

        await foreach (var info in store.ListAsync(settings.RawZone, PipelineSettings.RawPrefix, cancellationToken))
        {
            if (selectors.Count > 0)
            {
                var any = false;
                for (var i = 0; i < selectors.Count; i++)
                {
                    if (info.Key.StartsWith(selectors[i], StringComparison.Ordinal))
                    {
                        matched[i] = any = true;
                    }
                }

                if (!any)
                {
                    continue;
                }
            }

            if (since is { } from && info.LastModified < from)
            {
                continue;
            }

            report.Objects++;
            objects.Add([info.Key, info.ETag]);
            var outcome = await TransactionFileProcessor.ProcessAsync(
                info.Key,
                info.ETag,
                info.LastModified,
                ct => store.OpenReadAsync(settings.RawZone, info.Key, ct),
                reference,
                options,
                async record =>
                {
                    records.Add(record);
                    if (records.Count >= MergeRecords)
                    {
                        await FlushAsync();
                    }
                },
                _ => ValueTask.CompletedTask,
                cancellationToken);
            report.Records += outcome.Records;
            report.Valid += outcome.Valid;
            report.Quarantined += outcome.Quarantined;
            report.Unreadable += outcome.Unreadable is null ? 0 : 1;
        }

        await FlushAsync();
        var unmatched = selectors.Where((_, i) => !matched[i]).ToList();
        if (unmatched.Count > 0)
        {
            throw new ReviewUsageException($"No object in the raw zone ('{settings.RawZone}') starts with {string.Join(", ", unmatched.Select(u => $"'{u}'"))}; give keys or key prefixes under {PipelineSettings.RawPrefix}.");
        }
    }

    /// <summary>Copies one warehouse table into the scratch warehouse in key pages (keyset pagination: each page is a range read).</summary>
    private static async Task CopyAsync(IWarehouse warehouse, TableDefinition form, SqliteWarehouse scratch, CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", form.Columns.Select(c => c.Name));
        var before = Before(form);
        string? after = null;
        while (true)
        {
            var sql = after is null
                ? $"SELECT {columns} FROM {form.Name} ORDER BY {KeyColumn} LIMIT {PageSize}"
                : $"SELECT {columns} FROM {form.Name} WHERE {KeyColumn} > @after ORDER BY {KeyColumn} LIMIT {PageSize}";
            QueryResult page;
            try
            {
                page = await warehouse.QueryAsync(sql, after is null ? null : new Dictionary<string, object?> { ["after"] = after }, cancellationToken);
            }
            catch (WarehouseQueryException ex)
            {
                throw new ReviewUsageException($"Cannot read '{form.Name}' from the warehouse ({ex.Message}); load it first (run).");
            }

            if (page.Rows.Count == 0)
            {
                return;
            }

            await scratch.MergeAsync([new MergeBatch(before, page.Rows)], cancellationToken);
            if (page.Rows.Count < PageSize)
            {
                return;
            }

            after = (string)page.Rows[^1][0]!;
        }
    }

    /// <summary>A merge join of the warehouse's rows and the recomputed ones, both read in key order from the scratch warehouse.</summary>
    private static async Task<TableDiff> CompareAsync(SqliteWarehouse scratch, TableDefinition form, int examples, ReviewReport report, CancellationToken cancellationToken)
    {
        var diff = new TableDiff(form.Name, [.. form.Columns.Select(c => c.Name)], Ignored, examples);
        await using var before = ReadAsync(scratch, BeforePrefix + form.Name, form, cancellationToken).GetAsyncEnumerator(cancellationToken);
        await using var after = ReadAsync(scratch, form.Name, form, cancellationToken).GetAsyncEnumerator(cancellationToken);
        var hasBefore = await before.MoveNextAsync();
        var hasAfter = await after.MoveNextAsync();
        while (hasBefore || hasAfter)
        {
            var order = !hasBefore ? 1 : !hasAfter ? -1 : TableDiff.CompareKeys((string)before.Current[0]!, (string)after.Current[0]!);
            var b = order <= 0 ? before.Current : null;
            var a = order >= 0 ? after.Current : null;
            var row = (b ?? a)!;
            if (row[^1] is long inScope && inScope != 0)
            {
                diff.Add((string)row[0]!, b, a);
            }
            else if (a is not null && form == WarehouseSchema.Transactions)
            {
                report.NotCompared++;
            }

            if (b is not null)
            {
                hasBefore = await before.MoveNextAsync();
            }

            if (a is not null)
            {
                hasAfter = await after.MoveNextAsync();
            }
        }

        return diff;
    }

    private static async IAsyncEnumerable<object?[]> ReadAsync(SqliteWarehouse scratch, string table, TableDefinition form, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var columns = string.Join(", ", form.Columns.Select(c => "x." + c.Name));
        string? last = null;
        while (true)
        {
            var where = last is null ? string.Empty : $"WHERE x.{KeyColumn} > @after ";
            var page = await scratch.QueryAsync(
                $"SELECT {columns}, {InScopeSql} AS review_in_scope FROM {table} x {where}ORDER BY x.{KeyColumn} LIMIT {PageSize}",
                last is null ? null : new Dictionary<string, object?> { ["after"] = last },
                cancellationToken);
            foreach (var row in page.Rows)
            {
                yield return row;
            }

            if (page.Rows.Count < PageSize)
            {
                yield break;
            }

            last = (string)page.Rows[^1][0]!;
        }
    }

    /// <summary>The scratch copy of a warehouse table: same columns and key, plain replace (the warehouse already chose its rows).</summary>
    private static TableDefinition Before(TableDefinition form) =>
        form with { Name = BeforePrefix + form.Name, VersionColumn = null, CurrentVersionOf = null, TieBreak = null };

    private static void DeleteScratch(string root)
    {
        for (var attempt = 0; attempt < 5 && Directory.Exists(root); attempt++)
        {
            try
            {
                Directory.Delete(root, recursive: true);
            }
            catch (IOException) when (attempt < 4)
            {
                Thread.Sleep(100);
            }
        }
    }

    public static string ToText(ReviewReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var o = new StringBuilder();
        o.Append(CultureInfo.InvariantCulture, $"Recomputed {report.Objects} raw object(s) with the current code: {report.Records} records, {report.Valid} valid, {report.Quarantined} invalid, {report.Unreadable} unreadable file(s).\n");
        if (report.NotCompared > 0)
        {
            o.Append(CultureInfo.InvariantCulture, $"{report.NotCompared} transaction(s) not compared: their current row in the warehouse comes from an object outside this review.\n");
        }

        foreach (var t in report.Tables)
        {
            o.Append('\n');
            if (!t.HasDifferences)
            {
                o.Append(CultureInfo.InvariantCulture, $"{t.Table}: no differences ({t.Before} rows)\n");
                continue;
            }

            o.Append(CultureInfo.InvariantCulture, $"{t.Table}: {t.Before} rows before, {t.After} after — {t.Added} added, {t.Removed} removed, {t.Changed} changed\n");
            var columns = t.ChangedColumns;
            if (columns.Count > 0)
            {
                var width = columns.Max(c => c.Key.Length);
                o.Append(CultureInfo.InvariantCulture, $"  {"column".PadRight(width)}  changed values\n");
                foreach (var (column, count) in columns)
                {
                    o.Append(CultureInfo.InvariantCulture, $"  {column.PadRight(width)}  {count}\n");
                }
            }

            foreach (var e in t.Examples)
            {
                var sign = e.Change switch { "added" => '+', "removed" => '-', _ => '~' };
                o.Append(CultureInfo.InvariantCulture, $"  {sign} {e.Key}{(e.Version is { } v ? $" v{v}" : string.Empty)}{(e.Change == "changed" ? string.Empty : $" ({e.Change})")}\n");
                foreach (var c in e.Columns)
                {
                    o.Append(CultureInfo.InvariantCulture, $"      {c.Column}: {TableDiff.Show(c.Before)} → {TableDiff.Show(c.After)}\n");
                }
            }
        }

        o.Append('\n').Append(report.HasDifferences
            ? "Differences found (exit 1): the current code would change the warehouse rows above.\n"
            : "No differences: the current code reproduces the warehouse.\n");
        return o.ToString();
    }

    public static string ToJson(ReviewReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteBoolean("differences", report.HasDifferences);
            w.WriteNumber("objects", report.Objects);
            w.WriteNumber("records", report.Records);
            w.WriteNumber("valid", report.Valid);
            w.WriteNumber("quarantined", report.Quarantined);
            w.WriteNumber("unreadable_objects", report.Unreadable);
            w.WriteNumber("not_compared", report.NotCompared);
            w.WriteStartObject("tables");
            foreach (var t in report.Tables)
            {
                w.WriteStartObject(t.Table);
                w.WriteNumber("before", t.Before);
                w.WriteNumber("after", t.After);
                w.WriteNumber("added", t.Added);
                w.WriteNumber("removed", t.Removed);
                w.WriteNumber("changed", t.Changed);
                w.WriteStartObject("columns");
                foreach (var (column, count) in t.ChangedColumns)
                {
                    w.WriteNumber(column, count);
                }

                w.WriteEndObject();
                w.WriteStartArray("examples");
                foreach (var e in t.Examples)
                {
                    w.WriteStartObject();
                    w.WriteString("change", e.Change);
                    w.WriteString(KeyColumn, e.Key);
                    if (e.Version is { } v)
                    {
                        w.WriteNumber("version", v);
                    }

                    w.WriteStartObject("columns");
                    foreach (var c in e.Columns)
                    {
                        w.WriteStartObject(c.Column);
                        w.WritePropertyName("before");
                        WriteValue(w, c.Before);
                        w.WritePropertyName("after");
                        WriteValue(w, c.After);
                        w.WriteEndObject();
                    }

                    w.WriteEndObject();
                    w.WriteEndObject();
                }

                w.WriteEndArray();
                w.WriteEndObject();
            }

            w.WriteEndObject();
            w.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    private static void WriteValue(Utf8JsonWriter w, object? value)
    {
        switch (value)
        {
            case null: w.WriteNullValue(); break;
            case bool b: w.WriteBooleanValue(b); break;
            case long l: w.WriteNumberValue(l); break;
            case decimal d: w.WriteNumberValue(d); break;
            default: w.WriteStringValue(RunCommand.Format(value)); break;
        }
    }
}

/// <summary>A review that cannot start or whose arguments select nothing (exit code 2).</summary>
public sealed class ReviewUsageException(string message) : Exception(message);
