namespace Pipeline.Lambda.RuntimeApi;

/// <summary>One invocation as handed out by <c>GET /runtime/invocation/next</c>.</summary>
/// <param name="RequestId">Lambda-Runtime-Aws-Request-Id: the id every answer for this invocation is posted under.</param>
/// <param name="Deadline">Lambda-Runtime-Deadline-Ms: when Lambda stops the function.</param>
/// <param name="InvokedFunctionArn">Lambda-Runtime-Invoked-Function-Arn (version or alias included).</param>
/// <param name="TraceId">Lambda-Runtime-Trace-Id (X-Ray), or null when tracing is off.</param>
/// <param name="Payload">The event document, as UTF-8 JSON bytes.</param>
public sealed record LambdaInvocation(
    string RequestId,
    DateTimeOffset Deadline,
    string? InvokedFunctionArn,
    string? TraceId,
    ReadOnlyMemory<byte> Payload)
{
    /// <summary>Time left before <see cref="Deadline"/>, never negative.</summary>
    public TimeSpan RemainingTime(TimeProvider clock)
    {
        ArgumentNullException.ThrowIfNull(clock);
        var left = Deadline - clock.GetUtcNow();
        return left < TimeSpan.Zero ? TimeSpan.Zero : left;
    }
}

/// <summary>The error document the Runtime API accepts on the error endpoints.</summary>
public sealed record LambdaError(string ErrorMessage, string ErrorType, IReadOnlyList<string> StackTrace)
{
    public static LambdaError From(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var message = exception.Message;
        for (var inner = exception.InnerException; inner is not null; inner = inner.InnerException)
        {
            message += " ---> " + inner.GetType().Name + ": " + inner.Message;
        }

        var trace = (exception.ToString() ?? string.Empty)
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        return new LambdaError(message, exception.GetType().FullName ?? exception.GetType().Name, trace);
    }
}
