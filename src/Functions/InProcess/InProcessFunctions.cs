using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Pipeline.Host;
using Pipeline.Providers.Abstractions;
using Pipeline.WorkerExtensions;
using WorkerFunction = Microsoft.Azure.Functions.Worker.FunctionAttribute;
using WorkerTimerInfo = Microsoft.Azure.Functions.Worker.TimerInfo;
using WorkerTimerStatus = Microsoft.Azure.Functions.Worker.ScheduleStatus;
using WorkerTimerTrigger = Microsoft.Azure.Functions.Worker.TimerTriggerAttribute;

namespace Pipeline.Functions.InProcess;

/// <summary>
/// The pipeline's worker functions as in-process <see cref="FunctionDescriptor"/>s of the host, read from the same
/// attributes the Sdk writes into functions.metadata. Only for what cannot start a worker process yet: the Lambda
/// bootstrap (until its own phase of issue 11 runs the worker) and the in-process trace test. Everything else runs the
/// worker through the host.
/// </summary>
public static class InProcessFunctions
{
    /// <summary>The four pipeline functions: EnrichTransactions, LoadTransactions, IngestTrades, RefineDaily.</summary>
    public static IReadOnlyList<FunctionDescriptor> All { get; } = Describe(
        typeof(Functions.EnrichTransactions), typeof(Functions.LoadTransactions), typeof(Functions.IngestTrades), typeof(Functions.RefineDaily));

    [UnconditionalSuppressMessage("Trimming", "IL2070", Justification = "The function classes are referenced statically above.")]
    private static IReadOnlyList<FunctionDescriptor> Describe(params Type[] types)
    {
        var result = new List<FunctionDescriptor>();
        foreach (var type in types)
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly))
            {
                if (method.GetCustomAttribute<WorkerFunction>() is { } function)
                {
                    result.Add(Describe(type, method, function.Name));
                }
            }
        }

        return result;
    }

    private static FunctionDescriptor Describe(Type type, MethodInfo method, string name)
    {
        var parameters = method.GetParameters();
        TriggerBinding? binding = null;
        foreach (var parameter in parameters)
        {
            binding ??= parameter.GetCustomAttribute<ObjectCreatedTriggerAttribute>() is { } o ? new ObjectTriggerBinding(o.Zone, o.Prefix ?? string.Empty)
                : parameter.GetCustomAttribute<MessageQueueTriggerAttribute>() is { } q ? new QueueTriggerBinding(q.QueueName)
                : parameter.GetCustomAttribute<WorkerTimerTrigger>() is { } t ? new TimerTriggerBinding(t.Schedule, t.RunOnStartup)
                : null;
        }

        if (binding is null)
        {
            throw new FunctionDefinitionException($"Function '{name}' ({type.FullName}.{method.Name}) has no trigger this adapter knows.");
        }

        async Task<QueueBatchResult> HandleAsync(FunctionContext context, object trigger, CancellationToken cancellationToken)
        {
            var instance = ActivatorUtilities.CreateInstance(context.Services, type);
            var args = parameters.Select(p => Argument(p.ParameterType, trigger, cancellationToken)).ToArray();
            var task = (Task)method.Invoke(instance, args)!;
            await task;
            return task is Task<BatchResult> batch && batch.Result.Failures.Count > 0
                ? new QueueBatchResult(batch.Result.Failures.Select(f => new MessageFailure(f.MessageId, f.Reason) { ErrorType = f.ErrorType }).ToList())
                : QueueBatchResult.Success;
        }

        return new FunctionDescriptor(name, binding, HandleAsync)
        {
            FunctionType = type,
            Method = method,
            ReportsMessageFailures = method.ReturnType == typeof(Task<BatchResult>),
        };
    }

    private static object? Argument(Type type, object trigger, CancellationToken cancellationToken)
    {
        if (type == typeof(CancellationToken))
        {
            return cancellationToken;
        }

        if (type == typeof(WorkerTimerInfo) && trigger is TimerInfo timer)
        {
            // As the host sends it over the protocol: the occurrence is ScheduleStatus.Last.
            return new WorkerTimerInfo
            {
                IsPastDue = timer.IsPastDue,
                ScheduleStatus = new WorkerTimerStatus { Last = timer.ScheduledTime.UtcDateTime, Next = timer.Next?.UtcDateTime ?? default, LastUpdated = DateTime.UtcNow },
            };
        }

        if (type.IsInstanceOfType(trigger))
        {
            return trigger;
        }

        throw new InvalidOperationException($"Cannot pass {trigger.GetType().Name} as {type.Name}.");
    }
}
