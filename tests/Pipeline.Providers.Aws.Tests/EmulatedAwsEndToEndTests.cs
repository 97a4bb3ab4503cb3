using System.Diagnostics;
using System.Text;
using Npgsql;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// Emulated-AWS mode end to end: the built pipeline app runs `start` with Provider=Aws against moto and
/// PostgreSQL, a real client (awscli) uploads a sample file to the raw bucket, and rows arrive in PostgreSQL
/// through S3 notification → standard queue → EnrichTransactions → FIFO queue → LoadTransactions.
/// </summary>
public sealed class EmulatedAwsEndToEndTests(MotoFixture moto, PostgresFixture postgres)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public Task AwsCliUpload_ToRawBucket_EndsAsRowsInPostgres() => RunAsync(AwsTarget.Moto(moto), postgres);

    /// <summary>The whole test against <paramref name="target"/> (moto here, LocalStack in <see cref="LocalStackTests"/>).</summary>
    internal static async Task RunAsync(AwsTarget target, PostgresFixture postgres)
    {
        target.RequireAvailable();
        postgres.RequireAvailable();
        var root = EmulatedAwsApp.RepositoryRoot();
        var app = EmulatedAwsApp.FunctionsApp(root);
        var awsCli = EmulatorProcess.FindOnPath("aws");
        EmulatorProcess.RequireAvailable(app is null ? "The pipeline app is not built (dotnet build src/Functions)." : awsCli is null ? "awscli ('aws') is not on PATH." : null);

        var deployment = await EmulatedAwsApp.CreateAsync(target, postgres, root, Ct);
        var options = deployment.Options;
        var schema = deployment.Schema;
        var environment = deployment.Environment;

        var output = new StringBuilder();
        using var host = EmulatorProcess.Start("dotnet", [app!, "start", "--content-root", root], output, environment);
        try
        {
            await WaitForAsync(() => Task.FromResult(EmulatorProcess.Snapshot(output).Contains("Host started", StringComparison.Ordinal)), host, output, "the host to start");

            var sample = Path.Combine(root, "local", "samples", "trades-2026-11-20.json");
            var uploadOutput = new StringBuilder();
            using (var upload = EmulatorProcess.Start(awsCli!, ["--endpoint-url", target.Endpoint.ToString(), "--region", target.Region, "s3", "cp", sample, $"s3://{options.Buckets["raw"]}/transactions/"], uploadOutput, environment))
            {
                await upload.WaitForExitAsync(Ct);
                Assert.True(upload.ExitCode == 0, EmulatorProcess.Snapshot(uploadOutput));
            }

            await WaitForAsync(async () => await CountAsync(postgres.ConnectionString, schema) >= 7, host, output, "7 rows in PostgreSQL");
            Assert.Equal(7, await CountAsync(postgres.ConnectionString, schema));
        }
        finally
        {
            EmulatorProcess.Kill(host);
        }
    }

    private static async Task<long> CountAsync(string connectionString, string schema)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand($"SELECT count(*) FROM pg_tables WHERE schemaname = @s AND tablename = 'transactions'", connection);
        command.Parameters.AddWithValue("s", schema);
        if ((long)(await command.ExecuteScalarAsync(Ct))! == 0)
        {
            return 0;
        }

        await using var count = new NpgsqlCommand($"SELECT count(*) FROM \"{schema}\".transactions", connection);
        return (long)(await count.ExecuteScalarAsync(Ct))!;
    }

    private static async Task WaitForAsync(Func<Task<bool>> condition, Process host, StringBuilder output, string what)
    {
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (DateTime.UtcNow < deadline)
        {
            if (await condition())
            {
                return;
            }

            if (host.HasExited)
            {
                Assert.Fail($"The pipeline app exited ({host.ExitCode}) while waiting for {what}:\n{EmulatorProcess.Snapshot(output)}");
            }

            await Task.Delay(250, Ct);
        }

        Assert.Fail($"Timed out waiting for {what}. App output:\n{EmulatorProcess.Snapshot(output)}");
    }
}
