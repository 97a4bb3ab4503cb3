#!/usr/bin/env bash
# Publishes the Lambda package (custom runtime provided.al2023, x86_64) and zips it:
#   artifacts/lambda/pipeline-lambda.zip   ('bootstrap' at the zip root; upload this)
#   artifacts/lambda/publish/              (the unzipped bundle; the tests run it from here)
# The bundle: 'bootstrap' = the host (src/Lambda) compiled Native AOT, and worker/ = the pipeline's isolated-worker
# app (src/Functions) published self-contained ReadyToRun, which the bootstrap starts as a child process.
# Both are built with the Aws providers only (-p:PipelineEmbedded=false: no SQLite); the bootstrap, which does no I/O of
# its own, without PostgreSQL too (-p:PipelinePostgres=false).
# Usage: deploy/package.sh            (needs the .NET SDK, clang (or gcc) and zlib1g-dev for Native AOT, and 'zip')
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/lambda
rm -rf "$out/publish" "$out/pipeline-lambda.zip"
mkdir -p "$out"

# --artifacts-path keeps these RID-specific builds out of the projects' own bin/obj, so a publish never disturbs a
# concurrent 'dotnet build' or 'dotnet test' of the solution; the two publishes get their own, as their global
# properties differ.
common=(--configuration Release --runtime linux-x64 -p:DebugType=none -p:GenerateDocumentationFile=false -p:PipelineEmbedded=false -nologo -v:q)

# The worker first: the bootstrap's AOT compile is the long step and the worker's restore must not race it.
dotnet publish src/Functions/Pipeline.Functions.csproj "${common[@]}" \
  --self-contained true \
  --artifacts-path "$out/build-worker" \
  --output "$out/publish/worker" \
  -p:PublishReadyToRun=true

dotnet publish src/Lambda/Pipeline.Lambda.csproj "${common[@]}" \
  --self-contained true \
  --artifacts-path "$out/build" \
  --output "$out/publish" \
  -p:PipelinePostgres=false \
  -p:StripSymbols=true

# Lambda runs the file named 'bootstrap'. The referenced host project's own apphost is copied beside it; the bootstrap
# is that host, so it goes.
mv "$out/publish/Pipeline.Lambda" "$out/publish/bootstrap"
chmod 755 "$out/publish/bootstrap"
rm -f "$out/publish/Pipeline.Host" "$out/publish/Pipeline.Host.runtimeconfig.json"
# The worker's configuration comes from the function's environment; host.json is read from the worker's folder.
rm -f "$out/publish/worker/local.settings.json"

# What Lambda runs and nothing else: no SQLite (native or managed), no sample server or benchmarks.
if find "$out/publish" \( -iname '*sqlite*' -o -iname '*Benchmark*' -o -iname 'Pipeline.Cli*' \) | grep -q .; then
  echo "package.sh: the bundle carries what Lambda does not run:" >&2
  find "$out/publish" \( -iname '*sqlite*' -o -iname '*Benchmark*' -o -iname 'Pipeline.Cli*' \) >&2
  exit 1
fi

(cd "$out/publish" && zip -q -r -X -9 ../pipeline-lambda.zip .)
echo "$out/pipeline-lambda.zip: $(du -h "$out/pipeline-lambda.zip" | cut -f1) zipped, $(du -sh "$out/publish" | cut -f1) unpacked" \
  "(bootstrap $(du -h "$out/publish/bootstrap" | cut -f1), worker/ $(du -sh "$out/publish/worker" | cut -f1))"
