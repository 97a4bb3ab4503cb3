using System.Globalization;
using System.Text;
using Microsoft.Extensions.Configuration;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Lambda;

/// <summary>
/// A deployment smoke test shipped in the bootstrap: on its schedule (or a manual
/// <c>aws lambda invoke</c>) it writes <c>heartbeat/yyyy/MM/dd/HHmmss.json</c> into the zone named by
/// <c>Heartbeat:Zone</c>, proving the function can start, read its configuration and reach the
/// object store with its role. Hourly when wired to a schedule.
/// </summary>
public sealed class HeartbeatFunction(IObjectStore objects, IConfiguration configuration)
{
    public const string Name = "Heartbeat";
    public const string ZoneSetting = "Heartbeat:Zone";

    [Function(Name)]
    public async Task RunAsync([TimerTrigger("0 0 * * * *")] TimerInfo timer, FunctionContext context, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(timer);
        ArgumentNullException.ThrowIfNull(context);
        var zone = configuration[ZoneSetting];
        if (string.IsNullOrWhiteSpace(zone))
        {
            throw new InvalidOperationException($"Setting '{ZoneSetting}' is not set: name the zone (bucket) the heartbeat writes to.");
        }

        var at = timer.ScheduledTime.ToUniversalTime();
        var key = string.Create(CultureInfo.InvariantCulture, $"heartbeat/{at:yyyy/MM/dd/HHmmss}.json");
        var body = string.Create(CultureInfo.InvariantCulture, $$"""{"scheduledTime":"{{at:O}}","function":"{{context.FunctionName}}","invocationId":"{{context.InvocationId}}"}""");
        using var content = new MemoryStream(Encoding.UTF8.GetBytes(body));
        await objects.PutAsync(zone, key, content, new PutOptions { ContentType = "application/json" }, cancellationToken);
    }
}
