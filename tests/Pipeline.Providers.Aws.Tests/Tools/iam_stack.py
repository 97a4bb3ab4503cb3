"""IAM set-up for IamLeastPrivilegeTests, on a moto whose IAM enforcement is not yet switched on.

  iam_stack.py deploy ENDPOINT TEMPLATE STACK OUT.json [Key=Value ...]
      Deploys deploy/template.yaml with moto's CloudFormation (which resolves !Sub / !GetAtt / !Ref into the
      stack's real bucket, queue and log group ARNs) and writes, as JSON: each function's handler -> role name,
      each role's inline policy documents as deployed, and each resource's physical id.
  iam_stack.py users ENDPOINT SPEC.json OUT.json
      SPEC maps user name -> list of policy documents; creates each user with those inline policies and an
      access key, and writes user name -> {"id", "secret"}.
"""
import ast, io, json, sys, zipfile
import boto3

command, endpoint = sys.argv[1], sys.argv[2]
kw = dict(endpoint_url=endpoint, region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing")


def policy_document(document):
    # moto keeps a CloudFormation-created inline policy as the Python repr of the dict.
    if isinstance(document, str):
        try:
            return json.loads(document)
        except ValueError:
            return ast.literal_eval(document)
    return document


if command == "deploy":
    template_path, stack, out_path = sys.argv[3], sys.argv[4], sys.argv[5]
    params = dict(p.split("=", 1) for p in sys.argv[6:])
    s3, cfn, iam, lam = (boto3.client(n, **kw) for n in ("s3", "cloudformation", "iam", "lambda"))
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
    cfn.get_waiter("stack_create_complete").wait(StackName=stack, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    resources = cfn.list_stack_resources(StackName=stack)["StackResourceSummaries"]
    out = {"resources": {r["LogicalResourceId"]: r.get("PhysicalResourceId") for r in resources}, "functions": {}, "roles": {}}
    for f in lam.list_functions()["Functions"]:
        if f["FunctionName"].startswith(params["NamePrefix"] + "-"):
            out["functions"][f["Handler"]] = f["Role"].rsplit("/", 1)[1]
    for role in set(out["functions"].values()):
        names = iam.list_role_policies(RoleName=role)["PolicyNames"]
        out["roles"][role] = [policy_document(iam.get_role_policy(RoleName=role, PolicyName=n)["PolicyDocument"]) for n in names]
        if iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]:
            raise SystemExit(f"role {role} has attached (managed) policies: the test reads inline policies only")
    json.dump(out, open(out_path, "w"))
elif command == "users":
    spec, out_path = json.load(open(sys.argv[3])), sys.argv[4]
    iam = boto3.client("iam", **kw)
    out = {}
    for user, documents in spec.items():
        iam.create_user(UserName=user)
        for i, document in enumerate(documents):
            iam.put_user_policy(UserName=user, PolicyName=f"p{i}", PolicyDocument=json.dumps(document))
        key = iam.create_access_key(UserName=user)["AccessKey"]
        out[user] = {"id": key["AccessKeyId"], "secret": key["SecretAccessKey"]}
    json.dump(out, open(out_path, "w"))
else:
    raise SystemExit("usage: iam_stack.py deploy|users ...")
