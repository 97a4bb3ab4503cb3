#!/usr/bin/env bash
# Publishes the Lambda bootstrap (custom runtime provided.al2023, x86_64) and zips it:
#   artifacts/lambda/pipeline-lambda.zip   ('bootstrap' at the zip root; upload this)
#   artifacts/lambda/publish/              (the unzipped bundle; the tests run it from here)
# ReadyToRun, self-contained, linux-x64: see the note in src/Lambda for why not Native AOT.
# Usage: deploy/package.sh            (needs only the .NET SDK and 'zip')
set -euo pipefail
cd "$(dirname "$0")/.."
out=artifacts/lambda
rm -rf "$out/publish" "$out/pipeline-lambda.zip"
mkdir -p "$out"

# --artifacts-path keeps this RID-specific build out of the projects' own bin/obj, so a publish
# never disturbs a concurrent 'dotnet build' or 'dotnet test' of the solution.
dotnet publish src/Lambda/Pipeline.Lambda.csproj \
  --configuration Release \
  --runtime linux-x64 \
  --self-contained true \
  --artifacts-path "$out/build" \
  --output "$out/publish" \
  -p:PublishReadyToRun=true \
  -p:DebugType=none \
  -p:GenerateDocumentationFile=false \
  -nologo -v:q

# Lambda runs the file named 'bootstrap'; the apphost finds Pipeline.Lambda.dll by its own name, so renaming is safe.
mv "$out/publish/Pipeline.Lambda" "$out/publish/bootstrap"
chmod 755 "$out/publish/bootstrap"
(cd "$out/publish" && zip -q -r -X -9 ../pipeline-lambda.zip .)
echo "$out/pipeline-lambda.zip: $(du -h "$out/pipeline-lambda.zip" | cut -f1) zipped, $(du -sh "$out/publish" | cut -f1) unpacked"
