namespace Pipeline.Host;

/// <summary>An invocation ran longer than host.json <c>functionTimeout</c>; it was cancelled and counts as failed.</summary>
public sealed class FunctionTimeoutException(string functionName, TimeSpan timeout)
    : TimeoutException($"Function '{functionName}' exceeded functionTimeout {timeout:c}; it was cancelled. Raise functionTimeout in host.json or make the function faster (smaller batches).")
{
    public string FunctionName { get; } = functionName;

    public TimeSpan Timeout { get; } = timeout;
}
