using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Npgsql;
using NpgsqlTypes;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// A Redshift Data API endpoint that runs the SQL on PostgreSQL (moto runs no SQL and lacks BatchExecuteStatement):
/// ExecuteStatement with ':name' parameters sent untyped, as the Data API does; BatchExecuteStatement as one
/// transaction with per-statement row counts; DescribeStatement; GetStatementResult in pages, with Redshift's type
/// names and value shapes (integers as longValue, numeric/dates/timestamps/text as stringValue). Statements run
/// when submitted, so DescribeStatement answers FINISHED or FAILED at once. The session runs with
/// standard_conforming_strings=off, as Redshift treats '\' in literals as an escape.
/// </summary>
internal sealed partial class RedshiftDataOnPostgresHandler(string connectionString, string schema, int pageSize = 500) : HttpMessageHandler
{
    private readonly string connectionString = new NpgsqlConnectionStringBuilder(connectionString)
    {
        Options = "-c standard_conforming_strings=off -c escape_string_warning=off",
        SearchPath = schema,
    }.ConnectionString;

    private readonly ConcurrentDictionary<string, Statement> statements = new(StringComparer.Ordinal);

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var operation = request.Headers.GetValues("X-Amz-Target").Single()["RedshiftData.".Length..];
        var body = (JsonObject)JsonNode.Parse(await request.Content!.ReadAsStringAsync(cancellationToken))!;
        JsonNode answer = operation switch
        {
            "ExecuteStatement" => Submit(await ExecuteAsync(body, cancellationToken)),
            "BatchExecuteStatement" => Submit(await BatchAsync(body, cancellationToken)),
            "DescribeStatement" => Describe(statements[body["Id"]!.GetValue<string>()]),
            "GetStatementResult" => Page(statements[body["Id"]!.GetValue<string>()], body["NextToken"]?.GetValue<string>()),
            "CancelStatement" => new JsonObject { ["Status"] = true },
            _ => throw new InvalidOperationException($"Operation {operation} is not served by this stand-in."),
        };
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes(answer.ToJsonString()));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }

    private JsonObject Submit(Statement statement)
    {
        statements[statement.Id] = statement;
        return new JsonObject { ["Id"] = statement.Id };
    }

    private async Task<Statement> ExecuteAsync(JsonObject body, CancellationToken cancellationToken)
    {
        var sql = body["Sql"]!.GetValue<string>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        // ':name' → '@name' (not '::type' casts); values travel as untyped text, as in the Data API.
        await using var command = new NpgsqlCommand(Parameter().Replace(sql, "@$1"), connection);
        foreach (var p in body["Parameters"]?.AsArray() ?? [])
        {
            command.Parameters.Add(new NpgsqlParameter(p!["name"]!.GetValue<string>(), NpgsqlDbType.Unknown) { Value = p["value"]!.GetValue<string>() });
        }

        try
        {
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            if (reader.FieldCount == 0)
            {
                return new Statement(Guid.NewGuid().ToString(), null, null, [], Math.Max(0, reader.RecordsAffected), null);
            }

            var columns = Enumerable.Range(0, reader.FieldCount).Select(i => new JsonObject
            {
                ["name"] = reader.GetName(i),
                ["label"] = reader.GetName(i),
                ["typeName"] = RedshiftType(reader.GetDataTypeName(i)),
            }).ToList();
            var rows = new List<JsonArray>();
            while (await reader.ReadAsync(cancellationToken))
            {
                rows.Add(new JsonArray(Enumerable.Range(0, reader.FieldCount).Select(i => (JsonNode?)FieldOf(reader, i)).ToArray()));
            }

            return new Statement(Guid.NewGuid().ToString(), null, columns, rows, rows.Count, null);
        }
        catch (PostgresException e)
        {
            return new Statement(Guid.NewGuid().ToString(), e.MessageText, null, [], 0, null);
        }
    }

    private async Task<Statement> BatchAsync(JsonObject body, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString();
        var sqls = body["Sqls"]!.AsArray().Select(s => s!.GetValue<string>()).ToList();
        var subs = new List<JsonObject>();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        for (var i = 0; i < sqls.Count; i++)
        {
            try
            {
                await using var command = new NpgsqlCommand(sqls[i], connection, transaction);
                var count = await command.ExecuteNonQueryAsync(cancellationToken);
                subs.Add(Sub(id, i, "FINISHED", sqls[i], Math.Max(0, count), null));
            }
            catch (PostgresException e)
            {
                // One transaction: nothing of the call is committed; later statements are not run.
                subs.Add(Sub(id, i, "FAILED", sqls[i], 0, e.MessageText));
                subs.AddRange(sqls.Skip(i + 1).Select((s, j) => Sub(id, i + 1 + j, "ABORTED", s, 0, null)));
                return new Statement(id, e.MessageText, null, [], 0, subs);
            }
        }

        await transaction.CommitAsync(cancellationToken);
        return new Statement(id, null, null, [], subs.Sum(s => s["ResultRows"]!.GetValue<long>()), subs);
    }

    private static JsonObject Sub(string id, int index, string status, string sql, long rows, string? error) => new()
    {
        ["Id"] = $"{id}:{index + 1}",
        ["Status"] = status,
        ["ResultRows"] = rows,
        ["HasResultSet"] = false,
        ["QueryString"] = sql,
        ["Error"] = error,
    };

    private static JsonObject Describe(Statement s) => new()
    {
        ["Id"] = s.Id,
        ["Status"] = s.Error is null ? "FINISHED" : "FAILED",
        ["Error"] = s.Error,
        ["HasResultSet"] = s.Columns is not null,
        ["ResultRows"] = s.ResultRows,
        ["SubStatements"] = s.Subs is null ? null : new JsonArray(s.Subs.Select(x => (JsonNode?)x.DeepClone()).ToArray()),
    };

    private JsonObject Page(Statement s, string? token)
    {
        var offset = token is null ? 0 : int.Parse(token, CultureInfo.InvariantCulture);
        var page = s.Rows.Skip(offset).Take(pageSize).Select(r => (JsonNode?)r.DeepClone()).ToArray();
        var next = offset + page.Length;
        return new JsonObject
        {
            ["ColumnMetadata"] = new JsonArray((s.Columns ?? []).Select(c => (JsonNode?)c.DeepClone()).ToArray()),
            ["Records"] = new JsonArray(page),
            ["TotalNumRows"] = s.Rows.Count,
            ["NextToken"] = next < s.Rows.Count ? next.ToString(CultureInfo.InvariantCulture) : null,
        };
    }

    private static string RedshiftType(string postgres) => postgres switch
    {
        "text" or "character varying" => "varchar",
        "bigint" => "int8",
        "integer" => "int4",
        "smallint" => "int2",
        "boolean" => "bool",
        "double precision" => "float8",
        "timestamp with time zone" => "timestamptz",
        "timestamp without time zone" => "timestamp",
        _ when postgres.StartsWith("numeric", StringComparison.Ordinal) => "numeric",
        _ when postgres.StartsWith("character varying", StringComparison.Ordinal) => "varchar",
        _ => postgres,
    };

    /// <summary>A value in the Data API's shape (GetStatementResult Field).</summary>
    private static JsonObject FieldOf(NpgsqlDataReader reader, int i)
    {
        if (reader.IsDBNull(i))
        {
            return new JsonObject { ["isNull"] = true };
        }

        return reader.GetValue(i) switch
        {
            long l => new JsonObject { ["longValue"] = l },
            int n => new JsonObject { ["longValue"] = n },
            short n => new JsonObject { ["longValue"] = n },
            bool b => new JsonObject { ["booleanValue"] = b },
            double d => new JsonObject { ["doubleValue"] = d },
            // numeric(38,10) prints at its full scale, as Redshift sends it: "1.5000000000".
            decimal d => new JsonObject { ["stringValue"] = d.ToString(CultureInfo.InvariantCulture) },
            DateTime t when reader.GetDataTypeName(i) == "date" => new JsonObject { ["stringValue"] = t.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) },
            DateOnly d => new JsonObject { ["stringValue"] = d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) },
            DateTime t => new JsonObject { ["stringValue"] = t.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss.FFFFFF", CultureInfo.InvariantCulture) + "+00" },
            string s => new JsonObject { ["stringValue"] = s },
            var other => new JsonObject { ["stringValue"] = Convert.ToString(other, CultureInfo.InvariantCulture) },
        };
    }

    [GeneratedRegex(@"(?<!:):([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex Parameter();

    private sealed record Statement(string Id, string? Error, List<JsonObject>? Columns, List<JsonArray> Rows, long ResultRows, List<JsonObject>? Subs);
}
