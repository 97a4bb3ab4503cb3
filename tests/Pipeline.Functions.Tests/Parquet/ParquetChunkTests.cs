using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Pipeline.Functions.Functions;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Embedded;

namespace Pipeline.Functions.Tests.Parquet;

/// <summary>Claim-check chunks as Parquet: exact round trip of every value validation accepts, and refusal of damaged chunks.</summary>
public sealed class ParquetChunkTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static EnrichedTransaction Base { get; } = EndToEnd.PipelineEndToEndTests.Records(("TX-P", 1, "NEW"))[0];

    private static decimal D(string text) => decimal.Parse(text, NumberStyles.Number, CultureInfo.InvariantCulture);

    /// <summary>Edge values, each in a record of its own (names say what is at the edge).</summary>
    public static TheoryData<string, EnrichedTransaction> EdgeRecords => new()
    {
        { "10 fractional digits", Base with { Quantity = D("0.0000000001"), Price = D("123456789012345678.0123456789"), FxRateUsd = D("-0.0000000001") } },
        { "28 integer digits", Base with { Quantity = D("9999999999999999999999999999"), Notional = D("-9999999999999999999999999999"), NotionalUsd = D("1000000000000000000000000000") } },
        { "zero, negative zero, negative", Base with { Quantity = 0m, Price = D("0.0000000000"), Notional = -0m, NotionalUsd = D("-0.00"), FxRateUsd = D("-123.4500") } },
        { "trailing zeros", Base with { Quantity = D("1.50"), Price = D("100.0000000000"), Notional = D("2.0") } },
        { "unicode text", Base with { CounterpartyName = "Société Générale – 日本銀行 😀 e\u0301", TraderId = "trader-Ω", RiskFlags = string.Empty, ReportableReason = "\u200b" } },
        { "dates at the ends", Base with { TradeDate = DateOnly.MinValue, SettlementDate = DateOnly.MaxValue } },
        { "dates around the epoch", Base with { TradeDate = new DateOnly(1969, 12, 31), SettlementDate = new DateOnly(2000, 2, 29) } },
        { "timestamp with 100 ns", Base with { ExecutedAt = new DateTimeOffset(2026, 11, 20, 14, 3, 11, TimeSpan.Zero).AddTicks(1_234_567), IngestedAt = DateTimeOffset.UnixEpoch.AddTicks(-1) } },
        { "timestamps at the ends", Base with { ExecutedAt = DateTimeOffset.MinValue, IngestedAt = DateTimeOffset.MaxValue } },
        { "timestamp with an offset", Base with { ExecutedAt = new DateTimeOffset(2026, 11, 20, 15, 3, 11, TimeSpan.FromHours(1)).AddTicks(9) } },
        { "extreme integers and flags", Base with { Version = int.MaxValue, RecordNumber = long.MaxValue, Cancelled = true, FlagLargeNotional = true, FlagWatchlistCountry = true, FlagUnknownCounterparty = true, Reportable = true } },
    };

    [Theory]
    [MemberData(nameof(EdgeRecords))]
    public async Task WriteAsync_EdgeValue_ReadBackUnaltered(string edge, EnrichedTransaction record)
    {
        var content = await ParquetChunkFormat.WriteAsync([Base, record], new Dictionary<string, string>(), Ct);

        var (back, _) = await ParquetChunkFormat.ReadAsync(new MemoryStream(content), Ct);

        Assert.Equal(2, back.Count);
        AssertSame(record, back[1], edge);
    }

    /// <summary>Property: any decimal of numeric(38,10) (up to 28 significant digits, as System.Decimal holds) comes back equal.</summary>
    [Fact]
    public void WriteAsync_AnyDecimalInDomain_RoundTripsExactly()
    {
        var decimals =
            from digits in Gen.Choose(1, 28)
            from mantissa in Gen.ArrayOf(Gen.Choose(0, 9), digits)
            from scale in Gen.Choose(0, Math.Min(10, digits))
            from negative in Gen.Elements(false, true)
            select Compose(mantissa, scale, negative);
        Prop.ForAll(decimals.ArrayOf(5).ToArbitrary(), values =>
        {
            var record = Base with { Quantity = values[0], Price = values[1], Notional = values[2], FxRateUsd = values[3], NotionalUsd = values[4] };
            var content = ParquetChunkFormat.WriteAsync([record], new Dictionary<string, string>(), Ct).GetAwaiter().GetResult();
            var back = ParquetChunkFormat.ReadAsync(new MemoryStream(content), Ct).GetAwaiter().GetResult().Records.Single();
            AssertSame(record, back, string.Join(", ", values));
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public async Task WriteAsync_DecimalOutsideDomain_RefusedInsteadOfRounded()
    {
        var ex = await Assert.ThrowsAsync<ArgumentException>(() => ParquetChunkFormat.WriteAsync([Base with { Price = D("0.00000000001") }], new Dictionary<string, string>(), Ct));
        Assert.Contains("11 fractional digits", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task SealAsync_SameRecordsTwice_SameBytesKeyAndMessage()
    {
        var records = EndToEnd.PipelineEndToEndTests.Records(Enumerable.Range(1, 50).Select(v => ("TX-D", v, v == 1 ? "NEW" : "AMEND")).ToArray());
        using var a = new ChunkBuilder();
        using var b = new ChunkBuilder();
        foreach (var r in records)
        {
            a.Add(r);
            b.Add(r);
        }

        var first = await a.SealAsync("prepare", "k", "e", 0, 0, Ct);
        var second = await b.SealAsync("prepare", "k", "e", 0, 0, Ct);
        Assert.Equal(first.Content, second.Content);
        Assert.Equal(first.Message, second.Message);
        Assert.Equal("chunks/k/e/000000.parquet", first.Claim.Key);
    }

    // ---- refusal through the loader's check (LoadTransactions.CheckAsync) on a real embedded store ----

    private const string SourceA = "transactions/a.ndjson";

    [Fact]
    public async Task CheckAsync_IntactChunk_RecordsLoad()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, message, _) = await bed.SealAsync(SourceA, 5);

        var (problem, records) = await LoadTransactions.CheckAsync(message, bed.Store, Ct);

        Assert.Null(problem);
        Assert.Equal(5, records!.Count);
        Assert.Equal(claim.RecordsSha256, MessagePacker.MessageDedupId(records.Select(r => r.DedupId)));
    }

    [Fact]
    public async Task CheckAsync_ClaimCountDiffers_RefusedNamingKeyAndCounts()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, _, _) = await bed.SealAsync(SourceA, 5);

        var (problem, _) = await LoadTransactions.CheckAsync(ChunkBed.MessageFor(claim with { Records = 4 }), bed.Store, Ct);

        Assert.Equal($"chunk prepare/{claim.Key} holds 5 records, the claim check 4", problem);
    }

    [Fact]
    public async Task CheckAsync_ClaimRecordsShaDiffers_RefusedNamingKey()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, _, _) = await bed.SealAsync(SourceA, 5);

        var (problem, _) = await LoadTransactions.CheckAsync(ChunkBed.MessageFor(claim with { RecordsSha256 = new string('0', 64) }), bed.Store, Ct);

        Assert.Equal($"chunk prepare/{claim.Key} does not hold the records the claim check names (records_sha256 differs)", problem);
    }

    [Fact]
    public async Task CheckAsync_ChunkOfAnotherObjectAtTheKey_RefusedNamingBothSources()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, message, _) = await bed.SealAsync(SourceA, 5);
        var (_, _, other) = await bed.SealAsync("transactions/b.ndjson", 5);
        await bed.PutAsync(claim.Key, other);

        var (problem, _) = await LoadTransactions.CheckAsync(message, bed.Store, Ct);

        Assert.Equal(
            $"chunk prepare/{claim.Key} refused: it was written for transactions/b.ndjson (ETag \"e1\") chunk 0, the claim check names {SourceA} (ETag \"e1\") chunk 0",
            problem);
    }

    [Fact]
    public async Task CheckAsync_ChunkOfAnotherPositionAtTheKey_Refused()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, message, _) = await bed.SealAsync(SourceA, 5);
        var (_, _, later) = await bed.SealAsync(SourceA, 5, chunk: 1);
        await bed.PutAsync(claim.Key, later);

        var (problem, _) = await LoadTransactions.CheckAsync(message, bed.Store, Ct);

        Assert.Contains("chunk 1, the claim check names", problem, StringComparison.Ordinal);
        Assert.StartsWith($"chunk prepare/{claim.Key} refused: ", problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, "not a Parquet file (0 bytes, no PAR1 header)")]
    [InlineData(3, "not a Parquet file (3 bytes, no PAR1 header)")]
    [InlineData(-1, "truncated: ")]
    [InlineData(-100, "truncated: ")]
    [InlineData(-2, "truncated: ")]
    public async Task CheckAsync_TruncatedChunk_RefusedSayingSo(int keep, string expected)
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, message, content) = await bed.SealAsync(SourceA, 5);
        await bed.PutAsync(claim.Key, content[..(keep >= 0 ? keep : content.Length + keep)]);

        var (problem, _) = await LoadTransactions.CheckAsync(message, bed.Store, Ct);

        Assert.StartsWith($"chunk prepare/{claim.Key} refused: {expected}", problem, StringComparison.Ordinal);
    }

    /// <summary>
    /// Bytes all over a chunk flipped in turn (every 5th, with varying bit patterns): the loader either refuses the chunk,
    /// naming it, or reads exactly the records written (the byte was one the data does not depend on: column statistics,
    /// the writer's name) — never other values.
    /// </summary>
    [Fact]
    public async Task CheckAsync_AnyByteFlipped_RefusedOrUnaltered()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, message, content) = await bed.SealAsync(SourceA, 3);
        var (_, original) = await LoadTransactions.CheckAsync(message, bed.Store, Ct);
        var refused = 0;
        for (var i = 0; i < content.Length; i += 5)
        {
            var damaged = (byte[])content.Clone();
            damaged[i] ^= (byte)(1 << (i % 8));
            var (problem, records) = await ChunkBed.CheckBytesAsync(claim, damaged);
            if (problem is not null)
            {
                Assert.StartsWith($"chunk prepare/{claim.Key} refused: ", problem, StringComparison.Ordinal);
                refused++;
            }
            else
            {
                Assert.Equal(original, records);
                Assert.Equal(
                    ParquetChunkFormat.ContentSha256(original!),
                    ParquetChunkFormat.ContentSha256(records!));
            }
        }

        Assert.True(refused > 0);
    }

    [Fact]
    public async Task CheckAsync_ValueChangedAndFileRewrittenWithOldFooter_RefusedByContentChecksum()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var (claim, message, content) = await bed.SealAsync(SourceA, 3);
        var (records, metadata) = await ParquetChunkFormat.ReadAsync(new MemoryStream(content), Ct);
        var footer = metadata.ToDictionary();
        records[1] = records[1] with { CounterpartyName = "Someone Else" };
        var tampered = await ParquetChunkFormat.WriteAsync(records, footer, Ct);

        // WriteAsync computes a fresh checksum; put the original one back as a tamperer keeping the footer would.
        var forged = await RewriteFooterChecksumAsync(tampered, footer[ParquetChunkFormat.ContentSha256Key]);
        await bed.PutAsync(claim.Key, forged);

        var (problem, _) = await LoadTransactions.CheckAsync(message, bed.Store, Ct);

        Assert.Equal(
            $"chunk prepare/{claim.Key} refused: the decoded records do not match the footer's {ParquetChunkFormat.ContentSha256Key} (the object was damaged or altered after it was written)",
            problem);
    }

    /// <summary>Claim checks written before v3 (NDJSON + gzip chunks) still load after the upgrade.</summary>
    [Fact]
    public async Task CheckAsync_V2NdjsonClaimInFlight_StillLoads()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var records = ChunkBed.RecordsFor(SourceA, 4);
        var claim = new EnrichedChunkMessage
        {
            Schema = EnrichedChunkMessage.NdjsonSchema, SourceKey = SourceA, SourceEtag = "\"e1\"", Chunk = 0, Zone = "prepare",
            Key = EnrichedChunkMessage.NdjsonKeyFor(SourceA, "\"e1\"", 0), Records = 4, FirstRecord = 0,
            RecordsSha256 = MessagePacker.MessageDedupId(records.Select(r => r.DedupId)),
        };
        await bed.PutAsync(claim.Key, NdjsonChunkFormat.Write(records));
        var message = ChunkBed.MessageFor(claim);
        Assert.True(EnrichedMessageKind.IsChunk(message.Body));

        var (problem, back) = await LoadTransactions.CheckAsync(message, bed.Store, Ct);

        Assert.Null(problem);
        Assert.Equal(records, back);
        Assert.EndsWith(".ndjson.gz", claim.Key, StringComparison.Ordinal);
    }

    [Fact]
    public async Task CheckAsync_V2ClaimPointingAtTruncatedNdjson_Refused()
    {
        await using var bed = await ChunkBed.CreateAsync();
        var records = ChunkBed.RecordsFor(SourceA, 4);
        var claim = new EnrichedChunkMessage
        {
            Schema = EnrichedChunkMessage.NdjsonSchema, SourceKey = SourceA, SourceEtag = "\"e1\"", Chunk = 0, Zone = "prepare",
            Key = EnrichedChunkMessage.NdjsonKeyFor(SourceA, "\"e1\"", 0), Records = 4, FirstRecord = 0,
            RecordsSha256 = MessagePacker.MessageDedupId(records.Select(r => r.DedupId)),
        };
        var bytes = NdjsonChunkFormat.Write(records);
        await bed.PutAsync(claim.Key, bytes[..(bytes.Length / 2)]);

        var (problem, _) = await LoadTransactions.CheckAsync(ChunkBed.MessageFor(claim), bed.Store, Ct);

        Assert.StartsWith($"chunk prepare/{claim.Key} refused: ", problem, StringComparison.Ordinal);
    }

    // ---- DuckDB reads the chunk with the exact types ----

    [Fact]
    public async Task DuckDb_ReadsChunk_ExactTypesAndValues()
    {
        var record = Base with
        {
            Quantity = D("9999999999999999999999999999"), Price = D("0.0000000001"), FxRateUsd = D("-1.25"), CounterpartyName = "Société 日本 😀",
            TradeDate = new DateOnly(1969, 12, 31), ExecutedAt = new DateTimeOffset(2026, 11, 20, 14, 3, 11, TimeSpan.Zero).AddTicks(1_234_567),
        };
        var content = await ParquetChunkFormat.WriteAsync([record], new Dictionary<string, string>(), Ct);

        var types = DuckDbParquet.Describe(content).ToDictionary(c => c.Column, c => c.Type);
        Assert.Equal("DECIMAL(38,10)", types["quantity"]);
        Assert.Equal("DECIMAL(38,10)", types["notional_usd"]);
        Assert.Equal("DATE", types["trade_date"]);
        Assert.Equal("DATE", types["settlement_date"]);
        Assert.Equal("TIMESTAMP WITH TIME ZONE", types["executed_at"]);
        Assert.Equal("TIMESTAMP WITH TIME ZONE", types["ingested_at"]);
        Assert.Equal("VARCHAR", types["counterparty_name"]);
        Assert.Equal("INTEGER", types["version"]);
        Assert.Equal("BIGINT", types["record_number"]);
        Assert.Equal("BOOLEAN", types["reportable"]);

        var row = DuckDbParquet.Query(content,
            "SELECT quantity::VARCHAR, price::VARCHAR, fx_rate_usd::VARCHAR, trade_date::VARCHAR, strftime(executed_at AT TIME ZONE 'UTC', '%Y-%m-%dT%H:%M:%S.%f'), executed_at_100ns::VARCHAR, counterparty_name FROM read_parquet($path)").Single();
        Assert.Equal(new[] { "9999999999999999999999999999.0000000000", "0.0000000001", "-1.2500000000", "1969-12-31", "2026-11-20T14:03:11.123456", "7", "Société 日本 😀" }, row.Select(v => v ?? "(null)"));
    }

    private static void AssertSame(EnrichedTransaction expected, EnrichedTransaction actual, string because)
    {
        Assert.True(expected == actual, because);
        foreach (var (e, a) in new[] { (expected.Quantity, actual.Quantity), (expected.Price, actual.Price), (expected.Notional, actual.Notional), (expected.FxRateUsd, actual.FxRateUsd), (expected.NotionalUsd, actual.NotionalUsd) })
        {
            // Same value and the canonical text every warehouse stores (no trailing zeros).
            Assert.Equal(WarehouseDomain.Normalize(e).ToString(CultureInfo.InvariantCulture), a.ToString(CultureInfo.InvariantCulture));
        }

        Assert.Equal(expected.ExecutedAt.UtcTicks, actual.ExecutedAt.UtcTicks);
        Assert.Equal(expected.IngestedAt.UtcTicks, actual.IngestedAt.UtcTicks);
        Assert.Equal(TimeSpan.Zero, actual.ExecutedAt.Offset);
        Assert.Equal(expected.CounterpartyName, actual.CounterpartyName, StringComparer.Ordinal);
        Assert.Equal(Enricher.ContentHash(expected), Enricher.ContentHash(actual));
    }

    private static decimal Compose(int[] digits, int scale, bool negative)
    {
        var text = new StringBuilder();
        var integer = digits.Length - scale;
        for (var i = 0; i < digits.Length; i++)
        {
            if (i == integer)
            {
                text.Append(i == 0 ? "0." : ".");
            }

            text.Append((char)('0' + digits[i]));
        }

        var value = D(text.ToString());
        return negative ? -value : value;
    }

    /// <summary>The same file with the footer's content checksum replaced (same length: a hex SHA-256).</summary>
    private static Task<byte[]> RewriteFooterChecksumAsync(byte[] content, string checksum)
    {
        var fresh = ParquetChunkFormat.ReadAsync(new MemoryStream(content), Ct).GetAwaiter().GetResult().Metadata[ParquetChunkFormat.ContentSha256Key];
        var from = Encoding.ASCII.GetBytes(fresh);
        var to = Encoding.ASCII.GetBytes(checksum);
        var bytes = (byte[])content.Clone();
        var at = bytes.AsSpan().IndexOf(from);
        Assert.True(at > 0);
        to.CopyTo(bytes, at);
        return Task.FromResult(bytes);
    }

    /// <summary>A real embedded object store in a temp directory, and chunks sealed into it as EnrichTransactions does.</summary>
    private sealed class ChunkBed : IAsyncDisposable
    {
        private readonly string root;

        private ChunkBed(string root, FileSystemObjectStore store)
        {
            this.root = root;
            Store = store;
        }

        public FileSystemObjectStore Store { get; }

        public static Task<ChunkBed> CreateAsync()
        {
            var root = Path.Combine(Path.GetTempPath(), "pipeline-chunks-" + Guid.NewGuid().ToString("N")[..12]);
            var store = new FileSystemObjectStore(new EmbeddedOptions { DataRoot = root });
            return Task.FromResult(new ChunkBed(root, store));
        }

        public static List<EnrichedTransaction> RecordsFor(string source, int count) =>
            EndToEnd.PipelineEndToEndTests.Records(Enumerable.Range(1, count).Select(v => ("TX-" + source.Length, v, v == 1 ? "NEW" : "AMEND")).ToArray())
                .Select(r => r with { SourceKey = source, SourceEtag = "\"e1\"" }).ToList();

        public async Task<(EnrichedChunkMessage Claim, ReceivedMessage Message, byte[] Content)> SealAsync(string source, int count, int chunk = 0)
        {
            using var builder = new ChunkBuilder();
            RecordsFor(source, count).ForEach(builder.Add);
            var (content, outgoing, claim) = await builder.SealAsync("prepare", source, "\"e1\"", chunk, 0, Ct);
            await PutAsync(claim.Key, content);
            return (claim, MessageFor(claim, outgoing.Body), content);
        }

        public async Task PutAsync(string key, byte[] content)
        {
            using var body = new MemoryStream(content);
            await Store.PutAsync("prepare", key, body, null, Ct);
        }

        public static ReceivedMessage MessageFor(EnrichedChunkMessage claim, string? body = null) =>
            new("m-" + claim.Chunk, "r", body ?? System.Text.Json.JsonSerializer.Serialize(claim, ChunkJsonContext.Default.EnrichedChunkMessage), 1,
                MessageGroups.ForSource(claim.SourceKey), "d", new Dictionary<string, string>(), DateTimeOffset.UnixEpoch);

        /// <summary>The loader's check of <paramref name="claim"/> with the chunk's bytes given (no store round trip per case).</summary>
        public static async Task<(string? Problem, IReadOnlyList<EnrichedTransaction>? Records)> CheckBytesAsync(EnrichedChunkMessage claim, byte[] content) =>
            await LoadTransactions.CheckAsync(MessageFor(claim), new OneObjectStore(claim.Zone, claim.Key, content), Ct);

        public ValueTask DisposeAsync()
        {
            Store.Dispose();
            if (Directory.Exists(root))
            {
                Directory.Delete(root, recursive: true);
            }

            return ValueTask.CompletedTask;
        }
    }

    /// <summary>Serves one object's bytes (the flip-every-byte test reads thousands of variants; the real store is tested above).</summary>
    private sealed class OneObjectStore(string zone, string key, byte[] content) : IObjectStore
    {
        public Task<Stream> OpenReadAsync(string zone1, string key1, CancellationToken cancellationToken = default) =>
            zone1 == zone && key1 == key ? Task.FromResult<Stream>(new MemoryStream(content, writable: false)) : throw new ObjectNotFoundException(zone1, key1);

        public Task<ObjectInfo> PutAsync(string zone1, string key1, Stream body, PutOptions? options = null, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<ObjectInfo?> HeadAsync(string zone1, string key1, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public IAsyncEnumerable<ObjectInfo> ListAsync(string zone1, string prefix = "", CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task<bool> DeleteAsync(string zone1, string key1, CancellationToken cancellationToken = default) => throw new NotSupportedException();
    }
}
