using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Cli;

/// <summary>
/// <c>redrive</c>: sends dead-lettered object events back to the raw zone's event source and dead-lettered messages
/// back to the enriched queue, after the cause is fixed. The next <c>run</c> or <c>start</c> processes them; every
/// effect is idempotent, so a redriven object or message that had partly succeeded changes nothing twice.
/// </summary>
public static class RedriveCommand
{
    private const int MaxDeduplicationIdLength = 128;

    public static async Task<int> RunAsync(bool json, string? dataRoot, string? contentRootOption, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(output);
        await using var host = await PipelineApp.TryBuildHostAsync(dataRoot, contentRootOption, consoleLogging: false, error);
        if (host is null)
        {
            return 2;
        }

        var settings = host.Services.GetRequiredService<PipelineSettings>();
        var objects = host.Services.GetService<IObjectEventSource>() is IObjectEventDeadLetters deadLetters
            ? await deadLetters.RedriveAsync(settings.RawZone, cancellationToken)
            : 0;
        var messages = await RedriveMessagesAsync(host.Services.GetRequiredService<IMessageQueue>(), host.DeadLetterQueueFor(settings.EnrichedQueue), settings.EnrichedQueue, cancellationToken);
        await output.WriteLineAsync(json
            ? string.Create(CultureInfo.InvariantCulture, $"{{\"objects\":{objects},\"messages\":{messages}}}")
            : $"Redrove {objects} object event(s) of zone '{settings.RawZone}' and {messages} message(s) to '{settings.EnrichedQueue}'. Run `run` (or `start`) to process them.");
        return 0;
    }

    /// <summary>
    /// Moves every message of <paramref name="deadLetterQueue"/> back to <paramref name="queue"/>, same body, group and
    /// attributes; FIFO messages get a new deduplication id, or the queue would drop them as duplicates of the original
    /// within its 5-minute window. A message is deleted from the dead letter only after its send succeeded.
    /// </summary>
    public static Task<int> RedriveMessagesAsync(IMessageQueue queues, string deadLetterQueue, string queue, CancellationToken cancellationToken = default)
    {
        var stamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        return QueueRedrive.MoveAllAsync(
            queues,
            deadLetterQueue,
            queue,
            m => new OutgoingMessage(m.Body, m.GroupId, m.DeduplicationId is null ? null : Redriven(m.DeduplicationId, stamp), m.Attributes.Count == 0 ? null : m.Attributes),
            cancellationToken);
    }

    private static string Redriven(string dedupId, string stamp)
    {
        var suffix = "-r" + stamp;
        return (dedupId.Length + suffix.Length > MaxDeduplicationIdLength ? dedupId[..(MaxDeduplicationIdLength - suffix.Length)] : dedupId) + suffix;
    }
}
