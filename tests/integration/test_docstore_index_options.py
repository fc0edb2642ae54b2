"""Sparse, partial and TTL indexes through a real client (pymongo 3.11)
against `tether db --ttl-monitor-seconds 1`:
- property test: over random documents and random partial filters (the
  operators MongoDB allows there), random queries on a collection with the
  partial (or sparse) index return exactly what a collection scan returns
  on an unindexed copy, and a query implying the filter reads fewer
  documents than the scan;
- unique partial and sparse indexes: uniqueness among indexed documents only;
- createIndexes refuses filters with other operators (67), TTL on compound
  keys (67); listIndexes shows the options; an identical spec is no error,
  the same name with other options is 85;
- TTL: the monitor deletes documents whose date (the earliest of an array)
  is past expireAfterSeconds, keeps non-dates and future dates, counts
  metrics.ttl; collMod changes expireAfterSeconds.
Every check runs; any failure fails."""
import datetime
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, expect_code  # noqa: E402

from bson.decimal128 import Decimal128  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from pymongo.errors import DuplicateKeyError  # noqa: E402

check = Checks(480)
rng = random.Random(int(os.environ.get("TETHER_TEST_SEED", "7207")))


server = Server("--ttl-monitor-seconds", "1")
client = MongoClient("127.0.0.1", server.port, serverSelectionTimeoutMS=10000)
db = client.idxopts


def scanned():
    return client.admin.command("serverStatus")["metrics"]["queryExecutor"]["scannedObjects"]


def rand_value():
    r = rng.random()
    if r < 0.45:
        return rng.randint(0, 12)
    if r < 0.55:
        return rng.choice(["x", "y", "z"])
    if r < 0.62:
        return None
    if r < 0.7:
        return [rng.randint(0, 12) for _ in range(rng.randint(0, 3))]
    if r < 0.78:
        return Decimal128(str(rng.randint(0, 120) / 10))
    if r < 0.85:
        return rng.randint(0, 12) + 0.5
    return MISSING


MISSING = object()


def rand_doc(i):
    d = {"_id": i}
    for f in ("a", "b", "c"):
        v = rand_value()
        if v is not MISSING:
            d[f] = v
    return d


def rand_cmp():
    op = rng.choice(["$gt", "$gte", "$lt", "$lte"])
    return {op: rng.randint(0, 12)}


def rand_partial_cond(field):
    r = rng.random()
    if r < 0.2:
        return {field: rng.randint(0, 12)}
    if r < 0.35:
        return {field: {"$exists": True}}
    if r < 0.6:
        return {field: rand_cmp()}
    if r < 0.7:
        return {field: {"$type": rng.choice(["number", "string", "int"])}}
    if r < 0.85:
        return {field: {"$in": rng.sample(range(13), rng.randint(1, 4))}}
    return {field: {"$gte": rng.randint(0, 5), "$lte": rng.randint(6, 12)}}


def rand_partial():
    r = rng.random()
    if r < 0.5:
        return rand_partial_cond(rng.choice(["a", "b"]))
    if r < 0.75:
        return {"$and": [rand_partial_cond("a"), rand_partial_cond("b")]}
    return {"$or": [rand_partial_cond("a"), rand_partial_cond("b")]}


def rand_query_cond(field):
    r = rng.random()
    if r < 0.3:
        return {field: rng.choice([rng.randint(0, 12), "x", None])}
    if r < 0.55:
        return {field: rand_cmp()}
    if r < 0.65:
        return {field: {"$exists": rng.random() < 0.7}}
    if r < 0.8:
        return {field: {"$in": rng.sample(range(13), rng.randint(1, 3))}}
    if r < 0.9:
        return {field: {"$gt": rng.randint(0, 6), "$lt": rng.randint(6, 12)}}
    return {field: {"$type": rng.choice(["number", "string"])}}


def rand_query():
    r = rng.random()
    parts = [rand_query_cond(rng.choice(["a", "b", "c"])) for _ in range(rng.randint(1, 3))]
    if r < 0.15:
        return {"$or": parts}
    q = {}
    for p in parts:
        for k, v in p.items():
            if k in q:
                q = {"$and": [q, {k: v}]}
            else:
                q[k] = v
    return q


def ids(cursor):
    return sorted(d["_id"] for d in cursor)


