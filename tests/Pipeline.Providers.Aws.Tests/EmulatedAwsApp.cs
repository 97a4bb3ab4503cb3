using System.Diagnostics;
using Amazon.S3.Model;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Sqs;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// One emulated-AWS deployment of the pipeline app for a test: its own buckets (raw notifies a standard events queue
/// with a dead-letter queue), reference data uploaded, its own PostgreSQL schema; <see cref="Environment"/> is what
/// the built app needs to run against it with Provider=Aws.
/// </summary>
internal sealed class EmulatedAwsApp
{
    public static readonly string[] Zones = ["raw", "prepare", "refine", "quarantine", "reference"];

    private EmulatedAwsApp(AwsOptions options, string schema, Dictionary<string, string> environment)
    {
        Options = options;
        Schema = schema;
        Environment = environment;
    }

    public AwsOptions Options { get; }

    public string Schema { get; }

    public Dictionary<string, string> Environment { get; }

    public static Task<EmulatedAwsApp> CreateAsync(MotoFixture moto, PostgresFixture postgres, string repositoryRoot, CancellationToken cancellationToken) =>
        CreateAsync(AwsTarget.Moto(moto), postgres, repositoryRoot, cancellationToken);

    public static async Task<EmulatedAwsApp> CreateAsync(AwsTarget target, PostgresFixture postgres, string repositoryRoot, CancellationToken cancellationToken)
    {
        var id = Guid.NewGuid().ToString("N")[..8];
        var options = AwsTestSupport.Options(target);
        foreach (var zone in Zones)
        {
            options.Buckets[zone] = $"e2e-{id}-{zone}";
        }

        var rawEvents = $"e2e-{id}-raw-events";
        var enriched = $"e2e-{id}-enriched.fifo";
        options.EventQueues["raw"] = rawEvents;
        var s3 = S3Tests.S3Client(options);
        foreach (var zone in Zones)
        {
            await s3.PutBucketAsync(options.Buckets[zone], cancellationToken);
        }

        var sqs = new SqsMessageQueue(AwsTestSupport.Sqs(options), options);
        await sqs.EnsureQueueAsync(new QueueDefinition(rawEvents + "-dlq"), cancellationToken);
        await sqs.EnsureQueueAsync(new QueueDefinition(rawEvents, rawEvents + "-dlq"), cancellationToken);
        await s3.PutBucketNotificationAsync(
            new PutBucketNotificationRequest
            {
                BucketName = options.Buckets["raw"],
                QueueConfigurations = [new QueueConfiguration { Queue = target.QueueArn(rawEvents), Events = [Amazon.S3.EventType.ObjectCreatedAll] }],
            },
            cancellationToken);
        foreach (var file in Directory.GetFiles(Path.Combine(repositoryRoot, "local", "reference")))
        {
            await s3.PutObjectAsync(new PutObjectRequest { BucketName = options.Buckets["reference"], Key = Path.GetFileName(file), FilePath = file }, cancellationToken);
        }

        var schema = "e2e_" + id;
        var environment = new Dictionary<string, string>
        {
            ["Provider"] = "Aws",
            ["Warehouse"] = "Postgres",
            ["Aws__Region"] = target.Region,
            ["Aws__ServiceUrl"] = target.Endpoint.ToString(),
            ["Aws__ForcePathStyle"] = "true",
            ["Aws__AccessKeyId"] = target.AccessKeyId,
            ["Aws__SecretAccessKey"] = target.SecretAccessKey,
            ["Aws__SqsDeduplicationAfterDelete"] = "false",
            ["Aws__EventQueues__raw"] = rawEvents,
            ["Queues__Enriched"] = enriched,
            ["Postgres__ConnectionString"] = postgres.ConnectionString,
            ["Postgres__Schema"] = schema,
            ["AWS_ACCESS_KEY_ID"] = target.AccessKeyId,
            ["AWS_SECRET_ACCESS_KEY"] = target.SecretAccessKey,
            ["AWS_DEFAULT_REGION"] = target.Region,
        };
        foreach (var zone in Zones)
        {
            environment[$"Aws__Buckets__{zone}"] = options.Buckets[zone];
        }

        return new EmulatedAwsApp(options, schema, environment);
    }

    public static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "host.json")) && Directory.Exists(Path.Combine(dir.FullName, "local")))
            {
                return dir.FullName;
            }
        }

        throw new DirectoryNotFoundException("Repository root (host.json + local/) not found above the test output.");
    }

    /// <summary>The app built beside this test run (same configuration), or null.</summary>
    public static string? FunctionsApp(string root)
    {
        var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
        var path = Path.Combine(root, "src", "Functions", "bin", configuration, "net10.0", "Pipeline.Functions.dll");
        return File.Exists(path) ? path : null;
    }

    /// <summary>Runs the built app with <paramref name="args"/> and the repository as content root; exit code and both outputs.</summary>
    public static async Task<(int Exit, string Output, string Error)> RunAppAsync(string app, string root, IReadOnlyDictionary<string, string> environment, IEnumerable<string> args, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = root,
        };
        start.ArgumentList.Add(app);
        foreach (var arg in args.Append("--content-root").Append(root))
        {
            start.ArgumentList.Add(arg);
        }

        foreach (var (key, value) in environment)
        {
            start.Environment[key] = value;
        }

        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(4));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await output, await error);
    }
}
