"""Bounded cursor and pipeline memory, through pymongo 3.11 against
`tether db --max-cursor-memory-mb 64`:
  - 200 cursors opened over a 2 MB collection (batchSize 1, never drained):
    those that fit under the cap are served, the rest answer 146
    ExceededMemoryLimit; the server's RSS grows by less than the cap plus a
    fixed slack (printed), where unbounded it grew by 400+ MB; after
    killCursors the same finds are served again;
  - a 600 x 600 $lookup of 1 KB documents (360 MB of output) with no time
    budget answers 292 once its output passes 100 MB, and the server lives.
Every check runs; any failure fails."""
import os
import sys
import time
import traceback

# ASan keeps freed memory in a quarantine (256 MB by default), which would
# hide the bound; a small one keeps RSS about what the server holds.
os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                              ":quarantine_size_mb=8:malloc_context_size=2").lstrip(":")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Server  # noqa: E402

from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

failures = []
CAP_MB = 64
SLACK_MB = 96  # allocator and sanitizer overhead, one transient result set, SQLite's cache


def check(name):
    def wrap(fn):
        try:
            fn()
            print("ok   %s" % name, flush=True)
        except Exception:
            failures.append(name)
            print("FAIL %s:\n%s" % (name, traceback.format_exc()), flush=True)
        return fn
    return wrap


def rss_mb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024.0
    raise AssertionError("no VmRSS")


srv = Server("--max-cursor-memory-mb", str(CAP_MB), "--max-time-ms", "0")
try:
    cli = MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=10000)
    coll = cli.t.two
    coll.insert_many([{"_id": i, "pad": "z" * 10000} for i in range(200)])  # 2 MB

    @check("200 cursors over a 2 MB collection: RSS bounded by the cap")
    def _():
        list(coll.find({}, batch_size=1000))  # warm: SQLite's cache, the allocator
        before = rss_mb(srv.proc.pid)
        ids, refused = [], 0
        for _ in range(200):
            try:
                r = cli.t.command("find", "two", filter={}, batchSize=1)
                ids.append(r["cursor"]["id"])
            except OperationFailure as e:
                assert e.code == 146, e
                refused += 1
        after = rss_mb(srv.proc.pid)
        st = cli.admin.command("serverStatus")
        print("     %d cursors open, %d refused (146); RSS %.0f -> %.0f MB (+%.0f MB; cap %d MB)"
              % (len(ids), refused, before, after, after - before, CAP_MB))
        assert st["metrics"]["cursor"]["open"]["total"] == len(ids)
        assert 20 <= len(ids) < 200 and refused > 0, (len(ids), refused)
        assert after - before < CAP_MB + SLACK_MB, (before, after)
        for i in range(0, len(ids), 50):
            cli.t.command("killCursors", "two", cursors=ids[i:i + 50])
        r = cli.t.command("find", "two", filter={}, batchSize=1)
        assert r["cursor"]["id"] != 0
        cli.t.command("killCursors", "two", cursors=[r["cursor"]["id"]])

    @check("a 600 x 600 $lookup: 292 past 100 MB of output")
    def _():
        cli.t.left.insert_many([{"_id": i, "k": 1} for i in range(600)])
        cli.t.right.insert_many([{"_id": i, "k": 1, "pad": "y" * 1000} for i in range(600)])
        t0 = time.monotonic()
        try:
            list(cli.t.left.aggregate([
                {"$lookup": {"from": "right", "localField": "k", "foreignField": "k", "as": "r"}},
                {"$count": "n"}]))
            raise AssertionError("answered")
        except OperationFailure as e:
            assert e.code == 292 and "$lookup" in str(e), str(e)
        print("     $lookup refused after %.2f s; RSS now %.0f MB"
              % (time.monotonic() - t0, rss_mb(srv.proc.pid)))
        got = list(cli.t.left.aggregate([
            {"$match": {"_id": {"$lt": 3}}},
            {"$lookup": {"from": "right", "localField": "k", "foreignField": "k", "as": "r"}},
            {"$project": {"n": {"$size": "$r"}}}]))
        assert [d["n"] for d in got] == [600, 600, 600], got

    assert srv.alive(), "server died"
finally:
    srv.stop()

if failures:
    print("FAILED: %s" % ", ".join(failures))
    sys.exit(1)
print("all ok")
