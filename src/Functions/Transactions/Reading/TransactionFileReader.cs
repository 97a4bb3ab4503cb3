using System.Globalization;
using System.IO.Compression;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using CsvHelper;

namespace Pipeline.Functions.Transactions.Reading;

public enum TransactionFileFormat
{
    /// <summary>A JSON array of objects.</summary>
    JsonArray,

    /// <summary>One JSON object, or several concatenated (pretty-printed allowed).</summary>
    JsonObjects,

    /// <summary>One JSON object per line.</summary>
    Ndjson,

    /// <summary>CSV with a header row naming the fields.</summary>
    Csv,
}

/// <summary>
/// Streams the records of a transaction file (JSON object/array, NDJSON, CSV; optionally gzip),
/// record by record, never holding the file in memory. Formats whose syntax errors would strike
/// mid-stream (JSON documents, gzip: corrupt or truncated) are checked in a first streaming pass, so a broken file is
/// rejected whole (<see cref="UnreadableFileException"/>) before any record is produced.
/// </summary>
public sealed class TransactionFileReader
{
    private const int SniffBytes = 4096;
    private readonly Func<CancellationToken, Task<Stream>> open;

    private TransactionFileReader(string name, Func<CancellationToken, Task<Stream>> open, TransactionFileFormat format, bool gzip)
    {
        Name = name;
        this.open = open;
        Format = format;
        IsGzip = gzip;
    }

    public string Name { get; }

    public TransactionFileFormat Format { get; }

    public bool IsGzip { get; }

