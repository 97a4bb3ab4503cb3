using Pipeline.Lambda.Tests.Emulator;
using Pipeline.TestKit.Emulators;

[assembly: AssemblyFixture(typeof(BootstrapFixture))]
[assembly: AssemblyFixture(typeof(MotoFixture))]
[assembly: AssemblyFixture(typeof(PostgresFixture))]
