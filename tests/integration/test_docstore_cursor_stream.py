"""Streamed cursors over index-served finds, through pymongo 3.11:
  - finds an index serves (equality, $in and ranges on a secondary index's
    leading field, unique and multikey indexes, _id lookups and ranges, a
    $or over two access paths), with skip/limit and projections, read in
    batches of 2..7 return exactly what one batch returns, in the same order
    (insertion order; _id order for an _id-only access path), each document
    once (a multikey document under several matching keys too);
  - under inserts, deletes and updates of other documents between getMores,
    a cursor never returns a document twice, never one whose deletion was
    acknowledged before the getMore, and returns every matching document
    nobody touched (MongoDB's guarantees without snapshot reads; deletions
    are made when the driver holds no document of the last batch);
  - finds sorted by an index walk (ascending, descending, compound, a
    leading field fixed by the filter, _id) in batches of 2..7 equal the
    in-memory sort of an unindexed copy, ties in insertion order, and stay
    in order under concurrent deletes and inserts;
  - a collection dropped, dropped and recreated, or renamed under an open
    cursor, or the index it reads dropped, fails the next getMore with 175
    QueryPlanKilled, as mongod's does, and the cursor is gone.
Every check runs; any failure fails."""
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server  # noqa: E402

from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

check = Checks()


N = 300
rng = random.Random(9)
order = list(range(N))
rng.shuffle(order)  # insertion order differs from _id order


def make_doc(i):
    return {"_id": i, "a": i % 7, "u": 1000 - i, "m": [i % 5, (i + 1) % 5, 10 + i % 3],
            "s": "x%03d" % i}


def matches(doc, q):
    """The filters below, evaluated in Python."""
    for k, v in q.items():
        if k == "$or":
            if not any(matches(doc, b) for b in v):
                return False
            continue
        val = doc[k]
        vals = val if isinstance(val, list) else [val]
        if isinstance(v, dict):
            def ok(x):
                return all({"$gte": lambda: x >= c, "$gt": lambda: x > c, "$lt": lambda: x < c,
                            "$lte": lambda: x <= c, "$in": lambda: x in c}[op]()
                           for op, c in v.items())
            if isinstance(val, list) and "$in" not in v and len(v) > 1:
                # a multikey range: each bound may be met by a different element
                if not all(any({"$gte": x >= c, "$gt": x > c, "$lt": x < c, "$lte": x <= c}[op]
                                for x in vals) for op, c in v.items()):
                    return False
            elif not any(ok(x) for x in vals):
                return False
        elif v not in vals:
            return False
    return True


QUERIES = [
    {"a": 3},
    {"a": {"$gte": 2, "$lt": 5}},
    {"a": {"$in": [1, 4, 6]}},
    {"u": {"$gt": 850}},
    {"u": {"$in": [1000, 990, 800, 701]}},
    {"m": 2},
    {"m": {"$gte": 3}},
    {"m": {"$gte": 2, "$lte": 10}},
    {"m": {"$in": [0, 11, 4]}},
    {"_id": {"$in": [5, 250, 17, 3, 299, 1000]}},
    {"_id": {"$gte": 40, "$lt": 260}},
    {"$or": [{"a": 1}, {"_id": {"$lt": 30}}]},
    {"a": {"$gte": 1}, "s": {"$gt": "x100"}},
]


def buffered(cur):
    """Documents the driver holds from the last batch: a document deleted now
    may still come from there; the guarantee is about later getMores."""
    return len(cur._Cursor__data)


def expected(q, docs_in_order):
    got = [d for d in docs_in_order if matches(d, q)]
    only_id = list(q.keys()) == ["_id"]
    return sorted(got, key=lambda d: d["_id"]) if only_id else got


