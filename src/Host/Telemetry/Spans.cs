using System.Diagnostics;

namespace Pipeline.Host.Telemetry;

internal static class Spans
{
    /// <summary>Marks the span failed per the OTel conventions (status Error, error.type, an exception event).</summary>
    public static void Failed(Activity? activity, Exception exception)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetStatus(ActivityStatusCode.Error, exception.Message);
        activity.SetTag("error.type", exception.GetType().FullName);
        activity.AddException(exception);
    }

    /// <summary>The conventional system name of a provider implementation (messaging.system / db.system.name / rpc.system).</summary>
    public static string SystemOf(object provider) => provider.GetType().Name switch
    {
        "SqsMessageQueue" => "aws_sqs",
        "SqliteMessageQueue" => "sqlite_queue",
        "SqliteWarehouse" => "sqlite",
        "PostgresWarehouse" => "postgresql",
        "RedshiftDataWarehouse" => "aws.redshift",
        "S3ObjectStore" => "aws_s3",
        "FileSystemObjectStore" => "filesystem",
        var other => other.ToLowerInvariant(),
    };
}
