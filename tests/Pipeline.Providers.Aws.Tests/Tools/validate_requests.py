"""Validates recorded AWS JSON request bodies against the official botocore service models.

Input (stdin): JSON lines {"service": "sqs", "operation": "SendMessageBatch", "body": {...}}.
Exit 0 when every body matches its operation's input shape; 1 with the errors otherwise.
"""
import json
import sys

import botocore.session
from botocore.exceptions import ParamValidationError
from botocore.validate import validate_parameters

session = botocore.session.get_session()
models = {}
errors = []
count = 0
for line in sys.stdin:
    if not line.strip():
        continue
    record = json.loads(line)
    service = record["service"]
    if service not in models:
        models[service] = session.get_service_model(service)
    operation = models[service].operation_model(record["operation"])
    count += 1
    try:
        validate_parameters(record["body"], operation.input_shape)
    except ParamValidationError as e:
        errors.append(f"{service}.{record['operation']}: {e}\n  body: {json.dumps(record['body'])[:500]}")

if errors:
    print("\n".join(errors))
    sys.exit(1)
print(f"{count} request bodies valid")