srv = Server("--max-time-ms", "0")
try:
    cli = MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=10000)
    db = cli.st
    coll = db.docs
    coll.create_index("a")
    coll.create_index("u", unique=True)
    coll.create_index("m")
    coll.create_index("s")
    coll.insert_many([make_doc(i) for i in order])
    docs_in_order = [make_doc(i) for i in order]

    @check("index-served finds in batches of 2..7 match one batch, in order, no duplicates")
    def _():
        for q in QUERIES:
            want = [d["_id"] for d in expected(q, docs_in_order)]
            one = [d["_id"] for d in coll.find(q, batch_size=100000)]
            assert one == want, (q, one[:10], want[:10])
            for bs in range(2, 8):
                got = [d["_id"] for d in coll.find(q, batch_size=bs)]
                assert got == one, (q, bs, got[:10], one[:10])
            # skip, limit and a projection carried across getMores
            got = list(coll.find(q, {"s": 1}, skip=3, limit=17, batch_size=4))
            assert [d["_id"] for d in got] == want[3:20], (q, got[:3])
            assert all(set(d) == {"_id", "s"} for d in got), got[:2]

    SORTS = [
        ({}, [("a", 1)]),
        ({}, [("a", -1)]),
        ({"a": {"$gte": 2, "$lt": 6}}, [("a", 1)]),
        ({"a": {"$in": [1, 5]}}, [("a", -1)]),
        ({}, [("u", 1)]),
        ({"u": {"$lt": 900}}, [("u", -1)]),
        ({}, [("_id", -1)]),
        ({"_id": {"$gt": 100}}, [("_id", 1)]),
        ({"g": 2}, [("h", -1)]),
        ({"g": 1}, [("h", 1)]),
        ({}, [("g", 1), ("h", -1)]),
        ({}, [("g", -1), ("h", 1)]),
        ({"s": {"$gt": "x2"}}, [("a", 1)]),
    ]

    @check("index-sorted finds in batches of 2..7 equal the in-memory sort of an unindexed copy")
    def _():
        plain = db.plain
        plain.drop()
        coll.create_index([("g", 1), ("h", -1)])
        for i in order:
            coll.update_one({"_id": i}, {"$set": {"g": i % 3, "h": (i * 7) % 11}})
        plain.insert_many(list(coll.find({}, batch_size=100000)))  # same order, no index
        for q, sort in SORTS:
            want = [d["_id"] for d in plain.find(q, sort=sort, batch_size=100000)]
            assert want, (q, sort)
            for bs in range(2, 8):
                got = [d["_id"] for d in coll.find(q, sort=sort, batch_size=bs)]
                assert got == want, (q, sort, bs, got[:8], want[:8])
            got = [d["_id"] for d in coll.find(q, sort=sort, skip=2, limit=9, batch_size=3)]
            assert got == want[2:11], (q, sort, got, want[2:11])
        # it streams: the first batch reads a handful, not the collection
        before = db.command("serverStatus")["metrics"]["queryExecutor"]["scannedObjects"]
        r = db.command("find", "docs", filter={}, sort={"g": 1, "h": -1}, batchSize=3)
        after = db.command("serverStatus")["metrics"]["queryExecutor"]["scannedObjects"]
        assert r["cursor"]["id"] != 0 and after - before <= 10, (before, after)
        db.command("killCursors", "docs", cursors=[r["cursor"]["id"]])

    @check("a sorted cursor under deletes and inserts: never twice, never deleted, in order")
    def _():
        c2 = db["smut"]
        c2.drop()
        c2.create_index("a")
        c2.insert_many([make_doc(i) for i in order])
        cur = c2.find({}, sort=[("a", 1)], batch_size=3)
        seen, deleted, r = [], set(), random.Random(3)
        last_a = -1
        for step, d in enumerate(cur):
            assert d["_id"] not in deleted, d
            assert d["a"] >= last_a, ("out of order", d, last_a)
            last_a = d["a"]
            seen.append(d["_id"])
            if step % 3 == 0 and not buffered(cur):
                v = r.choice(order)
                if v not in deleted:
                    c2.delete_one({"_id": v})
                    deleted.add(v)
            if step % 4 == 0:
                c2.insert_one(dict(make_doc(step), _id=10000 + step, u=10000 + step))
        assert len(seen) == len(set(seen))
        assert not ({i for i in order} - deleted - set(seen))

    @check("a collated find across batches (materialized: the collation is the command's)")
    def _():
        got = [d["_id"] for d in coll.find({"s": {"$gte": "X2"}}, sort=[("s", 1)], batch_size=3,
                                           collation={"locale": "en", "strength": 2})]
        assert got == sorted(i for i in range(N) if "x%03d" % i >= "x2"), got[:5]
        got = [d["_id"] for d in coll.find({"s": "X007"}, batch_size=1,
                                           collation={"locale": "en", "strength": 2})]
        assert got == [7], got
        # no index on t: before, this streamed with the command's freed collation
        db.coll8.drop()
        db.coll8.insert_many([{"_id": i, "t": "abc" if i % 2 else "ABC"} for i in range(9)])
        got = [d["_id"] for d in db.coll8.find({"t": "Abc"}, batch_size=1,
                                               collation={"locale": "en", "strength": 2})]
        assert got == list(range(9)), got

    @check("the first batch is all a cursor reads: an index-served cursor streams")
    def _():
        before = db.command("serverStatus")["metrics"]["queryExecutor"]["scannedObjects"]
        r = db.command("find", "docs", filter={"a": {"$gte": 0}}, batchSize=3)
        after = db.command("serverStatus")["metrics"]["queryExecutor"]["scannedObjects"]
        assert r["cursor"]["id"] != 0
        assert after - before <= 10, (before, after)  # 3 (+1 looked at), not 300
        db.command("killCursors", "docs", cursors=[r["cursor"]["id"]])

    @check("inserts, deletes and updates between getMores: never twice, never deleted")
    def _():
        for q, bs in (({"a": {"$gte": 0}}, 3), ({"m": {"$gte": 0}}, 5),
                      ({"_id": {"$gte": 0}}, 4), ({"u": {"$lt": 5000}}, 2)):
            c2 = db["mut"]
            c2.drop()
            c2.create_index("a")
            c2.create_index("m")
            c2.create_index("u", unique=True)
            c2.insert_many([make_doc(i) for i in order])
            cur = c2.find(q, batch_size=bs)
            seen, deleted, touched = [], set(), set()
            r = random.Random(1)
            nxt = 100000
            for step in range(N + 400):
                try:
                    d = next(cur)
                except StopIteration:
                    break
                assert d["_id"] not in deleted, ("deleted doc returned", d["_id"])
                seen.append(d["_id"])
                if step % 3 == 0 and not buffered(cur):
                    victim = r.choice(order)
                    if victim not in deleted:
                        c2.delete_one({"_id": victim})
                        deleted.add(victim)
                        touched.add(victim)
                if step % 5 == 0:
                    c2.insert_one(dict(make_doc(nxt % 1000), _id=nxt, u=nxt))
                    nxt += 1
                if step % 7 == 0:
                    t = r.choice(order)
                    if t not in deleted:
                        c2.update_one({"_id": t}, {"$set": {"a": (t + 1) % 7, "x": step}})
                        touched.add(t)
            assert len(seen) == len(set(seen)), ("duplicates", q)
            untouched = {i for i in order if i not in touched}
            missing = untouched - set(seen)
            assert not missing, (q, sorted(missing)[:10])

    def open_cursor(c, q):
        r = db.command("find", c.name, filter=q, batchSize=2)
        assert r["cursor"]["id"] != 0 and len(r["cursor"]["firstBatch"]) == 2, r
        return r["cursor"]["id"]

    def get_more_fails(cid, cname, what):
        try:
            db.command("getMore", cid, collection=cname, batchSize=2)
            raise AssertionError("getMore answered after " + what)
        except OperationFailure as e:
            assert e.code == 175, (what, e.code, str(e))
            assert e.details.get("codeName") == "QueryPlanKilled", e.details
            msg = str(e)
        try:
            db.command("getMore", cid, collection=cname, batchSize=2)
            raise AssertionError("the killed cursor lives")
        except OperationFailure as e:
            assert e.code == 43, e
        return msg

    def fresh(name):
        c = db[name]
        c.drop()
        c.create_index("a")
        c.insert_many([make_doc(i) for i in range(40)])
        return c

    @check("a collection dropped under a cursor: 175 on getMore")
    def _():
        for q in ({"a": 3}, {"_id": {"$gte": 0}}, {"s": {"$exists": True}}):
            c = fresh("gone")
            cid = open_cursor(c, q)
            c.drop()
            msg = get_more_fails(cid, "gone", "drop")
            assert "collection dropped" in msg, msg
            c = fresh("gone")
            r = db.command("find", "gone", filter={"a": {"$gte": 0}}, sort={"a": -1},
                           batchSize=2)
            cid = r["cursor"]["id"]
            assert cid != 0
            c.drop()
            msg = get_more_fails(cid, "gone", "drop")
            assert "collection dropped" in msg, msg

    @check("a collection dropped and recreated under a cursor: 175, not the new one's documents")
    def _():
        c = fresh("again")
        cid = open_cursor(c, {"a": {"$gte": 0}})
        c.drop()
        fresh("again")
        msg = get_more_fails(cid, "again", "drop and recreate")
        assert "collection dropped" in msg, msg

    @check("a collection renamed under a cursor: 175 naming the new name")
    def _():
        c = fresh("before")
        db.after.drop()
        cid = open_cursor(c, {"a": {"$in": [1, 2]}})
        c.rename("after")
        msg = get_more_fails(cid, "before", "rename")
        assert "renamed" in msg and "st.after" in msg, msg

    @check("the index under a cursor dropped: 175 index dropped")
    def _():
        c = fresh("ixgone")
        cid = open_cursor(c, {"a": {"$gte": 1}})
        c.drop_index("a_1")
        msg = get_more_fails(cid, "ixgone", "dropIndex")
        assert "index 'a_1' dropped" in msg, msg
        # a new index (or none) does not disturb a stream over another path
        cid = open_cursor(c, {"_id": {"$gte": 0}})
        c.create_index("s")
        r = db.command("getMore", cid, collection="ixgone", batchSize=100)
        assert [d["_id"] for d in r["cursor"]["nextBatch"]] == list(range(2, 40))

    assert srv.alive(), "server died"
finally:
    srv.stop()

check.finish()
