"""The Lambda read API through boto3 (Debian python3-boto3): the list_functions
paginator across pages, get_function / get_function_configuration /
get_function_concurrency by name, ARN and partial ARN, ResourceNotFoundException
for unknown names, the waiters deploy scripts use; and an
InvokeWithResponseStream answer read incrementally and decoded by botocore's
own event stream parser (Debian's botocore 1.29 predates the operation), CRCs
checked, with a function that sends its second chunk only once the first has
been read here."""
import http.client
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from lambda_api_lib import ACCOUNT_ARN, TMP, Platform, names  # noqa: E402

import boto3  # noqa: E402
from botocore.eventstream import EventStreamBuffer  # noqa: E402

p = Platform()
c = boto3.client("lambda", endpoint_url=p.endpoint, region_name="us-east-1",
                 aws_access_key_id="AKIDTETHERTEST", aws_secret_access_key="not-a-secret")
want = names()

# the paginator, with pages of 7 and of AWS's 50
for size in (7, 50):
    pages = list(c.get_paginator("list_functions").paginate(PaginationConfig={"PageSize": size}))
    got = [f["FunctionName"] for page in pages for f in page["Functions"]]
    assert got == want, (size, got)
    assert len(pages) == -(-len(want) // size), (size, len(pages))
# MaxItems over the 50 cap still pages by 50
first = c.list_functions(MaxItems=1000)
assert len(first["Functions"]) == 50 and first["NextMarker"], first.get("NextMarker")
print("list_functions: %d functions, paginated" % len(want))

for name in ("reserved", ACCOUNT_ARN + "reserved", "123456789012:function:reserved"):
    r = c.get_function(FunctionName=name)
    cfg = r["Configuration"]
    assert cfg["FunctionName"] == "reserved" and cfg["FunctionArn"] == ACCOUNT_ARN + "reserved", cfg
    assert r["Code"]["RepositoryType"] == "Local" and r["Code"]["Location"].startswith("file:///")
    assert r["Concurrency"] == {"ReservedConcurrentExecutions": 3}, r.get("Concurrency")
cfg = c.get_function_configuration(FunctionName="reserved", Qualifier="$LATEST")
assert cfg["State"] == "Active" and cfg["LastUpdateStatus"] == "Successful", cfg
assert cfg["Environment"] == {"Variables": {"STAGE": "prod", "COLOR": "blue"}}, cfg["Environment"]
assert cfg["MemorySize"] == 512 and cfg["Timeout"] == 10 and cfg["Version"] == "$LATEST"
assert cfg["PackageType"] == "Zip" and cfg["Runtime"] == "provided.al2023"
assert c.get_function_concurrency(FunctionName="reserved")["ReservedConcurrentExecutions"] == 3
assert "ReservedConcurrentExecutions" not in c.get_function_concurrency(FunctionName="echo")
assert "Concurrency" not in c.get_function(FunctionName="echo")
print("get_function, get_function_configuration, get_function_concurrency: ok")

for name in ("nope", ACCOUNT_ARN + "nope", "echo:prod"):
    try:
        c.get_function(FunctionName=name)
    except c.exceptions.ResourceNotFoundException as e:
        msg = e.response["Error"]["Message"]
        full = ACCOUNT_ARN + (name.rsplit(":", 1)[-1] if name.startswith("arn:") else name)
        assert msg == "Function not found: " + full, msg
    else:
        raise AssertionError("no ResourceNotFoundException for %s" % name)
print("unknown names: ResourceNotFoundException")

quick = {"Delay": 1, "MaxAttempts": 3}
for w in ("function_active", "function_active_v2", "function_updated", "function_updated_v2",
          "function_exists"):
    c.get_waiter(w).wait(FunctionName="echo", WaiterConfig=quick)
print("waiters: pass")

# InvokeWithResponseStream, read as it arrives
gate = os.path.join(TMP, "py-gate")
conn = http.client.HTTPConnection("127.0.0.1", p.port, timeout=30)
conn.request("POST", "/2021-11-15/functions/gate/response-streaming-invocations",
             body=json.dumps({"gate": gate, "end": "ok"}),
             headers={"X-Amz-Log-Type": "Tail", "Content-Type": "application/json"})
resp = conn.getresponse()
assert resp.status == 200, resp.status
assert resp.getheader("Content-Type") == "application/vnd.amazon.eventstream"
assert resp.getheader("X-Amz-Executed-Version") == "$LATEST"
events = []
buf = EventStreamBuffer()
while not events or events[-1][0] != "InvokeComplete":
    data = resp.read1(65536)
    assert data, "the stream ended before InvokeComplete: %r" % events
    buf.add_data(data)
    for msg in buf:  # CRCs are checked here
        h = msg.headers
        assert h[":message-type"] == "event", h
        events.append((h[":event-type"], msg.payload))
        if len(events) == 1:
            assert events[0] == ("PayloadChunk", b"first\n"), events
            open(gate, "w").close()
conn.close()
assert [e for e in events[:-1]] == [("PayloadChunk", b"first\n"), ("PayloadChunk", b"second\n")], \
    events
done = json.loads(events[-1][1])
assert "ErrorCode" not in done and "START RequestId" in \
    __import__("base64").b64decode(done["LogResult"]).decode(), done
print("InvokeWithResponseStream: %d events, decoded by botocore" % len(events))
p.stop()
print("ok")
