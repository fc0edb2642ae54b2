"""The docstore judged by pymongo 3.11 (Debian python3-pymongo): handshake,
CRUD, cursors over many batches and killCursors, aggregation, indexes and
duplicate-key paths, admin listings, error shapes and query/update semantics.
Starts its own `tether db --port 0`, runs every check (a failing check does
not hide the others), stops the server and fails if any check failed or the
server crashed."""
import os
import re
import signal
import subprocess
import sys
import threading
import time
import traceback

import pymongo
from bson.int64 import Int64
from pymongo import ASCENDING, DESCENDING, MongoClient, ReturnDocument
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

BIN = os.environ["TETHER_BIN"]
TMP = os.environ.get("TETHER_TEST_TMP", "/tmp")
DEADLINE = time.monotonic() + 480  # ctest allows 600 s


class Server:
    def __init__(self):
        d = os.path.join(TMP, "pymongo-db")
        os.makedirs(d, exist_ok=True)
        self.proc = subprocess.Popen([BIN, "db", "--port", "0", "--dir", d],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.log = []
        self.cond = threading.Condition()
        self.port = None
        threading.Thread(target=self._reader, daemon=True).start()
        with self.cond:
            ok = self.cond.wait_for(lambda: self.port is not None or self.proc.poll() is not None,
                                    timeout=20)
        if not ok or self.port is None:
            self.proc.kill()
            raise RuntimeError("docstore did not report listening:\n" + "".join(self.log))

    def _reader(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            with self.cond:
                self.log.append(line)
                m = re.search(r"docstore listening on 127\.0\.0\.1:(\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def stop(self):
        early = self.proc.poll() is not None
        if not early:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        return early


results = []


def check(name):
    def wrap(fn):
        if time.monotonic() > DEADLINE:
            results.append((name, "deadline passed"))
            print("FAIL %s: suite deadline passed" % name, flush=True)
            return fn
        try:
            fn()
            results.append((name, None))
            print("ok   %s" % name, flush=True)
        except Exception as e:  # every failure is reported, none hides the rest
            results.append((name, e))
            print("FAIL %s: %r\n     %s" % (name, e, traceback.format_exc().strip().replace("\n", "\n     ")),
                  flush=True)
        return fn
    return wrap


def expect_error(code, fn, *args, **kwargs):
    try:
        fn(*args, **kwargs)
    except (OperationFailure, BulkWriteError) as e:
        assert e.code == code, "code %r, details %r" % (e.code, e.details)
        return e
    raise AssertionError("expected server error %d, got success" % code)


srv = Server()
client = MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=5000, appname="tether-pymongo-suite")
db = client["pysuite"]
c = db["crud"]


@check("connect and isMaster")
def _():
    im = client.admin.command("ismaster")
    assert im["ismaster"] is True, im
    assert im["maxBsonObjectSize"] == 16777216
    assert im["maxWireVersion"] >= 6
    assert "setName" not in im
    assert client.admin.command("ping")["ok"] == 1
    assert isinstance(client.server_info()["version"], str)
    hello = client.admin.command("hello")
    assert hello["isWritablePrimary"] is True


@check("insert_one / insert_many")
def _():
    r = c.insert_one({"name": "ann", "age": 31, "tags": ["a", "b"]})
    assert r.acknowledged and r.inserted_id is not None
    r = c.insert_many([
        {"_id": 1, "name": "bob", "age": 25, "city": "Oslo"},
        {"_id": 2, "name": "cy", "age": 40, "city": "Rome"},
        {"_id": 3, "name": "dee", "age": 35, "city": "Oslo"},
        {"_id": 4, "name": "eve", "age": 22, "city": "Lima", "nested": {"x": {"y": 5}}},
    ])
    assert r.inserted_ids == [1, 2, 3, 4]
    assert c.find_one({"name": "ann"})["tags"] == ["a", "b"]


@check("find filter / projection / sort / skip / limit")
def _():
    docs = list(c.find({"age": {"$gte": 25}}, {"_id": 0, "name": 1}).sort("age", DESCENDING))
    assert docs == [{"name": "cy"}, {"name": "dee"}, {"name": "ann"}, {"name": "bob"}], docs
    page = list(c.find({}, {"age": 1}).sort("age", ASCENDING).skip(1).limit(2))
    assert [d["age"] for d in page] == [25, 31] and "_id" in page[0], page
    excl = c.find_one({"_id": 4}, {"city": 0, "nested.x": 0})
    assert excl == {"_id": 4, "name": "eve", "age": 22, "nested": {}}, excl
    docs = list(c.find({"city": {"$in": ["Oslo", "Lima"]}}).sort([("city", 1), ("age", -1)]))
    assert [d["_id"] for d in docs] == [4, 3, 1], docs
    assert [d["_id"] for d in c.find({"name": {"$regex": "^E", "$options": "i"}})] == [4]
    assert [d["_id"] for d in c.find({"name": re.compile("^d")})] == [3]
    assert [d["_id"] for d in c.find({"$nor": [{"city": "Oslo"}, {"city": {"$exists": False}}]}).sort("_id", 1)] == [2, 4]
    assert [d["_id"] for d in c.find({"age": {"$not": {"$gt": 30}}, "_id": {"$type": "int"}}).sort("_id", 1)] == [1, 4]
    assert [d["_id"] for d in c.find({"age": {"$mod": [5, 0]}}).sort("_id", 1)] == [1, 2, 3]
    assert [d["_id"] for d in c.find({"$expr": {"$gt": ["$age", "$_id"]}, "_id": {"$lt": 3}}).sort("_id", 1)] == [1, 2]


@check("update_one / update_many / replace_one / upsert")
def _():
    r = c.update_one({"_id": 1}, {"$set": {"age": 26}, "$inc": {"visits": 1}})
    assert (r.matched_count, r.modified_count) == (1, 1)
    r = c.update_many({"city": "Oslo"}, {"$set": {"country": "NO"}})
    assert (r.matched_count, r.modified_count) == (2, 2)
    r = c.update_one({"_id": 1}, {"$set": {"age": 26}})
    assert (r.matched_count, r.modified_count) == (1, 0)
    r = c.replace_one({"_id": 2}, {"name": "cy", "age": 41})
    assert r.modified_count == 1 and c.find_one({"_id": 2}) == {"_id": 2, "name": "cy", "age": 41}
    r = c.update_one({"_id": 99}, {"$set": {"name": "zed"}, "$setOnInsert": {"created": True}}, upsert=True)
    assert r.upserted_id == 99 and r.matched_count == 0
    assert c.find_one({"_id": 99}) == {"_id": 99, "name": "zed", "created": True}
    r = c.update_one({"name": "newbie"}, {"$set": {"age": 1}}, upsert=True)
    assert c.find_one({"_id": r.upserted_id}) == {"_id": r.upserted_id, "name": "newbie", "age": 1}
    r = c.replace_one({"_id": 100}, {"name": "rep"}, upsert=True)
    assert r.upserted_id == 100
    r = c.update_many({"_id": {"$in": [99, 100]}}, {"$currentDate": {"touched": True}})
    assert r.modified_count == 2
    assert c.find_one({"_id": 100})["touched"].year >= 2024


@check("delete_one / delete_many")
def _():
    assert c.delete_one({"_id": 100}).deleted_count == 1
    assert c.delete_many({"name": {"$in": ["newbie", "zed"]}}).deleted_count == 2
    assert c.delete_one({"_id": "absent"}).deleted_count == 0


@check("find_one_and_update / find_one_and_delete / find_one_and_replace")
def _():
    assert c.find_one_and_update({"_id": 3}, {"$inc": {"age": 1}})["age"] == 35
    after = c.find_one_and_update({"_id": 3}, {"$inc": {"age": 1}}, projection={"age": 1},
                                  return_document=ReturnDocument.AFTER)
    assert after == {"_id": 3, "age": 37}, after
    up = c.find_one_and_update({"_id": 555}, {"$set": {"v": 1}}, upsert=True, return_document=ReturnDocument.AFTER)
    assert up == {"_id": 555, "v": 1}, up
    assert c.find_one_and_update({"_id": "nope"}, {"$set": {"v": 1}}) is None
    s = c.find_one_and_update({"city": "Oslo"}, {"$set": {"picked": True}}, sort=[("age", -1)],
                              return_document=ReturnDocument.AFTER)
    assert s["_id"] == 3
    rep = c.find_one_and_replace({"_id": 555}, {"v": 2}, return_document=ReturnDocument.AFTER)
    assert rep == {"_id": 555, "v": 2}, rep
    assert c.find_one_and_delete({"_id": 555}) == {"_id": 555, "v": 2}
    assert c.find_one({"_id": 555}) is None
    raw = db.command("findAndModify", "crud", query={"_id": 4}, update={"$set": {"z": 1}}, new=True)
    assert raw["value"]["z"] == 1 and raw["lastErrorObject"]["updatedExisting"] is True, raw


@check("count_documents / estimated_document_count / distinct")
def _():
    assert c.count_documents({}) == 5
    assert c.count_documents({"city": "Oslo"}) == 2
    assert c.count_documents({}, skip=1, limit=2) == 2
    assert c.estimated_document_count() == 5
    assert sorted(c.distinct("city")) == ["Lima", "Oslo"]
    assert sorted(c.distinct("tags")) == ["a", "b"]
    assert c.distinct("name", {"age": {"$lt": 25}}) == ["eve"]
    assert db.command("count", "crud", query={"city": "Oslo"})["n"] == 2
    assert db["never_created"].count_documents({}) == 0


@check("cursor across many batches (1,234 docs, batch_size 7)")
def _():
    big = db["big"]
    r = big.insert_many([{"_id": i, "n": i, "pad": "x" * (i % 50)} for i in range(1234)])
    assert len(r.inserted_ids) == 1234
    seen = [d["_id"] for d in big.find({}).sort("_id", 1).batch_size(7)]
    assert seen == list(range(1234)), (len(seen), seen[:10])
    agg = list(big.aggregate([{"$match": {"n": {"$gte": 1000}}}], batchSize=7))
    assert len(agg) == 234
    assert len(list(big.find({}).batch_size(7).limit(20))) == 20
    assert len(list(big.find({}, batch_size=7).skip(1230))) == 4


@check("exhaust cursor: served, or refused as MongoDB >= 5.1 refuses pymongo 3.11's OP_QUERY find")
def _():
    try:
        docs = list(db["big"].find({}, cursor_type=pymongo.CursorType.EXHAUST).sort("_id", 1).batch_size(7))
        assert [d.get("_id") for d in docs] == list(range(1234)), docs[:2]
    except OperationFailure as e:
        assert e.code == 352, e.details  # UnsupportedOpQueryCommand, never an error returned as a document
    assert db["big"].find_one({"_id": 5})["n"] == 5, "the client is usable after an exhaust cursor"


@check("early close kills the cursor (killCursors)")
def _():
    big = db["big"]
    cur = big.find({}).batch_size(7)
    next(cur)
    cid = cur.cursor_id
    assert cid, "cursor stays open after the first batch"
    cur.close()
    e = expect_error(43, db.command, "getMore", Int64(cid), collection="big", batchSize=7)
    assert e.details.get("codeName") == "CursorNotFound", e.details


@check("aggregation: $match $group $sort $project $unwind $lookup $count $limit")
def _():
    sales = db["sales"]
    sales.insert_many([
        {"_id": 1, "item": "apple", "qty": 5, "price": 2, "tags": ["fruit", "red"], "store": "n"},
        {"_id": 2, "item": "apple", "qty": 3, "price": 2, "tags": ["fruit"], "store": "s"},
        {"_id": 3, "item": "pear", "qty": 10, "price": 3, "tags": ["fruit", "green"], "store": "n"},
        {"_id": 4, "item": "kale", "qty": 1, "price": 4, "tags": ["veg", "green"], "store": "s"},
    ])
    db["stores"].insert_many([{"_id": "n", "city": "North"}, {"_id": "s", "city": "South"}])
    g = list(sales.aggregate([
        {"$match": {"qty": {"$gt": 1}}},
        {"$group": {"_id": "$item", "total": {"$sum": "$qty"},
                    "revenue": {"$sum": {"$multiply": ["$qty", "$price"]}}, "n": {"$sum": 1}}},
        {"$sort": {"total": -1}},
        {"$project": {"_id": 0, "item": "$_id", "total": 1, "revenue": 1, "n": 1}},
    ]))
    assert g == [{"total": 10, "revenue": 30, "n": 1, "item": "pear"},
                 {"total": 8, "revenue": 16, "n": 2, "item": "apple"}], g
    tags = list(sales.aggregate([{"$unwind": "$tags"}, {"$group": {"_id": "$tags", "c": {"$sum": 1}}},
                                 {"$sort": {"c": -1, "_id": 1}}, {"$limit": 2}]))
    assert tags == [{"_id": "fruit", "c": 3}, {"_id": "green", "c": 2}], tags
    look = list(sales.aggregate([
        {"$match": {"_id": {"$in": [1, 4]}}},
        {"$lookup": {"from": "stores", "localField": "store", "foreignField": "_id", "as": "st"}},
        {"$sort": {"_id": 1}}, {"$project": {"st.city": 1}},
    ]))
    assert look == [{"_id": 1, "st": [{"city": "North"}]}, {"_id": 4, "st": [{"city": "South"}]}], look
    assert list(sales.aggregate([{"$match": {"tags": "green"}}, {"$count": "greens"}])) == [{"greens": 2}]
    shaped = list(sales.aggregate([
        {"$match": {"_id": 1}},
        {"$addFields": {"cost": {"$multiply": ["$qty", "$price"]}}},
        {"$unset": ["tags", "store"]},
        {"$replaceRoot": {"newRoot": {"i": "$item", "c": "$cost"}}},
    ]))
    assert shaped == [{"i": "apple", "c": 10}], shaped


@check("indexes: create / list / drop")
def _():
    ix = db["ix"]
    ix.insert_many([{"a": 1, "b": 1}, {"a": 2, "b": 1}])
    assert ix.create_index("a") == "a_1"
    assert ix.create_index([("a", 1), ("b", -1)], name="ab") == "ab"
    info = ix.index_information()
    assert sorted(info) == ["_id_", "a_1", "ab"], info
    assert info["ab"]["key"] == [("a", 1), ("b", -1)], info["ab"]
    ix.drop_index("a_1")
    assert sorted(ix.index_information()) == ["_id_", "ab"]
    expect_error(27, ix.drop_index, "nope_1")
    ix.drop_indexes()
    assert list(ix.index_information()) == ["_id_"]


@check("unique index violations: DuplicateKeyError 11000 with keyPattern / keyValue")
def _():
    u = db["uniq"]
    u.create_index("email", unique=True)
    assert u.index_information()["email_1"].get("unique") is True
    u.insert_one({"_id": 1, "email": "a@x"})
    try:
        u.insert_one({"_id": 2, "email": "a@x"})
        raise AssertionError("no DuplicateKeyError")
    except DuplicateKeyError as e:
        assert e.code == 11000
        assert e.details["keyPattern"] == {"email": 1}, e.details
        assert e.details["keyValue"] == {"email": "a@x"}, e.details
        assert "E11000 duplicate key error" in e.details["errmsg"]
    try:
        u.update_one({"_id": 1}, {"$set": {"email": "a@x"}})  # same value: no violation
        u.insert_one({"_id": 3, "email": "c@x"})
        u.update_one({"_id": 3}, {"$set": {"email": "a@x"}})
        raise AssertionError("no DuplicateKeyError on update")
    except DuplicateKeyError as e:
        assert e.details["keyValue"] == {"email": "a@x"}, e.details
    assert u.find_one({"_id": 3})["email"] == "c@x"


@check("bulk write errors: ordered and unordered")
def _():
    b = db["bulk"]
    b.insert_one({"_id": 1})
    try:
        b.insert_many([{"_id": 0}, {"_id": 1}, {"_id": 2}])
        raise AssertionError("no BulkWriteError")
    except BulkWriteError as e:
        d = e.details
        assert d["nInserted"] == 1 and len(d["writeErrors"]) == 1, d
        assert d["writeErrors"][0]["index"] == 1 and d["writeErrors"][0]["code"] == 11000, d
        assert d["writeErrors"][0].get("keyValue") == {"_id": 1}, d
    try:
        b.insert_many([{"_id": 3}, {"_id": 1}, {"_id": 4}, {"_id": 0}, {"_id": 5}], ordered=False)
        raise AssertionError("no BulkWriteError")
    except BulkWriteError as e:
        d = e.details
        assert d["nInserted"] == 3 and [w["index"] for w in d["writeErrors"]] == [1, 3], d
    assert b.count_documents({}) == 5
    r = b.bulk_write([
        pymongo.InsertOne({"_id": 10}),
        pymongo.UpdateOne({"_id": 10}, {"$set": {"x": 1}}),
        pymongo.UpdateMany({}, {"$set": {"seen": True}}),
        pymongo.DeleteOne({"_id": 0}),
        pymongo.ReplaceOne({"_id": 11}, {"y": 2}, upsert=True),
    ])
    assert (r.inserted_count, r.matched_count, r.deleted_count, r.upserted_count) == (1, 7, 1, 1), r.bulk_api_result


@check("list_database_names / list_collection_names / drop")
def _():
    assert "pysuite" in client.list_database_names()
    names = db.list_collection_names()
    for n in ["big", "bulk", "crud", "ix", "sales", "stores", "uniq"]:
        assert n in names, names
    db.create_collection("made")
    # pymongo 3.11's create_collection refuses an existing name itself: ask the server.
    expect_error(48, db.command, "create", "made")
    db.drop_collection("made")
    assert "made" not in db.list_collection_names()
    db["stores"].rename("stores2")
    assert db["stores2"].count_documents({}) == 2
    client["pysuite_tmp"]["t"].insert_one({"a": 1})
    client.drop_database("pysuite_tmp")
    assert "pysuite_tmp" not in client.list_database_names()
    st = db.command("collStats", "big")
    assert st["count"] == 1234, st
    assert db.command("dbStats")["collections"] >= 7


@check("error shapes: unknown command 59, bad operators")
def _():
    e = expect_error(59, db.command, "noSuchCommand")
    assert e.details["codeName"] == "CommandNotFound"
    e = expect_error(2, lambda: list(c.find({"age": {"$bogus": 1}})))
    assert e.details["codeName"] == "BadValue"
    expect_error(9, c.update_one, {"_id": 1}, {"$bogus": {"a": 1}})
    expect_error(40324, lambda: list(c.aggregate([{"$bogusStage": {}}])))
    expect_error(14, c.update_one, {"_id": 1}, {"$inc": {"name": 1}})
    assert c.find_one({"_id": 1})["name"] == "bob"


@check("semantics: dotted paths, null vs missing, type bracketing")
def _():
    s = db["sem"]
    s.insert_many([
        {"_id": 1, "a": [{"b": 1}, {"b": 2}]}, {"_id": 2, "a": {"b": 2}}, {"_id": 3, "a": [{"b": [3, 4]}]},
        {"_id": 4, "a": [[{"b": 2}]]}, {"_id": 5, "a": [10, 20]}, {"_id": 6, "a": None}, {"_id": 7},
        {"_id": 8, "a": "str"}, {"_id": 9, "a": Int64(15)},
    ])

    def ids(f):
        return [d["_id"] for d in s.find(f).sort("_id", 1)]
    assert ids({"a.b": 2}) == [1, 2], ids({"a.b": 2})
    assert ids({"a.b": 4}) == [3]
    assert ids({"a.1": 20}) == [5]
    assert ids({"a": None}) == [6, 7]
    nb = set(ids({"a.b": None}))
    assert nb & {1, 2, 3, 6, 7, 8, 9} == {6, 7, 8, 9}, nb
    assert ids({"a": {"$exists": False}}) == [7]
    assert ids({"a": {"$gt": 12}}) == [5, 9], "numbers only, array elements included"
    assert ids({"a": {"$lt": "zzz"}}) == [8]
    assert ids({"a": {"$type": "array"}}) == [1, 3, 4, 5]
    order = [d["_id"] for d in s.find({"_id": {"$in": [2, 5, 6, 7, 8, 9]}}).sort([("a", 1), ("_id", 1)])]
    assert order == [6, 7, 5, 9, 8, 2], order


@check("semantics: $elemMatch, $push modifiers, $addToSet, positional $")
def _():
    s = db["sem2"]
    s.insert_many([{"_id": 1, "r": [82, 85, 88], "g": [80, 85, 80]}, {"_id": 2, "r": [75, 88, 89]}])
    assert [d["_id"] for d in s.find({"r": {"$elemMatch": {"$gte": 80, "$lt": 85}}})] == [1]
    s.update_one({"_id": 2}, {"$push": {"r": {"$each": [1, 100], "$sort": -1, "$slice": 3}}})
    assert s.find_one({"_id": 2})["r"] == [100, 89, 88]
    s.update_one({"_id": 2}, {"$addToSet": {"r": {"$each": [100, 5]}}})
    assert s.find_one({"_id": 2})["r"] == [100, 89, 88, 5]
    s.update_one({"_id": 1, "g": 80}, {"$set": {"g.$": 81}})
    assert s.find_one({"_id": 1})["g"] == [81, 85, 80]
    s.update_one({"_id": 1}, {"$pullAll": {"g": [80, 85]}})
    assert s.find_one({"_id": 1})["g"] == [81]


client.close()
early = srv.stop()


@check("server ran to the end and exited cleanly")
def _():
    assert not early, "server died during the suite: %r\n%s" % (srv.proc.returncode, "".join(srv.log[-40:]))
    log = "".join(srv.log)
    bad = re.search(r"(ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:)", log)
    assert bad is None, "sanitizer report in the server log:\n" + log[-3000:]


failed = [r for r in results if r[1] is not None]
print("%d/%d checks passed" % (len(results) - len(failed), len(results)))
sys.exit(1 if failed else 0)
