"""Deploys deploy/template.yaml to moto's CloudFormation with boto3 and prints, as JSON, what moto
then shows: stack status and resources, buckets (versioning, encryption, public access block),
queues (attributes incl. redrive), roles and their inline policies, functions, event source
mappings, rules and alarms. Used by TemplateTests; usage: deploy_to_moto.py ENDPOINT TEMPLATE STACK [Key=Value ...]
"""
import ast, io, json, sys, zipfile
import boto3

endpoint, template_path, stack = sys.argv[1], sys.argv[2], sys.argv[3]
params = dict(p.split("=", 1) for p in sys.argv[4:])
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")
s3, sqs, cfn, iam, lam, cw, events = (boto3.client(n, **kw) for n in ("s3", "sqs", "cloudformation", "iam", "lambda", "cloudwatch", "events"))

# The template takes the code from S3 (cfn-lint rejects inline code for custom runtimes): upload a stand-in zip.
code_bucket = params.setdefault("CodeBucket", "pipeline-code")
code_key = params.setdefault("CodeKey", "pipeline-lambda.zip")
buf = io.BytesIO()
with zipfile.ZipFile(buf, "w") as z:
    info = zipfile.ZipInfo("bootstrap")
    info.external_attr = 0o755 << 16
    z.writestr(info, "#!/bin/sh\necho stand-in\n")
s3.create_bucket(Bucket=code_bucket)
s3.put_object(Bucket=code_bucket, Key=code_key, Body=buf.getvalue())

cfn.create_stack(
    StackName=stack,
    TemplateBody=open(template_path).read(),
    Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in params.items()],
    Capabilities=["CAPABILITY_NAMED_IAM"],
)
waiter = cfn.get_waiter("stack_create_complete")
waiter.wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
desc = cfn.describe_stacks(StackName=stack)["Stacks"][0]
resources = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]

out = {"status": desc["StackStatus"], "outputs": desc.get("Outputs", []),
       "resources": {r["LogicalResourceId"]: {"type": r["ResourceType"], "id": r.get("PhysicalResourceId"), "status": r["ResourceStatus"]} for r in resources},
       "buckets": {}, "queues": {}, "roles": {}, "functions": {}, "mappings": [], "rules": [], "alarms": []}

for b in s3.list_buckets()["Buckets"]:
    name = b["Name"]
    entry = {"versioning": s3.get_bucket_versioning(Bucket=name).get("Status")}
    try:
        entry["encryption"] = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]
    except Exception:
        entry["encryption"] = None
    try:
        entry["publicAccessBlock"] = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    except Exception:
        entry["publicAccessBlock"] = None
    out["buckets"][name] = entry

for url in sqs.list_queues().get("QueueUrls", []):
    attrs = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    out["queues"][url.rsplit("/", 1)[1]] = {"url": url, **attrs}

for role in iam.list_roles()["Roles"]:
    policies = {}
    for p in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=p)["PolicyDocument"]
        if isinstance(document, str):
            # moto keeps a CloudFormation-created inline policy as the Python repr of the dict.
            try:
                document = json.loads(document)
            except ValueError:
                document = ast.literal_eval(document)
        policies[p] = document
    attached = [a["PolicyArn"] for a in iam.list_attached_role_policies(RoleName=role["RoleName"])["AttachedPolicies"]]
    out["roles"][role["RoleName"]] = {"arn": role["Arn"], "policies": policies, "attached": attached}

for f in lam.list_functions()["Functions"]:
    out["functions"][f["FunctionName"]] = {k: f.get(k) for k in ("Runtime", "Handler", "Role", "Timeout", "MemorySize", "Architectures", "Environment")}

for m in lam.list_event_source_mappings()["EventSourceMappings"]:
    out["mappings"].append({k: m.get(k) for k in ("EventSourceArn", "FunctionArn", "BatchSize", "MaximumBatchingWindowInSeconds", "FunctionResponseTypes", "ScalingConfig", "State")})

for r in events.list_rules()["Rules"]:
    targets = events.list_targets_by_rule(Rule=r["Name"])["Targets"]
    out["rules"].append({"name": r["Name"], "schedule": r.get("ScheduleExpression"), "state": r.get("State"), "targets": [t["Arn"] for t in targets]})

for a in cw.describe_alarms()["MetricAlarms"]:
    out["alarms"].append({k: a.get(k) for k in ("AlarmName", "Namespace", "MetricName", "Dimensions", "Threshold", "ComparisonOperator")})

# moto's CloudFormation skips what it does not implement (alarms, queue policies, bucket versioning,
# public access blocks, notifications): those are checked on the template itself, as CloudFormation reads it.
from cfnlint.decode import cfn_yaml
out["template"] = cfn_yaml.load(template_path)["Resources"]

print(json.dumps(out, default=str))
