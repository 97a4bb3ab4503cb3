using System.Diagnostics.CodeAnalysis;
using System.Reflection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Host.Internal;

/// <summary>Turns <c>[Function]</c> methods into descriptors, validating the Azure-style rules.</summary>
internal static class FunctionDiscovery
{
    private const BindingFlags AllMethods = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly;

    public static IEnumerable<FunctionDescriptor> FromType(
        [DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicMethods | DynamicallyAccessedMemberTypes.NonPublicMethods | DynamicallyAccessedMemberTypes.PublicConstructors)]
        Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var result = new List<FunctionDescriptor>();
        foreach (var method in type.GetMethods(AllMethods).OrderBy(m => m.MetadataToken))
        {
            var attribute = method.GetCustomAttribute<FunctionAttribute>();
            if (attribute is not null)
            {
                result.Add(Describe(type, method, attribute));
            }
        }

        return result;
    }

    private static FunctionDescriptor Describe([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type type, MethodInfo method, FunctionAttribute attribute)
    {
        var where = $"{type.FullName}.{method.Name}";
        void Fail(string problem) => throw new FunctionDefinitionException($"Function '{attribute.Name}' ({where}): {problem}");

        if (string.IsNullOrWhiteSpace(attribute.Name))
        {
            Fail("[Function] needs a non-empty name.");
        }

        if (!method.IsPublic || !(type.IsPublic || type.IsNestedPublic))
        {
            Fail("the method and its class must be public.");
        }

        if (method.IsGenericMethodDefinition || type.ContainsGenericParameters)
        {
            Fail("generic methods and open generic classes cannot be functions.");
        }

        if (!method.IsStatic && type.IsAbstract)
        {
            Fail("an instance method of an abstract class cannot be a function; make the class concrete or the method static.");
        }

        var parameters = method.GetParameters();
        var triggers = parameters
            .Select(p => (Parameter: p, Trigger: TriggerOf(p)))
            .Where(x => x.Trigger is not null)
            .ToList();
        if (triggers.Count == 0)
        {
            Fail("no trigger parameter; mark exactly one parameter with [ObjectTrigger], [QueueTrigger] or [TimerTrigger].");
        }

        if (triggers.Count > 1)
        {
            Fail($"{triggers.Count} trigger parameters ({string.Join(", ", triggers.Select(t => t.Parameter.Name))}); a function has exactly one.");
        }

        var (triggerParameter, trigger) = triggers[0];
        var expected = trigger!.Kind switch
        {
            TriggerKind.Object => typeof(ObjectCreatedEvent),
            TriggerKind.Queue => typeof(IReadOnlyList<ReceivedMessage>),
            _ => typeof(TimerInfo),
        };
        if (triggerParameter.ParameterType != expected)
        {
            Fail($"trigger parameter '{triggerParameter.Name}' is {Pretty(triggerParameter.ParameterType)}; a {trigger.Kind.ToString().ToLowerInvariant()} trigger parameter must be {Pretty(expected)}.");
        }

        var binders = new Func<FunctionContext, object, CancellationToken, object?>[parameters.Length];
        for (var i = 0; i < parameters.Length; i++)
        {
            var p = parameters[i];
            if (p == triggerParameter)
            {
                binders[i] = static (_, value, _) => value;
            }
            else if (p.ParameterType == typeof(CancellationToken))
            {
                binders[i] = static (_, _, ct) => ct;
            }
            else if (p.ParameterType == typeof(FunctionContext))
            {
                binders[i] = static (context, _, _) => context;
            }
            else if (p.ParameterType == typeof(ILogger))
            {
                binders[i] = static (context, _, _) => context.Logger;
            }
            else
            {
                Fail($"parameter '{p.Name}' ({Pretty(p.ParameterType)}) cannot be bound; besides the trigger a function takes only CancellationToken, FunctionContext or ILogger. Inject other dependencies through the constructor.");
            }
        }

        var returnType = method.ReturnType;
        var reportsFailures = returnType == typeof(Task<QueueBatchResult>) || returnType == typeof(ValueTask<QueueBatchResult>);
        if (reportsFailures && trigger.Kind != TriggerKind.Queue)
        {
            Fail($"returns {Pretty(returnType)}, which only queue-triggered functions may; return Task.");
        }

        if (!reportsFailures && returnType != typeof(Task) && returnType != typeof(ValueTask))
        {
            Fail(trigger.Kind == TriggerKind.Queue
                ? $"returns {Pretty(returnType)}; a queue function returns Task (all-or-nothing) or Task<QueueBatchResult> (per message)."
                : $"returns {Pretty(returnType)}; a function returns Task.");
        }

        var functionType = method.IsStatic ? null : type;
        return new FunctionDescriptor(attribute.Name, trigger, Handler(functionType, method, binders))
        {
            FunctionType = functionType,
            Method = method,
            ReportsMessageFailures = reportsFailures,
        };
    }

    private static FunctionHandler Handler([DynamicallyAccessedMembers(DynamicallyAccessedMemberTypes.PublicConstructors)] Type? functionType, MethodInfo method, Func<FunctionContext, object, CancellationToken, object?>[] binders) =>
        async (context, trigger, cancellationToken) =>
        {
            var instance = functionType is null ? null : ActivatorUtilities.GetServiceOrCreateInstance(context.Services, functionType);
            var args = new object?[binders.Length];
            for (var i = 0; i < binders.Length; i++)
            {
                args[i] = binders[i](context, trigger, cancellationToken);
            }

            var returned = method.Invoke(instance, BindingFlags.DoNotWrapExceptions, binder: null, args, culture: null);
            switch (returned)
            {
                case Task<QueueBatchResult> batch:
                    return await batch ?? QueueBatchResult.Success;
                case ValueTask<QueueBatchResult> batch:
                    return await batch ?? QueueBatchResult.Success;
                case Task task:
                    await task;
                    return QueueBatchResult.Success;
                case ValueTask task:
                    await task;
                    return QueueBatchResult.Success;
                default:
                    throw new InvalidOperationException($"Function method {method.Name} returned no task.");
            }
        };

    private static TriggerBinding? TriggerOf(ParameterInfo parameter)
    {
        TriggerBinding? found = null;
        var count = 0;
        if (parameter.GetCustomAttribute<ObjectTriggerAttribute>() is { } o)
        {
            found = new ObjectTriggerBinding(o.Zone, o.Prefix ?? string.Empty);
            count++;
        }

        if (parameter.GetCustomAttribute<QueueTriggerAttribute>() is { } q)
        {
            found = new QueueTriggerBinding(q.QueueName);
            count++;
        }

        if (parameter.GetCustomAttribute<TimerTriggerAttribute>() is { } t)
        {
            found = new TimerTriggerBinding(t.Schedule, t.RunOnStartup);
            count++;
        }

        if (count > 1)
        {
            throw new FunctionDefinitionException(
                $"Parameter '{parameter.Name}' of {parameter.Member.DeclaringType?.FullName}.{parameter.Member.Name} has {count} trigger attributes; use exactly one.");
        }

        return found;
    }

    internal static string Pretty(Type type) =>
        type.IsGenericType
            ? $"{type.Name[..type.Name.IndexOf('`', StringComparison.Ordinal)]}<{string.Join(", ", type.GetGenericArguments().Select(Pretty))}>"
            : type.Name;
}
