using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;

namespace Pipeline.Host.Internal;

/// <summary>Replaces '%Name%' in trigger arguments with configuration values, as Azure Functions does.</summary>
internal static partial class SettingResolver
{
    [GeneratedRegex("%([^%]+)%")]
    private static partial Regex SettingPattern();

    /// <exception cref="HostConfigurationException">When a referenced setting is missing or empty; the message names it.</exception>
    public static string Resolve(IConfiguration configuration, string value, string functionName, string field) =>
        SettingPattern().Replace(value, match =>
        {
            var name = match.Groups[1].Value;
            var resolved = configuration[name];
            if (string.IsNullOrEmpty(resolved))
            {
                throw new HostConfigurationException(
                    $"Function '{functionName}': setting '{name}' (used as '%{name}%' in the trigger's {field}) is not set. "
                    + $"Add it to local.settings.json Values or set the environment variable {name.Replace(":", "__", StringComparison.Ordinal)}.");
            }

            return resolved;
        });
}
