using Parquet;
using Parquet.Schema;
using Pipeline.Functions.Transactions;

namespace Pipeline.Functions.Tests.Parquet;

/// <summary>
/// Chunks as main wrote them before the hand-written codec: Parquet.Net 6.1.0, the same schema, zstd "Fastest",
/// statistics, the same footer. Kept to prove those chunks (messages in flight across an upgrade) still read.
/// </summary>
internal static class ParquetNetChunkWriter
{
    public static async Task<byte[]> WriteAsync(IReadOnlyList<EnrichedTransaction> records, IReadOnlyDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        var fields = ParquetChunkFormat.Schema.DataFields;
        var column = 0;
        using var output = new MemoryStream();
        await using (var writer = await ParquetWriter.CreateAsync(ParquetChunkFormat.Schema, output, new ParquetOptions { CompressionMethod = CompressionMethod.Zstd, CompressionLevel = System.IO.Compression.CompressionLevel.Fastest }, cancellationToken: cancellationToken))
        {
            writer.CustomMetadata = new Dictionary<string, string>(metadata, StringComparer.Ordinal) { [ParquetChunkFormat.ContentSha256Key] = ParquetChunkFormat.ContentSha256(records) };
            using var group = writer.CreateRowGroup();

            Task TextAsync(Func<EnrichedTransaction, string> get) => group.WriteAsync(fields[column++], records.Select(get).ToArray());

            Task ValuesAsync<T>(Func<EnrichedTransaction, T> get)
                where T : struct => group.WriteAsync<T>(fields[column++], records.Select(get).ToArray(), cancellationToken: cancellationToken);

            static DateTime Micros(DateTimeOffset value) => new(value.UtcTicks - (value.UtcTicks % 10), DateTimeKind.Utc);

            await TextAsync(r => r.TransactionId);
            await ValuesAsync(r => r.Version);
            await TextAsync(r => r.Status);
            await ValuesAsync(r => r.TradeDate);
            await ValuesAsync(r => Micros(r.ExecutedAt));
            await ValuesAsync(r => (int)(r.ExecutedAt.UtcTicks % 10));
            await TextAsync(r => r.AccountId);
            await TextAsync(r => r.TraderId);
            await TextAsync(r => r.CounterpartyLei);
            await TextAsync(r => r.CounterpartyName);
            await TextAsync(r => r.CounterpartyCountry);
            await TextAsync(r => r.Isin);
            await TextAsync(r => r.AssetClass);
            await TextAsync(r => r.Side);
            await ValuesAsync(r => r.Quantity);
            await ValuesAsync(r => r.Price);
            await TextAsync(r => r.Currency);
            await TextAsync(r => r.VenueMic);
            await ValuesAsync(r => r.Notional);
            await ValuesAsync(r => r.FxRateUsd);
            await ValuesAsync(r => r.NotionalUsd);
            await ValuesAsync(r => r.SettlementDate);
            await ValuesAsync(r => r.Cancelled);
            await ValuesAsync(r => r.FlagLargeNotional);
            await ValuesAsync(r => r.FlagWatchlistCountry);
            await ValuesAsync(r => r.FlagUnknownCounterparty);
            await TextAsync(r => r.RiskFlags);
            await ValuesAsync(r => r.Reportable);
            await TextAsync(r => r.ReportableReason);
            await TextAsync(r => r.ContentHash);
            await TextAsync(r => r.DedupId);
            await TextAsync(r => r.GroupId);
            await TextAsync(r => r.SourceKey);
            await TextAsync(r => r.SourceEtag);
            await ValuesAsync(r => r.RecordNumber);
            await ValuesAsync(r => Micros(r.IngestedAt));
            await ValuesAsync(r => (int)(r.IngestedAt.UtcTicks % 10));
            await TextAsync(r => r.PipelineVersion);
            group.CompleteValidate();
        }

        return output.ToArray();
    }

    /// <summary>Parquet.Net's view of a file's schema (an independent reader of the hand-written footer).</summary>
    public static async Task<ParquetSchema> SchemaAsync(byte[] content, CancellationToken cancellationToken)
    {
        await using var reader = await ParquetReader.CreateAsync(new MemoryStream(content), new ParquetOptions { UseDateOnlyTypeForDates = true }, cancellationToken: cancellationToken);
        return reader.Schema;
    }
}
