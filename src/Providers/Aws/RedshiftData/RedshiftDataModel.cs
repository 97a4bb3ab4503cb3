using System.Text.Json.Serialization;

namespace Pipeline.Providers.Aws.RedshiftData;

// Request/response shapes of the Redshift Data API (botocore redshift-data/2019-12-20). Wire names as-is.
#pragma warning disable CA1819 // wire DTOs: arrays mirror the JSON shape

internal sealed record SqlParameter([property: JsonPropertyName("name")] string Name, [property: JsonPropertyName("value")] string Value);

internal sealed record ExecuteStatementRequest
{
    public required string Sql { get; init; }

    public string? Database { get; init; }

    public string? WorkgroupName { get; init; }

    public string? ClusterIdentifier { get; init; }

    public string? SecretArn { get; init; }

    public string? DbUser { get; init; }

    public SqlParameter[]? Parameters { get; init; }

    public string? ClientToken { get; init; }

    public string? StatementName { get; init; }
}

internal sealed record BatchExecuteStatementRequest
{
    public required string[] Sqls { get; init; }

    public string? Database { get; init; }

    public string? WorkgroupName { get; init; }

    public string? ClusterIdentifier { get; init; }

    public string? SecretArn { get; init; }

    public string? DbUser { get; init; }

    public string? ClientToken { get; init; }

    public string? StatementName { get; init; }
}

internal sealed record StatementIdResponse
{
    public string? Id { get; init; }
}

internal sealed record StatementIdRequest(string Id);

internal sealed record SubStatementData
{
    public string? Id { get; init; }

    public string? Status { get; init; }

    public string? Error { get; init; }

    public long ResultRows { get; init; }

    public bool HasResultSet { get; init; }

    public string? QueryString { get; init; }
}

internal sealed record DescribeStatementResponse
{
    public string? Id { get; init; }

    public string? Status { get; init; }

    public string? Error { get; init; }

    public bool HasResultSet { get; init; }

    public long ResultRows { get; init; }

    public SubStatementData[]? SubStatements { get; init; }
}

internal sealed record GetStatementResultRequest(string Id, string? NextToken);

internal sealed record ColumnMetadata
{
    [JsonPropertyName("name")]
    public string? Name { get; init; }

    [JsonPropertyName("label")]
    public string? Label { get; init; }

    [JsonPropertyName("typeName")]
    public string? TypeName { get; init; }
}

internal sealed record Field
{
    [JsonPropertyName("isNull")]
    public bool? IsNull { get; init; }

    [JsonPropertyName("booleanValue")]
    public bool? BooleanValue { get; init; }

    [JsonPropertyName("longValue")]
    public long? LongValue { get; init; }

    [JsonPropertyName("doubleValue")]
    public double? DoubleValue { get; init; }

    [JsonPropertyName("stringValue")]
    public string? StringValue { get; init; }

    [JsonPropertyName("blobValue")]
    public string? BlobValue { get; init; }
}

internal sealed record GetStatementResultResponse
{
    public Field[][]? Records { get; init; }

    public ColumnMetadata[]? ColumnMetadata { get; init; }

    public long? TotalNumRows { get; init; }

    public string? NextToken { get; init; }
}

internal sealed record CancelStatementResponse
{
    public bool? Status { get; init; }
}
#pragma warning restore CA1819

/// <summary>Source-generated (trimming- and AOT-safe) JSON for the Redshift Data API's requests and answers.</summary>
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ExecuteStatementRequest))]
[JsonSerializable(typeof(BatchExecuteStatementRequest))]
[JsonSerializable(typeof(StatementIdRequest))]
[JsonSerializable(typeof(GetStatementResultRequest))]
[JsonSerializable(typeof(StatementIdResponse))]
[JsonSerializable(typeof(DescribeStatementResponse))]
[JsonSerializable(typeof(GetStatementResultResponse))]
[JsonSerializable(typeof(CancelStatementResponse))]
internal sealed partial class RedshiftDataJsonContext : JsonSerializerContext;
