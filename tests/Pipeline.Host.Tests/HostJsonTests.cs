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

    [Fact]
    public void Parse_RepositoryHostJson_IsValid()
    {
        var path = Path.Combine(RepoRoot.Find(), "host.json");

        var settings = HostSettings.Load(path);

        Assert.NotNull(settings.Retry);
    }
}
