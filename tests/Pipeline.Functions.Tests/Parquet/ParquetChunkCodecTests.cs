using System.Globalization;
using System.Numerics;
using Parquet;
using Pipeline.Functions.Transactions;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Tests.Parquet;

/// <summary>
/// The hand-written chunk codec against Parquet.Net (the writer of chunks before it) and DuckDB: same schema and values,
/// old chunks still read, decimals exact at the edges, shared strings without changed values.
/// </summary>
public sealed class ParquetChunkCodecTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static EnrichedTransaction Base { get; } = EndToEnd.PipelineEndToEndTests.Records(("TX-C", 1, "NEW"))[0];

    private static Dictionary<string, string> Footer => new(StringComparer.Ordinal) { [ParquetChunkFormat.SchemaKey] = "enriched-chunk/v3", [ParquetChunkFormat.SourceKeyKey] = "transactions/a.ndjson" };

    private static decimal D(string text) => decimal.Parse(text, NumberStyles.Number, CultureInfo.InvariantCulture);

    /// <summary>Every edge record of <see cref="ParquetChunkTests.EdgeRecords"/> in one chunk, after a plain one.</summary>
    private static List<EnrichedTransaction> EdgeChunk() =>
        [Base, .. ParquetChunkTests.EdgeRecords.Select(row => (EnrichedTransaction)((ITheoryDataRow)row).GetData()[1]!)];

    [Fact]
    public void Columns_SameNamesAndOrderAsTheSchema()
    {
        Assert.Equal(ParquetChunkFormat.Schema.DataFields.Select(f => f.Name), ParquetChunkCodec.Columns.Select(c => c.Name));
    }

    [Theory]
    [MemberData(nameof(ParquetChunkTests.EdgeRecords), MemberType = typeof(ParquetChunkTests))]
    public async Task ReadAsync_ChunkWrittenByParquetNet_SameRecordsAsTheCodecsOwn(string edge, EnrichedTransaction record)
    {
        var old = await ParquetNetChunkWriter.WriteAsync([Base, record], Footer, Ct);
        var fresh = await ParquetChunkFormat.WriteAsync([Base, record], Footer, Ct);

        var (fromOld, oldFooter) = await ParquetChunkFormat.ReadAsync(new MemoryStream(old), Ct);
        var (fromFresh, freshFooter) = await ParquetChunkFormat.ReadAsync(new MemoryStream(fresh), Ct);

        Assert.True(fromFresh.SequenceEqual(fromOld), edge);
        Assert.Equal(record with { Quantity = Canonical(record.Quantity), Price = Canonical(record.Price), Notional = Canonical(record.Notional), FxRateUsd = Canonical(record.FxRateUsd), NotionalUsd = Canonical(record.NotionalUsd) }, fromOld[1]);
        Assert.Equal(Canonical(record.Price).ToString(CultureInfo.InvariantCulture), fromOld[1].Price.ToString(CultureInfo.InvariantCulture));
        Assert.Equal(freshFooter.OrderBy(kv => kv.Key, StringComparer.Ordinal), oldFooter.OrderBy(kv => kv.Key, StringComparer.Ordinal));
    }

    /// <summary>
    /// A full chunk as the old writer produced it in production: 1,000 records whose texts repeat (the case in which a
    /// writer may choose dictionary pages, which the codec refuses).
    /// </summary>
    [Fact]
    public async Task ReadAsync_FullChunkOfRepeatedValuesWrittenByParquetNet_SameRecords()
    {
        var records = Enumerable.Range(0, 1000).Select(i => Base with
        {
            TransactionId = string.Create(CultureInfo.InvariantCulture, $"TX-{i:D5}"),
            Version = 1 + (i % 3),
            Status = (i % 10) switch { 0 => "AMEND", 1 => "CANCEL", _ => "NEW" },
            AccountId = string.Create(CultureInfo.InvariantCulture, $"ACC-{i % 7}"),
            Currency = (i % 2) == 0 ? "USD" : "EUR",
            Quantity = i,
            Price = 100.25m + (i % 4),
            RecordNumber = i,
            DedupId = string.Create(CultureInfo.InvariantCulture, $"{i:x64}"),
            ContentHash = string.Create(CultureInfo.InvariantCulture, $"{i * 7:x64}"),
        }).ToList();
        var old = await ParquetNetChunkWriter.WriteAsync(records, Footer, Ct);

        var (back, footer) = await ParquetChunkFormat.ReadAsync(new MemoryStream(old), Ct);

        Assert.Equal(records.Select(r => r with { Quantity = Canonical(r.Quantity), Price = Canonical(r.Price) }), back);
        Assert.Equal(Footer["pipeline.source_key"], footer["pipeline.source_key"]);
    }

    /// <summary>
    /// Hostile chunks: seeded random damage (bytes overwritten, large little-endian integers planted where lengths and
    /// counts live, cuts and splices) — every read either refuses with InvalidDataException or returns exactly the records
    /// written, and none runs away (each read is bounded by the chunk's size).
    /// </summary>
    [Fact]
    public async Task ReadAsync_RandomlyDamagedChunks_RefusedOrUnaltered()
    {
        var records = EdgeChunk();
        var content = await ParquetChunkFormat.WriteAsync(records, Footer, Ct);
        var random = new Random(20261206);
        var refused = 0;
        for (var i = 0; i < 3000; i++)
        {
            var damaged = (byte[])content.Clone();
            for (var m = random.Next(1, 4); m > 0; m--)
            {
                var at = random.Next(damaged.Length);
                switch (random.Next(4))
                {
                    case 0:
                        damaged[at] = (byte)random.Next(256);
                        break;
                    case 1:
                        if (at + 4 <= damaged.Length)
                        {
                            BitConverter.TryWriteBytes(damaged.AsSpan(at, 4), random.Next(2) == 0 ? int.MaxValue - random.Next(16) : -random.Next(1, 1 << 20));
                        }

                        break;
                    case 2:
                        damaged = [.. damaged[..at], .. damaged[Math.Min(damaged.Length, at + random.Next(1, 64))..]];
                        break;
                    default:
                        var from = random.Next(damaged.Length);
                        var length = Math.Min(random.Next(1, 32), Math.Min(damaged.Length - from, damaged.Length - at));
                        damaged.AsSpan(from, length).CopyTo(damaged.AsSpan(at, length));
                        break;
                }
            }

            try
            {
                var (back, _) = await ParquetChunkFormat.ReadAsync(new MemoryStream(damaged), Ct);
                Assert.Equal(records.Select(Canonicalized), back);
            }
            catch (InvalidDataException)
            {
                refused++;
            }
        }

        Assert.True(refused > 2500, $"only {refused} of 3000 damaged chunks refused");
    }

    private static EnrichedTransaction Canonicalized(EnrichedTransaction r) =>
        r with { Quantity = Canonical(r.Quantity), Price = Canonical(r.Price), Notional = Canonical(r.Notional), FxRateUsd = Canonical(r.FxRateUsd), NotionalUsd = Canonical(r.NotionalUsd) };

    /// <summary>Bytes of a Parquet.Net chunk flipped in turn: the codec refuses it or reads exactly the records written.</summary>
    [Fact]
    public async Task ReadAsync_ParquetNetChunkAnyByteFlipped_RefusedOrUnaltered()
    {
        var records = EndToEnd.PipelineEndToEndTests.Records(("TX-F", 1, "NEW"), ("TX-F", 2, "AMEND"), ("TX-G", 1, "NEW")).ToList();
        var content = await ParquetNetChunkWriter.WriteAsync(records, Footer, Ct);
        var refused = 0;
        for (var i = 0; i < content.Length; i += 3)
        {
            var damaged = (byte[])content.Clone();
            damaged[i] ^= (byte)(1 << (i % 8));
            try
            {
                var (back, _) = await ParquetChunkFormat.ReadAsync(new MemoryStream(damaged), Ct);
                Assert.Equal(records.Select(r => r.DedupId), back.Select(r => r.DedupId));
                Assert.Equal(ParquetChunkFormat.ContentSha256(records), ParquetChunkFormat.ContentSha256(back));
            }
            catch (InvalidDataException)
            {
                refused++;
            }
        }

        Assert.True(refused > 0);
    }

    [Fact]
    public async Task DuckDb_CodecAndParquetNetChunks_SameSchemaAndRows()
    {
        var records = EdgeChunk();
        var old = await ParquetNetChunkWriter.WriteAsync(records, Footer, Ct);
        var fresh = await ParquetChunkFormat.WriteAsync(records, Footer, Ct);

        const string Schema = "SELECT name, type, type_length::VARCHAR, repetition_type, num_children::VARCHAR, converted_type, scale::VARCHAR, precision::VARCHAR, logical_type::VARCHAR FROM parquet_schema($path)";
        Assert.Equal(Flat(DuckDbParquet.Query(old, Schema)), Flat(DuckDbParquet.Query(fresh, Schema)));
        Assert.Equal(Flat(DuckDbParquet.Rows(old)), Flat(DuckDbParquet.Rows(fresh)));
        Assert.Equal(records.Count, DuckDbParquet.Rows(fresh).Count);
        Assert.Equal(["ZSTD"], Flat(DuckDbParquet.Query(fresh, "SELECT DISTINCT compression FROM parquet_metadata($path)")));
        Assert.Equal(
            Flat(DuckDbParquet.Query(old, "SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata($path) ORDER BY 1")),
            Flat(DuckDbParquet.Query(fresh, "SELECT key::VARCHAR, value::VARCHAR FROM parquet_kv_metadata($path) ORDER BY 1")));
    }

    [Fact]
    public async Task ParquetNet_ReadsCodecChunk_SameSchemaAndDecimals()
    {
        var records = EdgeChunk();
        var old = await ParquetNetChunkWriter.WriteAsync(records, Footer, Ct);
        var fresh = await ParquetChunkFormat.WriteAsync(records, Footer, Ct);

        var schema = await ParquetNetChunkWriter.SchemaAsync(fresh, Ct);
        Assert.Equal((await ParquetNetChunkWriter.SchemaAsync(old, Ct)).DataFields.Select(Describe), schema.DataFields.Select(Describe));
        Assert.Equal(ParquetChunkFormat.Schema.DataFields.Select(f => f.ClrType), schema.DataFields.Select(f => f.ClrType));

        await using var reader = await ParquetReader.CreateAsync(new MemoryStream(fresh), new ParquetOptions { UseDateOnlyTypeForDates = true }, cancellationToken: Ct);
        using var group = reader.OpenRowGroupReader(0);
        var quantity = new decimal[records.Count];
        await group.ReadAsync<decimal>(schema.DataFields[14], quantity, cancellationToken: Ct);
        Assert.Equal(records.Select(r => r.Quantity), quantity);
    }

    /// <summary>The System.Decimal values at the edges of numeric(38,10), and zero with and without sign.</summary>
    public static TheoryData<string> EdgeDecimals => new()
    {
        "9999999999999999999999999999", "-9999999999999999999999999999", "0.0000000001", "-0.0000000001",
        "7922816251426433759.3543950335", "-7922816251426433759.3543950335", "792281625142643375935439503.35",
        "79228162514264337593543950335", "-79228162514264337593543950335", "1.50", "100.0000000000", "0", "0.0000000000", "-0.00",
    };

    [Theory]
    [MemberData(nameof(EdgeDecimals))]
    public void Unscaled_EdgeDecimal_ExactBothWays(string text)
    {
        var value = D(text);
        var expected = BigInteger.Parse(text.Replace(".", string.Empty, StringComparison.Ordinal), CultureInfo.InvariantCulture) * BigInteger.Pow(10, 10 - (text.Contains('.', StringComparison.Ordinal) ? text.Length - text.IndexOf('.', StringComparison.Ordinal) - 1 : 0));
        if (WarehouseDomain.DecimalProblem(value) is not null)
        {
            return; // 29 integer digits: refused before encoding (WriteAsync_DecimalOutsideDomain_RefusedInsteadOfRounded)
        }

        var unscaled = ParquetChunkCodec.Unscaled(value);
        var back = ParquetChunkCodec.FromUnscaled(unscaled);

        Assert.Equal(expected, (BigInteger)unscaled);
        Assert.Equal(value, back);
        Assert.Equal(Canonical(value).ToString(CultureInfo.InvariantCulture), back.ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void Unscaled_NegativeZero_IsZeroWithoutSign()
    {
        var negativeZero = new decimal(0, 0, 0, isNegative: true, scale: 3);

        Assert.Equal(Int128.Zero, ParquetChunkCodec.Unscaled(negativeZero));
        Assert.Equal("0", ParquetChunkCodec.FromUnscaled(ParquetChunkCodec.Unscaled(negativeZero)).ToString(CultureInfo.InvariantCulture));
        Assert.False(decimal.IsNegative(ParquetChunkCodec.FromUnscaled(Int128.Zero)));
    }

    /// <summary>±(10^28 − 10^-10): valid DECIMAL(38,10), but 38 digits no System.Decimal holds — refused, not rounded (Parquet.Net rounded it).</summary>
    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public void FromUnscaled_38Digits_RefusedInsteadOfRounded(int sign)
    {
        var unscaled = sign * (Int128.Parse("99999999999999999999999999999999999999", CultureInfo.InvariantCulture));

        Assert.Throws<FormatException>(() => ParquetChunkCodec.FromUnscaled(unscaled));
    }

    [Fact]
    public async Task ReadAsync_RepeatedTexts_OneSharedStringAndValuesUnchanged()
    {
        // Distinct string instances with equal values, and values that differ only subtly.
        var records = new List<EnrichedTransaction>
        {
            Base with { Status = new string("AMEND".AsSpan()), CounterpartyName = "Caf\u00e9 Bank" },
            Base with { Status = new string("AMEND".AsSpan()), CounterpartyName = "Cafe\u0301 Bank" },
            Base with { Status = "amend", CounterpartyName = "Caf\u00e9 Bank " },
            Base with { Status = "AMEND", CounterpartyName = new string('n', 300) },
            Base with { Status = "AMEND", CounterpartyName = new string('n', 300) + "x" },
        };
        var content = await ParquetChunkFormat.WriteAsync(records, Footer, Ct);

        var (back, _) = await ParquetChunkFormat.ReadAsync(new MemoryStream(content), Ct);

        Assert.Equal(records, back);
        Assert.Equal(records.Select(r => r.CounterpartyName), back.Select(r => r.CounterpartyName), StringComparer.Ordinal);
        Assert.Equal(records.Select(r => r.Status), back.Select(r => r.Status), StringComparer.Ordinal);
        Assert.Same(back[0].Status, back[1].Status);
        Assert.Same(back[0].Status, back[3].Status);
        Assert.Same(back[0].GroupId, back[4].GroupId);

        // A later chunk on the same thread with other values at the same places reads its own values.
        var other = records.Select(r => r with { Status = "CANCEL", CounterpartyName = "Other" }).ToList();
        var (again, _) = await ParquetChunkFormat.ReadAsync(new MemoryStream(await ParquetChunkFormat.WriteAsync(other, Footer, Ct)), Ct);
        Assert.Equal(other, again);
    }

    private static string Describe(global::Parquet.Schema.DataField f) =>
        $"{f.Name} {f.ClrType} {f.IsNullable} {(f as global::Parquet.Schema.DecimalDataField)?.Precision}/{(f as global::Parquet.Schema.DecimalDataField)?.Scale} {(f as global::Parquet.Schema.DateTimeDataField)?.DateTimeFormat}/{(f as global::Parquet.Schema.DateTimeDataField)?.IsAdjustedToUTC}/{(f as global::Parquet.Schema.DateTimeDataField)?.Unit}";

    private static decimal Canonical(decimal value) => value == 0m ? 0m : WarehouseDomain.Normalize(value);

    private static string[] Flat(IReadOnlyList<string?[]> rows) => rows.Select(row => string.Join(" | ", row.Select(v => v ?? "(null)"))).ToArray();
}
