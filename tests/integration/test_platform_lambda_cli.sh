#!/usr/bin/env bash
# The AWS CLI (Debian awscli, v2) against tether up, as a developer types it
# with dummy credentials: list-functions (all pages, --max-items with
# --starting-token, --page-size), get-function by name, ARN and partial ARN,
# get-function-configuration and get-function-concurrency, an unknown name
# (ResourceNotFoundException, exit status 254), the waiters, and invoke.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
T=$TETHER_TEST_TMP
AWS=${TETHER_AWS_CLI:-/usr/bin/aws}
[ -x "$AWS" ] || fail "$AWS is missing: scripts/deps.sh test installs Debian's awscli"
node -e "require('$(dirname "$0")/lambda_api_lib.js').writeTemplate('$T/cli')"
"$TETHER_BIN" up --port 0 --no-db --template "$T/cli/template.yaml" > "$T/up.log" 2>&1 &
up=$!
trap 'kill $up 2>/dev/null; wait $up 2>/dev/null || true' EXIT
wait_for 30 grep -q "platform listening on" "$T/up.log" || fail "tether up did not start: $(cat "$T/up.log")"
port=$(grep -o "platform listening on [0-9.]*:[0-9]*" "$T/up.log" | sed 's/.*://')
export AWS_ACCESS_KEY_ID=AKIDTETHERTEST AWS_SECRET_ACCESS_KEY=not-a-secret AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE=$T/no-config AWS_SHARED_CREDENTIALS_FILE=$T/no-credentials AWS_PAGER=""
lambda() { "$AWS" lambda --endpoint-url "http://127.0.0.1:$port" --output json "$@"; }
jq_py() { /usr/bin/python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
want=$(node -e "console.log(require('$(dirname "$0")/lambda_api_lib.js').NAMES.join(' '))")

got=$(lambda list-functions | jq_py "' '.join(f['FunctionName'] for f in d['Functions'])")
[ "$got" = "$want" ] || fail "list-functions: $got"
got=$(lambda list-functions --page-size 7 | jq_py "' '.join(f['FunctionName'] for f in d['Functions'])")
[ "$got" = "$want" ] || fail "list-functions --page-size 7: $got"
page=$(lambda list-functions --max-items 5)
n=$(echo "$page" | jq_py "len(d['Functions'])")
token=$(echo "$page" | jq_py "d['NextToken']")
[ "$n" = 5 ] || fail "--max-items 5 gave $n"
rest=$(lambda list-functions --starting-token "$token" | jq_py "len(d['Functions'])")
[ $((n + rest)) = "$(echo "$want" | wc -w)" ] || fail "--starting-token: $n + $rest"
echo "list-functions: every function, paged"

for name in reserved arn:aws:lambda:us-east-1:123456789012:function:reserved \
            123456789012:function:reserved; do
  got=$(lambda get-function --function-name "$name" |
    jq_py "d['Configuration']['FunctionName'], d['Code']['RepositoryType'], d['Concurrency']['ReservedConcurrentExecutions']")
  [ "$got" = "reserved Local 3" ] || fail "get-function $name: $got"
done
state=$(lambda get-function-configuration --function-name echo --query '[State,LastUpdateStatus,Version]' --output text)
[ "$state" = "$(printf 'Active\tSuccessful\t$LATEST')" ] || fail "get-function-configuration: $state"
conc=$(lambda get-function-concurrency --function-name reserved --query ReservedConcurrentExecutions --output text)
[ "$conc" = 3 ] || fail "get-function-concurrency: $conc"
echo "get-function, get-function-configuration, get-function-concurrency: ok"

set +e
err=$(lambda get-function --function-name nope 2>&1 >/dev/null)
rc=$?
set -e
[ $rc = 254 ] || fail "unknown function: exit status $rc ($err)"
echo "$err" | grep -q "ResourceNotFoundException" || fail "unknown function: $err"
echo "$err" | grep -q "Function not found: arn:aws:lambda:us-east-1:123456789012:function:nope" ||
  fail "unknown function's message: $err"
echo "unknown function: $err"

for w in function-active function-active-v2 function-updated function-updated-v2 function-exists; do
  lambda wait "$w" --function-name echo || fail "aws lambda wait $w"
done
echo "waiters: pass"

lambda invoke --function-name echo --cli-binary-format raw-in-base64-out \
  --payload '{"from":"cli"}' "$T/out.json" > "$T/invoke.json"
[ "$(cat "$T/out.json")" = '{"from":"cli"}' ] || fail "invoke: $(cat "$T/out.json")"
echo ok
