using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Lambda.Dispatch;

/// <summary>One function of a <see cref="FunctionsHost"/> (built, listeners not started), invoked directly: through the worker.</summary>
public sealed class HostLambdaFunction : ILambdaFunction
{
    private const int FlushTimeoutMs = 2_000;

    private readonly FunctionsHost _host;

    public HostLambdaFunction(FunctionsHost host, string functionName)
    {
        ArgumentNullException.ThrowIfNull(host);
        ArgumentException.ThrowIfNullOrWhiteSpace(functionName);
        _host = host;
        var descriptor = host.Functions.FirstOrDefault(f => f.Name.Equals(functionName, StringComparison.OrdinalIgnoreCase))
            ?? throw new HostConfigurationException(
                $"_HANDLER names function '{functionName}', which this host does not contain. Functions: {string.Join(", ", host.Functions.Select(f => f.Name))}.");
        Binding = descriptor.Trigger switch
        {
            // The notification names the bucket; a zone maps to a bucket by Aws:Buckets:<zone>, else its own name (as the S3 provider does).
            ObjectTriggerBinding o => new LambdaFunctionBinding(descriptor.Name, LambdaTriggerKind.ObjectCreated, Zone: o.Zone, Prefix: o.Prefix, Bucket: BucketOf(host.Configuration, o.Zone)),
            QueueTriggerBinding q => new LambdaFunctionBinding(descriptor.Name, LambdaTriggerKind.Queue, Queue: q.QueueName),
            TimerTriggerBinding => new LambdaFunctionBinding(descriptor.Name, LambdaTriggerKind.Timer),
            _ => throw new HostConfigurationException($"Function '{descriptor.Name}' has a trigger ({descriptor.Trigger.Describe()}) the Lambda adapter cannot serve."),
        };
    }

    public LambdaFunctionBinding Binding { get; }

    public async Task InvokeObjectCreatedAsync(ObjectCreatedEvent objectCreated, LambdaInvocationContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await _host.InvokeAsync(Binding.Name, objectCreated, cancellationToken);
        }
        finally
        {
            FlushTelemetry();
        }
    }

    public async Task<QueueBatchResult> InvokeQueueBatchAsync(IReadOnlyList<ReceivedMessage> messages, LambdaInvocationContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _host.InvokeAsync(Binding.Name, messages, cancellationToken);
        }
        finally
        {
            FlushTelemetry();
        }
    }

    public async Task InvokeTimerAsync(TimerInfo timer, LambdaInvocationContext context, CancellationToken cancellationToken = default)
    {
        try
        {
            await _host.InvokeAsync(Binding.Name, timer, cancellationToken);
        }
        finally
        {
            FlushTelemetry();
        }
    }

    /// <summary>
    /// Lambda freezes the process once the response is posted: export what the invocation recorded before
    /// that (a no-op when telemetry is off, as no provider is registered).
    /// </summary>
    private void FlushTelemetry()
    {
        _host.Services.GetService<TracerProvider>()?.ForceFlush(FlushTimeoutMs);
        _host.Services.GetService<MeterProvider>()?.ForceFlush(FlushTimeoutMs);
    }

    private static string BucketOf(IConfiguration configuration, string zone)
        => configuration[$"Aws:Buckets:{zone}"] is { Length: > 0 } bucket ? bucket : zone;
}
