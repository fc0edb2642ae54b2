"""Time budgets, through a real client (pymongo 3.11) against `tether db`:
maxTimeMS is honoured by find, count, distinct, aggregate, update, delete
and findAndModify, with MongoDB's answer (50 MaxTimeMSExpired "operation
exceeded time limit"); catastrophic work (a backtracking $regex over many
documents, an $in of thousands of regexes, a 600 x 600 $lookup) answers
within the budget plus a generous margin; commands without maxTimeMS get
the server's --max-time-ms; a write cut short changes nothing; a streamed
cursor's getMores get what the find's maxTimeMS left; maxTimeMS is
validated as mongod does; a bystander's ping stays responsive during the
attack (its worst latency is printed). Every check runs; any failure fails."""
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, bystander_ping  # noqa: E402

from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

check = Checks()
SLOW = "(a+)+$"      # hits the PCRE2 match limit on "aaaa...!" (a few ms per document)
BUDGET_MS = 300      # the server's --max-time-ms
MARGIN = 5.0         # seconds: generous (ASan, a loaded machine); unbounded these take 10+ s


def expect_50(fn, budget_ms=BUDGET_MS):
    t0 = time.monotonic()
    try:
        got = fn()
    except OperationFailure as e:
        took = time.monotonic() - t0
        if e.code != 50:
            raise AssertionError("code %r: %s" % (e.code, e))
        if "operation exceeded time limit" not in str(e):
            raise AssertionError("message: %s" % e)
        det = e.details or {}
        if det.get("codeName", "MaxTimeMSExpired") != "MaxTimeMSExpired":
            raise AssertionError("codeName: %r" % det)
        if took > budget_ms / 1000.0 + MARGIN:
            raise AssertionError("took %.1f s" % took)
        return took
    raise AssertionError("no error; answered %r" % (got,))


