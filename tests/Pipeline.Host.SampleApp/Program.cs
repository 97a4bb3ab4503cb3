using Pipeline.Host;
using Pipeline.Host.SampleApp;

if (args.Length > 0 && args[0] == "bench")
{
    return await HostBenchmark.RunAsync(args.Skip(1).ToArray());
}

return await FunctionsHost.RunStartCommandAsync(args, new FunctionsHostOptions
{
    Args = args,
    ContentRoot = AppContext.BaseDirectory,
    FunctionAssemblies = [typeof(SampleFunctions).Assembly],
});
