using System.Globalization;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Pipeline.Host.Internal;

/// <summary>Strict reader for host.json: every invalid field fails with its path and what was expected.</summary>
internal static class HostJsonParser
{
    private static readonly JsonDocumentOptions DocumentOptions = new()
    {
        CommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    // Every key this parser reads, per object; anything else is a start-up error (DESIGN: a misspelled key names itself).
    private static readonly string[] RootKeys = ["version", "extensions", "retry", "functionTimeout", "logging"];
    private static readonly string[] ExtensionsKeys = ["queues", "blobs"];
    private static readonly string[] QueuesKeys = ["batchSize", "maxDequeueCount", "newBatchThreshold", "visibilityTimeout", "maxPollingInterval"];
    private static readonly string[] BlobsKeys = ["maxDegreeOfParallelism"];
    private static readonly string[] RetryKeys = ["strategy", "maxRetryCount", "delayInterval", "minimumInterval", "maximumInterval", "maxumumInterval"];
    private static readonly string[] LoggingKeys = ["logLevel"];

    // Keys Azure's host.json schema documents that this host does not implement: accepted (they come from real Azure
    // apps, e.g. the func template's logging.applicationInsights) and reported as start-up warnings, not suggested as typos.
    private static readonly Dictionary<string, string[]> AzureKeysNotImplemented = new(StringComparer.Ordinal)
    {
        [string.Empty] =
        [
            "aggregator", "concurrency", "console", "customHandler", "extensionBundle", "functions", "healthMonitor",
            "managedDependency", "sendCanceledInvocationsToWorker", "singleton", "telemetryMode", "watchDirectories", "watchFiles",
        ],
        ["extensions"] = ["cosmosDB", "durableTask", "eventGrid", "eventHubs", "http", "kafka", "rabbitMQ", "sendGrid", "serviceBus", "signalR", "tables"],
        ["extensions.queues"] = ["messageEncoding"],
        ["extensions.blobs"] = ["poisonBlobThreshold"],
        ["logging"] = ["applicationInsights", "console", "fileLoggingMode"],
    };

    public static HostSettings Parse(string json, string source)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw new HostConfigurationException($"{source} is not valid JSON: {ex.Message}", ex);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw Error(source, "(root)", "a JSON object", root);
            }

            if (!TryGet(root, "version", out var version))
            {
                throw new HostConfigurationException($"{source}: 'version' is missing; expected \"{HostSettings.SupportedVersion}\".");
            }

            if (version.ValueKind != JsonValueKind.String || version.GetString() != HostSettings.SupportedVersion)
            {
                throw Error(source, "version", $"\"{HostSettings.SupportedVersion}\"", version);
            }

            var ignored = new List<string>();
            CheckKeys(source, string.Empty, root, RootKeys, ignored);
            var settings = new HostSettings();
            if (TryGet(root, "extensions", out var extensions))
            {
                ExpectObject(source, "extensions", extensions);
                CheckKeys(source, "extensions", extensions, ExtensionsKeys, ignored);
            }

            if (TryGet(root, "extensions", out _) && TryGet(extensions, "queues", out var queues))
            {
                ExpectObject(source, "extensions.queues", queues);
                CheckKeys(source, "extensions.queues", queues, QueuesKeys, ignored);
                var q = settings.Queues;
                settings = settings with
                {
                    Queues = q with
                    {
                        BatchSize = Int(source, queues, "extensions.queues.batchSize", 1, 10) ?? q.BatchSize,
                        MaxDequeueCount = Int(source, queues, "extensions.queues.maxDequeueCount", 1, 1000) ?? q.MaxDequeueCount,
                        NewBatchThreshold = Int(source, queues, "extensions.queues.newBatchThreshold", 0, 1000) ?? q.NewBatchThreshold,
                        VisibilityTimeout = Span(source, queues, "extensions.queues.visibilityTimeout", TimeSpan.FromSeconds(1), TimeSpan.FromHours(12)) ?? q.VisibilityTimeout,
                        MaxPollingInterval = Span(source, queues, "extensions.queues.maxPollingInterval", TimeSpan.FromMilliseconds(10), TimeSpan.FromMinutes(10)) ?? q.MaxPollingInterval,
                    },
                };
            }

            if (TryGet(root, "extensions", out var extensionsForObjects) && TryGet(extensionsForObjects, "blobs", out var blobs))
            {
                ExpectObject(source, "extensions.blobs", blobs);
                CheckKeys(source, "extensions.blobs", blobs, BlobsKeys, ignored);
                settings = settings with
                {
                    Objects = settings.Objects with
                    {
                        MaxDegreeOfParallelism = Int(source, blobs, "extensions.blobs.maxDegreeOfParallelism", 1, 1000) ?? settings.Objects.MaxDegreeOfParallelism,
                    },
                };
            }

