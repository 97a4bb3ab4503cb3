using Pipeline.Providers.Abstractions;

namespace Pipeline.Host;

/// <summary>
/// FIFO order after a partial batch failure, the one rule the host and the Lambda adapter share: a message that comes
/// after a failed message of its group (in batch order) must not be acknowledged, even when it succeeded, or it would
/// overtake the failed one when that is redelivered. AWS asks the same of FIFO consumers ("return failed and
/// unprocessed messages").
/// </summary>
public static class FifoGroups
{
    /// <summary>
    /// The messages of <paramref name="batch"/> that did not fail themselves but follow a failed message of their group.
    /// Messages without a group (standard queues) are never held back. A failure in <paramref name="ended"/> (e.g.
    /// dead-lettered now, so it never comes back) does not hold its group back.
    /// </summary>
    public static IReadOnlyList<ReceivedMessage> HeldBack(IReadOnlyList<ReceivedMessage> batch, IReadOnlySet<string> failed, IReadOnlySet<string>? ended = null)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(failed);
        var blocked = new HashSet<string>(StringComparer.Ordinal);
        var held = new List<ReceivedMessage>();
        foreach (var message in batch)
        {
            if (message.GroupId is null)
            {
                continue;
            }

            if (failed.Contains(message.MessageId))
            {
                if (ended is null || !ended.Contains(message.MessageId))
                {
                    blocked.Add(message.GroupId);
                }
            }
            else if (blocked.Contains(message.GroupId))
            {
                held.Add(message);
            }
        }

        return held;
    }
}
