using Pipeline.TestKit.Warehouse;
using System.Collections.Concurrent;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.RedshiftData;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// The Data API wire protocol against moto's redshift-data: it accepts Execute/Describe/GetStatementResult/Cancel,
/// keeps statements STARTED forever, returns fixed fake rows, and lacks BatchExecuteStatement (HTTP 500).
/// </summary>
public sealed class RedshiftDataWireTests(MotoFixture moto)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task ExecuteDescribeResultCancel_AgainstMoto_SpeakTheProtocol()
    {
        moto.RequireAvailable();
        var (client, bodies) = Client();

        var id = await client.ExecuteStatementAsync(new ExecuteStatementRequest { Sql = "SELECT 1 WHERE 1 = :one", Database = "dev", WorkgroupName = "pipeline", Parameters = [new SqlParameter("one", "1")], ClientToken = "token-1" }, Ct);
        var described = await client.DescribeStatementAsync(id, Ct);
        var page = await client.GetStatementResultAsync(id, null, Ct);
        Assert.True(await client.CancelStatementAsync(id, Ct));
        var cancelled = await client.DescribeStatementAsync(id, Ct);

        Assert.Equal(id, described.Id);
        Assert.Equal("STARTED", described.Status);
        Assert.NotEmpty(page.Records!);
        Assert.Equal("ABORTED", cancelled.Status);
        await RequestModelValidation.AssertValidAsync(bodies);
    }

    [Fact]
    public async Task Query_StatementNeverFinishes_TimesOutAndCancels()
    {
        moto.RequireAvailable();
        var (client, bodies) = Client();
        var warehouse = new RedshiftDataWarehouse(client, new RedshiftOptions { ClusterIdentifier = "pipeline", Database = "dev", DbUser = "loader", PollInitialDelay = TimeSpan.FromMilliseconds(20), StatementTimeout = TimeSpan.FromMilliseconds(300) });

        var e = await Assert.ThrowsAsync<WarehouseException>(() => warehouse.QueryAsync("SELECT * FROM trades WHERE trade_id = @id", new Dictionary<string, object?> { ["id"] = "T1" }, Ct));

        Assert.Contains("cancelled", e.Message, StringComparison.Ordinal);
        Assert.Contains(bodies, b => b.Item2 == "CancelStatement");
        await RequestModelValidation.AssertValidAsync(bodies);
    }

    [Fact]
    public async Task Merge_MotoLacksBatchExecuteStatement_SurfacesServiceErrorWithValidBody()
    {
        moto.RequireAvailable();
        var (client, bodies) = Client();
        var warehouse = new RedshiftDataWarehouse(client, new RedshiftOptions { WorkgroupName = "pipeline", Database = "dev", SecretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:redshift-abc" });

        var e = await Assert.ThrowsAsync<AwsServiceException>(() => warehouse.MergeAsync([new MergeBatch(SampleTrades.Table, [SampleTrades.Row("T1", 1)])], Ct));

        Assert.Equal(500, (int)e.StatusCode);
        Assert.Contains(bodies, b => b.Item2 == "BatchExecuteStatement");
        await RequestModelValidation.AssertValidAsync(bodies);
    }

    private (RedshiftDataClient Client, ConcurrentQueue<(string, string, byte[])> Bodies) Client()
    {
        var options = AwsTestSupport.Options(moto);
        options.MaxRetries = 0;
        var client = RedshiftDataClient.Create(new HttpClient(), options, new Internal.AwsCredentialSource(options));
        var bodies = new ConcurrentQueue<(string, string, byte[])>();
        client.Protocol.OnRequestBody = (op, body) => bodies.Enqueue(("redshift-data", op, body));
        return (client, bodies);
    }
}
