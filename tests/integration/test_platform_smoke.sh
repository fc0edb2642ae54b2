#!/usr/bin/env bash
# Smoke test of `tether up`: a provided.al2023 function whose bootstrap is a
# shell script speaking the Runtime API with curl. Invokes it with curl, checks
# the response and its headers, the status document, that the idle instance is
# frozen (state T in /proc, or its control group's freeze), a function error, an unknown function, and that
# stopping tether up leaves no process behind.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
T=$TETHER_TEST_TMP
mkdir -p "$T/fn"
cat > "$T/fn/bootstrap" <<'BOOT'
#!/bin/sh
# Echoes each event back; an event containing "fail" is reported as an error.
api="http://$AWS_LAMBDA_RUNTIME_API/2018-06-01/runtime/invocation"
echo "init: handler $_HANDLER in $LAMBDA_TASK_ROOT"
while true; do
  hdrs=$(mktemp) ; body=$(mktemp)
  curl -sS -D "$hdrs" -o "$body" "$api/next" || exit 1
  id=$(grep -i '^Lambda-Runtime-Aws-Request-Id:' "$hdrs" | cut -d' ' -f2 | tr -d '\r')
  echo "handling $id"
  if grep -q fail "$body"; then
    curl -sS -o /dev/null -H 'Lambda-Runtime-Function-Error-Type: Handler.Failed' \
      --data '{"errorMessage":"asked to fail","errorType":"Handler.Failed"}' "$api/$id/error"
  else
    curl -sS -o /dev/null --data-binary "@$body" "$api/$id/response"
  fi
  rm -f "$hdrs" "$body"
done
BOOT
chmod +x "$T/fn/bootstrap"
cat > "$T/template.yaml" <<'YAML'
AWSTemplateFormatVersion: '2010-09-09'
Transform: AWS::Serverless-2016-10-31
Resources:
  Echo:
    Type: AWS::Serverless::Function
    Properties:
      FunctionName: shecho
      Runtime: provided.al2023
      CodeUri: fn/
      Handler: echo.handler
      Timeout: 5
YAML
"$TETHER_BIN" up --port 0 --no-db --template "$T/template.yaml" 2>"$T/up.log" &
up=$!
trap 'kill -9 $up 2>/dev/null || true' EXIT
port_of() { sed -n 's/.*platform listening on 127\.0\.0\.1:\([0-9][0-9]*\).*/\1/p' "$T/up.log" | head -1; }
have_port() { [ -n "$(port_of)" ]; }
wait_for 15 have_port || { cat "$T/up.log"; fail "no listening line"; }
port=$(port_of)
base="http://127.0.0.1:$port/2015-03-31/functions"

# RequestResponse: 200, the echoed body, AWS's headers, the log tail.
curl -sS -D "$T/h1" -o "$T/b1" -H 'X-Amz-Log-Type: Tail' --data '{"hello":"world"}' \
  "$base/shecho/invocations"
grep -q '^HTTP/1.1 200' "$T/h1" || { cat "$T/h1" "$T/up.log"; fail "invoke status"; }
[ "$(cat "$T/b1")" = '{"hello":"world"}' ] || fail "echo body: $(cat "$T/b1")"
grep -qi '^X-Amz-Executed-Version: \$LATEST' "$T/h1" || fail "no X-Amz-Executed-Version"
grep -qi '^X-Amzn-RequestId: ' "$T/h1" || fail "no X-Amzn-RequestId"
tail=$(grep -i '^X-Amz-Log-Result:' "$T/h1" | cut -d' ' -f2 | tr -d '\r' | base64 -d)
echo "$tail" | grep -q '^START RequestId: .* Version: \$LATEST' || fail "tail has no START: $tail"
echo "$tail" | grep -q '^handling ' || fail "tail lacks the function's output: $tail"
echo "$tail" | grep -q 'REPORT RequestId: .*Billed Duration: .*Max Memory Used: .*Init Duration' ||
  fail "tail has no REPORT with Init Duration: $tail"