@check("partial and sparse indexes: random queries equal a collection scan")
def _():
    docs = [rand_doc(i) for i in range(300)]
    db.plain.drop()
    db.plain.insert_many(docs)
    rounds = 0
    for k in range(25):
        db.ix.drop()
        spec = {}
        if k % 5 == 4:
            spec["sparse"] = True
        else:
            spec["partialFilterExpression"] = rand_partial()
        keys = rng.choice([["a"], ["b"], ["a", "b"]])
        db.ix.create_index([(f, 1) for f in keys], **spec)
        db.ix.insert_many(docs[:150])
        for d in docs[150:]:
            db.ix.insert_one(d)
        # Updates move documents in and out of the index.
        for i in rng.sample(range(300), 30):
            change = {"$set": {"a": rng.randint(0, 12)}} if rng.random() < 0.7 else \
                {"$unset": {"a": ""}}
            db.ix.update_one({"_id": i}, change)
            db.plain.update_one({"_id": i}, change)
        for _ in range(40):
            q = rand_query()
            got, want = ids(db.ix.find(q)), ids(db.plain.find(q))
            assert got == want, "index %r %r, query %r: %d vs %d documents" % (
                keys, spec, q, len(got), len(want))
            got = db.ix.count_documents(q)
            assert got == len(want), "count %r" % (q,)
            got = ids(db.ix.find(q).sort([(keys[0], 1), ("_id", 1)]).limit(500))
            assert got == want, "sorted %r" % (q,)
            rounds += 1
        # A query that implies the filter is served by the index.
        if "partialFilterExpression" in spec and list(spec["partialFilterExpression"]) != ["$or"]:
            q = dict(spec["partialFilterExpression"])
            if "$and" not in q and keys[0] not in q:
                q[keys[0]] = {"$gte": 3}
            got, want = ids(db.ix.find(q)), ids(db.plain.find(q))
            assert got == want, "implied %r" % (q,)
        db.plain.drop()
        db.plain.insert_many(docs)
    assert rounds == 25 * 40


@check("a query implying the filter reads only the index; others scan")
def _():
    db.pi.drop()
    db.pi.create_index("a", partialFilterExpression={"b": {"$gt": 5}})
    db.pi.insert_many([{"a": i, "b": i % 10} for i in range(1000)])
    before = scanned()
    got = list(db.pi.find({"a": 17, "b": {"$gt": 6}}))
    assert [d["a"] for d in got] == [17] and scanned() - before <= 2, scanned() - before
    before = scanned()
    got = list(db.pi.find({"a": 13}))  # b = 3: not in the index; a scan finds it
    assert [d["a"] for d in got] == [13] and scanned() - before == 1000
    before = scanned()
    got = list(db.pi.find({"a": 13, "b": {"$gt": 4}}))  # $gt 4 does not imply $gt 5
    assert got == [] and scanned() - before == 1000
    # Sparse: {a: null} also matches documents the index left out.
    db.sp.drop()
    db.sp.create_index("a", sparse=True)
    db.sp.insert_many([{"_id": 1, "a": None}, {"_id": 2}, {"_id": 3, "a": 5}])
    assert ids(db.sp.find({"a": None})) == [1, 2]
    assert ids(db.sp.find({"a": {"$exists": False}})) == [2]
    assert ids(db.sp.find().sort("a", 1)) == [1, 2, 3]
    before = scanned()
    assert ids(db.sp.find({"a": 5})) == [3] and scanned() - before == 1


@check("unique partial and unique sparse: uniqueness among indexed documents")
def _():
    db.up.drop()
    db.up.create_index("email", unique=True,
                       partialFilterExpression={"email": {"$type": "string"}})
    db.up.insert_many([{"email": None}, {"email": None}, {}, {}, {"email": "a@x"}])
    try:
        db.up.insert_one({"email": "a@x"})
        raise AssertionError("duplicate accepted")
    except DuplicateKeyError:
        pass
    db.us.drop()
    db.us.create_index("sku", unique=True, sparse=True)
    db.us.insert_many([{"n": 1}, {"n": 2}, {"sku": "s1"}])
    try:
        db.us.insert_one({"sku": "s1"})
        raise AssertionError("duplicate accepted")
    except DuplicateKeyError:
        pass
    # A second null is a duplicate: sparse leaves out only missing fields.
    db.us.insert_one({"sku": None})
    try:
        db.us.insert_one({"sku": None})
        raise AssertionError("second null accepted")
    except DuplicateKeyError:
        pass
    # Building a unique partial index over duplicates outside the filter works.
    db.ub.drop()
    db.ub.insert_many([{"k": 1, "live": False}, {"k": 1, "live": False}, {"k": 1, "live": True}])
    db.ub.create_index("k", unique=True, partialFilterExpression={"live": True})
    # An update moving a document into the index meets the unique check.
    try:
        db.ub.update_one({"live": False}, {"$set": {"live": True}})
        raise AssertionError("update into the index made a duplicate")
    except DuplicateKeyError:
        pass


