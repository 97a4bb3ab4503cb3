namespace Pipeline.Host.Tests;

public sealed class HostJsonTests
{
    [Fact]
    public void Parse_FullFile_ReadsEveryField()
    {
        var settings = HostSettings.Parse("""
            {
              "version": "2.0",
              "extensions": { "queues": { "batchSize": 4, "maxDequeueCount": 7, "visibilityTimeout": "00:01:00", "maxPollingInterval": "00:00:05", "newBatchThreshold": 3 }, "blobs": { "maxDegreeOfParallelism": 32 } },
              "retry": { "strategy": "exponentialBackoff", "maxRetryCount": 4, "minimumInterval": "00:00:02", "maxumumInterval": "00:00:10" },
              "functionTimeout": "00:02:00",
              "logging": { "logLevel": { "default": "Warning", "Function.Load": "Debug" } }
            }
            """);

        Assert.Equal(4, settings.Queues.BatchSize);
        Assert.Equal(7, settings.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromMinutes(1), settings.Queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(5), settings.Queues.MaxPollingInterval);
        Assert.Equal(3, settings.Queues.NewBatchThreshold);
        Assert.Equal(32, settings.Objects.MaxDegreeOfParallelism);
        Assert.Equal(RetryStrategy.ExponentialBackoff, settings.Retry!.Strategy);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Retry.GetDelay(1));
        Assert.Equal(TimeSpan.FromSeconds(8), settings.Retry.GetDelay(3));
        Assert.Equal(TimeSpan.FromSeconds(10), settings.Retry.GetDelay(9));
        Assert.Equal(TimeSpan.FromMinutes(2), settings.FunctionTimeout);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Debug, settings.LogLevels["Function.Load"]);
    }

    [Fact]
    public void Parse_MaximumIntervalCorrectSpelling_Accepted()
    {
        var settings = HostSettings.Parse("""{ "version": "2.0", "retry": { "strategy": "exponentialBackoff", "maxRetryCount": 2, "minimumInterval": "00:00:01", "maximumInterval": "00:00:04" } }""");

        Assert.Equal(TimeSpan.FromSeconds(4), settings.Retry!.MaximumInterval);
    }

    [Fact]
    public void Parse_FunctionTimeoutMinusOne_MeansUnlimited()
    {
        Assert.Null(HostSettings.Parse("""{ "version": "2.0", "functionTimeout": "-1" }""").FunctionTimeout);
    }

    public static TheoryData<string, string> InvalidFiles => new()
    {
        { """{ }""", "'version' is missing; expected \"2.0\"" },
        { """{ "version": "1.0" }""", "'version' must be \"2.0\" (got \"1.0\")" },
        { """{ "version": "2.0", "extensions": { "queues": { "batchSize": 0 } } }""", "'extensions.queues.batchSize' must be an integer from 1 to 10 (got 0)" },
        { """{ "version": "2.0", "extensions": { "queues": { "batchSize": "ten" } } }""", "'extensions.queues.batchSize' must be an integer" },
        { """{ "version": "2.0", "extensions": { "queues": { "maxDequeueCount": 1.5 } } }""", "'extensions.queues.maxDequeueCount' must be an integer" },
        { """{ "version": "2.0", "extensions": { "queues": { "visibilityTimeout": "30s" } } }""", "'extensions.queues.visibilityTimeout' must be a time span \"hh:mm:ss\"" },
        { """{ "version": "2.0", "extensions": { "queues": { "maxPollingInterval": 5 } } }""", "'extensions.queues.maxPollingInterval' must be a time span" },
        { """{ "version": "2.0", "extensions": { "queues": { "newBatchThreshold": -1 } } }""", "'extensions.queues.newBatchThreshold' must be an integer from 0 to 1000 (got -1)" },
        { """{ "version": "2.0", "extensions": { "blobs": { "maxDegreeOfParallelism": 0 } } }""", "'extensions.blobs.maxDegreeOfParallelism' must be an integer from 1 to 1000 (got 0)" },
        { """{ "version": "2.0", "extensions": { "blobs": 4 } }""", "'extensions.blobs' must be a JSON object" },
        { """{ "version": "2.0", "retry": { "strategy": "linear", "maxRetryCount": 1 } }""", "'retry.strategy' must be \"fixedDelay\" or \"exponentialBackoff\" (got \"linear\")" },
        { """{ "version": "2.0", "retry": { "strategy": "fixedDelay", "delayInterval": "00:00:01" } }""", "'retry.maxRetryCount' is missing" },
        { """{ "version": "2.0", "retry": { "strategy": "fixedDelay", "maxRetryCount": 2 } }""", "'retry.delayInterval' is missing" },
        { """{ "version": "2.0", "retry": { "strategy": "exponentialBackoff", "maxRetryCount": 2, "minimumInterval": "00:00:05", "maxumumInterval": "00:00:01" } }""", "must not be shorter than 'retry.minimumInterval'" },
        { """{ "version": "2.0", "retry": { "strategy": "exponentialBackoff", "maxRetryCount": 2, "minimumInterval": "00:00:05" } }""", "'retry.maximumInterval' (Azure spells it 'maxumumInterval') is missing" },
        { """{ "version": "2.0", "functionTimeout": "ten minutes" }""", "'functionTimeout' must be a time span \"hh:mm:ss\"" },
        { """{ "version": "2.0", "logging": { "logLevel": { "default": "Loud" } } }""", "'logging.logLevel.default' must be one of Trace, Debug" },
        { """{ "version": "2.0", "extensions": { "queues": [] } }""", "'extensions.queues' must be a JSON object" },
        { """{ "version": "2.0", """, "is not valid JSON" },
    };

    [Theory]
    [MemberData(nameof(InvalidFiles))]
    public void Parse_InvalidField_ThrowsNamingFieldAndExpectation(string json, string expected)
    {
        var error = Assert.Throws<HostConfigurationException>(() => HostSettings.Parse(json));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
        Assert.StartsWith("host.json", error.Message, StringComparison.Ordinal);
    }

    public static TheoryData<string, string> MisspelledKeys => new()
    {
        { """{ "version": "2.0", "functionTimout": "00:01:00" }""", "host.json: unknown key 'functionTimout'; did you mean 'functionTimeout'?" },
        { """{ "version": "2.0", "extension": { } }""", "host.json: unknown key 'extension'; did you mean 'extensions'?" },
        { """{ "version": "2.0", "extensions": { "queue": { } } }""", "host.json: unknown key 'extensions.queue'; did you mean 'queues'?" },
        { """{ "version": "2.0", "extensions": { "queues": { "batchSze": 4 } } }""", "host.json: unknown key 'extensions.queues.batchSze'; did you mean 'batchSize'?" },
        { """{ "version": "2.0", "extensions": { "queues": { "MaxDequeuCount": 4 } } }""", "host.json: unknown key 'extensions.queues.MaxDequeuCount'; did you mean 'maxDequeueCount'?" },
        { """{ "version": "2.0", "extensions": { "blobs": { "maxDegreeOfParalelism": 4 } } }""", "host.json: unknown key 'extensions.blobs.maxDegreeOfParalelism'; did you mean 'maxDegreeOfParallelism'?" },
        { """{ "version": "2.0", "retry": { "strategy": "fixedDelay", "maxRetryCount": 1, "delayInterval": "00:00:01", "maxRetryCont": 2 } }""", "host.json: unknown key 'retry.maxRetryCont'; did you mean 'maxRetryCount'?" },
        { """{ "version": "2.0", "logging": { "logLevels": { } } }""", "host.json: unknown key 'logging.logLevels'; did you mean 'logLevel'?" },
        { """{ "version": "2.0", "extensions": { "timers": { } } }""", "host.json: unknown key 'extensions.timers' (known: queues, blobs)" },
        { """{ "version": "2.0", "extensions": { "queues": { "pollingInterval": "00:00:01" } } }""", "host.json: unknown key 'extensions.queues.pollingInterval'" },
    };

    [Theory]
    [MemberData(nameof(MisspelledKeys))]
    public void Parse_UnknownKey_ThrowsNamingFullPath(string json, string expected)
    {
        var error = Assert.Throws<HostConfigurationException>(() => HostSettings.Parse(json));

        Assert.StartsWith(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "version": "2.0", "extensionBundle": { "id": "Microsoft.Azure.Functions.ExtensionBundle" } }""", "extensionBundle")]
    [InlineData("""{ "version": "2.0", "logging": { "applicationInsights": { } } }""", "logging.applicationInsights")]
    [InlineData("""{ "version": "2.0", "extensions": { "http": { } } }""", "extensions.http")]
    public void Parse_AzureKeyThisHostDoesNotImplement_AcceptsAndReportsIt(string json, string path)
    {
        var settings = HostSettings.Parse(json);

        Assert.Equal([path], settings.IgnoredAzureKeys);
    }

    /// <summary>Exactly what `func init --worker-runtime dotnet-isolated` writes.</summary>
    internal const string FuncTemplateHostJson = """
            {
                "version": "2.0",
                "logging": {
                    "applicationInsights": {
                        "samplingSettings": {
                            "isEnabled": true,
                            "excludedTypes": "Request"
                        },
                        "enableLiveMetricsFilters": true
                    }
                }
            }
            """;

    [Fact]
    public void Parse_FuncTemplateHostJson_AcceptsWithOneIgnoredKey()
    {
        var json = FuncTemplateHostJson;

        var settings = HostSettings.Parse(json);

        Assert.Equal(["logging.applicationInsights"], settings.IgnoredAzureKeys);
        Assert.Empty(settings.LogLevels);
    }

    [Fact]
    public void Parse_MisspelledKeyNextToAzureKey_StillThrows()
    {
        var error = Assert.Throws<HostConfigurationException>(() => HostSettings.Parse(
            """{ "version": "2.0", "logging": { "applicationInsights": { }, "logLevl": { } } }"""));

        Assert.StartsWith("host.json: unknown key 'logging.logLevl'; did you mean 'logLevel'?", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "version": "2.0", "retry": { "strategy": "fixedDelay", "maxRetryCount": 1, "delayInterval": "00:00:01", "minimumInterval": "00:00:01" } }""", "'retry.minimumInterval' applies to exponentialBackoff only")]
    [InlineData("""{ "version": "2.0", "retry": { "strategy": "exponentialBackoff", "maxRetryCount": 1, "minimumInterval": "00:00:01", "maximumInterval": "00:00:02", "delayInterval": "00:00:01" } }""", "'retry.delayInterval' applies to fixedDelay only")]
    [InlineData("""{ "version": "2.0", "retry": { "strategy": "exponentialBackoff", "maxRetryCount": 1, "minimumInterval": "00:00:01", "maximumInterval": "00:00:02", "maxumumInterval": "00:00:03" } }""", "'retry.maxumumInterval' and 'retry.maximumInterval' are the same setting")]
    public void Parse_RetryKeyOfOtherStrategy_Throws(string json, string expected)
    {
        var error = Assert.Throws<HostConfigurationException>(() => HostSettings.Parse(json));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_SameKeyTwiceInDifferentCase_ThrowsNamingBoth()
    {
        var error = Assert.Throws<HostConfigurationException>(() => HostSettings.Parse("""{ "version": "2.0", "extensions": { "queues": { "batchSize": 2, "BatchSize": 3 } } }"""));

        Assert.Contains("'extensions.queues.BatchSize' repeats 'batchSize'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Parse_KeysInOtherCase_Accepted()
    {
        var settings = HostSettings.Parse("""
            { "Version": "2.0", "Extensions": { "Queues": { "BATCHSIZE": 3 }, "Blobs": { "MaxDegreeOfParallelism": 5 } },
              "Retry": { "Strategy": "fixedDelay", "MaxRetryCount": 1, "DelayInterval": "00:00:02" }, "FunctionTimeout": "-1",
              "Logging": { "LogLevel": { "Default": "Warning" } } }
            """);

        Assert.Equal(3, settings.Queues.BatchSize);
        Assert.Equal(5, settings.Objects.MaxDegreeOfParallelism);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Retry!.DelayInterval);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, settings.LogLevels["default"]);
    }

    [Fact]
    public void Parse_LogLevelCategories_AnyNameAccepted()
    {
        var settings = HostSettings.Parse("""
            { "version": "2.0", "logging": { "logLevel": {
              "default": "Information", "Function": "Warning", "Function.LoadTransactions.User": "Debug",
              "Host.Results": "Error", "Microsoft.Azure.WebJobs": "None", "batchSze": "Trace", "My Own Category": "Critical" } } }
            """);

        Assert.Equal(7, settings.LogLevels.Count);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Trace, settings.LogLevels["batchSze"]);
    }

    [Fact]
    public void Parse_EveryHostJsonInRepository_IsValid()
    {
        var root = RepoRoot.Find();
        var files = Directory.EnumerateFiles(root, "host.json", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(d => d is "bin" or "obj" or ".git" or "node_modules"))
            .ToList();

        Assert.Contains(files, f => Path.GetRelativePath(root, f) == Path.Combine("tests", "Pipeline.Host.WorkerApp", "host.json"));
        foreach (var file in files)
        {
            HostSettings.Load(file);
        }

        HostSettings.Parse(Testing.TestFunctionsHostOptions.DefaultHostJson);
    }

    [Fact]
    public void Parse_RepositoryHostJson_IsValid()
    {
        var path = Path.Combine(RepoRoot.Find(), "host.json");

        var settings = HostSettings.Load(path);

        Assert.NotNull(settings.Retry);
    }
}
