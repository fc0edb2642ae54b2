"""Bounded cursor and pipeline memory, through pymongo 3.11 against
`tether db --max-cursor-memory-mb 64`:
  - 200 plain finds over a 2 MB collection (batchSize 1, never drained)
    stream: all 200 are open and hold no documents, the server's RSS grows
    by less than a small slack (printed), and each drains in full, in
    insertion order, through getMore (filters and projections applied on
    getMore, inserts after the cursor's position seen);
  - 200 index-served finds (a secondary index, _id ranges; half of them
    sorted by an index walk) stream too:
    each holds its filter, its position and a window of at most 1,024
    record ids (~8 KB), so the RSS grows by less than the same slack;
  - 200 finds sorted on an unindexed field (their result set held) over the same collection: those
    that fit under the cap are served, the rest answer 146
    ExceededMemoryLimit; the RSS grows by less than the cap plus a fixed
    slack (printed), where unbounded it grew by 400+ MB; after killCursors
    the same finds are served again;
  - a 600 x 600 $lookup of 1 KB documents (360 MB of output) with no time
    budget answers 292 once its output passes 100 MB, and the server lives.
Every check runs; any failure fails."""
import os
import sys
import time

# ASan keeps freed memory in a quarantine (256 MB by default), which would
# hide the bound; a small one keeps RSS about what the server holds.
os.environ["ASAN_OPTIONS"] = (os.environ.get("ASAN_OPTIONS", "") +
                              ":quarantine_size_mb=8:malloc_context_size=2").lstrip(":")

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server  # noqa: E402

from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

check = Checks()
CAP_MB = 64
SLACK_MB = 96  # allocator and sanitizer overhead, one transient result set, SQLite's cache


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

    @check("200 streamed cursors over a 2 MB collection hold nothing")
    def _():
        list(coll.find({}, batch_size=1000))  # warm: SQLite's cache, the allocator
        before = rss_mb(srv.proc.pid)
        ids = []
        for _ in range(200):
            r = cli.t.command("find", "two", filter={}, batchSize=1)
            assert r["cursor"]["id"] != 0
            ids.append(r["cursor"]["id"])
        after = rss_mb(srv.proc.pid)
        print("     200 streamed cursors open; RSS %.0f -> %.0f MB (+%.0f MB)"
              % (before, after, after - before))
        assert after - before < 32, (before, after)
        r = cli.t.command("getMore", ids[0], collection="two", batchSize=50)
        assert [d["_id"] for d in r["cursor"]["nextBatch"]] == list(range(1, 51))
        cli.t.command("killCursors", "two", cursors=ids)
        # filters, projections, skip and limit through getMore; inserts ahead are seen
        got = [d["_id"] for d in coll.find({"_id": {"$mod": [3, 0]}, "pad": {"$exists": True}},
                                           {"pad": 0}, batch_size=7)]
        assert got == list(range(0, 200, 3)), got
        got = list(coll.find({"pad": {"$exists": True}}, {"_id": 1}, skip=5, limit=30,
                             batch_size=4))
        assert [d["_id"] for d in got] == list(range(5, 35)) and "pad" not in got[0], got[:2]
        cur = coll.find({}, batch_size=2)
        first = [next(cur)["_id"] for _ in range(3)]
        coll.insert_one({"_id": 1000, "pad": "late"})
        rest = [d["_id"] for d in cur]
        assert first + rest == list(range(200)) + [1000], (first, rest[-3:])
        coll.delete_one({"_id": 1000})

    @check("200 index-served and index-sorted cursors over a 2 MB collection stream: ~8 KB each")
    def _():
        coll.create_index("k")
        coll.update_many({}, {"$set": {"k": 1}})
        list(coll.find({"k": 1}, batch_size=1000))  # warm
        before = rss_mb(srv.proc.pid)
        ids = []
        for i in range(200):
            q = {"k": 1} if i % 2 else {"_id": {"$gte": 0}}  # a secondary index, _id
            sort = {"k": 1} if i % 4 == 1 else {"_id": 1} if i % 4 == 2 else None
            if sort:  # an index walk serves the sort
                r = cli.t.command("find", "two", filter=q, sort=sort, batchSize=1)
            else:
                r = cli.t.command("find", "two", filter=q, batchSize=1)
            assert r["cursor"]["id"] != 0
            ids.append(r["cursor"]["id"])
        after = rss_mb(srv.proc.pid)
        print("     200 index-served cursors open (100 sorted by an index walk); RSS %.0f -> %.0f MB (+%.0f MB)"
              % (before, after, after - before))
        assert after - before < 32, (before, after)
        r = cli.t.command("getMore", ids[1], collection="two", batchSize=50)
        assert [d["_id"] for d in r["cursor"]["nextBatch"]] == list(range(1, 51))
        r = cli.t.command("getMore", ids[0], collection="two", batchSize=50)
        assert [d["_id"] for d in r["cursor"]["nextBatch"]] == list(range(1, 51))
        cli.t.command("killCursors", "two", cursors=ids)
        coll.drop_index("k_1")

    @check("200 held cursors over a 2 MB collection: RSS bounded by the cap")
    def _():
        before = rss_mb(srv.proc.pid)
        ids, refused = [], 0
        for _ in range(200):
            try:
                r = cli.t.command("find", "two", filter={}, sort={"pad": 1}, batchSize=1)
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
        r = cli.t.command("find", "two", filter={}, sort={"pad": 1}, batchSize=1)
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

check.finish()