@check("createIndexes: option checks and listIndexes")
def _():
    db.opt.drop()
    for bad in ({"a": {"$ne": 1}}, {"a": {"$exists": False}}, {"$nor": [{"a": 1}]},
                {"a": {"$regex": "x"}}, {"a": {"$not": {"$gt": 1}}}):
        expect_code(67, lambda: db.opt.create_index("a", partialFilterExpression=bad))
    expect_code(67, lambda: db.opt.create_index([("a", 1), ("b", 1)], expireAfterSeconds=5))
    expect_code(67, lambda: db.opt.create_index("a", expireAfterSeconds=-1))
    expect_code(67, lambda: db.opt.create_index("a", sparse=True,
                                                partialFilterExpression={"a": 1}))
    expect_code(197, lambda: db.opt.create_index("_id", expireAfterSeconds=5))
    expect_code(2, lambda: db.opt.create_index("a", partialFilterExpression={
        "a": {"$type": "nosuchtype"}}))
    db.opt.create_index("a", name="a_p", partialFilterExpression={"b": {"$gte": 1}})
    db.opt.create_index("a", name="a_p", partialFilterExpression={"b": {"$gte": 1}})
    expect_code(85, lambda: db.opt.create_index("a", name="a_p", sparse=True))
    db.opt.create_index("t", expireAfterSeconds=3600)
    specs = {i["name"]: i for i in db.opt.list_indexes()}
    assert specs["a_p"]["partialFilterExpression"] == {"b": {"$gte": 1}}, specs
    assert specs["t_1"]["expireAfterSeconds"] == 3600, specs
    r = db.command("collMod", "opt", index={"name": "t_1", "expireAfterSeconds": 60})
    assert r["expireAfterSeconds_old"] == 3600 and r["expireAfterSeconds_new"] == 60, r
    specs = {i["name"]: i for i in db.opt.list_indexes()}
    assert specs["t_1"]["expireAfterSeconds"] == 60, specs
    expect_code(72, lambda: db.command("collMod", "opt",
                                       index={"name": "a_p", "expireAfterSeconds": 5}))
    expect_code(27, lambda: db.command("collMod", "opt",
                                       index={"name": "nope", "expireAfterSeconds": 5}))
    expect_code(238, lambda: db.command("collMod", "opt", validator={}))


def wait_for(cond, what, limit=60):
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if cond():
            return
        time.sleep(0.2)
    raise AssertionError("timed out waiting for " + what)


@check("TTL: the monitor deletes expired documents only")
def _():
    now = datetime.datetime.utcnow().replace(microsecond=0)
    ago, ahead = now - datetime.timedelta(hours=1), now + datetime.timedelta(hours=1)
    # before the inserts: the 1 s monitor may delete some before the next line
    before = client.admin.command("serverStatus")["metrics"]["ttl"]
    db.ttl.drop()
    db.ttl.create_index("at", expireAfterSeconds=60)
    db.ttl.insert_many([
        {"_id": "old", "at": ago},
        {"_id": "new", "at": ahead},
        {"_id": "str", "at": "yesterday"},
        {"_id": "none"},
        {"_id": "num", "at": 5},
        {"_id": "arr-old", "at": [ahead, ago]},  # earliest date decides
        {"_id": "arr-new", "at": [ahead, "x"]},
    ])
    db.ttld.drop()
    db.ttld.create_index([("at", -1)], expireAfterSeconds=0)
    db.ttld.insert_many([{"_id": 1, "at": ago}, {"_id": 2, "at": ahead}])
    wait_for(lambda: db.ttl.find_one({"_id": "arr-old"}) is None and
             db.ttld.count_documents({}) == 1, "expired documents to go")
    assert ids(db.ttl.find()) == sorted(["new", "str", "none", "num", "arr-new"])
    assert ids(db.ttld.find()) == [2]
    after = client.admin.command("serverStatus")["metrics"]["ttl"]
    assert after["deletedDocuments"] - before["deletedDocuments"] >= 3, (before, after)
    assert after["passes"] > before["passes"], (before, after)
    # collMod: a shorter TTL expires the document an hour ahead? No: 1 h
    # ahead stays; one 30 s old goes once the TTL drops under 30 s.
    db.ttl.insert_one({"_id": "recent", "at": now - datetime.timedelta(seconds=30)})
    time.sleep(2.5)
    assert db.ttl.find_one({"_id": "recent"}) is not None
    db.command("collMod", "ttl", index={"keyPattern": {"at": 1}, "expireAfterSeconds": 10})
    wait_for(lambda: db.ttl.find_one({"_id": "recent"}) is None, "collMod'ed TTL")
    assert db.ttl.find_one({"_id": "new"}) is not None


check.serving(server, client)
check.stop_and_finish(server, client)
