namespace Pipeline.Lambda.RuntimeApi;

/// <summary>The Runtime API answered with something the documented API does not allow.</summary>
public sealed class RuntimeApiException : Exception
{
    public RuntimeApiException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
