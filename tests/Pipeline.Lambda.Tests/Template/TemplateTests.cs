using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws;
using Pipeline.Lambda.Tests.Emulator;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Lambda.Tests.Template;

/// <summary>deploy/template.yaml: deployed once to moto's CloudFormation (boto3) for the class.</summary>
public sealed class DeployedStack : IAsyncLifetime
{
    public const string WorkgroupArn = "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0b6c1c1e-0000-4000-8000-000000000001";
    public const string SecretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pipeline-redshift-AbCdEf";

    private readonly MotoFixture _moto;

    public DeployedStack(MotoFixture moto) => _moto = moto;

    /// <summary>Unique per run, so other tests sharing moto never see these resources.</summary>
    public string Prefix { get; } = "tpl" + Guid.NewGuid().ToString("N")[..8];

    public JsonDocument? Result { get; private set; }

    public string? UnavailableReason { get; private set; }

    public JsonElement Root => Result!.RootElement;

    public async ValueTask InitializeAsync()
    {
        if (_moto.UnavailableReason is not null)
        {
            UnavailableReason = _moto.UnavailableReason;
            return;
        }

        var python = Tools.FindOnPath("python3");
        if (python is null)
        {
            UnavailableReason = "python3 (with boto3, shipped with awscli/moto) is not on PATH";
            return;
        }

        var root = RepositoryRoot();
        var (exit, stdout, stderr) = await Tools.RunAsync(
            python,
            [
                Path.Combine(AppContext.BaseDirectory, "Template", "deploy_to_moto.py"),
                _moto.Endpoint.ToString().TrimEnd('/'),
                Path.Combine(root, "deploy", "template.yaml"),
                Prefix + "-stack",
                $"NamePrefix={Prefix}",
                $"CodeBucket={Prefix}-code",
                "RedshiftWorkgroupName=pipeline",
                $"RedshiftWorkgroupArn={WorkgroupArn}",
                $"RedshiftSecretArn={SecretArn}",
                "EnableIngestion=true",
            ],
            TimeSpan.FromMinutes(2));
        if (exit != 0)
        {
            throw new InvalidOperationException($"Deploying the template to moto failed (exit {exit}): {stderr}");
        }

        Result = JsonDocument.Parse(stdout);
    }

    public Uri Endpoint => _moto.Endpoint;

    public ValueTask DisposeAsync()
    {
        Result?.Dispose();
        return ValueTask.CompletedTask;
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Pipeline.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("Pipeline.sln not found above " + AppContext.BaseDirectory);
    }
}

public sealed class TemplateTests(DeployedStack stack) : IClassFixture<DeployedStack>
{
    private string P => stack.Prefix;

    [Fact]
    public async Task CfnLint_Template_ReportsNothing()
    {
        var cfnLint = Tools.FindOnPath("cfn-lint");
        Tools.Require(cfnLint is null ? "cfn-lint is not on PATH (pip install cfn-lint)" : null);

        var (exit, stdout, stderr) = await Tools.RunAsync(cfnLint!, [Path.Combine(DeployedStack.RepositoryRoot(), "deploy", "template.yaml")], TimeSpan.FromMinutes(2));

        Assert.True(exit == 0, $"cfn-lint exit {exit}:\n{stdout}{stderr}");
    }

    [Fact]
    public void Deploy_ToMoto_StackCompletes()
    {
        Require();
        Assert.Equal("CREATE_COMPLETE", stack.Root.GetProperty("status").GetString());
        foreach (var resource in stack.Root.GetProperty("resources").EnumerateObject())
        {
            Assert.Equal("CREATE_COMPLETE", resource.Value.GetProperty("status").GetString());
        }
    }

    [Fact]
    public void Deploy_ToMoto_CreatesEncryptedZoneBuckets()
    {
        Require();
        var buckets = stack.Root.GetProperty("buckets");
        foreach (var zone in new[] { "raw", "prepare", "refine", "quarantine", "reference" })
        {
            var bucket = buckets.GetProperty($"{P}-{zone}-123456789012-us-east-1");
            Assert.Equal("AES256", bucket.GetProperty("encryption").GetString());
        }
    }

