using Pipeline.Lambda.Tests.Emulator;

[assembly: AssemblyFixture(typeof(BootstrapFixture))]
[assembly: AssemblyFixture(typeof(MotoServerFixture))]
