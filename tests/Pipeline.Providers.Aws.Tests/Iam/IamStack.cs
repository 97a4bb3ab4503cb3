using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests.Iam;

/// <summary>
/// A moto of its own (the shared one stays without IAM checks) started with INITIAL_NO_AUTH_ACTION_COUNT high enough
/// for the set-up; once the stack and users exist, POST /moto-api/reset-auth 0 switches enforcement on: from then on
/// every request is authorized against the inline policies of the caller's IAM user.
/// </summary>
public sealed class IamMotoFixture : MotoFixture
{
    protected override IDictionary<string, string> Environment =>
        new Dictionary<string, string> { ["INITIAL_NO_AUTH_ACTION_COUNT"] = "1000000000" };
}

/// <summary>
/// deploy/template.yaml deployed to the IAM moto by its CloudFormation (which substitutes the stack's real bucket,
/// queue and log group ARNs into every role's policy), then one IAM user per role holding exactly that role's policy
/// statements, one user per (role, grant) holding the role's policy minus that one grant, and an admin user for
/// seeding. Policies are translated for moto by <see cref="IamPolicies.ForMoto"/> only.
/// </summary>
public sealed class IamStack : IAsyncLifetime
{
    public const string WorkgroupArn = "arn:aws:redshift-serverless:us-east-1:123456789012:workgroup/0b6c1c1e-0000-4000-8000-000000000002";
    public const string SecretArn = "arn:aws:secretsmanager:us-east-1:123456789012:secret:pipeline-redshift-IaMtSt";
    public const string AdminUser = "iam-test-admin";

    private readonly IamMotoFixture _moto = new();
    private readonly Dictionary<string, (string Id, string Secret)> _keys = new(StringComparer.Ordinal);

    public string Prefix { get; } = "iam" + Guid.NewGuid().ToString("N")[..8];

    public string? UnavailableReason { get; private set; }

    public Uri Endpoint => _moto.Endpoint;

    /// <summary>Handler (function name) -> role name, as the template wires them.</summary>
    public IReadOnlyDictionary<string, string> FunctionRoles { get; private set; } = new Dictionary<string, string>();

    /// <summary>Role name -> its grants, as deployed (ARNs substituted).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Grant>> RoleGrants { get; private set; } = new Dictionary<string, IReadOnlyList<Grant>>();

    /// <summary>Logical id -> physical id (bucket name, queue URL, ...).</summary>
    public IReadOnlyDictionary<string, string> Resources { get; private set; } = new Dictionary<string, string>();

    /// <summary>Role name -> the ablations created for it (each a user lacking one grant).</summary>
    public IReadOnlyDictionary<string, IReadOnlyList<Ablation>> Ablations { get; private set; } = new Dictionary<string, IReadOnlyList<Ablation>>();

    public (string Id, string Secret) Keys(string user) => _keys[user];

    public static string FullUser(string role) => role + "-full";

    public void Require() => EmulatorProcess.RequireAvailable(UnavailableReason);

