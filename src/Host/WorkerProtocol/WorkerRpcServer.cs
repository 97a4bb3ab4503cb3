using System.Collections.Concurrent;
using System.Net;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>
/// Serves <c>FunctionRpc/EventStream</c> on loopback (HTTP/2 cleartext, a free port), as Azure's host does: every
/// worker process dials in and opens one stream, which is handed to the <see cref="WorkerChannel"/> waiting for that worker id.
/// </summary>
internal sealed class WorkerRpcServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentDictionary<string, WorkerChannel> _expected = new(StringComparer.Ordinal);

    private WorkerRpcServer(WebApplication app, Uri address, int maxMessageLength)
    {
        _app = app;
        Address = address;
        MaxMessageLength = maxMessageLength;
    }

    /// <summary>The URI the worker gets as <c>--functions-uri</c>.</summary>
    public Uri Address { get; }

    /// <summary>The gRPC message size limit both ways, passed to the worker as <c>--functions-grpc-max-message-length</c>.</summary>
    public int MaxMessageLength { get; }

    public static async Task<WorkerRpcServer> StartAsync(int maxMessageLength, CancellationToken cancellationToken = default)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = AppContext.BaseDirectory });
        // Kestrel's and ASP.NET's own logs stay out of the host's; the channel logs what matters.
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            kestrel.Listen(IPAddress.Loopback, 0, listen => listen.Protocols = HttpProtocols.Http2);
            kestrel.Limits.MaxRequestBodySize = null;
            kestrel.AddServerHeader = false;
        });
        builder.Services.AddGrpc(grpc =>
        {
            grpc.MaxReceiveMessageSize = maxMessageLength;
            grpc.MaxSendMessageSize = maxMessageLength;
            grpc.EnableDetailedErrors = true;
        });
        var registry = new Registry();
        builder.Services.AddSingleton(registry);
        var app = builder.Build();
        app.MapGrpcService<FunctionRpcService>();
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var server = new WorkerRpcServer(app, new Uri(address.Replace("[::1]", "127.0.0.1", StringComparison.Ordinal) + "/"), maxMessageLength);
        registry.Server = server;
        return server;
    }

    /// <summary>Routes the stream that opens with StartStream(worker_id) to <paramref name="channel"/>.</summary>
    public void Expect(string workerId, WorkerChannel channel) => _expected[workerId] = channel;

    public void Forget(string workerId) => _expected.TryRemove(workerId, out _);

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(5));
        try
        {
            await _app.StopAsync(stop.Token);
        }
        catch (OperationCanceledException)
        {
            // Streams still open after the grace period are aborted.
        }

        await _app.DisposeAsync();
    }

    internal sealed class Registry
    {
        public WorkerRpcServer? Server { get; set; }

        public WorkerChannel? Claim(string workerId) =>
            Server is { } server && server._expected.TryRemove(workerId, out var channel) ? channel : null;
    }

    private sealed class FunctionRpcService(Registry registry) : FunctionRpc.FunctionRpcBase
    {
        public override async Task EventStream(IAsyncStreamReader<StreamingMessage> requestStream, IServerStreamWriter<StreamingMessage> responseStream, ServerCallContext context)
        {
            if (!await requestStream.MoveNext(context.CancellationToken))
            {
                return;
            }

            var first = requestStream.Current;
            if (first.ContentCase != StreamingMessage.ContentOneofCase.StartStream)
            {
                throw new Grpc.Core.RpcException(new Status(StatusCode.InvalidArgument, $"The first message on the stream must be StartStream, not {first.ContentCase}."));
            }

            var channel = registry.Claim(first.StartStream.WorkerId)
                ?? throw new Grpc.Core.RpcException(new Status(StatusCode.NotFound, $"No worker with id '{first.StartStream.WorkerId}' is expected by this host."));
            await channel.RunStreamAsync(requestStream, responseStream, context.CancellationToken);
        }
    }
}
