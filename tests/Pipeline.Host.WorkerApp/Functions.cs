using Microsoft.Azure.Functions.Worker;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;
using Pipeline.WorkerExtensions;

namespace Pipeline.Host.WorkerApp;

/// <summary>One function per trigger kind, plus one that throws and one that echoes (payload size).</summary>
public sealed class Functions(ILogger<Functions> logger, IConfiguration configuration)
{
    [Function("Tick")]
    public void Tick([TimerTrigger("0 0 3 * * *")] TimerInfo timer)
    {
        logger.LogInformation("Tick ran (past due: {IsPastDue}); greeting: {Greeting}", timer.IsPastDue, configuration["WorkerApp:Greeting"]);
        Effects.Write("Tick", "ran");
    }

    [Function("ProcessOrders")]
    public async Task<BatchResult> ProcessOrders([MessageQueueTrigger("orders", IsBatched = true)] IReadOnlyList<ReceivedMessage> messages, FunctionContext context)
    {
        var failures = new List<BatchItemFailure>();
        foreach (var message in messages)
        {
            if (message.Body.Contains("slow", StringComparison.OrdinalIgnoreCase) && message.ReceiveCount == 1)
            {
                // First delivery of a slow order: long enough for a crash test to kill this process mid-batch.
                Effects.Write("ProcessOrders-started", message.Body);
                await Task.Delay(TimeSpan.FromSeconds(60), context.CancellationToken);
            }

            if (message.Body.Contains("fail", StringComparison.OrdinalIgnoreCase))
            {
                logger.LogWarning("Order {MessageId} rejected: {Body}", message.MessageId, message.Body);
                failures.Add(new BatchItemFailure(message.MessageId, "the body asks to fail"));
                continue;
            }

            logger.LogInformation("Order {MessageId} processed: {Body}", message.MessageId, message.Body);
            Effects.Write("ProcessOrders", message.Body);
        }

        return new BatchResult(failures);
    }

    [Function("OnUpload")]
    public void OnUpload([ObjectCreatedTrigger("%UploadZone%", Prefix = "uploads/")] ObjectCreatedEvent created)
    {
        logger.LogInformation("Object {Key} ({Size} bytes) created in {Zone}; greeting: {Greeting}", created.Key, created.Size, created.Zone, configuration["WorkerApp:Greeting"]);
        Effects.Write("OnUpload", created.Key);
    }

    [Function("Boom")]
    public void Boom([MessageQueueTrigger("boom")] ReceivedMessage message) =>
        throw new InvalidOperationException($"Boom: message {message.MessageId} cannot be processed.");

    [Function("Echo")]
    public string Echo([MessageQueueTrigger("echo")] ReceivedMessage message) => message.Body;
}

/// <summary>Appends "function: value" lines to WORKERAPP_EFFECTS (when set), so tests can see what ran.</summary>
internal static class Effects
{
    private static readonly Lock Gate = new();

    public static void Write(string function, string value)
    {
        var path = Environment.GetEnvironmentVariable("WORKERAPP_EFFECTS");
        if (string.IsNullOrEmpty(path))
        {
            return;
        }

        lock (Gate)
        {
            File.AppendAllText(path, $"{function}: {value}{Environment.NewLine}");
        }
    }
}