    [Fact]
    public void Template_Buckets_BlockPublicAccessAndVersionRaw()
    {
        // moto's CloudFormation does not apply these properties, so they are checked on the template.
        Require();
        var template = stack.Root.GetProperty("template");
        foreach (var name in new[] { "RawBucket", "PrepareBucket", "RefineBucket", "QuarantineBucket", "ReferenceBucket" })
        {
            var block = template.GetProperty(name).GetProperty("Properties").GetProperty("PublicAccessBlockConfiguration");
            foreach (var setting in new[] { "BlockPublicAcls", "BlockPublicPolicy", "IgnorePublicAcls", "RestrictPublicBuckets" })
            {
                Assert.True(block.GetProperty(setting).GetBoolean(), $"{name}.{setting}");
            }
        }

        var raw = template.GetProperty("RawBucket").GetProperty("Properties");
        Assert.Equal("Enabled", raw.GetProperty("VersioningConfiguration").GetProperty("Status").GetString());
        var notification = raw.GetProperty("NotificationConfiguration").GetProperty("QueueConfigurations")[0];
        Assert.Equal("s3:ObjectCreated:*", notification.GetProperty("Event").GetString());
        Assert.Equal("RawEventsQueue", notification.GetProperty("Queue").GetProperty("Fn::GetAtt")[0].GetString());
        Assert.Equal("transactions/", notification.GetProperty("Filter").GetProperty("S3Key").GetProperty("Rules")[0].GetProperty("Value").GetString());
        var policy = template.GetProperty("RawEventsQueuePolicy").GetProperty("Properties").GetProperty("PolicyDocument").GetProperty("Statement")[0];
        Assert.Equal("s3.amazonaws.com", policy.GetProperty("Principal").GetProperty("Service").GetString());
        Assert.Equal("sqs:SendMessage", policy.GetProperty("Action").GetString());
    }

    [Fact]
    public void Deploy_ToMoto_CreatesQueuesWithRedriveAndExplicitFifoDedup()
    {
        Require();
        var queues = stack.Root.GetProperty("queues");
        var raw = queues.GetProperty($"{P}-raw-events");
        Assert.False(raw.TryGetProperty("FifoQueue", out _));
        AssertRedrive(raw, $"{P}-raw-events-dlq");
        Assert.Equal("720", raw.GetProperty("VisibilityTimeout").GetString());

        var enriched = queues.GetProperty($"{P}-enriched.fifo");
        Assert.Equal("true", enriched.GetProperty("FifoQueue").GetString());
        Assert.Equal("false", enriched.GetProperty("ContentBasedDeduplication").GetString());
        AssertRedrive(enriched, $"{P}-enriched-dlq.fifo");
        Assert.Equal("true", queues.GetProperty($"{P}-enriched-dlq.fifo").GetProperty("FifoQueue").GetString());
    }

    [Fact]
    public void Deploy_ToMoto_CreatesCustomRuntimeFunctionsWithOwnRoles()
    {
        Require();
        var functions = stack.Root.GetProperty("functions");
        var roles = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in new[] { "EnrichTransactions", "LoadTransactions", "IngestTrades", "RefineDaily" })
        {
            var function = functions.GetProperty($"{P}-{name}");
            Assert.Equal("provided.al2023", function.GetProperty("Runtime").GetString());
            Assert.Equal(name, function.GetProperty("Handler").GetString());
            roles.Add(function.GetProperty("Role").GetString()!);
            var variables = function.GetProperty("Environment").GetProperty("Variables");
            Assert.Equal("Aws", variables.GetProperty("Provider").GetString());
            Assert.Equal($"{P}-raw-123456789012-us-east-1", variables.GetProperty("Zones__Raw").GetString());
            Assert.Equal($"{P}-enriched.fifo", variables.GetProperty("Queues__Enriched").GetString());
        }

