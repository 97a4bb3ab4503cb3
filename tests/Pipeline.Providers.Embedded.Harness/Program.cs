using Pipeline.Providers.Embedded.Harness;

return args.FirstOrDefault() switch
{
    "consume" => await CrashConsumer.RunAsync(args[1..]),
    "bench" => await ProviderBench.RunAsync(args[1..]),
    _ => Usage(),
};

static int Usage()
{
    Console.Error.WriteLine("usage: Pipeline.Providers.Embedded.Harness consume <dataRoot> <queue> <ackLogPath> [stallAtBatch] [visibilitySeconds]");
    Console.Error.WriteLine("       Pipeline.Providers.Embedded.Harness bench [dataRoot] [messages] [rows] [objectMiB]");
    return 2;
}
