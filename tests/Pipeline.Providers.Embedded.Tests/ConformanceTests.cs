using Pipeline.Conformance;
using Pipeline.Providers.Abstractions;

namespace Pipeline.Providers.Embedded.Tests;

public sealed class SqliteMessageQueueConformanceTests : MessageQueueConformance
{
    private readonly TempDataRoot root = new();

    protected override ValueTask<IMessageQueue> CreateQueueAsync() => ValueTask.FromResult<IMessageQueue>(new SqliteMessageQueue(root.Options()));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        root.Dispose();
    }
}

public sealed class FileSystemObjectStoreConformanceTests : ObjectStoreConformance
{
    private readonly TempDataRoot root = new();

    protected override ValueTask<IObjectStore> CreateStoreAsync() => ValueTask.FromResult<IObjectStore>(new FileSystemObjectStore(root.Options()));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        root.Dispose();
    }
}

public sealed class FileSystemObjectEventSourceConformanceTests : ObjectEventSourceConformance
{
    private readonly TempDataRoot root = new();

    protected override ValueTask<(IObjectStore Store, IObjectEventSource Events)> CreateProvidersAsync()
    {
        var store = new FileSystemObjectStore(root.Options());
        return ValueTask.FromResult<(IObjectStore, IObjectEventSource)>((store, new FileSystemObjectEventSource(store)));
    }

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        root.Dispose();
    }
}

public sealed class SqliteWarehouseConformanceTests : WarehouseConformance
{
    private readonly TempDataRoot root = new();

    protected override ValueTask<IWarehouse> CreateWarehouseAsync() => ValueTask.FromResult<IWarehouse>(new SqliteWarehouse(root.Options()));

    public override async ValueTask DisposeAsync()
    {
        await base.DisposeAsync();
        root.Dispose();
    }
}
