using Pipeline.TestKit.Emulators;

// One moto and one PostgreSQL per test run of this assembly (CI has 2 cores).
[assembly: AssemblyFixture(typeof(MotoFixture))]
[assembly: AssemblyFixture(typeof(PostgresFixture))]
