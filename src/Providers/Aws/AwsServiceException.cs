using System.Net;

namespace Pipeline.Providers.Aws;

/// <summary>An AWS (or emulator) error answer, with the service's code and a hint of what to do.</summary>
public sealed class AwsServiceException : Exception
{
    public AwsServiceException(string service, string operation, HttpStatusCode statusCode, string code, string awsMessage, string? requestId, Exception? innerException = null)
        : base(Describe(service, operation, statusCode, code, awsMessage, requestId), innerException)
    {
        Service = service;
        Operation = operation;
        StatusCode = statusCode;
        Code = code;
        AwsMessage = awsMessage;
        RequestId = requestId;
    }

    public string Service { get; }

    public string Operation { get; }

    public HttpStatusCode StatusCode { get; }

    /// <summary>Short error code without namespace, e.g. QueueDoesNotExist, SignatureDoesNotMatch.</summary>
    public string Code { get; }

    public string AwsMessage { get; }

    public string? RequestId { get; }

    /// <summary>Throttling, 5xx: the same request may succeed later.</summary>
    public bool IsRetryable =>
        (int)StatusCode >= 500
        || StatusCode == HttpStatusCode.TooManyRequests
        || Code is "ThrottlingException" or "Throttling" or "RequestThrottled" or "TooManyRequestsException"
            or "ServiceUnavailable" or "InternalError" or "InternalFailure" or "RequestThrottledException"
            or "KmsThrottled" or "ActiveStatementsExceededException";

    private static string Describe(string service, string operation, HttpStatusCode statusCode, string code, string message, string? requestId)
    {
        var hint = code switch
        {
            "SignatureDoesNotMatch" or "IncompleteSignature" => "The request signature was rejected: check the secret key of the credentials in use (Aws:SecretAccessKey or the AWS credential chain) and that the clock is correct.",
            "InvalidClientTokenId" or "UnrecognizedClientException" or "InvalidAccessKeyId" => "The access key is unknown to the endpoint: check Aws:AccessKeyId / the AWS profile, and Aws:ServiceUrl.",
            "AccessDenied" or "AccessDeniedException" => "The credentials lack permission for this action: grant it in the IAM policy of the role or user.",
            "QueueDoesNotExist" or "NonExistentQueue" => "Create the queue (local/emulators.sh, the deployment template) or fix the queue name in configuration.",
            "ExpiredToken" or "ExpiredTokenException" => "The session token expired: refresh the credentials (aws sso login, or restart with a fresh role session).",
            _ when (int)statusCode >= 500 => "The service failed; retries were exhausted. Try again later; if it persists, check the service health.",
            "ThrottlingException" or "RequestThrottled" => "Requests are throttled; retries were exhausted. Lower the concurrency or batch more per call.",
            _ => "See the AWS documentation of this error code.",
        };
        return $"{service} {operation} failed with HTTP {(int)statusCode} {code}: {message} {hint}{(requestId is null ? string.Empty : $" (request id {requestId})")}";
    }
}

/// <summary>The endpoint answered with something that is not the protocol's response (wrong endpoint, unsigned request routed elsewhere).</summary>
public sealed class AwsProtocolException : Exception
{
    public AwsProtocolException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
