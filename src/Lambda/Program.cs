using Pipeline.Lambda;
using Pipeline.Lambda.RuntimeApi;

// The custom runtime's 'bootstrap' (provided.al2023): one executable serving every function of the
// app; _HANDLER (the function's Handler setting) names the function this environment runs.
var runtimeApi = Environment.GetEnvironmentVariable(RuntimeApiClient.RuntimeApiVariable);
if (string.IsNullOrWhiteSpace(runtimeApi))
{
    await Console.Error.WriteLineAsync(
        $"{RuntimeApiClient.RuntimeApiVariable} is not set: this bootstrap runs inside AWS Lambda (provided.al2023) or under a Runtime API emulator. "
        + "To run the functions locally, use the host (dotnet run --project src/Cli -- start).");
    return 2;
}

using var client = new RuntimeApiClient(runtimeApi);
return await LambdaEntryPoint.RunAsync(client);
