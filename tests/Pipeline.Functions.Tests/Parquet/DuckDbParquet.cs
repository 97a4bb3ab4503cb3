using System.Globalization;
using DuckDB.NET.Data;

namespace Pipeline.Functions.Tests.Parquet;

/// <summary>Reads Parquet bytes with DuckDB (an independent reader, the one analysts use): column types and rows as text.</summary>
internal static class DuckDbParquet
{
    /// <summary>(column, DuckDB type) in file order.</summary>
    public static IReadOnlyList<(string Column, string Type)> Describe(byte[] parquet) =>
        Query(parquet, "DESCRIBE SELECT * FROM read_parquet($path)").Select(r => (r[0]!, r[1]!)).ToList();

    /// <summary>Every row, every value cast to VARCHAR by DuckDB (exact decimal text, ISO dates), in file order.</summary>
    public static IReadOnlyList<string?[]> Rows(byte[] parquet) =>
        Query(parquet, "SELECT COLUMNS(*)::VARCHAR FROM read_parquet($path)");

    /// <summary>Runs <paramref name="sql"/> (with <c>$path</c> = the file) over the bytes written to a temp file.</summary>
    public static IReadOnlyList<string?[]> Query(byte[] parquet, string sql)
    {
        ArgumentNullException.ThrowIfNull(parquet);
        var path = Path.Combine(Path.GetTempPath(), "pipeline-duckdb-" + Guid.NewGuid().ToString("N") + ".parquet");
        File.WriteAllBytes(path, parquet);
        try
        {
            using var connection = new DuckDBConnection("DataSource=:memory:");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.Parameters.Add(new DuckDBParameter("path", path));
            using var reader = command.ExecuteReader();
            var rows = new List<string?[]>();
            while (reader.Read())
            {
                var row = new string?[reader.FieldCount];
                for (var i = 0; i < row.Length; i++)
                {
                    row[i] = reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), CultureInfo.InvariantCulture);
                }

                rows.Add(row);
            }

            return rows;
        }
        finally
        {
            File.Delete(path);
        }
    }
}
