"""Sorting as MongoDB users depend on it, through a real client (pymongo 3.11)
against `tether db`:
- a sort served by an index returns exactly what the in-memory sort returns
  (same documents, same order, ties included) over mixed BSON types, missing
  fields, nested paths, decimals and, once the index is multikey, arrays; and
  sort + limit on an indexed field reads about `limit` documents
  (serverStatus metrics.queryExecutor.scannedObjects);
- blocking sorts and $group hold at most 100 MB: past it, 292
  QueryExceededMemoryLimitNoDiskUseAllowed with MongoDB's message; sort +
  limit (find, and $sort + $limit in aggregate) is a top-k that works on a
  collection larger than the bound.
Every check runs; any failure fails."""
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, eq, expect_code  # noqa: E402

from bson.binary import Binary  # noqa: E402
from bson.codec_options import CodecOptions  # noqa: E402
from bson.decimal128 import Decimal128  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.max_key import MaxKey  # noqa: E402
from bson.min_key import MinKey  # noqa: E402
from bson.objectid import ObjectId  # noqa: E402
from bson.son import SON  # noqa: E402
from bson.timestamp import Timestamp  # noqa: E402
from pymongo import ASCENDING, DESCENDING, MongoClient  # noqa: E402

check = Checks(480)


server = Server("--max-time-ms", "0")  # 100 MB sorts and groups: seconds under ASan
client = MongoClient("127.0.0.1", server.port, serverSelectionTimeoutMS=10000,
                     document_class=SON)
db = client.get_database("sorting", codec_options=CodecOptions(document_class=SON))


def scanned():
    return client.admin.command("serverStatus")["metrics"]["queryExecutor"]["scannedObjects"]


EPOCH = datetime.datetime(2020, 1, 1)
VALUES = [
    0, 1, -3, 7, Int64(2 ** 53 + 1), Int64(2 ** 53), 2.5, -0.0, float(2 ** 53), -1e300,
    float("nan"), Decimal128("2.5"), Decimal128("1"), "", "a", "ab", "B", "b", None,
    True, False, EPOCH, EPOCH + datetime.timedelta(seconds=1), ObjectId(b"\x00" * 11 + b"\x01"),
    ObjectId(b"\x00" * 12), SON([("x", 1)]), SON([("x", 0), ("y", 1)]), SON(), MinKey(),
    MaxKey(), Timestamp(5, 1), Binary(b"\x01\x02"), Binary(b"\x05"),
]
MISSING = object()


def make_doc(i, value, b, nb):
    d = SON([("_id", i)])
    if value is not MISSING:
        d["a"] = value
    if b is not MISSING:
        d["b"] = b
    if nb is not MISSING:
        d["n"] = SON([("b", nb)]) if nb != "scalar" else 7
    return d


def insert_both(docs):
    db.ix.insert_many([SON(d) for d in docs])
    db.plain.insert_many([SON(d) for d in docs])


def ident(d):
    """A comparable form: NaN != NaN, so compare BSON bytes instead."""
    from bson import BSON
    return BSON.encode(d)


def same(query):
    got = [ident(d) for d in query(db.ix)]
    want = [ident(d) for d in query(db.plain)]
    if got != want:
        first = next(i for i, (g, w) in enumerate(zip(got + [None], want + [None])) if g != w)
        raise AssertionError("indexed and in-memory differ at %d of %d/%d" %
                             (first, len(got), len(want)))
    return len(got)


QUERIES = [
    lambda c: c.find().sort("a", ASCENDING),
    lambda c: c.find().sort("a", DESCENDING),
    lambda c: c.find().sort("a", ASCENDING).limit(7),
    lambda c: c.find().sort("a", DESCENDING).skip(11).limit(5),
    lambda c: c.find({"a": {"$gte": 0}}).sort("a", ASCENDING).limit(20),
    lambda c: c.find({"a": {"$lt": "b"}}).sort("a", DESCENDING),
    lambda c: c.find({"a": {"$in": [1, "a", None, True]}}).sort("a", DESCENDING),
    lambda c: c.find({"b": 2}).sort("a", ASCENDING).limit(9),
    lambda c: c.find().sort([("a", ASCENDING), ("b", DESCENDING)]),
    lambda c: c.find().sort([("a", DESCENDING), ("b", ASCENDING)]).limit(25),
    lambda c: c.find().sort("n.b", ASCENDING),
    lambda c: c.find().sort("n.b", DESCENDING).limit(11),
    lambda c: c.find().sort("_id", DESCENDING).limit(6),
    lambda c: c.find().sort("a", ASCENDING).batch_size(7),
    lambda c: c.aggregate([{"$sort": {"a": 1}}, {"$limit": 12}]),
    lambda c: c.aggregate([{"$match": {"b": {"$ne": 1}}}, {"$sort": {"a": -1}},
                           {"$skip": 4}, {"$limit": 10}]),
    lambda c: c.aggregate([{"$sort": {"n.b": 1}}, {"$project": {"a": 1}}]),
]


