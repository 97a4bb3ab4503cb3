using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Pipeline.Host.Internal;

namespace Pipeline.Host.WorkerProtocol;

/// <summary>
/// One isolated-worker process and its stream, as Azure's host runs it: the worker is started as a child process as
/// worker.config.json says, dials back into our <see cref="WorkerRpcServer"/>, and then: WorkerInitRequest →
/// FunctionsMetadataRequest → FunctionLoadRequest per function → InvocationRequest/Response; RpcLog along the way
/// (relayed to our loggers); WorkerTerminate on dispose.
/// </summary>
public sealed class WorkerChannel : IAsyncDisposable
{
    public const string HostVersion = "4.1040.0-pipeline";

    /// <summary>How worker.config.json names the app's folder in paths (a self-contained worker's executable is "{WorkerRoot}App").</summary>
    private const string WorkerRootPlaceholder = "{WorkerRoot}";

    private const string WorkerLogTemplate = "{WorkerMessage}";
    private const string InvocationLogTemplate = "{WorkerMessage} (Id={InvocationId})";
    private const string ConsoleTemplate = "worker: {Line}";
    private const string StartedTemplate = "Worker process {ProcessId} started: {Command}";
    private const string ExitedTemplate = "Worker process {ProcessId} exited with code {ExitCode}";
    private const string IgnoredTemplate = "Ignored {MessageType} from the worker";

    private readonly WorkerChannelOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly ILogger _console;
    private readonly Channel<StreamingMessage> _outbox = Channel.CreateUnbounded<StreamingMessage>(new UnboundedChannelOptions { SingleReader = true });
    private readonly ConcurrentDictionary<string, TaskCompletionSource<StreamingMessage>> _pending = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> _invocations = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _lastOutput = new();
    private readonly TaskCompletionSource _connected = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _streamEnded = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource<Exception> _broken = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private WorkerRpcServer? _server;
    private Process? _process;
    private volatile Exception? _failure;
    private int _disposed;

    private WorkerChannel(WorkerChannelOptions options, ILoggerFactory loggers)
    {
        _options = options;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Host.Worker");
        _console = loggers.CreateLogger("Host.Worker.Console");
        WorkerId = Guid.NewGuid().ToString();
        ScriptRoot = Path.GetFullPath(options.ScriptRoot);
    }

    public string WorkerId { get; }

    public string ScriptRoot { get; }

    /// <summary>The worker's process id (for diagnostics and crash tests).</summary>
    public int ProcessId => _process?.Id ?? 0;

    /// <summary>What the worker answered to WorkerInitRequest.</summary>
    public IReadOnlyDictionary<string, string> WorkerCapabilities { get; private set; } = new Dictionary<string, string>();

    /// <summary>The functions the worker reported (FunctionMetadataResponse, or functions.metadata when it asks the host to index).</summary>
    public IReadOnlyList<WorkerFunction> Functions { get; private set; } = [];

    /// <summary>Completes with the exit code when the worker process exits (expectedly or not).</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>Completes, with the reason, at the first sign that the channel is unusable: its stream closed or its process exited.</summary>
    public Task<Exception> Broken => _broken.Task;

    public bool IsBroken => _failure is not null;

    /// <summary>Starts the gRPC server and the worker process, and runs the handshake and the metadata request.</summary>
    /// <exception cref="HostConfigurationException">worker.config.json is missing or invalid.</exception>
    /// <exception cref="WorkerUnavailableException">The worker exited, or did not connect or answer within the start timeout.</exception>
    public static async Task<WorkerChannel> StartAsync(WorkerChannelOptions options, ILoggerFactory loggers, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        var channel = new WorkerChannel(options, loggers);
        try
        {
            await channel.StartCoreAsync(cancellationToken);
            return channel;
        }
        catch
        {
            await channel.DisposeAsync();
            throw;
        }
    }

