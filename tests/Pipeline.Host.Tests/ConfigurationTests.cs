using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Host.Testing;

namespace Pipeline.Host.Tests;

public sealed class ConfigurationTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("pipeline-host-config-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void CreateBuilder_EnvironmentVariable_WinsOverLocalSettingsValue()
    {
        var key = "HostTest" + Guid.NewGuid().ToString("N")[..8];
        WriteLocalSettings($$"""
            { "Values": { "{{key}}:Name": "from-values", "{{key}}:Other": "values-only", "{{key}}__Nested": "nested" },
              "ConnectionStrings": { "Db": "Host=localhost" } }
            """);
        Environment.SetEnvironmentVariable($"{key}__Name", "from-env");
        try
        {
            var builder = FunctionsHost.CreateBuilder(new FunctionsHostOptions { ContentRoot = _root, ConsoleLogging = false });

            Assert.Equal("from-env", builder.Configuration[$"{key}:Name"]);
            Assert.Equal("values-only", builder.Configuration[$"{key}:Other"]);
            Assert.Equal("nested", builder.Configuration[$"{key}:Nested"]);
            Assert.Equal("Host=localhost", builder.Configuration["ConnectionStrings:Db"]);
        }
        finally
        {
            Environment.SetEnvironmentVariable($"{key}__Name", null);
        }
    }

    [Fact]
    public void CreateBuilder_SettingsOverride_WinsOverEnvironment()
    {
        var key = "HostTest" + Guid.NewGuid().ToString("N")[..8];
        Environment.SetEnvironmentVariable(key, "from-env");
        try
        {
            var builder = FunctionsHost.CreateBuilder(new FunctionsHostOptions
            {
                ContentRoot = _root,
                ConsoleLogging = false,
                Settings = new Dictionary<string, string?> { [key] = "override" },
            });

            Assert.Equal("override", builder.Configuration[key]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(key, null);
        }
    }

    [Fact]
    public void CreateBuilder_InvalidLocalSettingsValue_ThrowsNamingEntry()
    {
        WriteLocalSettings("""{ "Values": { "Bad": { "nested": 1 } } }""");

        var error = Assert.Throws<HostConfigurationException>(() => FunctionsHost.CreateBuilder(new FunctionsHostOptions { ContentRoot = _root, ConsoleLogging = false }));

        Assert.Contains("'Values.Bad' must be a string", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void CreateBuilder_InvalidHostJson_StopsStartup()
    {
        File.WriteAllText(Path.Combine(_root, "host.json"), """{ "version": "2.0", "functionTimeout": "soon" }""");

        var error = Assert.Throws<HostConfigurationException>(() => FunctionsHost.CreateBuilder(new FunctionsHostOptions { ContentRoot = _root, ConsoleLogging = false }));

        Assert.Contains("'functionTimeout'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_SettingReference_ResolvesFromConfiguration()
    {
        await using var host = TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(SettingFunctions)],
            Settings = new Dictionary<string, string?> { ["Zones:Raw"] = "raw-zone", ["Prefixes:In"] = "in/" },
        });

        Assert.Equal("Watch: objectTrigger (zone=raw-zone, prefix=in/)", host.Host.Functions.Single().ToString());
    }

    [Fact]
    public void Build_MissingSetting_ThrowsNamingIt()
    {
        var error = Assert.Throws<HostConfigurationException>(() => TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(SettingFunctions)],
            Settings = new Dictionary<string, string?> { ["Zones:Raw"] = "raw-zone" },
        }));

        Assert.Contains("Function 'Watch': setting 'Prefixes:In'", error.Message, StringComparison.Ordinal);
        Assert.Contains("Prefixes__In", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_UnknownProvider_ListsValidOnes()
    {
        var error = Assert.Throws<HostConfigurationException>(() => TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            Settings = new Dictionary<string, string?> { ["Provider"] = "Azure" },
        }));

        Assert.Contains("'Provider' is 'Azure'; valid values are Embedded", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_UnknownFunctionInSubset_ListsKnownOnes()
    {
        var error = Assert.Throws<HostConfigurationException>(() => TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            FunctionTypes = [typeof(SettingFunctions)],
            Functions = ["Nope"],
        }));

        Assert.Contains("Unknown function(s) in --functions: Nope. Known functions: Watch", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Build_InvalidTimerSchedule_NamesFunction()
    {
        var error = Assert.Throws<HostConfigurationException>(() => TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            Configure = b => b.Functions.AddTimerFunction("Tick", new TimerTriggerBinding("%Schedule%"), (_, _, _) => Task.CompletedTask),
            Settings = new Dictionary<string, string?> { ["Schedule"] = "0 0 25 * * *" },
        }));

        Assert.Contains("Function 'Tick': invalid timer schedule", error.Message, StringComparison.Ordinal);
        Assert.Contains("hour field '25'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Build_HostJsonLogLevels_ApplyToCategories()
    {
        await using var host = TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            HostJson = """{ "version": "2.0", "logging": { "logLevel": { "default": "Warning", "Function.Load": "Debug" } } }""",
            Configure = b => b.Logging.AddProvider(new CapturingLoggerProvider()),
        });
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();

        Assert.False(loggers.CreateLogger("Function.Enrich").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Function.Enrich").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("Function.Load").IsEnabled(LogLevel.Debug));
    }

    [Fact]
    public void Build_UnknownTimeZone_ThrowsNamingSetting()
    {
        var error = Assert.Throws<HostConfigurationException>(() => TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            Settings = new Dictionary<string, string?> { ["Timers:TimeZone"] = "Mars/Olympus" },
        }));

        Assert.Contains("'Timers:TimeZone' is 'Mars/Olympus'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("work", null, "work-dlq")]
    [InlineData("transactions-enriched.fifo", null, "transactions-enriched-dlq.fifo")]
    [InlineData("work", "poison", "poison")]
    public async Task DeadLetterQueueFor_ConventionOrSetting_ReturnsName(string queue, string? configured, string expected)
    {
        await using var host = TestFunctionsHost.Create(new TestFunctionsHostOptions
        {
            Settings = new Dictionary<string, string?> { ["DeadLetterQueues:" + queue] = configured },
        });

        Assert.Equal(expected, host.Host.DeadLetterQueueFor(queue));
    }

    private void WriteLocalSettings(string json) => File.WriteAllText(Path.Combine(_root, "local.settings.json"), json);

    public sealed class SettingFunctions
    {
        [Function("Watch")]
        public Task RunAsync([ObjectTrigger("%Zones:Raw%", Prefix = "%Prefixes:In%")] Pipeline.Providers.Abstractions.ObjectCreatedEvent e) => Task.CompletedTask;
    }
}