            if (TryGet(root, "retry", out var retry))
            {
                settings = settings with { Retry = ParseRetry(source, retry) };
            }

            if (TryGet(root, "functionTimeout", out var timeout))
            {
                settings = settings with
                {
                    FunctionTimeout = timeout.ValueKind == JsonValueKind.String && timeout.GetString() == "-1"
                        ? null
                        : Span(source, root, "functionTimeout", TimeSpan.FromSeconds(1), TimeSpan.FromDays(1)),
                };
            }

            if (TryGet(root, "logging", out var logging))
            {
                ExpectObject(source, "logging", logging);
                CheckKeys(source, "logging", logging, LoggingKeys, ignored);
            }

            // logLevel's keys are category names (any string), so they are not checked against a list.
            if (TryGet(root, "logging", out _) && TryGet(logging, "logLevel", out var logLevel))
            {
                ExpectObject(source, "logging.logLevel", logLevel);
                CheckKeys(source, "logging.logLevel", logLevel, known: null, ignored);
                var levels = new Dictionary<string, LogLevel>(StringComparer.OrdinalIgnoreCase);
                foreach (var property in logLevel.EnumerateObject())
                {
                    var path = $"logging.logLevel.{property.Name}";
                    if (property.Value.ValueKind != JsonValueKind.String
                        || !Enum.TryParse<LogLevel>(property.Value.GetString(), ignoreCase: true, out var level)
                        || !Enum.IsDefined(level)
                        || int.TryParse(property.Value.GetString(), CultureInfo.InvariantCulture, out _))
                    {
                        throw Error(source, path, "one of Trace, Debug, Information, Warning, Error, Critical, None", property.Value);
                    }

                    levels[property.Name] = level;
                }

                settings = settings with { LogLevels = levels };
            }

