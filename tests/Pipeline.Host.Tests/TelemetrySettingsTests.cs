using Microsoft.Extensions.Configuration;
using Pipeline.Host.Telemetry;

namespace Pipeline.Host.Tests;

public sealed class TelemetrySettingsTests
{
    [Fact]
    public void From_NothingSet_Off()
    {
        var settings = TelemetrySettings.From(Config());

        Assert.False(settings.Enabled);
    }

    [Fact]
    public void From_OtlpEndpoint_OtlpForBothSignals()
    {
        var settings = TelemetrySettings.From(Config(("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")));

        Assert.Equal(["otlp"], settings.TraceExporters);
        Assert.Equal(["otlp"], settings.MetricExporters);
    }

    [Fact]
    public void From_NamedExportersAndConsoleSetting_PerSignal()
    {
        var settings = TelemetrySettings.From(Config(("OTEL_TRACES_EXPORTER", "otlp,console"), ("OTEL_METRICS_EXPORTER", "none")));

        Assert.True(settings.Enabled);
        Assert.Equal(["console", "otlp"], settings.TraceExporters.Order());
        Assert.Empty(settings.MetricExporters);
        Assert.Equal(["console"], TelemetrySettings.From(Config(("Telemetry:Console", "true"))).MetricExporters);
    }

    [Fact]
    public void From_SdkDisabled_WinsOverEverything()
    {
        var settings = TelemetrySettings.From(Config(("OTEL_SDK_DISABLED", "true"), ("Telemetry:Console", "true"), ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")));

        Assert.False(settings.Enabled);
    }

    [Fact]
    public void From_UnknownExporter_NamesIt()
    {
        var error = Assert.Throws<HostConfigurationException>(() => TelemetrySettings.From(Config(("OTEL_TRACES_EXPORTER", "zipkin"))));

        Assert.Contains("zipkin", error.Message, StringComparison.Ordinal);
    }

    private static ConfigurationManager Config(params (string Key, string Value)[] values)
    {
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)));
        return configuration;
    }
}