# Status: one instance, frozen; its process group stopped in /proc. The
# runtime is frozen only 2 ms (the freeze grace) after it is back in /next,
# which it may reach after the invoker has its answer: wait for that, then
# check the whole document.
frozen() { curl -sS "http://127.0.0.1:$port/_tether/status" | grep -q '"state":"frozen"'; }
wait_for 10 frozen || fail "the instance never parked: $(curl -sS "http://127.0.0.1:$port/_tether/status")"
st=$(curl -sS "http://127.0.0.1:$port/_tether/status")
python3 - "$st" <<'PY' || fail "status: $st"
import json, sys
s = json.loads(sys.argv[1])
f = [f for f in s["functions"] if f["name"] == "shecho"][0]
assert f["runtime"] == "provided.al2023" and f["timeout"] == 5 and f["concurrency"] == 10, f
live = [i for i in f["instances"] if i["state"] != "dead"]
assert len(live) == 1 and live[0]["state"] == "frozen" and live[0]["invocations"] == 1, live
PY
pid=$(python3 -c 'import json,sys; print([i for i in json.loads(sys.argv[1])["functions"][0]["instances"] if i["state"]!="dead"][0]["pid"])' "$st")
pstate() { awk '{print $3}' "/proc/$1/stat" 2>/dev/null; }
# with signals: state T; in a control group (cgroup v1: D, v2: S), the
# group's freeze, which test_platform_contain.js checks in the group itself
if echo "$st" | grep -q '"containment":"signals","mongodbUri"'; then stopped=T; else stopped='[DS]'; fi
wait_for 5 sh -c "awk '{print \$3}' /proc/$pid/stat | grep -qx '$stopped'" || fail "instance $pid not stopped: $(pstate "$pid")"

# Warm reuse: the same process answers the next invocation, then is frozen again.
curl -sS -o "$T/b2" --data '[1,2,3]' "$base/shecho/invocations"
[ "$(cat "$T/b2")" = '[1,2,3]' ] || fail "second echo: $(cat "$T/b2")"
reused() { curl -sS "http://127.0.0.1:$port/_tether/status" | grep -q "\"pid\":$pid,\"state\":\"frozen\",\"invocations\":2"; }
wait_for 5 reused || fail "not reused: $(curl -sS "http://127.0.0.1:$port/_tether/status")"

# A function error is 200 with X-Amz-Function-Error and the runtime's document.
curl -sS -D "$T/h3" -o "$T/b3" --data '"please fail"' "$base/shecho/invocations"
grep -q '^HTTP/1.1 200' "$T/h3" || fail "error status"
grep -qi '^X-Amz-Function-Error: Unhandled' "$T/h3" || fail "no X-Amz-Function-Error"
grep -q '"errorType":"Handler.Failed"' "$T/b3" || fail "error body: $(cat "$T/b3")"

# Event: 202 at once; DryRun: 204; unknown function: 404 ResourceNotFoundException.
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Amz-Invocation-Type: Event' --data '{}' "$base/shecho/invocations")
[ "$code" = 202 ] || fail "Event answered $code"
code=$(curl -sS -o /dev/null -w '%{http_code}' -H 'X-Amz-Invocation-Type: DryRun' --data '{}' "$base/shecho/invocations")
[ "$code" = 204 ] || fail "DryRun answered $code"
curl -sS -D "$T/h4" -o "$T/b4" --data '{}' "$base/nosuch/invocations"
grep -q '^HTTP/1.1 404' "$T/h4" || fail "unknown function status"
grep -qi '^X-Amzn-ErrorType: ResourceNotFoundException' "$T/h4" || fail "404 error type"
grep -q '"message":"Function not found: arn:aws:lambda:us-east-1:123456789012:function:nosuch"' "$T/b4" ||
  fail "404 body: $(cat "$T/b4")"

# Stopping tether up stops the (frozen) instance too: no orphan.
kill -TERM $up
wait_for 10 sh -c "! kill -0 $up" || fail "tether up did not exit"
wait $up || fail "tether up exited with $?: $(tail -5 "$T/up.log")"
wait_for 5 sh -c "[ ! -e /proc/$pid ] || [ \"\$(awk '{print \$3}' /proc/$pid/stat)\" = Z ]" ||
  fail "instance $pid survived tether up"
echo "ok"