            return settings with { IgnoredAzureKeys = ignored };
        }
    }

    private static RetrySettings ParseRetry(string source, JsonElement retry)
    {
        ExpectObject(source, "retry", retry);
        CheckKeys(source, "retry", retry, RetryKeys, ignored: null);
        if (!TryGet(retry, "strategy", out var strategyElement))
        {
            throw new HostConfigurationException($"{source}: 'retry.strategy' is missing; expected \"fixedDelay\" or \"exponentialBackoff\".");
        }

        var strategy = strategyElement.ValueKind == JsonValueKind.String ? strategyElement.GetString() : null;
        var kind = strategy switch
        {
            _ when string.Equals(strategy, "fixedDelay", StringComparison.OrdinalIgnoreCase) => RetryStrategy.FixedDelay,
            _ when string.Equals(strategy, "exponentialBackoff", StringComparison.OrdinalIgnoreCase) => RetryStrategy.ExponentialBackoff,
            _ => throw Error(source, "retry.strategy", "\"fixedDelay\" or \"exponentialBackoff\"", strategyElement),
        };

        var maxRetryCount = Int(source, retry, "retry.maxRetryCount", -1, 1000)
            ?? throw new HostConfigurationException($"{source}: 'retry.maxRetryCount' is missing; expected an integer (-1 = unlimited).");
        var result = new RetrySettings { Strategy = kind, MaxRetryCount = maxRetryCount };
        if (kind == RetryStrategy.FixedDelay)
        {
            foreach (var other in (string[])["minimumInterval", "maximumInterval", "maxumumInterval"])
            {
                if (TryGet(retry, other, out _))
                {
                    throw new HostConfigurationException($"{source}: 'retry.{other}' applies to exponentialBackoff only; fixedDelay uses 'retry.delayInterval'.");
                }
            }

            return result with
            {
                DelayInterval = Span(source, retry, "retry.delayInterval", TimeSpan.Zero, TimeSpan.FromDays(1))
                    ?? throw new HostConfigurationException($"{source}: 'retry.delayInterval' is missing; fixedDelay needs it as hh:mm:ss."),
            };
        }

        var minimum = Span(source, retry, "retry.minimumInterval", TimeSpan.Zero, TimeSpan.FromDays(1))
            ?? throw new HostConfigurationException($"{source}: 'retry.minimumInterval' is missing; exponentialBackoff needs it as hh:mm:ss.");

        if (TryGet(retry, "delayInterval", out _))
        {
            throw new HostConfigurationException($"{source}: 'retry.delayInterval' applies to fixedDelay only; exponentialBackoff uses 'retry.minimumInterval' and 'retry.maximumInterval'.");
        }

        if (TryGet(retry, "maxumumInterval", out _) && TryGet(retry, "maximumInterval", out _))
        {
            throw new HostConfigurationException($"{source}: 'retry.maxumumInterval' and 'retry.maximumInterval' are the same setting (Azure's spelling and the correct one); give one.");
        }

        // Azure's schema spells it "maxumumInterval"; accept the correct spelling too.
        var maximumName = TryGet(retry, "maxumumInterval", out _) ? "maxumumInterval" : "maximumInterval";
        var maximum = Span(source, retry, $"retry.{maximumName}", TimeSpan.Zero, TimeSpan.FromDays(1))
            ?? throw new HostConfigurationException($"{source}: 'retry.maximumInterval' (Azure spells it 'maxumumInterval') is missing; exponentialBackoff needs it as hh:mm:ss.");
        if (maximum < minimum)
        {
            throw new HostConfigurationException($"{source}: 'retry.{maximumName}' ({maximum:c}) must not be shorter than 'retry.minimumInterval' ({minimum:c}).");
        }

        return result with { MinimumInterval = minimum, MaximumInterval = maximum };
    }

    private static int? Int(string source, JsonElement parent, string path, int min, int max)
    {
        if (!TryGet(parent, path[(path.LastIndexOf('.') + 1)..], out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var number) || number < min || number > max)
        {
            throw Error(source, path, $"an integer from {min} to {max}", value);
        }

        return number;
    }

    private static TimeSpan? Span(string source, JsonElement parent, string path, TimeSpan min, TimeSpan max)
    {
        if (!TryGet(parent, path[(path.LastIndexOf('.') + 1)..], out var value))
        {
            return null;
        }

        if (value.ValueKind != JsonValueKind.String
            || !TimeSpan.TryParseExact(value.GetString(), ["c", @"hh\:mm\:ss", @"hh\:mm\:ss\.FFFFFFF"], CultureInfo.InvariantCulture, out var span)
            || span < min || span > max)
        {
            throw Error(source, path, $"a time span \"hh:mm:ss\" from {min:c} to {max:c}", value);
        }

        return span;
    }

    /// <summary>
    /// Fails on a key not in <paramref name="known"/> (null = any name) and on a key repeated in another case, naming
    /// its full path: a misspelled key would otherwise be silently ignored and its default used. An Azure-documented key
    /// this host does not implement is added to <paramref name="ignored"/> instead.
    /// </summary>
    private static void CheckKeys(string source, string parentPath, JsonElement parent, string[]? known, List<string>? ignored)
    {
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var property in parent.EnumerateObject())
        {
            var path = parentPath.Length == 0 ? property.Name : $"{parentPath}.{property.Name}";
            if (!seen.TryAdd(property.Name, property.Name))
            {
                throw new HostConfigurationException($"{source}: '{path}' repeats '{seen[property.Name]}' (keys are case-insensitive); give it once.");
            }

            if (known is null || known.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }

            if (ignored is not null
                && AzureKeysNotImplemented.TryGetValue(parentPath, out var azure)
                && azure.Contains(property.Name, StringComparer.OrdinalIgnoreCase))
            {
                ignored.Add(path);
                continue;
            }

            var suggestion = ClosestKey(property.Name, known);
            throw new HostConfigurationException(suggestion is null
                ? $"{source}: unknown key '{path}' (known: {string.Join(", ", known)})."
                : $"{source}: unknown key '{path}'; did you mean '{suggestion}'?");
        }
    }

    /// <summary>The known key nearest to <paramref name="name"/> by edit distance (ignoring case), if it is close enough to be a typo.</summary>
    private static string? ClosestKey(string name, string[] known)
    {
        string? best = null;
        var bestDistance = int.MaxValue;
        foreach (var candidate in known)
        {
            var distance = EditDistance(name.ToLowerInvariant(), candidate.ToLowerInvariant());
            if (distance < bestDistance && distance <= Math.Max(2, candidate.Length / 3))
            {
                best = candidate;
                bestDistance = distance;
            }
        }

        return best;
    }

    private static int EditDistance(string a, string b)
    {
        var previous = new int[b.Length + 1];
        var current = new int[b.Length + 1];
        for (var j = 0; j <= b.Length; j++)
        {
            previous[j] = j;
        }

        for (var i = 1; i <= a.Length; i++)
        {
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var substitution = previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1);
                current[j] = Math.Min(substitution, Math.Min(previous[j], current[j - 1]) + 1);
            }

            (previous, current) = (current, previous);
        }

        return previous[b.Length];
    }

    private static void ExpectObject(string source, string path, JsonElement element)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw Error(source, path, "a JSON object", element);
        }
    }

    private static bool TryGet(JsonElement parent, string name, out JsonElement value)
    {
        if (parent.ValueKind == JsonValueKind.Object)
        {
            foreach (var property in parent.EnumerateObject())
            {
                if (string.Equals(property.Name, name, StringComparison.OrdinalIgnoreCase))
                {
                    value = property.Value;
                    return true;
                }
            }
        }

        value = default;
        return false;
    }

    private static HostConfigurationException Error(string source, string path, string expected, JsonElement actual) =>
        new($"{source}: '{path}' must be {expected} (got {actual.GetRawText()}).");
}
