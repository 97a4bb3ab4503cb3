using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.Hosting;
using Pipeline.Functions;
using Pipeline.Host;
using Pipeline.Host.Telemetry;

// The pipeline's worker: started by the host (src/Host) with the documented --functions-* arguments; its configuration is
// the environment the host gives it (local.settings.json Values and the host's explicit settings).
// For `bench`: the worker's allocations, collections and peak memory, written as it exits (only when asked).
WorkerStats.WriteOnExit();

var builder = FunctionsApplication.CreateBuilder(args);

// Lowest precedence: code defaults (the daily ingestion and refine schedules) that any source may override.
PipelineServices.AddConfigurationDefaults(builder.Configuration.Sources);

// The providers the Provider setting selects, registered by their AddXxx exactly as the host registers its own.
builder.Services.AddPipelineProviders(builder.Configuration);
builder.Services.AddPipelineTelemetry(TelemetrySettings.From(builder.Configuration), "pipeline-worker");
PipelineServices.Add(builder.Services, builder.Configuration);

builder.Build().Run();