    /// <summary>Detects the format (extension first, content when unclear) and checks whole-file syntax where needed.</summary>
    /// <param name="open">Opens the file from the start; called more than once.</param>
    /// <exception cref="UnreadableFileException">When the file cannot be read as transactions at all.</exception>
    public static async Task<TransactionFileReader> OpenAsync(string name, Func<CancellationToken, Task<Stream>> open, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        ArgumentNullException.ThrowIfNull(open);
        var lower = name.ToLowerInvariant();
        var namedGzip = lower.EndsWith(".gz", StringComparison.Ordinal);
        var inner = namedGzip ? lower[..^3] : lower;

        bool gzip;
        byte[] sniff = new byte[SniffBytes];
        int sniffed;
        await using (var raw = await open(cancellationToken))
        {
            var head = new byte[2];
            var headLength = await raw.ReadAtLeastAsync(head, 2, throwOnEndOfStream: false, cancellationToken);
            if (headLength == 0)
            {
                throw new UnreadableFileException("the file is empty", 1, 0);
            }

            gzip = headLength == 2 && head[0] == 0x1F && head[1] == 0x8B;
            if (namedGzip && !gzip)
            {
                throw new UnreadableFileException("the name ends in .gz but the content is not gzip (no 1F 8B header)", 1, 0);
            }

            Stream content = new PrefixStream(head, headLength, raw);
            if (gzip)
            {
                content = new GZipStream(content, CompressionMode.Decompress);
            }

            try
            {
                sniffed = await content.ReadAtLeastAsync(sniff, SniffBytes, throwOnEndOfStream: false, cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                throw new UnreadableFileException($"corrupt gzip data: {ex.Message}", null, 0, ex);
            }
        }

        TransactionFileFormat format;
        try
        {
            format = Detect(inner, sniff.AsSpan(0, sniffed));
        }
        catch (UnreadableFileException) when (gzip)
        {
            // A gzip file cut short may decompress to nothing: say it is truncated rather than empty.
            await GzipIntegrity.CheckAsync(open, null, cancellationToken);
            throw;
        }

        var reader = new TransactionFileReader(name, open, format, gzip);
        if (gzip || format is TransactionFileFormat.JsonArray or TransactionFileFormat.JsonObjects)
        {
            await reader.CheckWholeFileAsync(cancellationToken);
        }

        return reader;
    }

    private static TransactionFileFormat Detect(string name, ReadOnlySpan<byte> sniff)
    {
        var text = sniff.TrimStart("\uFEFF"u8).TrimStart(" \t\r\n"u8);
        if (text.IsEmpty)
        {
            throw new UnreadableFileException("the file is empty (only whitespace)", 1, 0);
        }

        if (name.EndsWith(".ndjson", StringComparison.Ordinal) || name.EndsWith(".jsonl", StringComparison.Ordinal))
        {
            return TransactionFileFormat.Ndjson;
        }

        if (name.EndsWith(".csv", StringComparison.Ordinal))
        {
            return TransactionFileFormat.Csv;
        }

        if (name.EndsWith(".json", StringComparison.Ordinal))
        {
            return text[0] switch
            {
                (byte)'[' => TransactionFileFormat.JsonArray,
                (byte)'{' => TransactionFileFormat.JsonObjects,
                _ => throw new UnreadableFileException($"a .json file must start with '[' or '{{', found '{(char)text[0]}'", 1, sniff.Length - text.Length),
            };
        }

        // No telling extension: sniff the content.
        if (text[0] == (byte)'[')
        {
            return TransactionFileFormat.JsonArray;
        }

        if (text[0] == (byte)'{')
        {
            return TransactionFileFormat.Ndjson;
        }

        var newline = text.IndexOf((byte)'\n');
        var firstLine = Encoding.UTF8.GetString(newline < 0 ? text : text[..newline]);
        if (firstLine.Contains(TransactionFields.TransactionId, StringComparison.Ordinal) && firstLine.Contains(',', StringComparison.Ordinal))
        {
            return TransactionFileFormat.Csv;
        }

        throw new UnreadableFileException("unrecognised format: expected a JSON object or array, NDJSON, or CSV with a header (by extension .json, .ndjson, .jsonl, .csv, optionally .gz)", 1, 0);
    }

    private async Task<Stream> OpenContentAsync(CancellationToken cancellationToken)
    {
        var raw = await open(cancellationToken);
        return IsGzip ? new GZipStream(raw, CompressionMode.Decompress) : raw;
    }

    private async Task CheckWholeFileAsync(CancellationToken cancellationToken)
    {
        var json = Format is TransactionFileFormat.JsonArray or TransactionFileFormat.JsonObjects;
        async Task CheckJsonAsync(Stream content)
        {
            await foreach (var (_, _, _, _) in SplitJsonAsync(content, Format == TransactionFileFormat.JsonArray, cancellationToken))
            {
                // Syntax only.
            }
        }

        if (IsGzip)
        {
            // Decompress everything once (checking JSON syntax on the way), then verify the gzip trailer.
            try
            {
                await GzipIntegrity.CheckAsync(open, json ? CheckJsonAsync : null, cancellationToken);
            }
            catch (InvalidDataException ex)
            {
                throw new UnreadableFileException($"corrupt gzip data: {ex.Message}", null, null, ex);
            }

            return;
        }

        await using var raw = await open(cancellationToken);
        await CheckJsonAsync(raw);
    }

    /// <summary>The records, in file order, numbered from 1.</summary>
    /// <exception cref="UnreadableFileException">For a CSV whose header lacks fields (before any record).</exception>
    public async IAsyncEnumerable<RawRecord> ReadAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await using var content = await OpenContentAsync(cancellationToken);
        IAsyncEnumerable<RawRecord> records = Format switch
        {
            TransactionFileFormat.Ndjson => ReadLinesAsync(content, cancellationToken),
            TransactionFileFormat.Csv => ReadCsvAsync(content, cancellationToken),
            _ => ReadJsonAsync(content, Format == TransactionFileFormat.JsonArray, cancellationToken),
        };
        await foreach (var record in records)
        {
            yield return record;
        }
    }

    private static async IAsyncEnumerable<RawRecord> ReadJsonAsync(Stream content, bool array, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        long number = 0;
        await foreach (var (element, line, _, window) in SplitJsonAsync(content, array, cancellationToken))
        {
            var record = new RawRecord(++number, line, element, window: window);
            record.Malformed = JsonRecordParser.ParseObject(record, element.Span);
            yield return record;
        }
    }

