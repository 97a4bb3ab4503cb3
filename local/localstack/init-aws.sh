#!/usr/bin/env bash
# LocalStack ready hook: same resources as local/emulators.sh, created with awslocal.
set -euo pipefail
prefix="${PIPELINE_PREFIX:-pipeline}"
raw="$prefix-raw"; raw_events="$prefix-raw-events"; enriched="transactions-enriched.fifo"

for b in "$raw" "$prefix-prepare" "$prefix-refine" "$prefix-quarantine" "$prefix-reference"; do
  awslocal s3api create-bucket --bucket "$b" >/dev/null
done

dlq_url=$(awslocal sqs create-queue --queue-name "$raw_events-dlq" --query QueueUrl --output text)
dlq_arn=$(awslocal sqs get-queue-attributes --queue-url "$dlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
q_url=$(awslocal sqs create-queue --queue-name "$raw_events" --attributes "{\"VisibilityTimeout\":\"60\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$dlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}" --query QueueUrl --output text)
q_arn=$(awslocal sqs get-queue-attributes --queue-url "$q_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)

fdlq_url=$(awslocal sqs create-queue --queue-name "${enriched%.fifo}-dlq.fifo" --attributes FifoQueue=true --query QueueUrl --output text)
fdlq_arn=$(awslocal sqs get-queue-attributes --queue-url "$fdlq_url" --attribute-names QueueArn --query Attributes.QueueArn --output text)
awslocal sqs create-queue --queue-name "$enriched" --attributes "{\"FifoQueue\":\"true\",\"VisibilityTimeout\":\"60\",\"RedrivePolicy\":\"{\\\"deadLetterTargetArn\\\":\\\"$fdlq_arn\\\",\\\"maxReceiveCount\\\":\\\"5\\\"}\"}" >/dev/null

awslocal s3api put-bucket-notification-configuration --bucket "$raw" --notification-configuration \
  "{\"QueueConfigurations\":[{\"Id\":\"raw-created\",\"QueueArn\":\"$q_arn\",\"Events\":[\"s3:ObjectCreated:*\"]}]}"
awslocal s3 cp /pipeline/reference/ "s3://$prefix-reference/" --recursive --only-show-errors
echo "pipeline resources created"
