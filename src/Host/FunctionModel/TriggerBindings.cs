namespace Pipeline.Host;

public enum TriggerKind
{
    Object,
    Queue,
    Timer,
}

/// <summary>
/// A function's trigger as data. Values may hold '%Setting%' references until the host resolves
/// them from configuration (<see cref="FunctionsHost.Functions"/> holds the resolved ones).
/// </summary>
public abstract record TriggerBinding
{
    private protected TriggerBinding()
    {
    }

    public abstract TriggerKind Kind { get; }

    /// <summary>The trigger as <c>start</c> prints it, e.g. "objectTrigger (zone=raw, prefix=transactions/)".</summary>
    public abstract string Describe();

    public sealed override string ToString() => Describe();

    /// <summary>Returns a copy with every '%Setting%' replaced; <paramref name="resolve"/> gets (value, field name).</summary>
    internal abstract TriggerBinding Resolve(Func<string, string, string> resolve);
}

/// <summary>Runs for every object created in <see cref="Zone"/> whose key starts with <see cref="Prefix"/>.</summary>
public sealed record ObjectTriggerBinding(string Zone, string Prefix = "") : TriggerBinding
{
    public override TriggerKind Kind => TriggerKind.Object;

    public override string Describe() =>
        Prefix.Length == 0 ? $"objectTrigger (zone={Zone})" : $"objectTrigger (zone={Zone}, prefix={Prefix})";

    public bool Matches(string zone, string key) =>
        string.Equals(zone, Zone, StringComparison.Ordinal) && key.StartsWith(Prefix, StringComparison.Ordinal);

    internal override TriggerBinding Resolve(Func<string, string, string> resolve) =>
        new ObjectTriggerBinding(resolve(Zone, "zone"), resolve(Prefix, "prefix"));
}

/// <summary>Runs for batches of messages from <see cref="QueueName"/>.</summary>
public sealed record QueueTriggerBinding(string QueueName) : TriggerBinding
{
    public override TriggerKind Kind => TriggerKind.Queue;

    public override string Describe() => $"queueTrigger (queue={QueueName})";

    internal override TriggerBinding Resolve(Func<string, string, string> resolve) =>
        new QueueTriggerBinding(resolve(QueueName, "queueName"));
}

/// <summary>Runs on a six-field cron schedule (with seconds), optionally once at start-up.</summary>
public sealed record TimerTriggerBinding(string Schedule, bool RunOnStartup = false) : TriggerBinding
{
    public override TriggerKind Kind => TriggerKind.Timer;

    public override string Describe() =>
        RunOnStartup ? $"timerTrigger (schedule={Schedule}, runOnStartup)" : $"timerTrigger (schedule={Schedule})";

    internal override TriggerBinding Resolve(Func<string, string, string> resolve) =>
        new TimerTriggerBinding(resolve(Schedule, "schedule"), RunOnStartup);
}