srv = Server("--max-time-ms", str(BUDGET_MS))
try:
    cli = MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=10000)
    coll = cli.t.slow
    coll.insert_many([{"_id": i, "s": "a" * 30 + "!", "k": 1, "pad": "x" * 1000}
                      for i in range(3000)])

    @check("find with maxTimeMS and a backtracking $regex: 50, within the budget")
    def _():
        took = expect_50(lambda: list(coll.find({"s": {"$regex": SLOW}}).max_time_ms(100)), 100)
        print("     find maxTimeMS=100: %.3f s" % took)

    @check("without maxTimeMS the server's --max-time-ms applies")
    def _():
        took = expect_50(lambda: list(coll.find({"s": {"$regex": SLOW}})))
        print("     find, default budget %d ms: %.3f s" % (BUDGET_MS, took))

    @check("sorted find, count, distinct, aggregate: 50")
    def _():
        expect_50(lambda: list(coll.find({"s": {"$regex": SLOW}}).sort("s", 1)))
        expect_50(lambda: coll.count_documents({"s": {"$regex": SLOW}}, maxTimeMS=200), 200)
        expect_50(lambda: coll.distinct("k", {"s": {"$regex": SLOW}}))
        expect_50(lambda: list(coll.aggregate([{"$match": {"s": {"$regex": SLOW}}}],
                                              maxTimeMS=200)), 200)
        expect_50(lambda: list(coll.aggregate([
            {"$match": {"s": {"$regex": SLOW}}}, {"$group": {"_id": "$k"}}])))

    @check("an $in of 15,000 regexes: 50")
    def _():
        regs = [re.compile("^zz%dq" % i) for i in range(15000)]
        took = expect_50(lambda: list(coll.find({"s": {"$in": regs}})))
        print("     $in of 15,000 regexes: %.3f s" % took)

    @check("a 600 x 600 $lookup: 50")
    def _():
        cli.t.left.insert_many([{"_id": i, "k": 1} for i in range(600)])
        cli.t.right.insert_many([{"_id": i, "k": 1, "pad": "y" * 1000} for i in range(600)])
        took = expect_50(lambda: list(cli.t.left.aggregate([
            {"$lookup": {"from": "right", "localField": "k", "foreignField": "k", "as": "r"}},
            {"$count": "n"}])))
        print("     600 x 600 $lookup: %.3f s" % took)

    @check("update, delete and findAndModify cut short: 50, nothing written")
    def _():
        for fn in (lambda: coll.update_many({"s": {"$regex": SLOW}}, {"$set": {"u": 1}}),
                   lambda: coll.delete_many({"s": {"$regex": SLOW}}),
                   lambda: coll.find_one_and_update({"s": {"$regex": SLOW}},
                                                    {"$set": {"u": 1}}, sort=[("pad", 1)])):
            expect_50(fn)
        assert coll.count_documents({}) == 3000
        assert coll.count_documents({"u": 1}) == 0

    @check("work inside the budget answers in full")
    def _():
        got = list(coll.find({"s": {"$regex": "^a+!$"}}, {"_id": 1}).max_time_ms(60000))
        assert len(got) == 3000, len(got)
        assert coll.count_documents({"_id": {"$lt": 10}}) == 10
        assert cli.t.left.count_documents({}, maxTimeMS=60000) == 600

    @check("maxTimeMS is validated as mongod does")
    def _():
        for bad, msg in (("x", "maxTimeMS must be a number"), (-1, "maxTimeMS out of range"),
                         (1.5, "maxTimeMS has non-integral value"),
                         (2 ** 40, "maxTimeMS out of range")):
            try:
                cli.t.command("find", "slow", filter={"_id": 1}, maxTimeMS=bad)
                raise AssertionError("accepted %r" % (bad,))
            except OperationFailure as e:
                assert e.code == 2 and msg in str(e), (bad, e.code, str(e))
        r = cli.t.command("find", "slow", filter={"_id": 1}, maxTimeMS=0)
        assert r["cursor"]["firstBatch"][0]["_id"] == 1, r

    @check("getMore with maxTimeMS: 2, as for mongod's non-awaitData cursors")
    def _():
        r = cli.t.command("find", "slow", filter={}, batchSize=2)
        cid = r["cursor"]["id"]
        assert cid != 0
        try:
            cli.t.command("getMore", cid, collection="slow", maxTimeMS=10)
            raise AssertionError("accepted")
        except OperationFailure as e:
            assert e.code == 2 and "non-awaitData" in str(e), str(e)
        cli.t.command("killCursors", "slow", cursors=[cid])

    @check("a streamed cursor's getMores get what the find's maxTimeMS left")
    def _():
        far = cli.t.far
        far.insert_many([{"_id": 0, "k": 1}, {"_id": 1, "k": 1}])
        far.insert_many([{"_id": i, "k": 0} for i in range(2, 150002)])
        far.insert_one({"_id": -1, "k": 1})
        # the next batch after _id 1 scans 150,000 documents to find the last one
        r = cli.t.command("find", "far", filter={"k": 1}, batchSize=1, maxTimeMS=60000)
        g = cli.t.command("getMore", r["cursor"]["id"], collection="far", batchSize=1)
        assert [d["_id"] for d in g["cursor"]["nextBatch"]] == [1]
        g = cli.t.command("getMore", r["cursor"]["id"], collection="far", batchSize=1)
        assert [d["_id"] for d in g["cursor"]["nextBatch"]] == [-1], g
        r = cli.t.command("find", "far", filter={"k": 1}, batchSize=1, maxTimeMS=5)
        cid = r["cursor"]["id"]
        try:
            cli.t.command("getMore", cid, collection="far", batchSize=1)
            raise AssertionError("the leftover of 5 ms covered a 150,000-document scan")
        except OperationFailure as e:
            assert e.code == 50, e
        try:
            cli.t.command("getMore", cid, collection="far", batchSize=1)
            raise AssertionError("the cursor outlived its failed getMore")
        except OperationFailure as e:
            assert e.code == 43, e

    @check("a bystander's ping stays responsive during the attack")
    def _():
        worst, attacks, errors = bystander_ping(
            srv.port, lambda a: list(a.t.slow.find({"s": {"$regex": SLOW}})), 50, 30, pause=0.02)
        print("     bystander ping worst latency: %.1f ms over %d attacks (budget %d ms)"
              % (worst * 1000, attacks, BUDGET_MS))
        assert not errors, errors[:3]
        assert worst < BUDGET_MS / 1000.0 + MARGIN, worst

    assert srv.alive(), "server died"
finally:
    srv.stop()

check.finish()
