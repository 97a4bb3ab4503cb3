namespace Pipeline.Providers.Abstractions;

/// <summary>
/// Optional capability of an <see cref="IMessageQueue"/>: the age of its oldest message. The embedded queue knows it;
/// SQS does not expose it as a queue attribute (only CloudWatch's ApproximateAgeOfOldestMessage metric), so it does not implement this.
/// </summary>
public interface IQueueAge
{
    /// <summary>Time since the oldest message now in <paramref name="queue"/> was sent; null when the queue is empty.</summary>
    /// <exception cref="QueueNotFoundException">The queue does not exist.</exception>
    Task<TimeSpan?> GetOldestMessageAgeAsync(string queue, CancellationToken cancellationToken = default);
}
