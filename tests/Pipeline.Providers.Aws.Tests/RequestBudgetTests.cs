using System.Text.Json.Nodes;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// The request budget of the seed's own shape on AWS: `run` over N single-trade objects against moto + PostgreSQL,
/// every S3 and SQS request counted in moto's own request log (host, worker and CLI alike) — the upload, the
/// enrichment, both queues, the summary. At most <see cref="Budget"/> requests per object, end to end.
/// </summary>
public sealed class RequestBudgetTests(PostgresFixture postgres)
{
    /// <summary>
    /// S3 + SQS requests per single-trade object (README, "Request budget"): measured 4.15 for 60 objects with
    /// bookkeeping per batch (5.25 with a manifest per object); the margin is for how many objects share a batch,
    /// which depends on timing.
    /// </summary>
    public const double Budget = 4.5;

    private const int Objects = 60;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Run_SingleTradeObjects_StaysWithinTheRequestBudget()
    {
        postgres.RequireAvailable();
        var root = EmulatedAwsApp.RepositoryRoot();
        var app = EmulatedAwsApp.FunctionsApp(root);
        EmulatorProcess.RequireAvailable(app is null ? "The pipeline app is not built (dotnet build src/Functions)." : null);

        // Its own moto: the recording is server-wide, other tests' requests must not count.
        var moto = new RecordingMotoFixture();
        await moto.InitializeAsync();
        var work = Path.Combine(Path.GetTempPath(), "pipeline-budget-" + Guid.NewGuid().ToString("N")[..12]);
        try
        {
            moto.RequireAvailable();
            WriteSingleTradeObjects(root, work, Objects);
            var deployment = await EmulatedAwsApp.CreateAsync(moto, postgres, root, Ct);

            await moto.StartRecordingAsync();
            var (exit, output, error) = await EmulatedAwsApp.RunAppAsync(app!, root, deployment.Environment, ["run", work, "--json", "--timeout", "00:03:00"], Ct);
            var counts = await moto.StopRecordingAsync(bucket => bucket[(bucket.LastIndexOf('-') + 1)..]);

            var table = counts.Describe(Objects);
            TestContext.Current.TestOutputHelper?.WriteLine($"{Objects} single-trade objects, requests (total, per object):\n{table}");
            Assert.True(exit == 0, $"run exited {exit}:\n{output}\n{error}");
            var summary = JsonNode.Parse(output)!;
            Assert.True(summary["reconciled"]!.GetValue<bool>(), output);
            Assert.Equal(Objects, summary["loaded"]!.GetValue<long>());
            var perObject = (double)counts.Total / Objects;
            Assert.True(perObject <= Budget, $"{perObject:F2} S3 + SQS requests per single-trade object (budget {Budget}):\n{table}");
        }
        finally
        {
            await moto.DisposeAsync();
            if (Directory.Exists(work))
            {
                Directory.Delete(work, recursive: true);
            }
        }
    }

    /// <summary>N copies of the bundled single-trade sample, each a distinct transaction.</summary>
    internal static void WriteSingleTradeObjects(string root, string folder, int count)
    {
        Directory.CreateDirectory(folder);
        var sample = File.ReadAllText(Path.Combine(root, "local", "samples", "trade-2026-11-23-single.json"));
        for (var i = 0; i < count; i++)
        {
            var id = $"TX-2026-9{i:D5}";
            File.WriteAllText(Path.Combine(folder, $"trade-{i:D5}.json"), sample.Replace("TX-2026-000008", id, StringComparison.Ordinal));
        }
    }
}
