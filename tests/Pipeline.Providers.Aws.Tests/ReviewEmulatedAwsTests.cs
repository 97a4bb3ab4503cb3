using System.Text.Json.Nodes;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// <c>review</c> on moto + PostgreSQL: after `run` of the hostile corpus (conflicts, unicode, amendments out of order)
/// the current code reproduces the PostgreSQL rows exactly (exit 0); a 1 USD large-notional threshold changes exactly
/// the risk-flag columns of the rows PostgreSQL says it should (exit 1); and the warehouse is left as it was.
/// </summary>
public sealed class ReviewEmulatedAwsTests(MotoFixture moto, PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Review_AfterRunOnMotoAndPostgres_UnchangedZeroChangedRuleExactColumnsWarehouseUntouched()
    {
        moto.RequireAvailable();
        postgres.RequireAvailable();
        var root = EmulatedAwsApp.RepositoryRoot();
        var app = EmulatedAwsApp.FunctionsApp(root);
        EmulatorProcess.RequireAvailable(app is null ? "The pipeline app is not built (dotnet build src/Cli)." : null);

        var work = Path.Combine(Path.GetTempPath(), "pipeline-review-aws-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            var input = Path.Combine(work, "input");
            ProviderParityTests.WriteCorpus(root, input);
            var aws = (await EmulatedAwsApp.CreateAsync(moto, postgres, root, Ct)).Environment;
            var (exit, output, error) = await RunAsync(app!, root, aws, "run", input, "--json", "--timeout", "00:03:00");
            Assert.True(exit == 0, $"run: exit {exit}\n{output}\n{error}");

            (exit, output, error) = await RunAsync(app!, root, aws, "review", "--json");
            Assert.True(exit == 0, $"review: exit {exit}\n{output}\n{error}");
            Assert.False(JsonNode.Parse(output)!["differences"]!.GetValue<bool>());

            var expected = JsonNode.Parse((await RunAsync(app!, root, aws, "query",
                "SELECT COUNT(*) AS n FROM transactions WHERE notional_usd >= 1 AND NOT flag_large_notional", "--json")).Output)![0]!["n"]!.GetValue<long>();
            Assert.True(expected > 0);
            var dump = await DumpAsync(app!, root, aws);

            var changed = new Dictionary<string, string>(aws) { ["Enrichment__LargeNotionalUsd"] = "1" };
            (exit, output, error) = await RunAsync(app!, root, changed, "review", "--json");
            Assert.True(exit == 1, $"review with a 1 USD threshold: exit {exit}\n{output}\n{error}");
            var transactions = JsonNode.Parse(output)!["tables"]!["transactions"]!;
            Assert.Equal(expected, transactions["changed"]!.GetValue<long>());
            Assert.Equal(
                [("flag_large_notional", expected), ("risk_flags", expected)],
                transactions["columns"]!.AsObject().Select(p => (p.Key, p.Value!.GetValue<long>())));
            Assert.Equal(dump, await DumpAsync(app!, root, aws));
        }
        finally
        {
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    private static async Task<string> DumpAsync(string app, string root, Dictionary<string, string> environment)
    {
        var dump = "";
        foreach (var table in new[] { "transactions", "confirmations", "regulatory_reports", "transaction_versions", "transaction_contents" })
        {
            dump += (await RunAsync(app, root, environment, "query", $"SELECT * FROM {table} ORDER BY 1, 2", "--json")).Output;
        }

        return dump;
    }

    private static Task<(int Exit, string Output, string Error)> RunAsync(string app, string root, Dictionary<string, string> environment, params string[] args) =>
        EmulatedAwsApp.RunAppAsync(app, root, environment, args, TestContext.Current.CancellationToken);
}
