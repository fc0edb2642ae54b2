#!/usr/bin/env bash
# The docstore judged by libmongoc 1.23: runs tests/clients/docstore_libmongoc.c
# once with a single-threaded mongoc_client_t and once with a
# mongoc_client_pool_t (8 threads), against one `tether db --port 0`.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

client=$TETHER_BUILD/tests/clients/docstore_libmongoc
[ -x "$client" ] || fail "$client not built"
tmp=${TETHER_TEST_TMP:?}
mkdir -p "$tmp/db"
log=$tmp/docstore.log
"$TETHER_BIN" db --port 0 --dir "$tmp/db" >"$log" 2>&1 &
srv=$!
stop() { kill -TERM "$srv" 2>/dev/null; wait "$srv" 2>/dev/null; }
trap stop EXIT
listening() { grep -Eo 'docstore listening on 127\.0\.0\.1:[0-9]+' "$log"; }
wait_for 20 listening || { cat "$log"; fail "docstore did not report listening"; }
port=$(listening | head -1 | sed 's/.*://')
uri="mongodb://127.0.0.1:$port/?serverSelectionTimeoutMS=5000&directConnection=true"

failures=0
for mode in single pool; do
    echo "== libmongoc $mode"
    timeout 120 "$client" "$uri" "$mode" || failures=$((failures + 1))
done
if ! kill -0 "$srv" 2>/dev/null; then echo "FAIL server died during the suite"; failures=$((failures + 1)); fi
stop
trap - EXIT
if grep -Eq 'ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:' "$log"; then
    echo "FAIL sanitizer report in the server log:"; tail -60 "$log"; failures=$((failures + 1))
fi
[ "$failures" -eq 0 ] || fail "libmongoc suite: $failures failure(s)"
echo "libmongoc suite passed"
