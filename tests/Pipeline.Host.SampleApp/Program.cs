using Pipeline.Host;

return await FunctionsHost.RunStartCommandAsync(args, new FunctionsHostOptions
{
    Args = args,
    ContentRoot = AppContext.BaseDirectory,
    FunctionAssemblies = [typeof(Pipeline.Host.SampleApp.SampleFunctions).Assembly],
});
