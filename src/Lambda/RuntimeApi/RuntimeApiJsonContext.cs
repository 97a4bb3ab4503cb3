using System.Text.Json.Serialization;

namespace Pipeline.Lambda.RuntimeApi;

/// <summary>Source-generated (trimming- and AOT-safe) JSON for the Runtime API's own documents.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(LambdaError))]
internal sealed partial class RuntimeApiJsonContext : JsonSerializerContext;
