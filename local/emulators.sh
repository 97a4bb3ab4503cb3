#!/usr/bin/env bash
# Emulated AWS on loopback: moto (S3 + SQS + Redshift Data wire protocol) and a throwaway PostgreSQL 15.
#   local/emulators.sh start    start both, create buckets/queues/notification, print the settings
#   local/emulators.sh stop     stop both, delete the state
#   local/emulators.sh status   show what runs
#   local/emulators.sh env      print the settings again
# State lives in local/.state/ (gitignored). Ports: MOTO_PORT (default 4566), PG_PORT (default 54329).
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
state="$here/.state"
moto_port="${MOTO_PORT:-4566}"
pg_port="${PG_PORT:-54329}"
pg_bin="${PIPELINE_PG_BIN:-/usr/lib/postgresql/15/bin}"
prefix="${PIPELINE_PREFIX:-pipeline}"
region="${AWS_DEFAULT_REGION:-us-east-1}"
endpoint="http://127.0.0.1:$moto_port"

# moto's documented dummy credentials; never real ones.
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION="$region" AWS_PAGER=""

raw="$prefix-raw"; prepare="$prefix-prepare"; refine="$prefix-refine"; quarantine="$prefix-quarantine"; reference="$prefix-reference"
raw_events="$prefix-raw-events"; enriched="${PIPELINE_ENRICHED_QUEUE:-transactions-enriched.fifo}"

awsl() { aws --endpoint-url "$endpoint" --region "$region" "$@"; }

as_pg() {
  if [ "$(id -u)" = "0" ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start_moto() {
  if [ -f "$state/moto.pid" ] && kill -0 "$(cat "$state/moto.pid")" 2>/dev/null; then
    echo "moto already running (pid $(cat "$state/moto.pid"))"; return
  fi
  local cmd
  if command -v moto_server >/dev/null; then cmd=(moto_server); else cmd=(python3 -m moto.server); fi
  nohup "${cmd[@]}" -H 127.0.0.1 -p "$moto_port" >"$state/moto.log" 2>&1 &
  echo $! >"$state/moto.pid"
  for _ in $(seq 1 100); do
    curl -fsS "$endpoint/moto-api/data.json" >/dev/null 2>&1 && { echo "moto on $endpoint"; return; }
    sleep 0.2
  done
  echo "moto did not start; see $state/moto.log" >&2; exit 1
}

start_postgres() {
  [ -x "$pg_bin/initdb" ] || { echo "PostgreSQL not found in $pg_bin (apt-get install postgresql-15, or set PIPELINE_PG_BIN)" >&2; exit 1; }
  local data="$state/pg/data" sock="$state/pg/sock"
  if [ ! -d "$data" ]; then
    mkdir -p "$sock"
    [ "$(id -u)" = "0" ] && chown -R postgres:postgres "$state/pg"
    as_pg "$pg_bin/initdb" -D "$data" -U postgres --auth=trust -E UTF8 --locale=C >"$state/initdb.log"
  fi
  if as_pg "$pg_bin/pg_ctl" status -D "$data" >/dev/null 2>&1; then echo "PostgreSQL already running"; return; fi
  as_pg "$pg_bin/pg_ctl" start -w -D "$data" -l "$state/pg/server.log" \
    -o "-p $pg_port -c listen_addresses=127.0.0.1 -c fsync=off -k $sock" >/dev/null
  echo "PostgreSQL on 127.0.0.1:$pg_port"
}

create_resources() {
  for b in "$raw" "$prepare" "$refine" "$quarantine" "$reference"; do
    awsl s3api create-bucket --bucket "$b" >/dev/null 2>&1 || true
  done
  local dlq_url dlq_arn q_url q_arn
  dlq_url=$(awsl sqs create-queue --queue-name "$raw_events-dlq" --query QueueUrl --output text)
  dlq_arn=$(awsl sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
  q_url=$(awsl sqs create-queue --queue-name "$raw_events" --attributes "{\"VisibilityTimeout\":\"60\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}" --query QueueUrl --output text)
  q_arn=$(awsl sqs get-queue-attributes --queue-url "$q_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)

  local fdlq_url fdlq_arn
  fdlq_url=$(awsl sqs create-queue --queue-name "${enriched%.fifo}-dlq.fifo" --attributes FifoQueue=true --query QueueUrl --output text)
  fdlq_arn=$(awsl sqs get-queue-attributes --queue-url "$fdlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
  awsl sqs create-queue --queue-name "$enriched" --attributes "{\"FifoQueue\":\"true\",\"VisibilityTimeout\":\"60\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$fdlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}" >/dev/null

  # S3 cannot notify a FIFO queue: the raw bucket notifies the standard queue.
  awsl s3api put-bucket-notification-configuration --bucket "$raw" --notification-configuration \
    "{\"QueueConfigurations\":[{\"Id\":\"raw-created\",\"QueueArn\":\"$q_arn\",\"Events\":[\"s3:ObjectCreated:*\"]}]}"
  # The enrich function reads its reference documents from the reference zone.
  awsl s3 cp "$here/reference/" "s3://$reference/" --recursive --only-show-errors
  echo "buckets: $raw $prepare $refine $quarantine $reference (reference data uploaded)"
  echo "queues:  $raw_events (+ -dlq)  $enriched (+ ${enriched%.fifo}-dlq.fifo)"
}

print_env() {
  cat <<ENV

# Emulated-AWS settings (environment variables win over local.settings.json Values):
export Provider=Aws
export Warehouse=Postgres
export Aws__Region=$region
export Aws__ServiceUrl=$endpoint
export Aws__ForcePathStyle=true
export Aws__AccessKeyId=testing
export Aws__SecretAccessKey=testing
export Aws__SqsDeduplicationAfterDelete=false
export Aws__Buckets__raw=$raw
export Aws__Buckets__prepare=$prepare
export Aws__Buckets__refine=$refine
export Aws__Buckets__quarantine=$quarantine
export Aws__Buckets__reference=$reference
export Aws__EventQueues__raw=$raw_events
export Queues__Enriched=$enriched
export Postgres__ConnectionString="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_DEFAULT_REGION=$region

# Try it:  aws --endpoint-url $endpoint s3 cp local/samples/trades-2026-11-20.json s3://$raw/transactions/
ENV
}

case "${1:-}" in
  start)
    mkdir -p "$state"
    start_moto
    start_postgres
    create_resources
    print_env | tee "$state/env.sh"
    ;;
  stop)
    if [ -f "$state/moto.pid" ]; then kill "$(cat "$state/moto.pid")" 2>/dev/null || true; rm -f "$state/moto.pid"; echo "moto stopped"; fi
    if [ -d "$state/pg/data" ]; then as_pg "$pg_bin/pg_ctl" stop -m fast -D "$state/pg/data" >/dev/null 2>&1 || true; echo "PostgreSQL stopped"; fi
    rm -rf "$state"
    ;;
  status)
    if [ -f "$state/moto.pid" ] && kill -0 "$(cat "$state/moto.pid")" 2>/dev/null; then echo "moto: running on $endpoint"; else echo "moto: stopped"; fi
    if [ -d "$state/pg/data" ] && as_pg "$pg_bin/pg_ctl" status -D "$state/pg/data" >/dev/null 2>&1; then echo "PostgreSQL: running on 127.0.0.1:$pg_port"; else echo "PostgreSQL: stopped"; fi
    ;;
  env)
    print_env
    ;;
  *)
    echo "usage: $0 start|stop|status|env" >&2; exit 2
    ;;
esac