    /// <summary>Yields each top-level value (array elements, or concatenated values) with its line and byte offset.</summary>
    private static async IAsyncEnumerable<(ReadOnlyMemory<byte> Element, long Line, long Offset, ByteWindow Window)> SplitJsonAsync(
        Stream content, bool array, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var window = new ByteWindow(content);
        if (!await window.SkipWhitespaceAsync(cancellationToken))
        {
            throw new UnreadableFileException("the file is empty", window.Line, window.Offset);
        }

        if (array)
        {
            if (window.Span[0] != (byte)'[')
            {
                throw new UnreadableFileException("expected '[' to start a JSON array", window.Line, window.Offset);
            }

            window.Advance(1);
            if (!await window.SkipWhitespaceAsync(cancellationToken))
            {
                throw new UnreadableFileException("unexpected end of file inside the array (missing ']')", window.Line, window.Offset);
            }

            if (window.Span[0] == (byte)']')
            {
                window.Advance(1);
                await ExpectEndAsync(window, "the array", cancellationToken);
                yield break;
            }
        }

        while (true)
        {
            var value = await NextValueAsync(window, cancellationToken);
            window.Advance(value.Start);
            var line = window.Line;
            var offset = window.Offset;
            yield return (window.Memory[..value.Length], line, offset, window);
            window.Advance(value.Length);

            var more = await window.SkipWhitespaceAsync(cancellationToken);
            if (!array)
            {
                if (!more)
                {
                    yield break;
                }

                continue;
            }

            if (!more)
            {
                throw new UnreadableFileException("unexpected end of file inside the array (missing ']')", window.Line, window.Offset);
            }

            var separator = window.Span[0];
            window.Advance(1);
            if (separator == (byte)']')
            {
                await ExpectEndAsync(window, "the array", cancellationToken);
                yield break;
            }

            if (separator != (byte)',')
            {
                throw new UnreadableFileException($"expected ',' or ']' after an array element, found '{(char)separator}'", window.Line, window.Offset - 1);
            }

            if (!await window.SkipWhitespaceAsync(cancellationToken))
            {
                throw new UnreadableFileException("unexpected end of file inside the array (missing ']')", window.Line, window.Offset);
            }

            if (window.Span[0] == (byte)']')
            {
                throw new UnreadableFileException("trailing ',' before ']'", window.Line, window.Offset);
            }
        }
    }

    private static async ValueTask<JsonRecordParser.ValueSpan> NextValueAsync(ByteWindow window, CancellationToken cancellationToken)
    {
        while (true)
        {
            var value = JsonRecordParser.Delimit(window.Span, window.EndOfStream);
            if (value.Complete)
            {
                return value;
            }

            if (value.Error is not null)
            {
                var at = window.Offset + value.ErrorByteInSlice;
                throw new UnreadableFileException($"malformed JSON: {value.Error}", window.Line + value.ErrorLine, at);
            }

            if (!await window.FillAsync(cancellationToken))
            {
                var last = JsonRecordParser.Delimit(window.Span, isFinalBlock: true);
                if (last.Complete)
                {
                    return last;
                }

                throw new UnreadableFileException(
                    $"unexpected end of file inside a JSON value{(last.Error is null ? string.Empty : ": " + last.Error)}",
                    window.Line + last.ErrorLine,
                    window.Offset + last.ErrorByteInSlice);
            }
        }
    }

    private static async ValueTask ExpectEndAsync(ByteWindow window, string what, CancellationToken cancellationToken)
    {
        if (await window.SkipWhitespaceAsync(cancellationToken))
        {
            throw new UnreadableFileException($"unexpected content after the end of {what}", window.Line, window.Offset);
        }
    }

    private static async IAsyncEnumerable<RawRecord> ReadLinesAsync(Stream content, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var window = new ByteWindow(content);
        long number = 0;
        var searched = 0;
        while (true)
        {
            int length;
            var last = false;
            var newline = window.Span[searched..].IndexOf((byte)'\n');
            if (newline < 0)
            {
                if (!window.EndOfStream)
                {
                    searched = window.Count;
                    await window.FillAsync(cancellationToken);
                    continue;
                }

                if (window.Count == 0)
                {
                    yield break;
                }

                length = window.Count;
                last = true;
            }
            else
            {
                length = searched + newline;
            }

            searched = 0;
            var line = window.Line;
            var trimmed = Trim(window.Memory[..length]);
            if (!trimmed.IsEmpty)
            {
                var record = new RawRecord(++number, line, trimmed, window: window);
                if (JsonRecordParser.ParseObject(record, trimmed.Span) is { } malformed)
                {
                    record.Malformed = $"line {line}: {malformed}";
                }

                yield return record;
            }

            if (last)
            {
                yield break;
            }

            window.Advance(length + 1);
        }
    }

