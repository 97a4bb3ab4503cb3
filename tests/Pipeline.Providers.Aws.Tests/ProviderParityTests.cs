using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// The same hostile corpus — every format, unreadable files, exact duplicates across files, conflicting copies of one
/// version, amendments out of order, decimal extremes, unicode, quotes and SQL injection strings, control
/// characters — through `run` on the embedded default and on moto + PostgreSQL: the summaries agree and every table
/// holds the same rows, cell for cell (ingest times aside), read back through the same `query` command.
/// </summary>
public sealed class ProviderParityTests(MotoFixture moto, PostgresFixture postgres)
{
    private static readonly (string Table, string OrderBy)[] Tables =
    [
        ("transactions", "transaction_id"),
        ("confirmations", "transaction_id"),
        ("regulatory_reports", "transaction_id"),
        ("transaction_versions", "transaction_id, version"),
        ("transaction_contents", "transaction_id, version, content_hash"),
    ];

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_HostileCorpus_EmbeddedAndAwsPostgresLeaveIdenticalRows()
    {
        moto.RequireAvailable();
        postgres.RequireAvailable();
        var root = EmulatedAwsApp.RepositoryRoot();
        var app = EmulatedAwsApp.FunctionsApp(root);
        EmulatorProcess.RequireAvailable(app is null ? "The pipeline app is not built (dotnet build src/Cli)." : null);

        var work = Path.Combine(Path.GetTempPath(), "pipeline-parity-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var input = Path.Combine(work, "input");
            WriteCorpus(root, input);
            var embedded = new Dictionary<string, string>();
            var dataRoot = Path.Combine(work, "data");
            var aws = (await EmulatedAwsApp.CreateAsync(moto, postgres, root, Ct)).Environment;

            var embeddedSummary = await RunJsonAsync(app!, root, embedded, "run", input, "--json", "--data-root", dataRoot, "--timeout", "00:03:00");
            var awsSummary = await RunJsonAsync(app!, root, aws, "run", input, "--json", "--timeout", "00:03:00");
            foreach (var field in new[] { "objects", "processed_objects", "unreadable_objects", "records_read", "records", "duplicates", "loaded", "quarantined", "dead_lettered", "reconciled", "tables", "quarantine_by_field" })
            {
                Assert.True(
                    JsonNode.DeepEquals(embeddedSummary[field], awsSummary[field]),
                    $"summary field '{field}': embedded {embeddedSummary[field]?.ToJsonString()} vs AWS {awsSummary[field]?.ToJsonString()}");
            }

            Assert.True(embeddedSummary["reconciled"]!.GetValue<bool>(), embeddedSummary.ToJsonString());

            var cells = 0;
            foreach (var (table, orderBy) in Tables)
            {
                var sql = $"SELECT * FROM {table} ORDER BY {orderBy}";
                var left = Rows(await RunJsonAsync(app!, root, embedded, "query", sql, "--json", "--data-root", dataRoot));
                var right = Rows(await RunJsonAsync(app!, root, aws, "query", sql, "--json"));
                Assert.True(left.Count > 0, $"{table} is empty");
                Assert.Equal(left.Count, right.Count);
                for (var i = 0; i < left.Count; i++)
                {
                    foreach (var (column, value) in left[i])
                    {
                        if (column is "ingested_at")
                        {
                            continue;
                        }

                        Assert.True(
                            JsonNode.DeepEquals(value, right[i][column]),
                            $"{table} row {i} ({left[i]["transaction_id"]}) column {column}: embedded {value?.ToJsonString()} vs PostgreSQL {right[i][column]?.ToJsonString()}");
                        cells++;
                    }

                    Assert.Equal(left[i].Count, right[i].Count);
                }
            }

            TestContext.Current.TestOutputHelper?.WriteLine($"parity: {cells} cells compared across {Tables.Length} tables; conflicts {awsSummary["conflicts"]}, quarantined {awsSummary["quarantined"]}");
            Assert.True(cells > 500, $"only {cells} cells compared");
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static List<JsonObject> Rows(JsonNode node) => node.AsArray().Select(r => r!.AsObject()).ToList();

    internal static void WriteCorpus(string root, string input)
    {
        Directory.CreateDirectory(input);
        foreach (var file in Directory.GetFiles(Path.Combine(root, "local", "samples")))
        {
            File.Copy(file, Path.Combine(input, Path.GetFileName(file)));
        }

        static JsonObject Trade(string id, int version = 1, string status = "NEW") => new()
        {
            ["transaction_id"] = id,
            ["version"] = version,
            ["status"] = status,
            ["trade_date"] = "2026-11-20",
            ["executed_at"] = "2026-11-20T14:03:11.123Z",
            ["account_id"] = "ACC-10001",
            ["trader_id"] = "trader-17",
            ["counterparty_lei"] = "5493001KJTIIGC8Y1R12",
            ["isin"] = "US0378331005",
            ["asset_class"] = "EQUITY",
            ["side"] = "BUY",
            ["quantity"] = "100",
            ["price"] = "189.23",
            ["currency"] = "USD",
            ["venue_mic"] = "XNAS",
        };

        JsonObject With(JsonObject o, string field, JsonNode? value)
        {
            o[field] = value;
            return o;
        }

        var hostile = new[]
        {
            With(Trade("TX-PAR-UNICODE"), "trader_id", "trader-ü-😀-中文"),
            With(With(Trade("TX-PAR-INJECT"), "account_id", "ACC-'); DROP TABLE transactions;--"), "trader_id", "\"quoted\" \\ back"),
            With(With(Trade("TX-PAR-TINY"), "quantity", "0.0000000001"), "price", "0.0000000001"),
            With(With(Trade("TX-PAR-HUGE"), "quantity", "999999999999"), "price", "99999.9999999999"),
            With(With(Trade("TX-PAR-SCALE"), "quantity", "0.0000001"), "price", "123456789012.1234567890"),
            With(Trade("TX-PAR-BEL"), "trader_id", "bell\u0007"),
            With(Trade("TX-PAR-NUL"), "account_id", "ACC\u00001"),
            With(Trade("TX-PAR-ESC"), "trader_id", "esc\u001b[31m"),
            With(Trade("TX-PAR-NL"), "account_id", "ACC\n2"),
            Trade("TX-PAR-AMEND", 2, "AMEND"),
            Trade("TX-PAR-AMEND", 1, "NEW"),
            Trade("TX-PAR-DUP"),
        };
        File.WriteAllText(Path.Combine(input, "hostile.ndjson"), string.Join("\n", hostile.Select(h => h.ToJsonString())) + "\n", new UTF8Encoding(false));
        File.WriteAllText(Path.Combine(input, "hostile-dup.json"), Trade("TX-PAR-DUP").ToJsonString());
        File.WriteAllText(Path.Combine(input, "conflict-a.json"), With(Trade("TX-PAR-CONFLICT"), "price", "100").ToJsonString());
        File.WriteAllText(Path.Combine(input, "conflict-b.json"), With(Trade("TX-PAR-CONFLICT"), "price", "101").ToJsonString());
        File.WriteAllText(Path.Combine(input, "hostile.csv"), """"
            transaction_id,version,status,trade_date,executed_at,account_id,trader_id,counterparty_lei,isin,asset_class,side,quantity,price,currency,venue_mic
            TX-PAR-CSV,1,NEW,2026-11-20,2026-11-20T14:03:11Z,ACC-10002,"trader, ""x""",5493001KJTIIGC8Y1R12,US0378331005,EQUITY,SELL,5,10.5,USD,XNAS

            """", new UTF8Encoding(false));
    }

    private static async Task<JsonNode> RunJsonAsync(string app, string root, Dictionary<string, string> environment, params string[] args)
    {
        var (exit, text, error) = await EmulatedAwsApp.RunAppAsync(app, root, environment, args, Ct);
        Assert.True(exit == 0, $"{string.Join(' ', args.Take(2))} ({(environment.Count == 0 ? "embedded" : "AWS")}): exit {exit}\n{text}\n{error}");
        return JsonNode.Parse(text) ?? throw new InvalidDataException("no JSON output");
    }
}
