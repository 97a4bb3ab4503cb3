using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Headers;
using System.Text.Json.Nodes;

namespace Pipeline.Providers.Aws.Tests;

/// <summary>
/// Answers Redshift Data API calls with recorded, real-shaped responses from Fixtures/RedshiftData
/// (moto runs no SQL and has no BatchExecuteStatement). The client and parsing under test are real.
/// </summary>
internal sealed class RedshiftReplayHandler(Func<string, JsonObject, string> fixtureFor) : HttpMessageHandler
{
    public ConcurrentQueue<(string Service, string Operation, byte[] Body)> Requests { get; } = new();

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var target = request.Headers.GetValues("X-Amz-Target").Single();
        var operation = target["RedshiftData.".Length..];
        var body = await request.Content!.ReadAsByteArrayAsync(cancellationToken);
        Assert.Equal("application/x-amz-json-1.1", request.Content.Headers.ContentType!.ToString());
        Assert.StartsWith("AWS4-HMAC-SHA256 Credential=", request.Headers.GetValues("Authorization").Single(), StringComparison.Ordinal);
        Requests.Enqueue(("redshift-data", operation, body));
        var name = fixtureFor(operation, (JsonObject)JsonNode.Parse(body)!);
        var json = name.StartsWith('{') ? name : await File.ReadAllTextAsync(Path.Combine(AppContext.BaseDirectory, "Fixtures", "RedshiftData", name), cancellationToken);
        var content = new ByteArrayContent(System.Text.Encoding.UTF8.GetBytes(json));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/x-amz-json-1.1");
        return new HttpResponseMessage(HttpStatusCode.OK) { Content = content };
    }
}
