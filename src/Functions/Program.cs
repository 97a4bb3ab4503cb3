// Entry point of the pipeline app; verbs are added as the host and pipeline land.
Console.Error.WriteLine("Pipeline.Functions: no verbs yet.");
return 2;
