// Lambda custom-runtime bootstrap; the Runtime API client lands with the Lambda adapter issue.
Console.Error.WriteLine("Pipeline.Lambda: not implemented yet.");
return 2;