    public async ValueTask InitializeAsync()
    {
        await _moto.InitializeAsync();
        if (_moto.UnavailableReason is not null)
        {
            UnavailableReason = _moto.UnavailableReason;
            return;
        }

        var python = EmulatorProcess.FindOnPath("python3");
        if (python is null)
        {
            UnavailableReason = "python3 (with boto3, shipped with awscli/moto) is not on PATH";
            return;
        }

        var script = Path.Combine(AppContext.BaseDirectory, "Tools", "iam_stack.py");
        var work = Directory.CreateTempSubdirectory("iam-stack-");
        try
        {
            var deployed = Path.Combine(work.FullName, "deployed.json");
            await RunAsync(
                python,
                [
                    script, "deploy", Endpoint.ToString().TrimEnd('/'), Path.Combine(RepositoryRoot(), "deploy", "template.yaml"), Prefix + "-stack", deployed,
                    $"NamePrefix={Prefix}", $"CodeBucket={Prefix}-code", "RedshiftWorkgroupName=pipeline", $"RedshiftWorkgroupArn={WorkgroupArn}",
                    $"RedshiftSecretArn={SecretArn}", "EnableIngestion=true",
                ]);
            var root = JsonNode.Parse(await File.ReadAllTextAsync(deployed))!;
            FunctionRoles = root["functions"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
            Resources = root["resources"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<string>(), StringComparer.Ordinal);
            var policies = root["roles"]!.AsObject().ToDictionary(kv => kv.Key, kv => kv.Value!.AsArray().Select(d => d!.AsObject()).ToList(), StringComparer.Ordinal);
            RoleGrants = policies.ToDictionary(kv => kv.Key, kv => (IReadOnlyList<Grant>)IamPolicies.Grants(kv.Value), StringComparer.Ordinal);

            // Users: the role's policy as it is, and the role's policy without each one grant moto can check.
            var spec = new JsonObject
            {
                [AdminUser] = new JsonArray(JsonNode.Parse("""{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}""")),
            };
            var ablations = new Dictionary<string, IReadOnlyList<Ablation>>(StringComparer.Ordinal);
            foreach (var (role, grants) in RoleGrants)
            {
                spec[FullUser(role)] = IamPolicies.ForMoto(grants);
                var list = new List<Ablation>();
                foreach (var unit in IamPolicies.AblationUnits(grants))
                {
                    var user = $"{role}-without-{list.Count}";
                    spec[user] = IamPolicies.ForMoto(grants.Where(g => !unit.Contains(g)).ToList());
                    list.Add(new Ablation(user, unit));
                }

                ablations[role] = list;
            }

            Ablations = ablations;
            var specPath = Path.Combine(work.FullName, "users-spec.json");
            var keysPath = Path.Combine(work.FullName, "users.json");
            await File.WriteAllTextAsync(specPath, spec.ToJsonString());
            await RunAsync(python, [script, "users", Endpoint.ToString().TrimEnd('/'), specPath, keysPath]);
            foreach (var (user, key) in JsonNode.Parse(await File.ReadAllTextAsync(keysPath))!.AsObject())
            {
                _keys[user] = (key!["id"]!.GetValue<string>(), key["secret"]!.GetValue<string>());
            }

            // From here on moto authorizes every request against the caller's IAM user.
            using var http = new HttpClient();
            using var body = new StringContent("0", Encoding.UTF8, new MediaTypeHeaderValue("text/plain"));
            using var response = await http.PostAsync(new Uri(Endpoint, "/moto-api/reset-auth"), body);
            response.EnsureSuccessStatusCode();
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    public async ValueTask DisposeAsync() => await _moto.DisposeAsync();

    private static async Task RunAsync(string python, string[] arguments)
    {
        var (exit, output) = await EmulatorProcess.RunAsync(python, arguments);
        if (exit != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(arguments[0])} {arguments[1]} failed (exit {exit}): {output}");
        }
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

/// <summary>One action on one resource, as a role's policy allows it (with the statement's condition, if any).</summary>
public sealed record Grant(string Action, string Resource, string? Condition)
{
    public override string ToString() => $"{Action} on {Resource}";
}

/// <summary>A user holding the role's policy minus <see cref="Removed"/>.</summary>
public sealed record Ablation(string User, IReadOnlyList<Grant> Removed)
{
    public override string ToString() => string.Join(", ", Removed);
}

/// <summary>Flattens policies to grants and writes them back, translated for moto's evaluator.</summary>
public static class IamPolicies
{
    /// <summary>
    /// Grants moto cannot check, with the reason each is still needed on AWS; every other grant must be shown
    /// necessary (its removal gives AccessDenied).
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> NotCheckedByMoto = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["logs:CreateLogStream"] = "Lambda writes the function's logs with the execution role",
        ["logs:PutLogEvents"] = "Lambda writes the function's logs with the execution role",
        ["secretsmanager:GetSecretValue"] = "the Data API reads Redshift:SecretArn with the caller's permissions; moto's redshift-data does not",
        ["s3:ListBucket"] = "without it S3 answers 403 instead of 404 for a missing key (HeadAsync -> null, ObjectNotFoundException); moto always answers 404",
    };

    /// <summary>
    /// moto authorizes these against resource "*": SQS GetQueueUrl (the request names no queue URL) and every
    /// redshift-data call (moto has no resource for them). Their resource scoping is checked on the template alone.
    /// </summary>
    public static bool MotoChecksAgainstStar(string action) =>
        action == "sqs:GetQueueUrl" || action.StartsWith("redshift-data:", StringComparison.Ordinal);

    /// <summary>
    /// AWS authorizes the SQS batch operations under the single action (SendMessageBatch needs sqs:SendMessage);
    /// moto checks the operation's own name.
    /// </summary>
    public static readonly IReadOnlyDictionary<string, string> MotoBatchAliases = new Dictionary<string, string>(StringComparer.Ordinal)
    {
        ["sqs:SendMessage"] = "sqs:SendMessageBatch",
        ["sqs:DeleteMessage"] = "sqs:DeleteMessageBatch",
        ["sqs:ChangeMessageVisibility"] = "sqs:ChangeMessageVisibilityBatch",
    };

    public static List<Grant> Grants(IEnumerable<JsonObject> documents)
    {
        var grants = new List<Grant>();
        foreach (var document in documents)
        {
            foreach (var statement in AsArray(document["Statement"]!))
            {
                var s = statement!.AsObject();
                if (s["Effect"]!.GetValue<string>() != "Allow" || s.ContainsKey("NotAction") || s.ContainsKey("NotResource"))
                {
                    throw new InvalidOperationException("The test reads Allow statements with Action and Resource only: " + s.ToJsonString());
                }

                var condition = s["Condition"]?.ToJsonString();
                foreach (var action in AsArray(s["Action"]!))
                {
                    foreach (var resource in AsArray(s["Resource"]!))
                    {
                        grants.Add(new Grant(action!.GetValue<string>(), resource!.GetValue<string>(), condition));
                    }
                }
            }
        }

        return grants;
    }

    /// <summary>What one ablation removes: one grant, or every resource of an action moto checks against "*".</summary>
    public static IEnumerable<IReadOnlyList<Grant>> AblationUnits(IReadOnlyList<Grant> grants)
    {
        foreach (var group in grants.Where(g => !NotCheckedByMoto.ContainsKey(g.Action)).GroupBy(g => g.Action))
        {
            if (MotoChecksAgainstStar(group.Key))
            {
                yield return group.ToList();
            }
            else
            {
                foreach (var grant in group)
                {
                    yield return [grant];
                }
            }
        }
    }

    /// <summary>One statement per grant (moto ORs them as IAM does), translated as documented above.</summary>
    public static JsonArray ForMoto(IReadOnlyList<Grant> grants)
    {
        var statements = new JsonArray();
        foreach (var grant in grants)
        {
            var actions = new JsonArray(grant.Action);
            if (MotoBatchAliases.TryGetValue(grant.Action, out var alias))
            {
                actions.Add(alias);
            }

            var statement = new JsonObject
            {
                ["Effect"] = "Allow",
                ["Action"] = actions,
                ["Resource"] = MotoChecksAgainstStar(grant.Action) ? "*" : grant.Resource,
            };
            if (grant.Condition is not null)
            {
                statement["Condition"] = JsonNode.Parse(grant.Condition);
            }

            statements.Add(statement);
        }

        return new JsonArray(new JsonObject { ["Version"] = "2012-10-17", ["Statement"] = statements });
    }

    private static IEnumerable<JsonNode?> AsArray(JsonNode node) => node is JsonArray array ? array : new[] { node };
}
