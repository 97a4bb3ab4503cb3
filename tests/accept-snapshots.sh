#!/usr/bin/env bash
# Accepts snapshot changes: renames every *.received.json under tests/ to *.verified.json.
# Review first: `git diff` after running this shows exactly what changed.
set -euo pipefail
cd "$(dirname "$0")"
count=0
while IFS= read -r -d '' received; do
  mv -f "$received" "${received%.received.json}.verified.json"
  echo "accepted ${received#./}"
  count=$((count + 1))
done < <(find . -name '*.received.json' -not -path '*/bin/*' -not -path '*/obj/*' -print0)
echo "$count snapshot(s) accepted"