    /// <summary>Sends FunctionLoadRequest for each function and waits for every FunctionLoadResponse.</summary>
    /// <exception cref="WorkerUnavailableException">The worker could not load a function; the message names it.</exception>
    public async Task LoadAsync(IEnumerable<WorkerFunction> functions, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(functions);
        var loads = functions.Select(async function =>
        {
            var metadata = function.Metadata.Clone();
            metadata.FunctionId = function.FunctionId;
            metadata.Name = function.Name;
            if (metadata.Bindings.Count == 0)
            {
                foreach (var binding in function.Bindings)
                {
                    metadata.Bindings[binding.Name] = ToBindingInfo(binding);
                }
            }

            var response = await RequestAsync(
                "load:" + function.FunctionId,
                new StreamingMessage { RequestId = NewId(), FunctionLoadRequest = new FunctionLoadRequest { FunctionId = function.FunctionId, Metadata = metadata } },
                cancellationToken);
            var result = response.FunctionLoadResponse.Result;
            if (result?.Status != StatusResult.Types.Status.Success)
            {
                throw new WorkerUnavailableException($"The worker could not load function '{function.Name}': {Describe(result)}");
            }
        });
        await Task.WhenAll(loads);
    }

    /// <summary>
    /// Sends one InvocationRequest and returns the worker's InvocationResponse (success or failure, as the worker said).
    /// Cancelling sends InvocationCancel and throws OperationCanceledException.
    /// </summary>
    /// <exception cref="WorkerUnavailableException">The worker exited or its stream closed before answering.</exception>
    internal async Task<InvocationResponse> InvokeAsync(
        WorkerFunction function,
        IEnumerable<ParameterBinding> inputs,
        IReadOnlyDictionary<string, string>? triggerMetadata = null,
        string? invocationId = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(function);
        var id = invocationId ?? Guid.NewGuid().ToString();
        var request = new InvocationRequest
        {
            InvocationId = id,
            FunctionId = function.FunctionId,
            TraceContext = TraceContext(Activity.Current),
        };
        request.InputData.AddRange(inputs);
        if (triggerMetadata is not null)
        {
            foreach (var (key, value) in triggerMetadata)
            {
                request.TriggerMetadata[key] = new TypedData { String = value };
            }
        }

        _invocations[id] = function.Name;
        try
        {
            var response = await RequestAsync("invoke:" + id, new StreamingMessage { RequestId = NewId(), InvocationRequest = request }, cancellationToken);
            return response.InvocationResponse;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _outbox.Writer.TryWrite(new StreamingMessage { RequestId = NewId(), InvocationCancel = new InvocationCancel { InvocationId = id } });
            throw;
        }
        finally
        {
            _invocations.TryRemove(id, out _);
        }
    }

    /// <summary>Invokes with one JSON trigger payload and returns the return value's text (JSON or string), or null.</summary>
    /// <exception cref="WorkerInvocationException">The function failed in the worker (its exception, or an input it could not convert).</exception>
    /// <exception cref="WorkerUnavailableException">The worker exited or its stream closed before answering.</exception>
    public async Task<string?> InvokeJsonAsync(WorkerFunction function, string triggerJson, string? invocationId = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(function);
        var trigger = function.Trigger ?? throw new ArgumentException($"Function '{function.Name}' has no trigger binding.", nameof(function));
        var response = await InvokeAsync(function, [new ParameterBinding { Name = trigger.Name, Data = new TypedData { Json = triggerJson } }], null, invocationId, cancellationToken);
        ThrowIfFailed(function.Name, response);
        return response.ReturnValue?.DataCase switch
        {
            TypedData.DataOneofCase.Json => response.ReturnValue.Json,
            TypedData.DataOneofCase.String => response.ReturnValue.String,
            TypedData.DataOneofCase.Int => response.ReturnValue.Int.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TypedData.DataOneofCase.Double => response.ReturnValue.Double.ToString(System.Globalization.CultureInfo.InvariantCulture),
            TypedData.DataOneofCase.Bytes => System.Text.Encoding.UTF8.GetString(response.ReturnValue.Bytes.Span),
            _ => null,
        };
    }

    internal static void ThrowIfFailed(string functionName, InvocationResponse response)
    {
        var result = response.Result;
        if (result?.Status == StatusResult.Types.Status.Success)
        {
            return;
        }

        if (result?.Status == StatusResult.Types.Status.Cancelled)
        {
            throw new OperationCanceledException($"Function '{functionName}' was cancelled in the worker: {Describe(result)}");
        }

        throw new WorkerInvocationException(functionName, result?.Exception?.Type, Describe(result), result?.Exception?.StackTrace);
    }

