using System.Net;
using System.Text;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.SQS;
using Amazon.SQS.Model;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.RedshiftData;
using Pipeline.Providers.Aws.S3;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests.Iam;

/// <summary>
/// Each function's role in deploy/template.yaml allows the calls the function makes and nothing more, shown on moto
/// with IAM enforcement: the function's provider calls (S3 object store, SQS, Redshift Data, and the calls Lambda's
/// SQS event source mapping makes with the role) run with the keys of a user holding the role's policy and succeed;
/// without any one grant they get AccessDenied. Grants moto cannot check are listed with reasons in
/// <see cref="IamPolicies.NotCheckedByMoto"/>.
/// </summary>
public sealed class IamLeastPrivilegeTests(IamStack stack) : IClassFixture<IamStack>
{
    private static readonly HttpClient Http = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> Functions => ["EnrichTransactions", "LoadTransactions", "IngestTrades", "RefineDaily"];

    [Fact]
    public void Template_EveryFunction_HasACallScriptHere()
    {
        stack.Require();

        Assert.Equal(Functions.Select(f => (string)f.Data).Order(StringComparer.Ordinal), stack.FunctionRoles.Keys.Order(StringComparer.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public async Task FunctionCalls_WithItsRolePolicyFromTheTemplate_Succeed(string function)
    {
        stack.Require();
        var role = stack.FunctionRoles[function];

        await RunAsync(function, IamStack.FullUser(role));
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public async Task FunctionCalls_WithoutAnyOneGrantOfItsRole_GetAccessDenied(string function)
    {
        stack.Require();
        var role = stack.FunctionRoles[function];
        var ablations = stack.Ablations[role];
        Assert.NotEmpty(ablations);

        var notDenied = new List<string>();
        foreach (var ablation in ablations)
        {
            var e = await Record.ExceptionAsync(() => RunAsync(function, ablation.User));
            if (e is null || !IsAccessDenied(e))
            {
                notDenied.Add($"{ablation}: {(e is null ? "all calls succeeded" : e.GetType().Name + " " + e.Message)}");
            }
        }

        Assert.True(notDenied.Count == 0, $"{function} ({role}) does not need these grants:\n" + string.Join('\n', notDenied));
        TestContext.Current.SendDiagnosticMessage($"{function}: {ablations.Count} grants each shown necessary; {stack.RoleGrants[role].Count} grants in the role.");
    }

    [Theory]
    [MemberData(nameof(Functions))]
    public void RolePolicy_EveryGrant_IsShownNecessaryOrListedWithAReason(string function)
    {
        stack.Require();
        var role = stack.FunctionRoles[function];
        var ablated = stack.Ablations[role].SelectMany(a => a.Removed).ToHashSet();

        var unexplained = stack.RoleGrants[role].Where(g => !ablated.Contains(g) && !IamPolicies.NotCheckedByMoto.ContainsKey(g.Action)).ToList();

        Assert.Empty(unexplained);
        Assert.DoesNotContain(stack.RoleGrants[role], g => g.Action.Contains('*', StringComparison.Ordinal));
    }

    [Fact]
    public async Task RefineDaily_PutIntoTheRefineZone_NeedsNoGetObject()
    {
        // The issue's failure: a HEAD after every PUT needed s3:GetObject, which RefineRole does not (and need not) have.
        stack.Require();
        var role = stack.FunctionRoles["RefineDaily"];
        Assert.DoesNotContain(stack.RoleGrants[role], g => g.Action == "s3:GetObject");
        await using var caller = Caller(IamStack.FullUser(role));

        using var content = new MemoryStream("{\"day\":\"2026-12-05\"}\n"u8.ToArray());
        var info = await caller.Store.PutAsync(Bucket("RefineBucket"), $"exposure/{Guid.NewGuid():N}.ndjson", content, new PutOptions { ContentType = "application/x-ndjson" }, Ct);

        Assert.Equal(content.Length, info.Size);
        Assert.False(string.IsNullOrEmpty(info.ETag));
        Assert.Equal("application/x-ndjson", info.ContentType);
    }

    /// <summary>The calls each function makes on AWS, through the same provider code (see the function named).</summary>
    private async Task RunAsync(string function, string user)
    {
        var run = Guid.NewGuid().ToString("N")[..12];
        await using var caller = Caller(user);
        switch (function)
        {
            case "EnrichTransactions":
                {
                    // Seeded by the admin: the raw object, a reference document and the raw bucket's notification.
                    var raw = Bucket("RawBucket");
                    var reference = Bucket("ReferenceBucket");
                    await AdminPutAsync(raw, $"transactions/{run}.json", "[]");
                    await AdminPutAsync(reference, $"probe/{run}.json", "{}");
                    var events = Queue("RawEventsQueue");
                    await AdminSendAsync(events, "{\"Records\":[]}", null);

                    // Lambda's event source mapping on the raw-events queue (it runs with the function's role).
                    var received = await EventSourceMappingReceiveAsync(caller, events);

                    // EnrichTransactions: HEAD + GET the raw object, the reference documents (ReferenceDataCache),
                    // chunks/manifests into prepare, rejects into quarantine, the enriched batch onto the FIFO queue.
                    Assert.NotNull(await caller.Store.HeadAsync(raw, $"transactions/{run}.json", Ct));
                    await ReadAsync(caller.Store, raw, $"transactions/{run}.json");
                    Assert.NotNull(await caller.Store.HeadAsync(reference, $"probe/{run}.json", Ct));
                    await ReadAsync(caller.Store, reference, $"probe/{run}.json");
                    await PutAsync(caller.Store, Bucket("PrepareBucket"), $"chunks/{run}.ndjson.gz");
                    await PutAsync(caller.Store, Bucket("QuarantineBucket"), $"transactions/{run}.json.reason.json");
                    var sent = await caller.Queue.SendBatchAsync(Name("EnrichedQueue"), [new OutgoingMessage("{}", GroupId: run, DeduplicationId: run)], Ct);
                    Assert.True(sent.AllSucceeded);

                    // The mapping deletes what the function reported done.
                    await EventSourceMappingDeleteAsync(caller, events, received);
                    break;
                }

            case "LoadTransactions":
                {
                    var claim = $"chunks/{run}.ndjson.gz";
                    await AdminPutAsync(Bucket("PrepareBucket"), claim, "x");
                    var enriched = Queue("EnrichedQueue");
                    await AdminSendAsync(enriched, "{}", run);

                    var received = await EventSourceMappingReceiveAsync(caller, enriched);

                    // LoadTransactions: read the claim check; WarehouseTables.EnsureAsync (ExecuteStatement) and
                    // MergeAsync (BatchExecuteStatement), each awaited with DescribeStatement, cancelled on timeout.
                    await ReadAsync(caller.Store, Bucket("PrepareBucket"), claim);
                    var id = await caller.Redshift.ExecuteStatementAsync(Execute("create table if not exists t (a int)"), Ct);
                    await caller.Redshift.DescribeStatementAsync(id, Ct);
                    await BatchExecuteAsync(caller);
                    await caller.Redshift.CancelStatementAsync(id, Ct);

                    await EventSourceMappingDeleteAsync(caller, enriched, received);
                    break;
                }

            case "IngestTrades":
                {
                    // TradeIngestor: the cursor state (HEAD, absent on a first run; then GET), pages written
                    // put-if-absent, the state and the run audit overwritten, all in the raw zone.
                    var raw = Bucket("RawBucket");
                    var state = $"transactions/api/state/{run}.json";
                    Assert.Null(await caller.Store.HeadAsync(raw, state, Ct));
                    await caller.Store.PutAsync(raw, $"transactions/api/{run}/page-0001.json", new MemoryStream("[]"u8.ToArray()), new PutOptions { ContentType = "application/json", IfNoneMatch = true }, Ct);
                    await PutAsync(caller.Store, raw, state);
                    Assert.NotNull(await caller.Store.HeadAsync(raw, state, Ct));
                    await ReadAsync(caller.Store, raw, state);
                    break;
                }

            case "RefineDaily":
                {
                    // DailyRefiner: EnsureTableAsync and the paged query (ExecuteStatement, DescribeStatement,
                    // GetStatementResult, CancelStatement on timeout), the day's merge (BatchExecuteStatement), then
                    // the day's NDJSON into the refine zone.
                    var id = await caller.Redshift.ExecuteStatementAsync(Execute("select 1"), Ct);
                    await caller.Redshift.DescribeStatementAsync(id, Ct);
                    await caller.Redshift.GetStatementResultAsync(id, null, Ct);
                    await caller.Redshift.CancelStatementAsync(id, Ct);
                    await BatchExecuteAsync(caller);
                    await PutAsync(caller.Store, Bucket("RefineBucket"), $"exposure/{run}.ndjson");
                    break;
                }

            default:
                throw new InvalidOperationException($"No call script for function '{function}': add what it calls on AWS here.");
        }
    }

    /// <summary>What Lambda's SQS event source mapping does with the function's role before invoking it.</summary>
    private async Task<List<Message>> EventSourceMappingReceiveAsync(IamCaller caller, string queueUrl)
    {
        await caller.Sqs.GetQueueAttributesAsync(queueUrl, ["VisibilityTimeout"], Ct);
        var received = (await caller.Sqs.ReceiveMessageAsync(new ReceiveMessageRequest { QueueUrl = queueUrl, MaxNumberOfMessages = 10, WaitTimeSeconds = 1, VisibilityTimeout = 30 }, Ct)).Messages;
        Assert.NotEmpty(received ?? []);
        return received!;
    }

    private static async Task EventSourceMappingDeleteAsync(IamCaller caller, string queueUrl, List<Message> received)
    {
        var entries = received.Select((m, i) => new DeleteMessageBatchRequestEntry { Id = i.ToString(System.Globalization.CultureInfo.InvariantCulture), ReceiptHandle = m.ReceiptHandle }).ToList();
        await caller.Sqs.DeleteMessageBatchAsync(queueUrl, entries, Ct);
    }

    /// <summary>moto authorizes BatchExecuteStatement, then answers 500 (it does not implement it); 403 is the denial.</summary>
    private static async Task BatchExecuteAsync(IamCaller caller)
    {
        try
        {
            await caller.Redshift.BatchExecuteStatementAsync(
                new BatchExecuteStatementRequest { Sqls = ["select 1"], Database = "dev", WorkgroupName = "pipeline", SecretArn = IamStack.SecretArn },
                Ct);
        }
        catch (AwsServiceException e) when (e.StatusCode == HttpStatusCode.InternalServerError)
        {
            // Authorized; not implemented by moto.
        }
    }

    private static ExecuteStatementRequest Execute(string sql) =>
        new() { Sql = sql, Database = "dev", WorkgroupName = "pipeline", SecretArn = IamStack.SecretArn };

    private static async Task PutAsync(IObjectStore store, string zone, string key)
    {
        using var content = new MemoryStream("{}"u8.ToArray());
        await store.PutAsync(zone, key, content, new PutOptions { ContentType = "application/json" }, Ct);
    }

    private static async Task ReadAsync(IObjectStore store, string zone, string key)
    {
        await using var stream = await store.OpenReadAsync(zone, key, Ct);
        await stream.CopyToAsync(Stream.Null, Ct);
    }

    private async Task AdminPutAsync(string bucket, string key, string body)
    {
        await using var admin = Caller(IamStack.AdminUser);
        using var content = new MemoryStream(Encoding.UTF8.GetBytes(body));
        await admin.Store.PutAsync(bucket, key, content, cancellationToken: Ct);
    }

    private async Task AdminSendAsync(string queueUrl, string body, string? group)
    {
        await using var admin = Caller(IamStack.AdminUser);
        var entry = new SendMessageBatchRequestEntry { Id = "0", MessageBody = body, MessageGroupId = group, MessageDeduplicationId = group };
        await admin.Sqs.SendMessageBatchAsync(queueUrl, [entry], Ct);
    }

    private static bool IsAccessDenied(Exception e)
    {
        for (Exception? x = e; x is not null; x = x.InnerException)
        {
            // SDK calls (S3, and the event source mapping's SQS calls) throw the SDK's exception; provider calls AwsServiceException.
            if (x is AwsServiceException { StatusCode: HttpStatusCode.Forbidden, Code: "AccessDenied" } or AmazonServiceException { StatusCode: HttpStatusCode.Forbidden })
            {
                return true;
            }
        }

        return false;
    }

    private string Bucket(string logicalId) => stack.Resources[logicalId];

    private string Queue(string logicalId) => stack.Resources[logicalId];

    private string Name(string logicalId) => stack.Resources[logicalId].Split('/')[^1];

    private IamCaller Caller(string user)
    {
        var (id, secret) = stack.Keys(user);
        var options = new AwsOptions
        {
            Region = MotoFixture.Region,
            ServiceUrl = stack.Endpoint.ToString(),
            ForcePathStyle = true,
            AccessKeyId = id,
            SecretAccessKey = secret,
            SqsDeduplicationAfterDelete = false,
            MaxRetries = 0,
        };
        var credentials = new AwsCredentialSource(options);
        var s3 = S3ClientFactory.Create(options, credentials);
        var sqs = SqsClientFactory.Create(options, credentials);
        return new IamCaller(s3, new S3ObjectStore(s3, options), sqs, new SqsMessageQueue(sqs, options), RedshiftDataClient.Create(Http, options, credentials));
    }

    private sealed record IamCaller(IAmazonS3 S3, S3ObjectStore Store, IAmazonSQS Sqs, SqsMessageQueue Queue, RedshiftDataClient Redshift) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            S3.Dispose();
            Sqs.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
