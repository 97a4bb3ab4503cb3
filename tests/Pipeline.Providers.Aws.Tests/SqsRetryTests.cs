using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Pipeline.Providers.Abstractions;
using Pipeline.Providers.Aws.Internal;
using Pipeline.Providers.Aws.Sqs;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// Throttling and 5xx answers, which moto never gives: an in-process HTTP server speaking the SQS JSON protocol answers
/// each operation from a script, so the provider's SDK client is shown to retry them and to surface what it cannot retry.
/// </summary>
public sealed class SqsRetryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task SendBatch_ThrottledThen503ThenOk_RetriesAndReportsTheSentMessage()
    {
        await using var server = new SqsStandIn();
        server.Script("SendMessageBatch", (400, Error("ThrottlingException", "Rate exceeded")), (503, Error("ServiceUnavailable", "try later")));
        var queue = server.Queue(maxRetries: 3);

        var result = await queue.SendBatchAsync("q", [new OutgoingMessage("hello") { EntryId = "e1" }], Ct);

        Assert.Equal("e1", Assert.Single(result.Sent).EntryId);
        Assert.Equal(3, server.Calls["SendMessageBatch"]);
    }

    [Fact]
    public async Task SendBatch_EntryRejectedByService_IsReportedAsSenderFaultEntry()
    {
        await using var server = new SqsStandIn();
        server.Respond("SendMessageBatch", request =>
        {
            var entries = request["Entries"]!.AsArray();
            return new JsonObject
            {
                ["Successful"] = new JsonArray(entries.Skip(1).Select(e => (JsonNode)Success(e!)).ToArray()),
                ["Failed"] = new JsonArray(new JsonObject { ["Id"] = entries[0]!["Id"]!.GetValue<string>(), ["SenderFault"] = true, ["Code"] = "InvalidParameterValue", ["Message"] = "bad body" }),
            };
        });
        var queue = server.Queue(maxRetries: 0);

        var result = await queue.SendBatchAsync("q", [new OutgoingMessage("a") { EntryId = "x" }, new OutgoingMessage("b") { EntryId = "y" }], Ct);

        var failed = Assert.Single(result.Failed);
        Assert.Equal(("x", "InvalidParameterValue", true), (failed.EntryId, failed.Code, failed.SenderFault));
        Assert.Equal("y", Assert.Single(result.Sent).EntryId);
    }

    [Fact]
    public async Task GetDepth_Throttled_PastTheRetries_ThrowsAwsServiceExceptionThatSaysWhatToDo()
    {
        await using var server = new SqsStandIn();
        server.Script("GetQueueAttributes", Enumerable.Repeat((400, Error("ThrottlingException", "Rate exceeded")), 10).ToArray());
        var queue = server.Queue(maxRetries: 1);

        var e = await Assert.ThrowsAsync<AwsServiceException>(() => queue.GetDepthAsync("q", Ct));

        Assert.Equal("ThrottlingException", e.Code);
        Assert.True(e.IsRetryable);
        Assert.Contains("Lower the concurrency", e.Message, StringComparison.Ordinal);
        Assert.Equal(2, server.Calls["GetQueueAttributes"]); // Aws:MaxRetries, not the SDK's default of 2
    }

    [Fact]
    public async Task Receive_QueueDoesNotExist_ThrowsQueueNotFound()
    {
        await using var server = new SqsStandIn();
        server.Script("GetQueueUrl", (400, Error("QueueDoesNotExist", "The specified queue does not exist.")));
        var queue = server.Queue(maxRetries: 2);

        var e = await Assert.ThrowsAsync<QueueNotFoundException>(() => queue.ReceiveAsync("missing", new ReceiveOptions(), Ct));

        Assert.Equal("missing", e.Queue);
        Assert.Equal(1, server.Calls["GetQueueUrl"]);
    }

    private static JsonObject Error(string code, string message) =>
        new() { ["__type"] = "com.amazonaws.sqs#" + code, ["message"] = message };

    private static JsonObject Success(JsonNode entry)
    {
        var md5 = Convert.ToHexStringLower(MD5.HashData(Encoding.UTF8.GetBytes(entry["MessageBody"]!.GetValue<string>())));
        return new JsonObject { ["Id"] = entry["Id"]!.GetValue<string>(), ["MessageId"] = Guid.NewGuid().ToString(), ["MD5OfMessageBody"] = md5 };
    }

    /// <summary>Answers GetQueueUrl, SendMessageBatch (all sent) and GetQueueAttributes, unless scripted otherwise.</summary>
    private sealed class SqsStandIn : IAsyncDisposable
    {
        private readonly HttpListener listener = new();
        private readonly ConcurrentDictionary<string, ConcurrentQueue<(int Status, JsonObject Body)>> scripts = new();
        private readonly ConcurrentDictionary<string, Func<JsonObject, JsonObject>> responders = new();
        private readonly Task loop;
        private readonly Uri endpoint;

        public SqsStandIn()
        {
            endpoint = new Uri($"http://127.0.0.1:{FreePort()}/");
            listener.Prefixes.Add(endpoint.ToString());
            listener.Start();
            responders["GetQueueUrl"] = r => new JsonObject { ["QueueUrl"] = $"{endpoint}123456789012/{r["QueueName"]}" };
            responders["SendMessageBatch"] = r => new JsonObject { ["Successful"] = new JsonArray(r["Entries"]!.AsArray().Select(e => (JsonNode)Success(e!)).ToArray()) };
            responders["GetQueueAttributes"] = _ => new JsonObject { ["Attributes"] = new JsonObject { ["ApproximateNumberOfMessages"] = "0" } };
            loop = Task.Run(ServeAsync);
        }

        public ConcurrentDictionary<string, int> Calls { get; } = new();

        public void Script(string operation, params (int Status, JsonObject Body)[] answers) =>
            scripts[operation] = new ConcurrentQueue<(int, JsonObject)>(answers);

        public void Respond(string operation, Func<JsonObject, JsonObject> responder) => responders[operation] = responder;

        public SqsMessageQueue Queue(int maxRetries)
        {
            var options = new AwsOptions { Region = "us-east-1", ServiceUrl = endpoint.ToString(), AccessKeyId = "test", SecretAccessKey = "test", MaxRetries = maxRetries };
            return new SqsMessageQueue(SqsClientFactory.Create(options, new AwsCredentialSource(options)), options);
        }

        public async ValueTask DisposeAsync()
        {
            listener.Stop();
            await loop.ConfigureAwait(false);
            listener.Close();
        }

        private static int FreePort()
        {
            using var socket = new TcpListener(IPAddress.Loopback, 0);
            socket.Start();
            return ((IPEndPoint)socket.LocalEndpoint).Port;
        }

        private async Task ServeAsync()
        {
            while (listener.IsListening)
            {
                HttpListenerContext context;
                try
                {
                    context = await listener.GetContextAsync();
                }
                catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
                {
                    return;
                }

                using var reader = new StreamReader(context.Request.InputStream);
                var request = JsonNode.Parse(await reader.ReadToEndAsync())!.AsObject();
                var operation = context.Request.Headers["X-Amz-Target"]!.Split('.')[^1];
                Calls.AddOrUpdate(operation, 1, (_, n) => n + 1);
                var (status, body) = scripts.TryGetValue(operation, out var script) && script.TryDequeue(out var next)
                    ? next
                    : (200, responders[operation](request));
                var bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
                context.Response.StatusCode = status;
                context.Response.ContentType = "application/x-amz-json-1.0";
                context.Response.Headers["x-amzn-RequestId"] = Guid.NewGuid().ToString();
                await context.Response.OutputStream.WriteAsync(bytes);
                context.Response.Close();
            }
        }
    }
}