    /// <summary>Sends WorkerTerminate, waits up to the grace period for the process to exit, kills it otherwise.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        _failure ??= new WorkerUnavailableException("The worker channel was shut down.");
        if (_process is { HasExited: false } process)
        {
            _outbox.Writer.TryWrite(new StreamingMessage
            {
                RequestId = NewId(),
                WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(_options.TerminateGracePeriod) },
            });
            try
            {
                await process.WaitForExitAsync().WaitAsync(_options.TerminateGracePeriod);
            }
            catch (TimeoutException)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync();
            }
        }

        FailAll(_failure);
        _outbox.Writer.TryComplete();
        if (_server is not null)
        {
            _server.Forget(WorkerId);
            await _server.DisposeAsync();
        }

        _process?.Dispose();
    }

    /// <summary>Kills the worker process without ceremony (crash tests).</summary>
    internal void Kill() => _process?.Kill(entireProcessTree: true);

    internal async Task RunStreamAsync(IAsyncStreamReader<StreamingMessage> reader, IServerStreamWriter<StreamingMessage> writer, CancellationToken cancellationToken)
    {
        _connected.TrySetResult();
        var writing = Task.Run(async () =>
        {
            await foreach (var message in _outbox.Reader.ReadAllAsync(cancellationToken))
            {
                await writer.WriteAsync(message, cancellationToken);
            }
        }, CancellationToken.None);
        try
        {
            while (await reader.MoveNext(cancellationToken))
            {
                Dispatch(reader.Current);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or Grpc.Core.RpcException)
        {
            // The worker went away; FailAll below tells whoever waits.
        }
        finally
        {
            FailAll(_failure ?? new WorkerUnavailableException($"The worker's stream closed{ExitDescription()}.{LastOutput()}"));
            _streamEnded.TrySetResult();
            _outbox.Writer.TryComplete();
        }

        try
        {
            await writing;
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or Grpc.Core.RpcException or InvalidOperationException)
        {
            // Writes after the worker closed the stream.
        }
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        var config = WorkerConfig.Load(ScriptRoot);
        _server = await WorkerRpcServer.StartAsync(_options.MaxMessageLength, cancellationToken);
        _server.Expect(WorkerId, this);
        StartProcess(config);

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartTimeout);
        try
        {
            var first = await Task.WhenAny(_connected.Task, _exited.Task).WaitAsync(timeout.Token);
            if (first != _connected.Task)
            {
                throw new WorkerUnavailableException($"The worker exited before connecting{ExitDescription()}.{LastOutput()}");
            }

            var init = new WorkerInitRequest { HostVersion = HostVersion, WorkerDirectory = ScriptRoot, FunctionAppDirectory = ScriptRoot };
            init.Capabilities["HandlesWorkerTerminateMessage"] = "true";
            var initResponse = (await RequestAsync("init", new StreamingMessage { RequestId = NewId(), WorkerInitRequest = init }, timeout.Token)).WorkerInitResponse;
            if (initResponse.Result?.Status != StatusResult.Types.Status.Success)
            {
                throw new WorkerUnavailableException($"The worker failed to initialise: {Describe(initResponse.Result)}");
            }

            WorkerCapabilities = new Dictionary<string, string>(initResponse.Capabilities);
            var metadata = (await RequestAsync(
                "metadata",
                new StreamingMessage { RequestId = NewId(), FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = ScriptRoot } },
                timeout.Token)).FunctionMetadataResponse;
            Functions = metadata.UseDefaultMetadataIndexing ? ReadFunctionsMetadataFile() : FromWorker(metadata);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new WorkerUnavailableException($"The worker did not finish its start-up handshake within {_options.StartTimeout}.{LastOutput()}");
        }
    }

    private void StartProcess(WorkerConfig config)
    {
        var start = new ProcessStartInfo(Executable(config.ExecutablePath.Replace(WorkerRootPlaceholder, ScriptRoot + Path.DirectorySeparatorChar, StringComparison.OrdinalIgnoreCase)))
        {
            WorkingDirectory = ScriptRoot,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
        };
        foreach (var argument in config.Arguments)
        {
            start.ArgumentList.Add(argument);
        }

        if (config.WorkerPath.Length > 0)
        {
            start.ArgumentList.Add(Path.GetFullPath(Path.Combine(ScriptRoot, config.WorkerPath)));
        }

        foreach (var argument in config.WorkerArguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.ArgumentList.Add("--functions-uri");
        start.ArgumentList.Add(_server!.Address.ToString());
        start.ArgumentList.Add("--functions-worker-id");
        start.ArgumentList.Add(WorkerId);
        start.ArgumentList.Add("--functions-request-id");
        start.ArgumentList.Add(NewId());
        start.ArgumentList.Add("--functions-grpc-max-message-length");
        start.ArgumentList.Add(_server.MaxMessageLength.ToString(System.Globalization.CultureInfo.InvariantCulture));

        foreach (var (name, value) in WorkerEnvironment())
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => Relay(e.Data, LogLevel.Debug);
        process.ErrorDataReceived += (_, e) => Relay(e.Data, LogLevel.Warning);
        process.Exited += (_, _) => OnExited(process);
        if (!process.Start())
        {
            throw new WorkerUnavailableException($"Could not start the worker: {start.FileName}.");
        }

        _process = process;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _logger.LogInformation(StartedTemplate, process.Id, $"{start.FileName} {string.Join(' ', start.ArgumentList.Take(config.Arguments.Count + 1 + config.WorkerArguments.Count))}");
    }

    /// <summary>local.settings.json Values (unless the real environment has them), then explicit settings, then what the worker must have.</summary>
    private Dictionary<string, string?> WorkerEnvironment()
    {
        var environment = new Dictionary<string, string?>(StringComparer.Ordinal);
        if (_options.LoadLocalSettings)
        {
            foreach (var (name, value) in LocalSettings.LoadValues(Path.Combine(ScriptRoot, "local.settings.json")))
            {
                if (Environment.GetEnvironmentVariable(name) is null)
                {
                    environment[name] = value;
                }
            }
        }

        foreach (var (name, value) in _options.Settings)
        {
            environment[name.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        if (Environment.GetEnvironmentVariable("FUNCTIONS_WORKER_RUNTIME") is null)
        {
            environment.TryAdd("FUNCTIONS_WORKER_RUNTIME", "dotnet-isolated");
        }

        environment["FUNCTIONS_APPLICATION_DIRECTORY"] = ScriptRoot;
        environment["FUNCTIONS_WORKER_DIRECTORY"] = ScriptRoot;
        environment["AzureWebJobsScriptRoot"] = ScriptRoot;
        return environment;
    }

    private static string Executable(string configured)
    {
        if (configured.Equals("dotnet", StringComparison.OrdinalIgnoreCase) || configured.Equals("dotnet.exe", StringComparison.OrdinalIgnoreCase))
        {
            // The muxer that runs us (dotnet test, dotnet run) is the surest one; PATH otherwise.
            var host = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH");
            if (!string.IsNullOrEmpty(host) && File.Exists(host))
            {
                return host;
            }

            var self = Environment.ProcessPath;
            if (self is not null && Path.GetFileNameWithoutExtension(self).Equals("dotnet", StringComparison.OrdinalIgnoreCase))
            {
                return self;
            }
        }

        return configured;
    }

    private IReadOnlyList<WorkerFunction> FromWorker(FunctionMetadataResponse response)
    {
        if (response.Result is { } result && result.Status != StatusResult.Types.Status.Success)
        {
            throw new WorkerUnavailableException($"The worker could not index its functions: {Describe(result)}");
        }

        var functions = new List<WorkerFunction>();
        foreach (var metadata in response.FunctionMetadataResults)
        {
            if (metadata.Status is { Status: StatusResult.Types.Status.Failure } status)
            {
                throw new WorkerUnavailableException($"The worker could not index function '{metadata.Name}': {Describe(status)}");
            }

            var bindings = metadata.RawBindings.Count > 0
                ? metadata.RawBindings.Select(WorkerBinding.Parse).ToList()
                : metadata.Bindings.Select(b => new WorkerBinding(b.Key, b.Value.Type, b.Value.Direction.ToString(), new Dictionary<string, JsonElement>())).ToList();
            var id = metadata.FunctionId.Length > 0 ? metadata.FunctionId : Guid.NewGuid().ToString();
            functions.Add(new WorkerFunction(metadata.Name, id, metadata.EntryPoint, bindings) { Metadata = metadata });
        }

        return functions;
    }

    private IReadOnlyList<WorkerFunction> ReadFunctionsMetadataFile()
    {
        var path = Path.Combine(ScriptRoot, "functions.metadata");
        if (!File.Exists(path))
        {
            throw new HostConfigurationException($"The worker asked the host to index its functions, but '{path}' does not exist.");
        }

        using var document = JsonDocument.Parse(File.ReadAllText(path));
        var functions = new List<WorkerFunction>();
        foreach (var entry in document.RootElement.EnumerateArray())
        {
            var metadata = new RpcFunctionMetadata
            {
                Name = entry.GetProperty("name").GetString() ?? string.Empty,
                ScriptFile = entry.TryGetProperty("scriptFile", out var script) ? script.GetString() ?? string.Empty : string.Empty,
                EntryPoint = entry.TryGetProperty("entryPoint", out var entryPoint) ? entryPoint.GetString() ?? string.Empty : string.Empty,
                Language = entry.TryGetProperty("language", out var language) ? language.GetString() ?? string.Empty : string.Empty,
                Directory = ScriptRoot,
                FunctionId = Guid.NewGuid().ToString(),
            };
            var bindings = new List<WorkerBinding>();
            foreach (var binding in entry.GetProperty("bindings").EnumerateArray())
            {
                var raw = binding.GetRawText();
                metadata.RawBindings.Add(raw);
                var parsed = WorkerBinding.Parse(raw);
                bindings.Add(parsed);
                metadata.Bindings[parsed.Name] = ToBindingInfo(parsed);
            }

            functions.Add(new WorkerFunction(metadata.Name, metadata.FunctionId, metadata.EntryPoint, bindings) { Metadata = metadata });
        }

        return functions;
    }

    private static BindingInfo ToBindingInfo(WorkerBinding binding) => new()
    {
        Type = binding.Type,
        Direction = binding.Direction.ToLowerInvariant() switch
        {
            "out" => BindingInfo.Types.Direction.Out,
            "inout" => BindingInfo.Types.Direction.Inout,
            _ => BindingInfo.Types.Direction.In,
        },
        DataType = (binding.Get("dataType") ?? string.Empty).ToLowerInvariant() switch
        {
            "string" => BindingInfo.Types.DataType.String,
            "binary" => BindingInfo.Types.DataType.Binary,
            "stream" => BindingInfo.Types.DataType.Stream,
            _ => BindingInfo.Types.DataType.Undefined,
        },
    };

    private async Task<StreamingMessage> RequestAsync(string key, StreamingMessage message, CancellationToken cancellationToken)
    {
        var reply = new TaskCompletionSource<StreamingMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
        if (!_pending.TryAdd(key, reply))
        {
            throw new InvalidOperationException($"A request '{key}' is already waiting for the worker.");
        }

        try
        {
            var size = message.CalculateSize();
            if (size > _options.MaxMessageLength)
            {
                throw new ArgumentException(
                    $"The request is {size} bytes, over the gRPC max message length of {_options.MaxMessageLength} bytes; send large payloads as claim checks (an object key) instead.",
                    nameof(message));
            }

            if (_failure is { } failure)
            {
                throw failure is WorkerUnavailableException ? new WorkerUnavailableException(failure.Message, failure) : failure;
            }

            await _outbox.Writer.WriteAsync(message, cancellationToken);
            return await reply.Task.WaitAsync(cancellationToken);
        }
        catch (ChannelClosedException ex)
        {
            throw new WorkerUnavailableException($"The worker's stream is closed{ExitDescription()}.", ex);
        }
        finally
        {
            _pending.TryRemove(key, out _);
        }
    }

    private void Dispatch(StreamingMessage message)
    {
        var key = message.ContentCase switch
        {
            StreamingMessage.ContentOneofCase.WorkerInitResponse => "init",
            StreamingMessage.ContentOneofCase.FunctionMetadataResponse => "metadata",
            StreamingMessage.ContentOneofCase.FunctionLoadResponse => "load:" + message.FunctionLoadResponse.FunctionId,
            StreamingMessage.ContentOneofCase.InvocationResponse => "invoke:" + message.InvocationResponse.InvocationId,
            _ => null,
        };
        if (key is not null)
        {
            if (_pending.TryGetValue(key, out var reply))
            {
                reply.TrySetResult(message);
            }

            return;
        }

        if (message.ContentCase == StreamingMessage.ContentOneofCase.RpcLog)
        {
            Relay(message.RpcLog);
        }
        else
        {
            _logger.LogDebug(IgnoredTemplate, message.ContentCase);
        }
    }

    private void Relay(RpcLog log)
    {
        var level = log.Level == RpcLog.Types.Level.None ? LogLevel.None : (LogLevel)(int)log.Level;
        var exception = log.Exception is { } e ? new WorkerLoggedException(e.Type, e.Message, e.StackTrace) : null;
        if (log.InvocationId.Length > 0 && _invocations.TryGetValue(log.InvocationId, out var function))
        {
            var logger = _loggers.CreateLogger("Function." + function + (log.LogCategory == RpcLog.Types.RpcLogCategory.User ? ".User" : string.Empty));
            logger.Log(level, exception, InvocationLogTemplate, log.Message, log.InvocationId);
        }
        else
        {
            var logger = _loggers.CreateLogger(log.Category.Length > 0 ? "Worker." + log.Category : "Worker");
            logger.Log(level, exception, WorkerLogTemplate, log.Message);
        }
    }

    private void Relay(string? line, LogLevel level)
    {
        if (line is null)
        {
            return;
        }

        _lastOutput.Enqueue(line);
        while (_lastOutput.Count > 20)
        {
            _lastOutput.TryDequeue(out _);
        }

        _console.Log(level, ConsoleTemplate, line);
    }

    private void OnExited(Process process)
    {
        int code;
        try
        {
            code = process.ExitCode;
        }
        catch (InvalidOperationException)
        {
            code = -1;
        }

        if (Volatile.Read(ref _disposed) == 0)
        {
            _logger.LogWarning(ExitedTemplate, process.Id, code);
        }

        _exited.TrySetResult(code);
        FailAll(_failure ?? new WorkerUnavailableException($"The worker process exited with code {code}.{LastOutput()}"));
    }

    private void FailAll(Exception failure)
    {
        _failure ??= failure;
        _broken.TrySetResult(_failure);
        foreach (var (key, reply) in _pending)
        {
            reply.TrySetException(new WorkerUnavailableException($"{failure.Message} (request '{key}' was in flight)", failure));
        }
    }

    private string ExitDescription() =>
        _exited.Task.IsCompletedSuccessfully ? $" (the process exited with code {_exited.Task.Result})" : string.Empty;

    private string LastOutput() =>
        _lastOutput.IsEmpty ? string.Empty : " Last output: " + string.Join(" | ", _lastOutput);

    private static RpcTraceContext TraceContext(Activity? activity)
    {
        if (activity is not null && activity.IdFormat == ActivityIdFormat.W3C)
        {
            return new RpcTraceContext { TraceParent = activity.Id ?? string.Empty, TraceState = activity.TraceStateString ?? string.Empty };
        }

        // The worker reads trace_parent unconditionally; give every invocation a fresh W3C context.
        return new RpcTraceContext { TraceParent = $"00-{ActivityTraceId.CreateRandom()}-{ActivitySpanId.CreateRandom()}-00" };
    }

    private static string Describe(StatusResult? result) =>
        result is null ? "no status"
        : result.Exception is { } e ? (string.IsNullOrEmpty(e.Message) ? result.Result : e.Message)
        : string.IsNullOrEmpty(result.Result) ? result.Status.ToString() : result.Result;

    private static string NewId() => Guid.NewGuid().ToString();
}
