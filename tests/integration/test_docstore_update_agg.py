"""Update operators and aggregation through a real client: pymongo 3.11
against `tether db`. Exact documents (field order included, via SON),
nMatched/nModified counts, arrayFilters, pipeline-style updates, upserts,
error codes and messages as MongoDB sends them, and the aggregation stages
and expressions the docstore supports. Every check runs; any failure fails."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, eq  # noqa: E402

from bson.codec_options import CodecOptions  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from bson.son import SON  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure, WriteError  # noqa: E402

check = Checks(180)


def expect_code(code, fn, *args, **kw):
    try:
        fn(*args, **kw)
    except (OperationFailure, WriteError) as e:
        if e.code != code:
            raise AssertionError("code %r (%s), want %r" % (e.code, e, code))
        return str(e)
    raise AssertionError("no error, want code %r" % code)


server = Server()
client = MongoClient("127.0.0.1", server.port, serverSelectionTimeoutMS=10000,
                     document_class=SON)
db = client.get_database("updagg", codec_options=CodecOptions(document_class=SON))


def doc(coll, _id):
    return coll.find_one({"_id": _id})


@check("update: field order, new fields in lexicographic/numeric order, nModified")
def _():
    c = db.order
    c.drop()
    c.insert_one(SON([("_id", 1), ("z", 1), ("a", 1)]))
    r = c.update_one({"_id": 1}, {"$set": {"y": 1, "b": 1, "10": 1, "9": 1}, "$inc": {"z": 1}})
    eq((r.matched_count, r.modified_count), (1, 1))
    eq(list(doc(c, 1).items()), [("_id", 1), ("z", 2), ("a", 1), ("9", 1), ("10", 1),
                                 ("b", 1), ("y", 1)])
    r = c.update_one({"_id": 1}, {"$set": {"a": 1}, "$min": {"z": 5}, "$max": {"b": 0}})
    eq((r.matched_count, r.modified_count), (1, 0))
    r = c.update_one({"_id": 1}, {"$set": {}})
    eq((r.matched_count, r.modified_count), (1, 0))


@check("update: $inc/$mul numeric promotion")
def _():
    c = db.nums
    c.drop()
    c.insert_one({"_id": 1, "i": 2147483647, "m": 65536, "d": 1})
    c.update_one({"_id": 1}, {"$inc": {"i": 1, "d": 0.5}, "$mul": {"m": 65536, "new": Int64(3)}})
    d = doc(c, 1)
    eq((d["i"], type(d["i"])), (2147483648, Int64))
    eq((d["m"], type(d["m"])), (4294967296, Int64))
    eq(d["d"], 1.5)
    eq((d["new"], type(d["new"])), (0, Int64))
    msg = expect_code(2, c.update_one, {"_id": 1},
                      {"$inc": {"i": Int64(9223372036854775807)}})
    assert "Failed to apply $inc" in msg, msg


@check("update: dotted paths, arrays padded with null, PathNotViable")
def _():
    c = db.paths
    c.drop()
    c.insert_one({"_id": 1, "a": [1], "s": 5})
    c.update_one({"_id": 1}, {"$set": {"a.3": 4, "x.y.z": 1}})
    eq(doc(c, 1), {"_id": 1, "a": [1, None, None, 4], "s": 5, "x": {"y": {"z": 1}}})
    msg = expect_code(28, c.update_one, {"_id": 1}, {"$set": {"s.t": 1}})
    assert "Cannot create field 't' in element" in msg, msg


@check("update: positional $, $[], $[identifier] with arrayFilters")
def _():
    c = db.pos
    c.drop()
    c.insert_one({"_id": 1, "grades": [{"g": 80, "n": 1}, {"g": 95, "n": 1}, {"g": 100, "n": 1}],
                  "t": [1, 2, 3]})
    c.update_one({"_id": 1, "grades.g": 95}, {"$set": {"grades.$.n": 2}})
    c.update_one({"_id": 1}, {"$inc": {"t.$[]": 10}})
    r = c.update_one({"_id": 1}, {"$set": {"grades.$[e].hi": True}},
                     array_filters=[{"e.g": {"$gte": 95}}])
    eq(r.modified_count, 1)
    eq(doc(c, 1), {"_id": 1, "grades": [{"g": 80, "n": 1}, {"g": 95, "n": 2, "hi": True},
                                         {"g": 100, "n": 1, "hi": True}],
                   "t": [11, 12, 13]})
    expect_code(2, c.update_one, {"_id": 1}, {"$set": {"t.$": 0}})
    expect_code(2, c.update_one, {"_id": 1}, {"$set": {"t.$[nope]": 0}},
                array_filters=[{"x": 1}])
    expect_code(9, c.update_one, {"_id": 1}, {"$set": {"t.0": 0}}, array_filters=[{"x": 1}])


@check("update: $push modifiers, $addToSet, $pull with a condition, $pullAll, $pop")
def _():
    c = db.arr
    c.drop()
    c.insert_one({"_id": 1, "a": [3, 1], "s": ["x"], "q": [{"k": 1}, {"k": 5}, 7]})
    c.update_one({"_id": 1}, {"$push": {"a": {"$each": [5, 2], "$position": 1, "$sort": -1,
                                             "$slice": 3}}})
    c.update_one({"_id": 1}, {"$addToSet": {"s": {"$each": ["y", "x", "y"]}},
                              "$pull": {"q": {"k": {"$gte": 5}}}})
    eq(doc(c, 1), {"_id": 1, "a": [5, 3, 2], "s": ["x", "y"], "q": [{"k": 1}, 7]})
    c.update_one({"_id": 1}, {"$pullAll": {"a": [5, 2]}, "$pop": {"s": -1}})
    eq(doc(c, 1), {"_id": 1, "a": [3], "s": ["y"], "q": [{"k": 1}, 7]})
    expect_code(2, c.update_one, {"_id": 1}, {"$push": {"_id": 1}})


@check("update: $rename, $unset, $currentDate, _id immutable, conflicts, unknown modifier")
def _():
    c = db.misc
    c.drop()
    c.insert_one({"_id": 1, "a": 1, "b": {"c": 2}})
    c.update_one({"_id": 1}, {"$rename": {"a": "z", "b.c": "b.d"},
                              "$currentDate": {"when": {"$type": "date"}}})
    d = doc(c, 1)
    eq(list(d.keys()), ["_id", "b", "when", "z"])
    eq(d["b"], {"d": 2})
    msg = expect_code(66, c.update_one, {"_id": 1}, {"$set": {"_id": 2}})
    assert "immutable field '_id'" in msg, msg
    msg = expect_code(40, c.update_one, {"_id": 1}, {"$set": {"a": 1}, "$inc": {"a": 1}})
    assert "would create a conflict at 'a'" in msg, msg
    expect_code(9, c.update_one, {"_id": 1}, {"$foo": {"a": 1}})
    expect_code(14, c.update_one, {"_id": 1}, {"$inc": {"b": 1}})
    expect_code(2, c.update_one, {"_id": 1}, {"$rename": {"z": "z"}})


@check("update: replacement keeps _id; pipeline-style update; upsert seeds")
def _():
    c = db.repl
    c.drop()
    c.insert_one({"_id": 1, "a": 1})
    r = c.replace_one({"_id": 1}, SON([("b", 2)]))
    eq(r.modified_count, 1)
    eq(list(doc(c, 1).items()), [("_id", 1), ("b", 2)])
    c.update_one({"_id": 1}, [{"$set": {"c": {"$add": ["$b", 1]}}}, {"$unset": "b"}])
    eq(doc(c, 1), {"_id": 1, "c": 3})
    r = c.update_one({"k": 5, "s.t": "x", "n": {"$gt": 1}}, {"$set": {"v": 1},
                                                             "$setOnInsert": {"w": 2}},
                     upsert=True)
    up = doc(c, r.upserted_id)
    eq({k: v for k, v in up.items() if k != "_id"}, {"k": 5, "s": {"t": "x"}, "v": 1, "w": 2})


@check("aggregate: $group accumulators, document keys, null grouping, $sortByCount")
def _():
    s = db.sales
    s.drop()
    s.insert_many([
        {"_id": 1, "item": "a", "qty": 2, "price": 10, "tags": ["x", "y"]},
        {"_id": 2, "item": "b", "qty": 1, "price": 20, "tags": []},
        {"_id": 3, "item": "a", "qty": 5, "price": 10.5},
        {"_id": 4, "qty": 3, "tags": None},
    ])
    g = list(s.aggregate([
        {"$group": {"_id": "$item", "n": {"$sum": 1}, "q": {"$sum": "$qty"},
                    "avg": {"$avg": "$price"}, "mx": {"$max": "$price"},
                    "items": {"$push": "$_id"}, "set": {"$addToSet": "$price"}}},
        {"$sort": {"_id": 1}}]))
    eq(g, [{"_id": None, "n": 1, "q": 3, "avg": None, "mx": None, "items": [4], "set": []},
           {"_id": "a", "n": 2, "q": 7, "avg": 10.25, "mx": 10.5, "items": [1, 3],
            "set": [10, 10.5]},
           {"_id": "b", "n": 1, "q": 1, "avg": 20.0, "mx": 20, "items": [2], "set": [20]}])
    eq(list(s.aggregate([{"$sortByCount": "$item"}, {"$limit": 1}])), [{"_id": "a", "count": 2}])
    eq(list(s.aggregate([{"$group": {"_id": {"i": "$item", "p": "$price"}}},
                         {"$match": {"_id.i": "a"}}, {"$sort": {"_id.p": 1}}])),
       [{"_id": {"i": "a", "p": 10}}, {"_id": {"i": "a", "p": 10.5}}])


@check("aggregate: $unwind options, $addFields/$set/$unset, $replaceWith, $count")
def _():
    s = db.sales
    u = list(s.aggregate([{"$unwind": {"path": "$tags", "includeArrayIndex": "i",
                                       "preserveNullAndEmptyArrays": True}},
                          {"$project": {"tags": 1, "i": 1}}]))
    eq(u, [{"_id": 1, "tags": "x", "i": 0}, {"_id": 1, "tags": "y", "i": 1},
           {"_id": 2, "i": None}, {"_id": 3, "i": None}, {"_id": 4, "tags": None, "i": None}])
    a = list(s.aggregate([{"$match": {"_id": 1}},
                          {"$addFields": {"total": {"$multiply": ["$qty", "$price"]}}},
                          {"$set": {"meta.by": "$item"}}, {"$unset": ["tags", "price"]},
                          {"$replaceWith": {"$mergeObjects": ["$meta", {"t": "$total"}]}}]))
    eq(a, [{"by": "a", "t": 20}])
    eq(list(s.aggregate([{"$match": {"qty": {"$gt": 1}}}, {"$count": "n"}])), [{"n": 3}])
    eq(list(s.aggregate([{"$match": {"qty": {"$gt": 100}}}, {"$count": "n"}])), [])


@check("aggregate: $lookup equality form (arrays match any element)")
def _():
    o, inv = db.orders, db.inventory
    o.drop()
    inv.drop()
    inv.insert_many([{"_id": 10, "sku": "a"}, {"_id": 11, "sku": "b"}, {"_id": 12}])
    o.insert_many([{"_id": 1, "sku": "a"}, {"_id": 2, "skus": ["a", "b"]}, {"_id": 3, "sku": "z"}])
    r = list(o.aggregate([{"$lookup": {"from": "inventory", "localField": "sku",
                                       "foreignField": "sku", "as": "inv"}},
                          {"$project": {"inv._id": 1}}]))
    eq(r, [{"_id": 1, "inv": [{"_id": 10}]}, {"_id": 2, "inv": [{"_id": 12}]},
           {"_id": 3, "inv": []}])
    r = list(o.aggregate([{"$match": {"_id": 2}},
                          {"$lookup": {"from": "inventory", "localField": "skus",
                                       "foreignField": "sku", "as": "inv"}},
                          {"$project": {"n": {"$size": "$inv"}}}]))
    eq(r, [{"_id": 2, "n": 2}])


@check("aggregate: expressions")
def _():
    e = db.expr
    e.drop()
    e.insert_one({"_id": 1, "s": " Hello ", "a": [1, 2, 3], "n": None})
    r = list(e.aggregate([{"$project": {
        "_id": 0,
        "t": {"$trim": {"input": "$s"}},
        "u": {"$toUpper": {"$trim": {"input": "$s"}}},
        "c": {"$cond": [{"$gt": [{"$size": "$a"}, 2]}, "big", "small"]},
        "f": {"$filter": {"input": "$a", "as": "v", "cond": {"$gte": ["$$v", 2]}}},
        "m": {"$map": {"input": "$a", "in": {"$multiply": ["$$this", 2]}}},
        "e": {"$arrayElemAt": ["$a", -1]},
        "i": {"$ifNull": ["$n", "dflt"]},
        "sw": {"$switch": {"branches": [{"case": {"$in": [2, "$a"]}, "then": "has2"}],
                           "default": "no"}},
        "ty": {"$type": "$nope"},
        "cv": {"$toInt": "42"},
        "d": {"$literal": 1},
    }}]))
    eq(r, [{"t": "Hello", "u": "HELLO", "c": "big", "f": [2, 3], "m": [2, 4, 6], "e": 3,
            "i": "dflt", "sw": "has2", "ty": "missing", "cv": 42, "d": 1}])
    expect_code(16554, lambda: list(e.aggregate([{"$project": {"x": {"$add": ["$s", 1]}}}])))
    expect_code(168, lambda: list(e.aggregate([{"$project": {"x": {"$nope": 1}}}])))


@check("aggregate: stage errors")
def _():
    s = db.sales
    expect_code(40324, lambda: list(s.aggregate([{"$bogus": {}}])))
    msg = expect_code(238, lambda: list(s.aggregate([{"$out": "x"}])))
    assert "not supported" in msg, msg
    expect_code(15955, lambda: list(s.aggregate([{"$group": {"n": {"$sum": 1}}}])))
    expect_code(28818, lambda: list(s.aggregate([{"$unwind": "tags"}])))


check.serving(server, client, sanitizer=False)
check.stop_and_finish(server, client)
