using Pipeline.TestKit.Emulators;

// One throwaway PostgreSQL cluster per test run of this assembly.
[assembly: AssemblyFixture(typeof(PostgresFixture))]
