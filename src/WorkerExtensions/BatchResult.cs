namespace Pipeline.WorkerExtensions;

/// <summary>
/// The return value of a batched <see cref="MessageQueueTriggerAttribute"/> function: the messages listed in
/// <see cref="Failures"/> return to the queue (retried, then dead-lettered), the rest are deleted. It crosses
/// the protocol as JSON (<c>{"failures":[{"messageId":"…","reason":"…"}]}</c>). Returning nothing (or throwing)
/// keeps the all-or-nothing outcome.
/// </summary>
public sealed record BatchResult(IReadOnlyList<BatchItemFailure> Failures)
{
    public static BatchResult Success { get; } = new(Array.Empty<BatchItemFailure>());
}

/// <param name="MessageId">The failed message's ReceivedMessage.MessageId.</param>
/// <param name="Reason">Why it failed (logged by the host, kept with a dead-lettered message).</param>
/// <param name="ErrorType">Optional: the error's type name, kept with a dead-lettered message (<c>pipeline-error-type</c>).</param>
public sealed record BatchItemFailure(string MessageId, string Reason, string? ErrorType = null);
