using System.Collections;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Functions.Transactions;

/// <summary>
/// The five merge batches of <see cref="WarehouseSchema.Batches"/>, built into row arrays that are kept for the next
/// <see cref="Fill"/>: a loader that merges batch after batch allocates its rows once, not per record. This relies on
/// what every <see cref="IWarehouse"/> does: it reads the rows during MergeAsync and keeps none after it returns
/// (SQLite binds them, PostgreSQL COPYs them, Redshift renders them into SQL text). Not thread-safe: one fill and its
/// merge at a time; the batches of a fill are valid until the next <see cref="Fill"/> or <see cref="Clear"/>.
/// </summary>
public sealed class WarehouseRows
{
    private readonly RowList transactions = new(WarehouseSchema.Transactions.Columns.Count);
    private readonly RowList confirmations = new(WarehouseSchema.Confirmations.Columns.Count);
    private readonly RowList reports = new(WarehouseSchema.RegulatoryReports.Columns.Count);
    private readonly RowList versions = new(WarehouseSchema.TransactionVersions.Columns.Count);
    private readonly RowList contents = new(WarehouseSchema.TransactionContents.Columns.Count);
    private readonly WarehouseSchema.BoxCache boxes = new();
    private readonly MergeBatch[] batches;

    /// <summary>Emptied row sets kept for the next merges of this process (a few loads may merge at the same time).</summary>
    private static readonly WarehouseRows?[] Spares = new WarehouseRows?[4];

    public WarehouseRows()
    {
        batches =
        [
            new MergeBatch(WarehouseSchema.Transactions, transactions),
            new MergeBatch(WarehouseSchema.Confirmations, confirmations),
            new MergeBatch(WarehouseSchema.RegulatoryReports, reports),
            new MergeBatch(WarehouseSchema.TransactionVersions, versions),
            new MergeBatch(WarehouseSchema.TransactionContents, contents),
        ];
    }

    /// <summary>The rows of <paramref name="records"/> (the same rows as <see cref="WarehouseSchema.Batches"/>), replacing the previous fill's.</summary>
    public IReadOnlyList<MergeBatch> Fill(IEnumerable<IReadOnlyList<EnrichedTransaction>> records)
    {
        ArgumentNullException.ThrowIfNull(records);
        Clear();
        foreach (var list in records)
        {
            ArgumentNullException.ThrowIfNull(list);
            for (var i = 0; i < list.Count; i++)
            {
                var t = list[i];
                ArgumentNullException.ThrowIfNull(t);
                var b = new WarehouseSchema.Boxes(t, boxes);
                WarehouseSchema.FillTransactionRow(transactions.Next(), t, b);
                WarehouseSchema.FillConfirmationRow(confirmations.Next(), t, b);
                if (t.Reportable)
                {
                    WarehouseSchema.FillRegulatoryRow(reports.Next(), t, b);
                }

                WarehouseSchema.FillVersionRow(versions.Next(), t, b);
                WarehouseSchema.FillContentRow(contents.Next(), t, b);
            }
        }

        return batches;
    }

    /// <summary>A kept row set, or a new one when all are in use (give it back with <see cref="Return"/>).</summary>
    public static WarehouseRows Rent()
    {
        for (var i = 0; i < Spares.Length; i++)
        {
            if (Interlocked.Exchange(ref Spares[i], null) is { } rows)
            {
                return rows;
            }
        }

        return new WarehouseRows();
    }

    /// <summary>Empties <paramref name="rows"/> and keeps it for a later <see cref="Rent"/> (once its merge has returned).</summary>
    public static void Return(WarehouseRows rows)
    {
        ArgumentNullException.ThrowIfNull(rows);
        rows.Clear();
        for (var i = 0; i < Spares.Length; i++)
        {
            if (Interlocked.CompareExchange(ref Spares[i], rows, null) is null)
            {
                return;
            }
        }
    }

    /// <summary>Empties the rows (their arrays are kept, without references to the records' values).</summary>
    public void Clear()
    {
        transactions.Clear();
        confirmations.Clear();
        reports.Clear();
        versions.Clear();
        contents.Clear();
    }

    /// <summary>A table's rows: the first <see cref="Count"/> of arrays kept across fills.</summary>
    private sealed class RowList(int width) : IReadOnlyList<object?[]>
    {
        private readonly List<object?[]> arrays = [];

        public int Count { get; private set; }

        public object?[] this[int index] => (uint)index < (uint)Count ? arrays[index] : throw new ArgumentOutOfRangeException(nameof(index));

        public object?[] Next()
        {
            if (Count == arrays.Count)
            {
                arrays.Add(new object?[width]);
            }

            return arrays[Count++];
        }

        public void Clear()
        {
            for (var i = 0; i < Count; i++)
            {
                Array.Clear(arrays[i]);
            }

            Count = 0;
        }

        public IEnumerator<object?[]> GetEnumerator()
        {
            for (var i = 0; i < Count; i++)
            {
                yield return arrays[i];
            }
        }

        IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
