using Pipeline.TestKit.Emulators;

[assembly: AssemblyFixture(typeof(MotoFixture))]
