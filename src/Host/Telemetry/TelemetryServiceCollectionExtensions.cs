using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Telemetry;

/// <summary>Registers the OpenTelemetry SDK and the provider-call decorators, only when telemetry is on.</summary>
public static class TelemetryServiceCollectionExtensions
{
    private const string InnerKey = "Pipeline.Telemetry.Inner";

    /// <summary>
    /// When <paramref name="settings"/> is enabled: a TracerProvider and MeterProvider listening to
    /// <see cref="PipelineTelemetry.Name"/> with the chosen exporters (the OTLP exporter reads its
    /// <c>OTEL_EXPORTER_OTLP_*</c> settings itself), and spans around IObjectStore, IMessageQueue and IWarehouse.
    /// Off: nothing is registered.
    /// </summary>
    public static IServiceCollection AddPipelineTelemetry(this IServiceCollection services, TelemetrySettings settings, string serviceName)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(settings);
        if (!settings.Enabled)
        {
            return services;
        }

        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(serviceName)) // OTEL_SERVICE_NAME / OTEL_RESOURCE_ATTRIBUTES override
            .WithTracing(tracing =>
            {
                tracing.AddSource(PipelineTelemetry.Name);
                if (settings.TraceExporters.Contains(TelemetrySettings.Otlp))
                {
                    tracing.AddOtlpExporter();
                }

                if (settings.TraceExporters.Contains(TelemetrySettings.Console))
                {
                    tracing.AddConsoleExporter();
                }
            })
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(PipelineTelemetry.Name, QueueGauges.MeterName);
                if (settings.MetricExporters.Contains(TelemetrySettings.Otlp))
                {
                    metrics.AddOtlpExporter();
                }

                if (settings.MetricExporters.Contains(TelemetrySettings.Console))
                {
                    metrics.AddConsoleExporter();
                }
            });

        Decorate<IObjectStore>(services, inner => new TracedObjectStore(inner, Spans.SystemOf(inner)));
        Decorate<IMessageQueue>(services, inner => new TracedMessageQueue(inner, Spans.SystemOf(inner)));
        Decorate<IWarehouse>(services, inner => new TracedWarehouse(inner, Spans.SystemOf(inner)));
        return services;
    }

    /// <summary>
    /// Wraps the last registration of <typeparamref name="T"/>. The original moves under a key, so the
    /// container still creates (and disposes) it exactly as before.
    /// </summary>
    private static void Decorate<T>(IServiceCollection services, Func<T, T> wrap)
        where T : class
    {
        var index = -1;
        for (var i = services.Count - 1; i >= 0; i--)
        {
            if (services[i].ServiceType == typeof(T) && !services[i].IsKeyedService)
            {
                index = i;
                break;
            }
        }

        if (index < 0)
        {
            return;
        }

        var original = services[index];
        ServiceDescriptor inner;
        if (original.ImplementationInstance is { } instance)
        {
            inner = new ServiceDescriptor(typeof(T), InnerKey, instance);
        }
        else if (original.ImplementationFactory is { } factory)
        {
            inner = new ServiceDescriptor(typeof(T), InnerKey, (sp, _) => factory(sp), original.Lifetime);
        }
        else
        {
#pragma warning disable IL2072 // The type was registered by the app as an implementation type; it is kept as such.
            inner = new ServiceDescriptor(typeof(T), InnerKey, original.ImplementationType!, original.Lifetime);
#pragma warning restore IL2072
        }

        services[index] = new ServiceDescriptor(typeof(T), sp => wrap(sp.GetRequiredKeyedService<T>(InnerKey)), original.Lifetime);
        services.Add(inner);
    }
}
