using Parquet;
using Parquet.Schema;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Refine;

/// <summary>
/// The refine (gold) partitions as Parquet, zstd (fastest level, as the chunks), one row group: dates DATE, counts INT64, amounts DECIMAL(38,10) (the
/// warehouse's numeric(38,10)), text UTF-8 strings; every column REQUIRED. The columns are those of the warehouse
/// tables of the same name (<see cref="RefineSchema"/>), so Athena, Spark or DuckDB read the partition as the table.
/// </summary>
public static class RefineParquet
{
    public const string ContentType = "application/vnd.apache.parquet";

    private static DecimalDataField Dec(string name) => new(name, WarehouseDomain.DecimalPrecision, WarehouseDomain.DecimalScale, forceByteArrayEncoding: false, isNullable: false);

    private static DataField<string> Text(string name) => new(name, nullable: false);

    private static DataField<T> Field<T>(string name) => new(name, nullable: false);

    public static ParquetSchema ExposureSchema { get; } = new(
        Field<DateOnly>("trade_date"), Text("counterparty_lei"), Text("counterparty_name"), Field<long>("trade_count"), Field<long>("buy_count"),
        Field<long>("sell_count"), Dec("gross_notional_usd"), Dec("net_notional_usd"));

    public static ParquetSchema PositionSchema { get; } = new(
        Field<DateOnly>("as_of_date"), Text("account_id"), Text("isin"), Dec("net_quantity"), Dec("day_net_quantity"), Field<long>("day_trade_count"));

    public static Task<byte[]> ExposuresAsync(IReadOnlyList<CounterpartyExposure> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return WriteAsync(ExposureSchema, async group =>
        {
            var f = ExposureSchema.DataFields;
            await group.WriteAsync<DateOnly>(f[0], rows.Select(r => r.TradeDate).ToArray(), cancellationToken: cancellationToken);
            await group.WriteAsync(f[1], rows.Select(r => r.CounterpartyLei).ToArray());
            await group.WriteAsync(f[2], rows.Select(r => r.CounterpartyName).ToArray());
            await group.WriteAsync<long>(f[3], rows.Select(r => r.TradeCount).ToArray(), cancellationToken: cancellationToken);
            await group.WriteAsync<long>(f[4], rows.Select(r => r.BuyCount).ToArray(), cancellationToken: cancellationToken);
            await group.WriteAsync<long>(f[5], rows.Select(r => r.SellCount).ToArray(), cancellationToken: cancellationToken);
            await group.WriteAsync<decimal>(f[6], Exact(rows.Select(r => r.GrossNotionalUsd)), cancellationToken: cancellationToken);
            await group.WriteAsync<decimal>(f[7], Exact(rows.Select(r => r.NetNotionalUsd)), cancellationToken: cancellationToken);
        }, cancellationToken);
    }

    public static Task<byte[]> PositionsAsync(IReadOnlyList<Position> rows, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(rows);
        return WriteAsync(PositionSchema, async group =>
        {
            var f = PositionSchema.DataFields;
            await group.WriteAsync<DateOnly>(f[0], rows.Select(r => r.AsOfDate).ToArray(), cancellationToken: cancellationToken);
            await group.WriteAsync(f[1], rows.Select(r => r.AccountId).ToArray());
            await group.WriteAsync(f[2], rows.Select(r => r.Isin).ToArray());
            await group.WriteAsync<decimal>(f[3], Exact(rows.Select(r => r.NetQuantity)), cancellationToken: cancellationToken);
            await group.WriteAsync<decimal>(f[4], Exact(rows.Select(r => r.DayNetQuantity)), cancellationToken: cancellationToken);
            await group.WriteAsync<long>(f[5], rows.Select(r => r.DayTradeCount).ToArray(), cancellationToken: cancellationToken);
        }, cancellationToken);
    }

    /// <summary>The values, refusing one outside DECIMAL(38,10) rather than letting the writer round it.</summary>
    private static decimal[] Exact(IEnumerable<decimal> values)
    {
        var array = values.ToArray();
        foreach (var value in array)
        {
            if (WarehouseDomain.DecimalProblem(value) is { } problem)
            {
                throw new InvalidOperationException($"A refined amount with {problem} does not fit DECIMAL(38,10) ({WarehouseDomain.DecimalExpectation}).");
            }
        }

        return array;
    }

    private static async Task<byte[]> WriteAsync(ParquetSchema schema, Func<ParquetRowGroupWriter, Task> columns, CancellationToken cancellationToken)
    {
        using var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(schema, output, new ParquetOptions { CompressionMethod = CompressionMethod.Zstd, CompressionLevel = System.IO.Compression.CompressionLevel.Fastest }, cancellationToken: cancellationToken))
        {
            using var group = writer.CreateRowGroup();
            await columns(group);
            group.CompleteValidate();
        }

        return output.ToArray();
    }
}