    private static ReadOnlyMemory<byte> Trim(ReadOnlyMemory<byte> bytes)
    {
        var span = bytes.Span;
        var start = 0;
        var end = span.Length;
        if (span.StartsWith("\uFEFF"u8))
        {
            start = 3;
        }

        while (start < end && span[start] is (byte)' ' or (byte)'\t' or (byte)'\r')
        {
            start++;
        }

        while (end > start && span[end - 1] is (byte)' ' or (byte)'\t' or (byte)'\r')
        {
            end--;
        }

        return bytes[start..end];
    }

    private static async IAsyncEnumerable<RawRecord> ReadCsvAsync(Stream content, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        CsvMalformedRecord? problem = null;
        var options = new CsvReaderOptions
        {
            Separator = ',',
            HasHeader = true,
            TrackLineNumbers = true,
            OnMalformedRecord = m => problem = m,
        };
        await using var csv = CsvReader.Create(content, options, true);
        await csv.ReadHeaderAsync(cancellationToken);
        var header = csv.Headers.ToArray();
        if (header.Length == 0)
        {
            throw new UnreadableFileException("the CSV file has no header row", 1, 0);
        }

        var map = new int[header.Length];
        var present = new bool[TransactionFields.All.Count];
        for (var i = 0; i < header.Length; i++)
        {
            map[i] = TransactionFields.IndexOf(header[i].Trim());
            if (map[i] >= 0)
            {
                present[map[i]] = true;
            }
        }

        var missing = TransactionFields.All.Where((_, i) => !present[i]).ToList();
        if (missing.Count == TransactionFields.All.Count)
        {
            throw new UnreadableFileException($"the first CSV row is not a header naming the transaction fields (found '{string.Join(",", header)}')", 1, 0);
        }

        if (missing.Count > 0)
        {
            throw new UnreadableFileException($"the CSV header lacks the columns {string.Join(", ", missing)}", 1, 0);
        }

        // The header names each field once and nothing else: a row of as many cells is its fields (no array of its own).
        var shared = header.Length == TransactionFields.All.Count ? new CsvRow(header, null, map) : null;
        long number = 0;
        while (true)
        {
            problem = null;
            bool more;
            try
            {
                more = await csv.ReadAsync(cancellationToken);
            }
            catch (CsvFormatException ex)
            {
                throw new UnreadableFileException($"CSV cannot be parsed: {ex.Message}", ex.LineNumber, ex.ByteOffset, ex);
            }

            if (!more)
            {
                yield break;
            }

            var line = csv.LineNumber;
            var count = csv.FieldCount;
            var row = shared is not null && count == header.Length ? null : new string[count];
            var record = new RawRecord(++number, line, ReadOnlyMemory<byte>.Empty, row is null ? shared : new CsvRow(header, row, null));
            for (var i = 0; i < count; i++)
            {
                // Repeated cells (accounts, LEIs, codes, dates) come from the per-thread cache, as JSON values do.
                var cell = csv.GetSpan(i);
                var text = Ascii.IsValid(cell) ? StringCache.Get(cell) : csv.GetString(i);
                if (row is not null)
                {
                    row[i] = text;
                }

                if (i < header.Length && map[i] >= 0)
                {
                    record.SetText(map[i], RawKind.String, text);
                }
            }

            if (problem is not null)
            {
                record.Malformed = $"line {line}: malformed CSV ({problem.Value.Reason}) at byte {problem.Value.ByteOffset}";
            }
            else if (count != header.Length)
            {
                record.Malformed = $"line {line}: the row has {count} fields, the header has {header.Length}";
            }

            yield return record;
        }
    }
}
