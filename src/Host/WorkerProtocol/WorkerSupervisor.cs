using Microsoft.Extensions.Logging;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>
/// Keeps one worker running for the host: when the worker process dies unexpectedly, what was in flight fails
/// (the listeners release it for redelivery) and a new worker is started and given the same functions.
/// </summary>
internal sealed class WorkerSupervisor : IAsyncDisposable
{
    private const string RestartingTemplate = "The worker stopped unexpectedly ({Reason}); restarting it (restart {Restart})";
    private const string RestartedTemplate = "Worker restarted in {ElapsedMs} ms";
    private const string RestartFailedTemplate = "Restarting the worker failed; trying again in {Delay}";

    private readonly WorkerChannelOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource<WorkerChannel> _current = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<string> _loaded = [];
    private int _restarts;

    private WorkerSupervisor(WorkerChannelOptions options, ILoggerFactory loggers)
    {
        _options = options;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Host.Worker");
    }

    /// <summary>The functions of the first worker (the app's metadata).</summary>
    public IReadOnlyList<WorkerFunction> Functions { get; private set; } = [];

    /// <summary>How often the worker was restarted.</summary>
    public int Restarts => Volatile.Read(ref _restarts);

    public static async Task<WorkerSupervisor> StartAsync(WorkerChannelOptions options, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        var supervisor = new WorkerSupervisor(options, loggers);
        var channel = await WorkerChannel.StartAsync(options, loggers, cancellationToken);
        supervisor.Functions = channel.Functions;
        supervisor._current.SetResult(channel);
        return supervisor;
    }

    /// <summary>Loads <paramref name="names"/> into the worker (and into every restarted one), then watches it.</summary>
    public async Task LoadAsync(IReadOnlyList<string> names, CancellationToken cancellationToken = default)
    {
        _loaded = names;
        var channel = await _current.Task;
        await channel.LoadAsync(channel.Functions.Where(f => names.Contains(f.Name, StringComparer.Ordinal)), cancellationToken);
        Watch(channel);
    }

    /// <summary>The running worker, waiting for a restart in progress (up to the start timeout).</summary>
    /// <exception cref="WorkerUnavailableException">No healthy worker within the start timeout, or the host is stopping.</exception>
    public async Task<WorkerChannel> CurrentAsync(CancellationToken cancellationToken = default)
    {
        var began = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            Task<WorkerChannel> current;
            lock (_gate)
            {
                current = _current.Task;
            }

            WorkerChannel channel;
            try
            {
                channel = await current.WaitAsync(_options.StartTimeout, cancellationToken);
            }
            catch (TimeoutException ex)
            {
                throw new WorkerUnavailableException($"No worker is running: a restart did not finish within {_options.StartTimeout}.", ex);
            }

            // A broken channel is about to be replaced (its restart swaps the current one): wait for the new one.
            if (!channel.IsBroken || _stopping.IsCancellationRequested)
            {
                return channel;
            }

            if (System.Diagnostics.Stopwatch.GetElapsedTime(began) > _options.StartTimeout)
            {
                throw new WorkerUnavailableException($"No worker is running: a restart did not finish within {_options.StartTimeout}.");
            }

            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>The running worker without waiting, or null during a restart (tests).</summary>
    public WorkerChannel? CurrentOrNull
    {
        get
        {
            lock (_gate)
            {
                return _current.Task.IsCompletedSuccessfully ? _current.Task.Result : null;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        WorkerChannel? channel;
        lock (_gate)
        {
            channel = _current.Task.IsCompletedSuccessfully ? _current.Task.Result : null;
            _current.TrySetException(new WorkerUnavailableException("The host is shutting down."));
        }

        if (channel is not null)
        {
            await channel.DisposeAsync();
        }

    }

    private void Watch(WorkerChannel channel) =>
        _ = channel.Broken.ContinueWith(broken => RestartAsync(channel, broken.Result), CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default).Unwrap();

    private async Task RestartAsync(WorkerChannel dead, Exception reason)
    {
        if (_stopping.IsCancellationRequested)
        {
            return;
        }

        var restart = Interlocked.Increment(ref _restarts);
        _logger.LogWarning(RestartingTemplate, reason.Message, restart);
        var next = new TaskCompletionSource<WorkerChannel>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            _current = next;
        }

        await dead.DisposeAsync();
        var delay = TimeSpan.FromMilliseconds(200);
        while (!_stopping.IsCancellationRequested)
        {
            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            WorkerChannel? channel = null;
            try
            {
                channel = await WorkerChannel.StartAsync(_options, _loggers, _stopping.Token);
                await channel.LoadAsync(channel.Functions.Where(f => _loaded.Contains(f.Name, StringComparer.Ordinal)), _stopping.Token);
                _logger.LogInformation(RestartedTemplate, (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                next.TrySetResult(channel);
                Watch(channel);
                return;
            }
            catch (Exception ex) when (!_stopping.IsCancellationRequested)
            {
                if (channel is not null)
                {
                    await channel.DisposeAsync();
                }

                _logger.LogError(ex, RestartFailedTemplate, delay);
                try
                {
                    await Task.Delay(delay, _stopping.Token);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromSeconds(30).Ticks));
            }
            catch (Exception)
            {
                if (channel is not null)
                {
                    await channel.DisposeAsync();
                }

                break;
            }
        }

        next.TrySetException(new WorkerUnavailableException("The host is shutting down."));
    }
}
