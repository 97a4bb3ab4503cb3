using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary><c>query "SQL" [--json]</c>: a read-only query of the warehouse.</summary>
public static class QueryCommand
{
    public static async Task<int> RunAsync(string sql, bool json, string? dataRoot, string? contentRootOption, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(error);
        var built = await PipelineApp.TryBuildHostAsync(dataRoot, contentRootOption, consoleLogging: false, error);
        if (built is null)
        {
            return 2;
        }

        await using var host = built;
        QueryResult result;
        try
        {
            result = await host.Services.GetRequiredService<IWarehouse>().QueryAsync(sql, null, cancellationToken);
        }
        catch (WarehouseQueryException ex)
        {
            await error.WriteLineAsync(ex.Message);
            return 1;
        }

        if (!json)
        {
            await RunCommand.WriteTableAsync(output, result);
            return 0;
        }

        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartArray();
            foreach (var row in result.Rows)
            {
                w.WriteStartObject();
                for (var i = 0; i < result.Columns.Count; i++)
                {
                    w.WritePropertyName(result.Columns[i]);
                    switch (row[i])
                    {
                        case null: w.WriteNullValue(); break;
                        case bool b: w.WriteBooleanValue(b); break;
                        case long l: w.WriteNumberValue(l); break;
                        case int n: w.WriteNumberValue(n); break;
                        case decimal d: w.WriteNumberValue(d); break;
                        default: w.WriteStringValue(RunCommand.Format(row[i])); break;
                    }
                }

                w.WriteEndObject();
            }

            w.WriteEndArray();
        }

        await output.WriteLineAsync(System.Text.Encoding.UTF8.GetString(buffer.ToArray()));
        return 0;
    }
}
