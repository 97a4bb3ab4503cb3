using System.IO.Compression;
using System.Text;
using Pipeline.Functions.Transactions;
using Pipeline.Functions.Transactions.Reading;

namespace Pipeline.Functions.Tests.Domain;

public sealed class TransactionFileReaderTests
{
    private static readonly string One = TestData.Valid().ToJsonString();

    private static byte[] Gzip(string text)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return buffer.ToArray();
    }

    private static string Csv(params string[] rows) =>
        string.Join(",", TransactionFields.All) + "\n" + string.Join("\n", rows) + "\n";

    private const string CsvRow = "TX-1,1,NEW,2026-11-20,2026-11-20T14:03:11Z,ACC-1,t-1,5493001KJTIIGC8Y1R12,US0378331005,EQUITY,BUY,100,189.23,USD,XNAS";

    [Theory]
    [InlineData("a.json", TransactionFileFormat.JsonObjects)]
    [InlineData("a.ndjson", TransactionFileFormat.Ndjson)]
    [InlineData("a.jsonl", TransactionFileFormat.Ndjson)]
    [InlineData("a.txt", TransactionFileFormat.Ndjson)]
    public async Task OpenAsync_ObjectContent_FormatByExtensionThenSniffing(string name, TransactionFileFormat format)
    {
        var reader = await TestData.OpenAsync(name, TestData.Opener(One + "\n" + One));
        Assert.Equal(format, reader.Format);
        var records = await TestData.ReadAllAsync(name, Encoding.UTF8.GetBytes(One + "\n" + One));
        Assert.Equal([1L, 2L], records.Select(r => r.RecordNumber));
        Assert.Equal("TX-2026-000001", records[1][0]!.Value.Text);
    }

    [Fact]
    public async Task ReadAsync_JsonArray_RecordsInOrderWithLines()
    {
        var text = "[\n" + One + ",\n  " + One.Replace("TX-2026-000001", "TX-2", StringComparison.Ordinal) + "\n]\n";
        var records = await TestData.ReadAllAsync("a.json", Encoding.UTF8.GetBytes(text));
        Assert.Equal(2, records.Count);
        Assert.Equal(2, records[0].Line);
        Assert.Equal(3, records[1].Line);
        Assert.Equal("TX-2", records[1][0]!.Value.Text);
        Assert.Equal(One, records[0].Original());
    }

    [Fact]
    public async Task ReadAsync_PrettyPrintedSingleObject_OneRecord()
    {
        var text = TestData.Valid().ToJsonString(new System.Text.Json.JsonSerializerOptions { WriteIndented = true });
        var records = await TestData.ReadAllAsync("one.json", Encoding.UTF8.GetBytes(text));
        Assert.Null(Assert.Single(records).Malformed);
    }

    [Fact]
    public async Task ReadAsync_EmptyArray_NoRecords() =>
        Assert.Empty(await TestData.ReadAllAsync("a.json", "[ ]"u8.ToArray()));

    [Theory]
    [InlineData("a.json.gz")]
    [InlineData("a.ndjson.gz")]
    [InlineData("a.gz")]
    public async Task ReadAsync_Gzip_Decompressed(string name)
    {
        var records = await TestData.ReadAllAsync(name, Gzip(name.Contains("ndjson", StringComparison.Ordinal) || name == "a.gz" ? One + "\n" + One : "[" + One + "," + One + "]"));
        Assert.Equal(2, records.Count);
    }

    [Fact]
    public async Task ReadAsync_CsvGzip_Decompressed()
    {
        var records = await TestData.ReadAllAsync("a.csv.gz", Gzip(Csv(CsvRow, CsvRow)));
        Assert.Equal(2, records.Count);
        Assert.All(records, r => Assert.Equal(RawKind.String, r[11]!.Value.Kind));
    }

    [Fact]
    public async Task ReadAsync_Csv_FieldsByHeaderAndOriginalAsJson()
    {
        var records = await TestData.ReadAllAsync("a.csv", Encoding.UTF8.GetBytes(Csv(CsvRow, "\"TX,2\"" + CsvRow[4..])));
        Assert.Equal(2, records.Count);
        Assert.Equal("TX,2", records[1][0]!.Value.Text);
        Assert.Equal(3, records[1].Line);
        Assert.Contains("\"transaction_id\":\"TX-1\"", records[0].Original(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvColumnsInAnotherOrderOrExtra_OriginalIsTheRowsCellsInColumnOrder()
    {
        // Reordered header (the cells are the fields), a header with an extra column, and rows of other lengths.
        var reordered = "price, transaction_id,version,status,trade_date,executed_at,account_id,trader_id,counterparty_lei,isin,asset_class,side,quantity,currency,venue_mic\n"
            + "189.23,TX-1,1,NEW,2026-11-20,2026-11-20T14:03:11Z,ACC-1,t-1,5493001KJTIIGC8Y1R12,US0378331005,EQUITY,BUY,100,USD,XNAS\n"
            + "\"1,5\",TX-2,1,NEW\n"
            + "189.23,TX-3,1,NEW,2026-11-20,2026-11-20T14:03:11Z,ACC-1,t-1,5493001KJTIIGC8Y1R12,US0378331005,EQUITY,BUY,100,USD,XNAS,more\n";
        var records = await TestData.ReadAllAsync("a.csv", Encoding.UTF8.GetBytes(reordered));
        Assert.Equal(3, records.Count);
        Assert.Equal(
            "{\"price\":\"189.23\",\" transaction_id\":\"TX-1\",\"version\":\"1\",\"status\":\"NEW\",\"trade_date\":\"2026-11-20\",\"executed_at\":\"2026-11-20T14:03:11Z\",\"account_id\":\"ACC-1\",\"trader_id\":\"t-1\",\"counterparty_lei\":\"5493001KJTIIGC8Y1R12\",\"isin\":\"US0378331005\",\"asset_class\":\"EQUITY\",\"side\":\"BUY\",\"quantity\":\"100\",\"currency\":\"USD\",\"venue_mic\":\"XNAS\"}",
            records[0].Original());
        Assert.Equal("189.23", records[0][12]!.Value.Text);
        Assert.Equal("TX-1", records[0][0]!.Value.Text);
        Assert.Equal("{\"price\":\"1,5\",\" transaction_id\":\"TX-2\",\"version\":\"1\",\"status\":\"NEW\"}", records[1].Original());
        Assert.EndsWith(",\"venue_mic\":\"XNAS\",\"column_16\":\"more\"}", records[2].Original(), StringComparison.Ordinal);

        var extra = string.Join(",", TransactionFields.All) + ",note\n" + CsvRow + ",n1\n";
        var withNote = Assert.Single(await TestData.ReadAllAsync("b.csv", Encoding.UTF8.GetBytes(extra)));
        Assert.EndsWith(",\"venue_mic\":\"XNAS\",\"note\":\"n1\"}", withNote.Original(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvRowWithTooFewFields_MalformedRecordWithLine()
    {
        var records = await TestData.ReadAllAsync("a.csv", Encoding.UTF8.GetBytes(Csv(CsvRow, "TX-2,1,NEW")));
        Assert.Null(records[0].Malformed);
        Assert.Equal("line 3: the row has 3 fields, the header has 15", records[1].Malformed);
    }

    [Fact]
    public async Task ReadAsync_NdjsonBrokenLine_OnlyThatRecordMalformed()
    {
        var text = One + "\n{\"transaction_id\": \n\n" + One + "\n";
        var records = await TestData.ReadAllAsync("a.ndjson", Encoding.UTF8.GetBytes(text));
        Assert.Equal(3, records.Count);
        Assert.Null(records[0].Malformed);
        Assert.StartsWith("line 2: malformed JSON", records[1].Malformed, StringComparison.Ordinal);
        Assert.Equal(4, records[2].Line);
        Assert.Equal(3, records[2].RecordNumber);
    }

    [Fact]
    public async Task ReadAsync_NdjsonNotAnObject_Malformed()
    {
        var records = await TestData.ReadAllAsync("a.ndjson", "[1,2]\n"u8.ToArray());
        Assert.Equal("line 1: expected a JSON object, found an array", Assert.Single(records).Malformed);
    }

    [Fact]
    public async Task OpenAsync_TruncatedArray_UnreadableWithPosition()
    {
        var text = "[\n" + One + ",\n" + One[..40];
        var ex = await Assert.ThrowsAsync<UnreadableFileException>(() => TestData.OpenAsync("a.json", TestData.Opener(text)));
        Assert.Equal(3, ex.Line);
        Assert.Contains("unexpected end of file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_SyntaxErrorMidArray_UnreadableWithLineAndByte()
    {
        var text = "[\n" + One + ",\n{\"transaction_id\": tx}\n]";
        var ex = await Assert.ThrowsAsync<UnreadableFileException>(() => TestData.OpenAsync("a.json", TestData.Opener(text)));
        Assert.Equal(3, ex.Line);
        // Line 3 starts after "[\n" + record + ",\n"; the reader stops at 'x', the first byte that cannot continue 't...'.
        Assert.Equal(2 + One.Length + 2 + 20, ex.BytePosition);
    }

    [Fact]
    public async Task OpenAsync_MissingCommaInArray_Unreadable()
    {
        var ex = await Assert.ThrowsAsync<UnreadableFileException>(() => TestData.OpenAsync("a.json", TestData.Opener("[" + One + " " + One + "]")));
        Assert.Contains("expected ',' or ']'", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("a.json", "", "empty")]
    [InlineData("a.json", "  \n", "empty")]
    [InlineData("a.json", "hello", "must start with '[' or '{'")]
    [InlineData("a.bin", "hello", "unrecognised format")]
    [InlineData("a.ndjson.gz", "plain text", "not gzip")]
    [InlineData("a.json", "[1] x", "after the end of the array")]
    public async Task OpenAsync_NotTransactions_Unreadable(string name, string text, string reason)
    {
        var ex = await Assert.ThrowsAsync<UnreadableFileException>(() => TestData.OpenAsync(name, TestData.Opener(text)));
        Assert.Contains(reason, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task OpenAsync_CorruptGzip_Unreadable()
    {
        var bytes = Gzip(string.Concat(Enumerable.Repeat(One + "\n", 200)));
        for (var i = bytes.Length / 3; i < bytes.Length / 2; i++)
        {
            bytes[i] ^= 0x5A;
        }

        var ex = await Assert.ThrowsAsync<UnreadableFileException>(() => TestData.OpenAsync("a.ndjson.gz", TestData.Opener(bytes)));
        Assert.Contains("gzip", ex.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Records keep their typed fields in the reader's buffer until asked: one kept past the point where the reader
    /// reuses that buffer is refused by name, never read as another record's bytes.
    /// </summary>
    [Theory]
    [InlineData("big.ndjson")]
    [InlineData("big.json")]
    public async Task ReadAsync_RecordKeptPastBufferReuse_RefusedNotReadAsOtherBytes(string name)
    {
        // Distinct prices per record, and far more than the reader's 256 KB window.
        var lines = Enumerable.Range(1, 4000).Select(i => TestData.Valid().ToJsonString().Replace("189.23", $"{i}.25", StringComparison.Ordinal)).ToArray();
        var text = name.EndsWith(".json", StringComparison.Ordinal) ? "[" + string.Join(",", lines) + "]" : string.Join("\n", lines);
        var reader = await TestData.OpenAsync(name, TestData.Opener(text));
        var kept = new List<RawRecord>();
        var reference = TestData.Reference;
        await foreach (var record in reader.ReadAsync(TestContext.Current.CancellationToken))
        {
            // Used while current: whole and valid.
            Assert.NotNull(TransactionValidator.Validate(record, reference, []));
            kept.Add(record);
        }

        Assert.Equal(4000, kept.Count);
        var ex = Assert.Throws<InvalidOperationException>(() => kept[0].Fields);
        Assert.Contains("Record 1 (line 1)", ex.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => TransactionValidator.Validate(kept[0], reference, []));
        Assert.Throws<InvalidOperationException>(() => kept[^1].Original());
    }

    public static TheoryData<string, string> TruncatableFiles => new()
    {
        { "a.ndjson.gz", string.Concat(Enumerable.Repeat(One + "\n", 300)) },
        { "a.csv.gz", Csv(Enumerable.Repeat(CsvRow, 300).ToArray()) },
        { "a.json.gz", "[" + string.Join(",", Enumerable.Repeat(One, 300)) + "]" },
    };

    /// <summary>Cuts in the header, in the deflate data, at the end of the deflate data and inside the 8-byte trailer.</summary>
    [Theory]
    [MemberData(nameof(TruncatableFiles))]
    public async Task OpenAsync_TruncatedGzip_UnreadableNamingTheTruncation(string name, string text)
    {
        var whole = Gzip(text);
        Assert.Equal(300, (await TestData.ReadAllAsync(name, whole)).Count);
        int[] cuts = [2, 5, 10, 11, whole.Length / 3, whole.Length / 2, whole.Length - 9, whole.Length - 8, whole.Length - 7, whole.Length - 4, whole.Length - 1];
        foreach (var cut in cuts)
        {
            var ex = await Assert.ThrowsAsync<UnreadableFileException>(() => TestData.OpenAsync(name, TestData.Opener(whole[..cut])));
            Assert.Contains("gzip", ex.Message, StringComparison.Ordinal);
            if (cut >= 11)
            {
                Assert.Contains("truncated gzip file", ex.Message, StringComparison.Ordinal);
                Assert.NotNull(ex.BytePosition);
            }
        }
    }

    [Fact]
    public void Crc32_KnownVectors_MatchIeee()
    {
        // The trailer check relies on System.IO.Hashing's Crc32 being gzip's CRC-32, appended chunk by chunk.
        Assert.Equal(0xCBF43926u, System.IO.Hashing.Crc32.HashToUInt32("123456789"u8));
        Assert.Equal(0u, System.IO.Hashing.Crc32.HashToUInt32([]));
        var data = Encoding.UTF8.GetBytes(string.Concat(Enumerable.Repeat(One, 7)));
        var chunked = new System.IO.Hashing.Crc32();
        chunked.Append(data.AsSpan(0, 13));
        chunked.Append(data.AsSpan(13));
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(data), chunked.GetCurrentHashAsUInt32());
        var gz = Gzip(Encoding.UTF8.GetString(data));
        Assert.Equal(System.IO.Hashing.Crc32.HashToUInt32(data), System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(gz.AsSpan(gz.Length - 8)));
    }

    [Fact]
    public async Task ReadAsync_ConcatenatedGzipMembers_AllRecordsRead()
    {
        var bytes = Gzip(string.Concat(Enumerable.Repeat(One + "\n", 3))).Concat(Gzip(string.Concat(Enumerable.Repeat(One + "\n", 2)))).ToArray();

        Assert.Equal(5, (await TestData.ReadAllAsync("a.ndjson.gz", bytes)).Count);
        var ex = await Assert.ThrowsAsync<UnreadableFileException>(() => TestData.OpenAsync("a.ndjson.gz", TestData.Opener(bytes[..^3])));
        Assert.Contains("truncated gzip file", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_CsvHeaderLacksColumns_Unreadable()
    {
        var reader = await TestData.OpenAsync("a.csv", TestData.Opener("transaction_id,version\nTX-1,1\n"));
        var ex = await Assert.ThrowsAsync<UnreadableFileException>(async () =>
        {
            await foreach (var _ in reader.ReadAsync(TestContext.Current.CancellationToken))
            {
            }
        });
        Assert.Contains("lacks the columns status", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReadAsync_ManyRecordsAcrossBufferBoundaries_AllReadInOrder()
    {
        var builder = new StringBuilder("[");
        for (var i = 1; i <= 3000; i++)
        {
            builder.Append(i > 1 ? ",\n" : "\n").Append(One.Replace("TX-2026-000001", "TX-" + i, StringComparison.Ordinal));
        }

        builder.Append("\n]");
        var bytes = Encoding.UTF8.GetBytes(builder.ToString());
        foreach (var (name, content) in new[] { ("a.json", bytes), ("a.ndjson", Encoding.UTF8.GetBytes(builder.ToString()[2..^2].Replace(",\n", "\n", StringComparison.Ordinal))) })
        {
            var records = await TestData.ReadAllAsync(name, content);
            Assert.Equal(3000, records.Count);
            Assert.Equal("TX-2999", records[2998][0]!.Value.Text);
            Assert.Equal(3000, records[2999].Line - (name == "a.json" ? 1 : 0));
        }
    }
}
