using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>
/// The worker starts before the host's services (and so its logging) exist, because the functions it reports go into
/// the host's function table. Until <see cref="SetTarget"/>, log records are kept and then replayed in order.
/// </summary>
internal sealed class DeferredLoggerFactory : ILoggerFactory
{
    private const string ReplayTemplate = "{Message}";

    private readonly ConcurrentQueue<(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception)> _early = new();
    private readonly Lock _gate = new();
    private ILoggerFactory? _target;

    public void SetTarget(ILoggerFactory target)
    {
        lock (_gate)
        {
            _target = target;
            while (_early.TryDequeue(out var record))
            {
                target.CreateLogger(record.Category).Log(record.Level, record.EventId, record.Exception, ReplayTemplate, record.Message);
            }
        }
    }

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void AddProvider(ILoggerProvider provider) => throw new NotSupportedException("Add providers to the host's logging instead.");

    public void Dispose()
    {
    }

    private sealed class Logger(DeferredLoggerFactory owner, string category) : ILogger
    {
        private ILogger? _inner;

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => Inner()?.BeginScope(state);

        public bool IsEnabled(LogLevel logLevel) => Inner()?.IsEnabled(logLevel) ?? logLevel != LogLevel.None;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (Inner() is { } inner)
            {
                inner.Log(logLevel, eventId, state, exception, formatter);
                return;
            }

            lock (owner._gate)
            {
                if (owner._target is null)
                {
                    owner._early.Enqueue((category, logLevel, eventId, formatter(state, exception), exception));
                    return;
                }
            }

            Inner()!.Log(logLevel, eventId, state, exception, formatter);
        }

        private ILogger? Inner() => _inner ??= owner._target?.CreateLogger(category);
    }
}