@check("index-served sorts equal in-memory sorts: mixed types, missing, nested")
def _():
    db.ix.drop()
    db.plain.drop()
    docs = []
    for i in range(400):
        v = VALUES[(i * 7) % len(VALUES)] if i % 9 else MISSING
        b = (i * 5) % 4 if i % 5 else MISSING
        nb = VALUES[(i * 3) % len(VALUES)] if i % 4 else (MISSING if i % 8 else "scalar")
        docs.append(make_doc(i, v, b, nb))
    insert_both(docs)
    db.ix.create_index([("a", ASCENDING)])
    db.ix.create_index([("a", ASCENDING), ("b", DESCENDING)])
    db.ix.create_index([("n.b", DESCENDING)])
    for q in QUERIES:
        assert same(q) > 0


@check("sort + limit on an indexed field reads about limit documents")
def _():
    c = db.big
    c.drop()
    c.insert_many([{"_id": i, "k": (i * 7919) % 5000, "u": (i * 7919) % 5000}
                   for i in range(5000)])
    c.create_index([("k", ASCENDING)])
    before = scanned()
    got = [d["k"] for d in c.find().sort("k", ASCENDING).limit(10)]
    indexed = scanned() - before
    eq(got, list(range(10)))
    before = scanned()
    got = [d["k"] for d in c.find({}, {"k": 1}).sort("k", DESCENDING).limit(10)]
    eq(got, list(range(4999, 4989, -1)))
    assert scanned() - before <= 11, scanned() - before
    before = scanned()
    got = [d["u"] for d in c.find().sort("u", ASCENDING).limit(10)]
    unindexed = scanned() - before
    eq(got, list(range(10)))
    assert indexed <= 11, indexed
    eq(unindexed, 5000)
    before = scanned()
    got = [d["k"] for d in c.aggregate([{"$sort": {"k": 1}}, {"$limit": 3}])]
    eq(got, [0, 1, 2])
    assert scanned() - before <= 4, scanned() - before


@check("decimals a double cannot hold: the walk gives way to the in-memory sort")
def _():
    insert_both([{"_id": 1000, "a": Decimal128("1.0000000000000000001")},
                 {"_id": 1001, "a": Decimal128("0.99999999999999999999")},
                 {"_id": 1002, "a": 1}])
    for q in QUERIES:
        assert same(q) > 0
    got = [d["_id"] for d in db.ix.find({"a": {"$gte": 0.5, "$lte": 1.5}}).sort("a", 1)
           if d["_id"] >= 1000]
    eq(got, [1001, 1002, 1000])


@check("arrays make the index multikey: sorts still equal the in-memory sort")
def _():
    insert_both([{"_id": 2000, "a": [3, "x"], "n": {"b": [1, 9]}},
                 {"_id": 2001, "a": []}, {"_id": 2002, "a": [[1], 0]}])
    for q in QUERIES:
        assert same(q) > 0
    eq([d["_id"] for d in db.ix.find({"_id": {"$gte": 2000}}).sort("a", 1)], [2001, 2002, 2000])
    eq([d["_id"] for d in db.ix.find({"_id": {"$gte": 2000}}).sort("a", -1)], [2002, 2000, 2001])


MB = 1024 * 1024


@check("blocking sorts past 100 MB: 292; top-k and index-served sorts work")
def _():
    c = db.huge
    c.drop()
    pad = "x" * MB
    for chunk in range(0, 110, 10):
        c.insert_many([{"_id": i, "r": (i * 37) % 110, "g": i % 3, "p": pad}
                       for i in range(chunk, chunk + 10)])
    e = expect_code(292, lambda: list(c.find({}, {"p": 0}).sort("r", 1)))
    eq(e.details.get("codeName"), "QueryExceededMemoryLimitNoDiskUseAllowed")
    assert ("Sort exceeded memory limit of 104857600 bytes, but did not opt in to external "
            "sorting.") in str(e), str(e)
    eq([d["r"] for d in c.find({}, {"p": 0}).sort("r", -1).limit(3)], [109, 108, 107])
    eq([d["r"] for d in c.find({}, {"p": 0}).sort("r", 1).skip(50).limit(10)], list(range(50, 60)))
    e = expect_code(292, lambda: list(c.aggregate([{"$sort": {"r": 1}}, {"$project": {"r": 1}}])))
    assert "Pass allowDiskUse:true to opt in." in str(e), str(e)
    e = expect_code(292, lambda: list(c.aggregate([{"$sort": {"r": 1}}, {"$project": {"r": 1}}],
                                                  allowDiskUse=True)))
    assert "allowDiskUse is not supported by the docstore" in str(e), str(e)
    eq([d["r"] for d in c.aggregate([{"$sort": {"r": 1}}, {"$limit": 2}, {"$project": {"r": 1}}])],
       [0, 1])
    eq([d["r"] for d in c.aggregate([{"$project": {"r": 1, "p": 1}}, {"$sort": {"r": -1}},
                                     {"$limit": 1}, {"$project": {"r": 1}}])], [109])
    e = expect_code(292, lambda: list(c.aggregate([{"$group": {"_id": "$g",
                                                               "all": {"$push": "$p"}}}])))
    assert "Exceeded memory limit for $group" in str(e), str(e)
    eq(sorted((d["_id"], d["n"]) for d in c.aggregate([{"$group": {"_id": "$g",
                                                                   "n": {"$sum": 1}}}])),
       [(0, 37), (1, 37), (2, 36)])
    # With an index the sort does not block: no bound, all 110 documents.
    c.create_index([("r", ASCENDING)])
    eq([d["r"] for d in c.find({}, {"p": 0}).sort("r", 1)], list(range(110)))
    c.drop()


check.serving(server, client)
check.stop_and_finish(server, client)
