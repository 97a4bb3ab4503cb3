using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.SampleApp;

public sealed class SampleFunctions(IMessageQueue queue)
{
    private const string ForwardedTemplate = "Forwarded {Key} to the work queue";
    private const string ReceivedTemplate = "Worked on {Count} message(s): {Bodies}";

    [Function("Ingest")]
    public async Task IngestAsync([ObjectTrigger("%Zones:Raw%", Prefix = "incoming/")] ObjectCreatedEvent created, ILogger logger, CancellationToken cancellationToken)
    {
        await queue.SendBatchAsync("sample-work", [new OutgoingMessage(created.Key)], cancellationToken);
        logger.LogInformation(ForwardedTemplate, created.Key);
    }

    [Function("Work")]
    public Task WorkAsync([QueueTrigger("%Queues:Work%")] IReadOnlyList<ReceivedMessage> messages, ILogger logger)
    {
        logger.LogInformation(ReceivedTemplate, messages.Count, string.Join(",", messages.Select(m => m.Body)));
        return Task.CompletedTask;
    }

    [Function("Nightly")]
    public static Task NightlyAsync([TimerTrigger("0 0 2 * * *")] TimerInfo timer) => Task.CompletedTask;
}
