namespace Pipeline.Host.WorkerProtocol;

/// <summary>A function failed in the worker: the worker's exception type, message and stack trace.</summary>
public sealed class WorkerInvocationException(string functionName, string? type, string message, string? workerStackTrace)
    : Exception($"Function '{functionName}' failed in the worker: {message}")
{
    public string FunctionName { get; } = functionName;

    /// <summary>The exception's type in the worker (e.g. System.InvalidOperationException), when it said.</summary>
    public string? WorkerExceptionType { get; } = type;

    /// <summary>The worker's message, as it gave it.</summary>
    public string WorkerMessage { get; } = message;

    public string? WorkerStackTrace { get; } = workerStackTrace;
}

/// <summary>The worker process exited or its stream closed: what was in flight with it is lost and must be redelivered.</summary>
public sealed class WorkerUnavailableException(string message, Exception? innerException = null) : Exception(message, innerException);

/// <summary>An exception the worker logged, carried in a relayed log record.</summary>
public sealed class WorkerLoggedException(string? type, string message, string? workerStackTrace)
    : Exception(string.IsNullOrEmpty(type) ? message : $"{type}: {message}")
{
    public override string? StackTrace => workerStackTrace;
}
