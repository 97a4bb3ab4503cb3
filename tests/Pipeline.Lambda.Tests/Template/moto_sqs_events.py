"""moto helper for the Lambda end-to-end tests (boto3); prints JSON on stdout.

  setup ENDPOINT PREFIX REPO_ROOT SAMPLE
      buckets PREFIX-{raw,prepare,quarantine,reference}, queues PREFIX-raw-events (standard) and
      PREFIX-enriched.fifo (+ dead-letter queues), raw -> raw-events notification (prefix transactions/),
      local/reference/* uploaded, SAMPLE put at transactions/SAMPLE; then receives what S3 put on the
      raw-events queue and prints it as the event Lambda's SQS event source mapping would pass.
  fifo-event ENDPOINT QUEUE POISON_BODY
      sends POISON_BODY to the FIFO queue (its own group), receives up to 10 messages and prints
      them as a Lambda SQS event (with the FIFO attributes), plus the poison message's id.
"""
import hashlib, json, os, sys, time
import boto3

REGION = "us-east-1"


def clients(endpoint):
    kw = dict(endpoint_url=endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
    return boto3.client("s3", **kw), boto3.client("sqs", **kw)


def lambda_event(messages, queue_arn):
    """The Records Lambda builds from ReceiveMessage results (camel-cased message attributes)."""
    records = []
    for m in messages:
        attrs = {k: v for k, v in m.get("Attributes", {}).items()}
        records.append({
            "messageId": m["MessageId"],
            "receiptHandle": m["ReceiptHandle"],
            "body": m["Body"],
            "attributes": attrs,
            "messageAttributes": {k: {"stringValue": v.get("StringValue"), "stringListValues": [], "binaryListValues": [], "dataType": v["DataType"]}
                                  for k, v in m.get("MessageAttributes", {}).items()},
            "md5OfBody": hashlib.md5(m["Body"].encode()).hexdigest(),
            "eventSource": "aws:sqs",
            "eventSourceARN": queue_arn,
            "awsRegion": REGION,
        })
    return {"Records": records}


def receive_all(sqs, url, want, wait=10):
    got, deadline = [], time.time() + wait
    while len(got) < want and time.time() < deadline:
        r = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1, AttributeNames=["All"], MessageAttributeNames=["All"])
        got.extend(r.get("Messages", []))
    return got


def setup(endpoint, prefix, root, sample):
    s3, sqs = clients(endpoint)
    for zone in ("raw", "prepare", "quarantine", "reference"):
        s3.create_bucket(Bucket=f"{prefix}-{zone}")
    dlq = sqs.create_queue(QueueName=f"{prefix}-raw-events-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    raw_events = sqs.create_queue(QueueName=f"{prefix}-raw-events", Attributes={"RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "5"})})["QueueUrl"]
    raw_arn = sqs.get_queue_attributes(QueueUrl=raw_events, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    fdlq = sqs.create_queue(QueueName=f"{prefix}-enriched-dlq.fifo", Attributes={"FifoQueue": "true"})["QueueUrl"]
    fdlq_arn = sqs.get_queue_attributes(QueueUrl=fdlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sqs.create_queue(QueueName=f"{prefix}-enriched.fifo", Attributes={
        "FifoQueue": "true", "ContentBasedDeduplication": "false",
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": fdlq_arn, "maxReceiveCount": "5"})})
    s3.put_bucket_notification_configuration(Bucket=f"{prefix}-raw", NotificationConfiguration={"QueueConfigurations": [{
        "QueueArn": raw_arn, "Events": ["s3:ObjectCreated:*"],
        "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "transactions/"}]}}}]})
    ref = os.path.join(root, "local", "reference")
    for name in sorted(os.listdir(ref)):
        s3.upload_file(os.path.join(ref, name), f"{prefix}-reference", name)
    s3.upload_file(sample, f"{prefix}-raw", "transactions/" + os.path.basename(sample))
    messages = receive_all(sqs, raw_events, 1)
    print(json.dumps(lambda_event(messages, raw_arn)))


def fifo_event(endpoint, queue, poison):
    _, sqs = clients(endpoint)
    url = sqs.get_queue_url(QueueName=queue)["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sent = sqs.send_message(QueueUrl=url, MessageBody=poison, MessageGroupId="poison-group", MessageDeduplicationId="poison-1")
    messages = receive_all(sqs, url, 10, wait=5)
    print(json.dumps({"event": lambda_event(messages, arn), "poisonMessageId": sent["MessageId"]}))


if __name__ == "__main__":
    if sys.argv[1] == "setup":
        setup(*sys.argv[2:6])
    elif sys.argv[1] == "fifo-event":
        fifo_event(*sys.argv[2:5])
    else:
        sys.exit("usage: see the module docstring")
