using Pipeline.Conformance;
using Pipeline.Providers.Abstractions;
using Pipeline.TestKit.Emulators;

namespace Pipeline.Providers.Postgres.Tests;

/// <summary>The shared warehouse suite on the assembly's PostgreSQL, one schema per test.</summary>
public sealed class PostgresWarehouseConformanceTests(PostgresFixture postgres) : WarehouseConformance
{
    protected override ValueTask<IWarehouse> CreateWarehouseAsync()
    {
        postgres.RequireAvailable();
        var schema = "c_" + Guid.NewGuid().ToString("N")[..12];
        return ValueTask.FromResult<IWarehouse>(new PostgresWarehouse(new PostgresWarehouseOptions { ConnectionString = postgres.ConnectionString, Schema = schema }));
    }
}