        Assert.Equal(4, roles.Count);
    }

    [Fact]
    public void Deploy_ToMoto_CreatesEventSourceMappingsReportingBatchItemFailures()
    {
        Require();
        var mappings = stack.Root.GetProperty("mappings").EnumerateArray().ToList();
        var enrich = mappings.Single(m => m.GetProperty("EventSourceArn").GetString()!.EndsWith($":{P}-raw-events", StringComparison.Ordinal));
        var load = mappings.Single(m => m.GetProperty("EventSourceArn").GetString()!.EndsWith($":{P}-enriched.fifo", StringComparison.Ordinal));

        Assert.EndsWith($":function:{P}-EnrichTransactions", enrich.GetProperty("FunctionArn").GetString(), StringComparison.Ordinal);
        Assert.EndsWith($":function:{P}-LoadTransactions", load.GetProperty("FunctionArn").GetString(), StringComparison.Ordinal);
        foreach (var mapping in new[] { enrich, load })
        {
            Assert.Equal(["ReportBatchItemFailures"], mapping.GetProperty("FunctionResponseTypes").EnumerateArray().Select(e => e.GetString()));
            Assert.Equal(5, mapping.GetProperty("ScalingConfig").GetProperty("MaximumConcurrency").GetInt32());
        }

        Assert.InRange(load.GetProperty("BatchSize").GetInt32(), 1, 10);
        Assert.Equal(100, enrich.GetProperty("BatchSize").GetInt32());
        Assert.Equal(1, enrich.GetProperty("MaximumBatchingWindowInSeconds").GetInt32());
    }

    [Fact]
    public void Deploy_ToMoto_CreatesDailyScheduleTargetingIngestion()
    {
        Require();
        var rule = stack.Root.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("name").GetString() == $"{P}-daily-ingest");

        Assert.Equal("cron(0 6 * * ? *)", rule.GetProperty("schedule").GetString());
        Assert.EndsWith($":function:{P}-IngestTrades", rule.GetProperty("targets")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("events.amazonaws.com", stack.Root.GetProperty("template").GetProperty("IngestSchedulePermission").GetProperty("Properties").GetProperty("Principal").GetString());
    }

    [Fact]
    public void Deploy_ToMoto_CreatesDailyScheduleTargetingRefineAfterIngestion()
    {
        Require();
        var rule = stack.Root.GetProperty("rules").EnumerateArray().Single(r => r.GetProperty("name").GetString() == $"{P}-daily-refine");

        Assert.Equal("cron(30 7 * * ? *)", rule.GetProperty("schedule").GetString());
        Assert.EndsWith($":function:{P}-RefineDaily", rule.GetProperty("targets")[0].GetString(), StringComparison.Ordinal);
        Assert.Equal("events.amazonaws.com", stack.Root.GetProperty("template").GetProperty("RefineSchedulePermission").GetProperty("Properties").GetProperty("Principal").GetString());
    }

    [Fact]
    public void Deploy_ToMoto_RolesAreLeastPrivilege()
    {
        Require();
        var roles = stack.Root.GetProperty("roles").EnumerateObject().Where(r => r.Name.StartsWith(P + "-", StringComparison.Ordinal)).ToList();
        Assert.Equal(4, roles.Count);
        foreach (var role in roles)
        {
            Assert.Empty(role.Value.GetProperty("attached").EnumerateArray());
            foreach (var statement in Statements(role.Value))
            {
                foreach (var action in Strings(statement.GetProperty("Action")))
                {
                    Assert.DoesNotContain("*", action, StringComparison.Ordinal);
                }

                // Only the Data API's statement-level actions (no resource ARN exists) may name every resource, and only with the owner condition.
                if (Strings(statement.GetProperty("Resource")).Contains("*"))
                {
                    Assert.All(Strings(statement.GetProperty("Action")), a => Assert.StartsWith("redshift-data:", a, StringComparison.Ordinal));
                    Assert.True(statement.TryGetProperty("Condition", out _), "a '*' resource needs the statement-owner condition");
                }
            }
        }

        var load = Statements(roles.Single(r => r.Name.StartsWith($"{P}-load-", StringComparison.Ordinal)).Value).ToList();
        Assert.Equal(DeployedStack.SecretArn, ResourceOf(load, "secretsmanager:GetSecretValue"));
        // The Data API signs in with the secret: no temporary workgroup credentials are asked for.
        Assert.DoesNotContain(load, s => Strings(s.GetProperty("Action")).Contains("redshift-serverless:GetCredentials"));
        Assert.Equal(DeployedStack.WorkgroupArn, ResourceOf(load, "redshift-data:BatchExecuteStatement"));
        Assert.Contains(load, s => Strings(s.GetProperty("Action")).Contains("redshift-data:DescribeStatement"));

        var enrich = Statements(roles.Single(r => r.Name.StartsWith($"{P}-enrich-", StringComparison.Ordinal)).Value).ToList();
        Assert.DoesNotContain(enrich, s => Strings(s.GetProperty("Action")).Any(a => a.StartsWith("redshift", StringComparison.Ordinal)));
    }

    [Fact]
    public void Template_Alarms_CoverEveryDeadLetterQueueAndFunction()
    {
        // moto's CloudFormation does not create alarms: checked on the template.
        Require();
        var alarms = stack.Root.GetProperty("template").EnumerateObject()
            .Where(r => r.Value.GetProperty("Type").GetString() == "AWS::CloudWatch::Alarm")
            .Select(r => r.Value.GetProperty("Properties"))
            .ToList();

        string Target(JsonElement alarm) => alarm.GetProperty("Dimensions")[0].GetProperty("Value") is var v && v.ValueKind == JsonValueKind.Object
            ? (v.TryGetProperty("Ref", out var r) ? r.GetString()! : v.GetProperty("Fn::GetAtt")[0].GetString()!)
            : v.GetString()!;

        var dlqAlarms = alarms.Where(a => a.GetProperty("MetricName").GetString() == "ApproximateNumberOfMessagesVisible").Select(Target).ToHashSet();
        var errorAlarms = alarms.Where(a => a.GetProperty("MetricName").GetString() == "Errors").Select(Target).ToHashSet();
        Assert.Equal(["EnrichedDeadLetterQueue", "RawEventsDeadLetterQueue"], dlqAlarms.Order());
        Assert.Equal(["EnrichFunction", "IngestFunction", "LoadFunction", "RefineFunction"], errorAlarms.Order());
    }

    [Fact]
    public async Task Deploy_ToMoto_AwsProvidersWorkOnTheStacksBucketsAndQueues()
    {
        Require();
        var ct = TestContext.Current.CancellationToken;
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Aws:Region"] = MotoFixture.Region,
            ["Aws:ServiceUrl"] = stack.Endpoint.ToString(),
            ["Aws:ForcePathStyle"] = "true",
            ["Aws:AccessKeyId"] = MotoFixture.AccessKeyId,
            ["Aws:SecretAccessKey"] = MotoFixture.SecretAccessKey,
            ["Aws:SqsDeduplicationAfterDelete"] = "false",
        }).Build();
        await using var services = new ServiceCollection().AddAwsProviders(configuration).BuildServiceProvider();
        var store = services.GetRequiredService<IObjectStore>();
        var queues = services.GetRequiredService<IMessageQueue>();
        var raw = $"{P}-raw-123456789012-us-east-1";

        var body = Encoding.UTF8.GetBytes("""[{"transaction_id":"T-1"}]""");
        using (var content = new MemoryStream(body))
        {
            await store.PutAsync(raw, "transactions/probe.json", content, new PutOptions { ContentType = "application/json" }, ct);
        }

        var head = await store.HeadAsync(raw, "transactions/probe.json", ct);
        var sent = await queues.SendBatchAsync($"{P}-enriched.fifo", [new OutgoingMessage("""{"probe":1}""", GroupId: "desk-A", DeduplicationId: "probe-1")], ct);
        var received = await queues.ReceiveAsync($"{P}-enriched.fifo", new ReceiveOptions { MaxMessages = 10, WaitTime = TimeSpan.FromSeconds(1) }, ct);
        var undeleted = await queues.DeleteBatchAsync($"{P}-enriched.fifo", received.Select(m => m.ReceiptHandle).ToList(), ct);
        var dlq = await queues.GetDepthAsync($"{P}-enriched-dlq.fifo", ct);

        Assert.NotNull(head);
        Assert.Equal(body.Length, head.Size);
        Assert.True(sent.AllSucceeded);
        var message = Assert.Single(received);
        Assert.Equal("desk-A", message.GroupId);
        Assert.Equal("probe-1", message.DeduplicationId);
        Assert.Empty(undeleted);
        Assert.Equal(0, dlq.Total);
    }

    private void Require()
    {
        Tools.Require(stack.UnavailableReason);
        Assert.NotNull(stack.Result);
    }

    private static void AssertRedrive(JsonElement queue, string deadLetterQueue)
    {
        using var redrive = JsonDocument.Parse(queue.GetProperty("RedrivePolicy").GetString()!);
        Assert.EndsWith(":" + deadLetterQueue, redrive.RootElement.GetProperty("deadLetterTargetArn").GetString(), StringComparison.Ordinal);
        Assert.Equal(5, int.Parse(redrive.RootElement.GetProperty("maxReceiveCount").ToString(), System.Globalization.CultureInfo.InvariantCulture));
    }

    private static IEnumerable<JsonElement> Statements(JsonElement role)
        => role.GetProperty("policies").EnumerateObject().SelectMany(p => p.Value.GetProperty("Statement").EnumerateArray());

    private static List<string> Strings(JsonElement value)
        => value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().Select(v => v.GetString()!).ToList() : [value.GetString()!];

    private static string ResourceOf(List<JsonElement> statements, string action)
        => Strings(statements.Single(s => Strings(s.GetProperty("Action")).Contains(action)).GetProperty("Resource")).Single();
}
