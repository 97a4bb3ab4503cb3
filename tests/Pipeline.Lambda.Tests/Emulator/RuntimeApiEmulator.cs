using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Pipeline.Lambda.Tests.Emulator;

/// <summary>What the runtime answered for one invocation.</summary>
/// <param name="ErrorType">The Lambda-Runtime-Function-Error-Type header on an error answer.</param>
public sealed record InvocationOutcome(string RequestId, bool IsError, string Body, string? ErrorType, DateTimeOffset At)
{
    public JsonDocument Json() => JsonDocument.Parse(Body);
}

/// <summary>
/// A loopback implementation of the Lambda Runtime API (2018-06-01) as documented: the runtime
/// long-polls invocation/next, answers on invocation/{id}/response or /error, and reports init
/// failures on init/error. Tests queue events and await the runtime's answers.
/// </summary>
public sealed class RuntimeApiEmulator : IAsyncDisposable
{
    private const string Prefix = "/2018-06-01/runtime/";

    private readonly HttpListener _listener = new();
    private readonly Channel<PendingInvocation> _queue = Channel.CreateUnbounded<PendingInvocation>();
    private readonly ConcurrentDictionary<string, PendingInvocation> _inFlight = new(StringComparer.Ordinal);
    private readonly TaskCompletionSource<InvocationOutcome> _initError = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<DateTimeOffset> _firstNext = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;

    public RuntimeApiEmulator()
    {
        Port = FreePort();
        _listener.Prefixes.Add($"http://127.0.0.1:{Port}/");
        _listener.Start();
        _loop = Task.Run(AcceptLoopAsync);
    }

    public int Port { get; }

    /// <summary>The value for AWS_LAMBDA_RUNTIME_API.</summary>
    public string Address => $"127.0.0.1:{Port}";

    /// <summary>Completes when the runtime posts to init/error.</summary>
    public Task<InvocationOutcome> InitError => _initError.Task;

    /// <summary>Completes when the runtime first asks for an invocation (init finished).</summary>
    public Task<DateTimeOffset> FirstNextRequest => _firstNext.Task;

    /// <summary>Headers sent with each invocation, by request id (to check what the runtime received).</summary>
    public ConcurrentDictionary<string, string> TraceIds { get; } = new(StringComparer.Ordinal);

    /// <summary>Queues an event; the task completes with the runtime's response or error.</summary>
    public Task<InvocationOutcome> InvokeAsync(string eventJson, TimeSpan? timeout = null, string? traceId = null)
    {
        var pending = new PendingInvocation(
            Guid.NewGuid().ToString(),
            Encoding.UTF8.GetBytes(eventJson),
            DateTimeOffset.UtcNow + (timeout ?? TimeSpan.FromSeconds(60)),
            traceId ?? $"Root=1-{DateTimeOffset.UtcNow.ToUnixTimeSeconds():x8}-{Guid.NewGuid().ToString("N")[..24]};Parent=9a9197af755a6419;Sampled=1");
        _queue.Writer.TryWrite(pending);
        return pending.Outcome.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _queue.Writer.TryComplete();
        _listener.Stop();
        _listener.Close();
        try
        {
            await _loop;
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or OperationCanceledException)
        {
            // Stopping the listener ends the accept loop this way.
        }

        _stop.Dispose();
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private async Task AcceptLoopAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            _ = Task.Run(() => HandleAsync(context));
        }
    }

    private async Task HandleAsync(HttpListenerContext context)
    {
        var request = context.Request;
        var response = context.Response;
        try
        {
            var path = request.Url!.AbsolutePath;
            if (!path.StartsWith(Prefix, StringComparison.Ordinal))
            {
                await RespondAsync(response, 404, """{"errorMessage":"Unknown path","errorType":"InvalidRequest"}""");
                return;
            }

            var resource = path[Prefix.Length..];
            if (request.HttpMethod == "GET" && resource == "invocation/next")
            {
                _firstNext.TrySetResult(DateTimeOffset.UtcNow);
                PendingInvocation next;
                try
                {
                    next = await _queue.Reader.ReadAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is OperationCanceledException or ChannelClosedException)
                {
                    await RespondAsync(response, 500, """{"errorMessage":"Emulator stopping","errorType":"ServiceException"}""");
                    return;
                }

                _inFlight[next.RequestId] = next;
                TraceIds[next.RequestId] = next.TraceId;
                response.Headers["Lambda-Runtime-Aws-Request-Id"] = next.RequestId;
                response.Headers["Lambda-Runtime-Deadline-Ms"] = next.Deadline.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
                response.Headers["Lambda-Runtime-Invoked-Function-Arn"] = "arn:aws:lambda:eu-west-1:123456789012:function:pipeline-test";
                response.Headers["Lambda-Runtime-Trace-Id"] = next.TraceId;
                response.ContentType = "application/json";
                response.StatusCode = 200;
                await response.OutputStream.WriteAsync(next.Event);
                response.Close();
                return;
            }

            if (request.HttpMethod != "POST")
            {
                await RespondAsync(response, 405, """{"errorMessage":"Method not allowed","errorType":"InvalidRequest"}""");
                return;
            }

            string body;
            using (var reader = new StreamReader(request.InputStream, Encoding.UTF8))
            {
                body = await reader.ReadToEndAsync();
            }

            var errorType = request.Headers["Lambda-Runtime-Function-Error-Type"];
            if (resource == "init/error")
            {
                _initError.TrySetResult(new InvocationOutcome(string.Empty, true, body, errorType, DateTimeOffset.UtcNow));
                await RespondAsync(response, 202, """{"status":"OK"}""");
                return;
            }

            var parts = resource.Split('/');
            if (parts.Length == 3 && parts[0] == "invocation" && parts[2] is "response" or "error")
            {
                var id = Uri.UnescapeDataString(parts[1]);
                if (!_inFlight.TryRemove(id, out var pending))
                {
                    await RespondAsync(response, 400, """{"errorMessage":"Unknown or already answered request id","errorType":"InvalidRequestID"}""");
                    return;
                }

                await RespondAsync(response, 202, """{"status":"OK"}""");
                pending.Outcome.TrySetResult(new InvocationOutcome(id, parts[2] == "error", body, errorType, DateTimeOffset.UtcNow));
                return;
            }

            await RespondAsync(response, 404, """{"errorMessage":"Unknown resource","errorType":"InvalidRequest"}""");
        }
        catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or IOException)
        {
            // The runtime process went away mid-request; nothing to answer.
        }
    }

    private static async Task RespondAsync(HttpListenerResponse response, int status, string json)
    {
        response.StatusCode = status;
        response.ContentType = "application/json";
        await response.OutputStream.WriteAsync(Encoding.UTF8.GetBytes(json));
        response.Close();
    }

    private sealed record PendingInvocation(string RequestId, byte[] Event, DateTimeOffset Deadline, string TraceId)
    {
        public TaskCompletionSource<InvocationOutcome> Outcome { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
