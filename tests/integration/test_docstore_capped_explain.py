"""Capped collections, explain and collation through a real client
(pymongo 3.11) against `tether db`:
- a capped collection keeps the newest documents, by count (max) and by
  bytes (size), in insertion order; its options show in listCollections and
  collStats; deletes are allowed; a missing size is 72 InvalidOptions;
- explain through pymongo's cursor.explain() and the explain command: the
  index the planner uses (name and bounds), COLLSCAN without one, SORT for
  a blocking sort, executionStats figures;
- mongosh's db.c.find().explain() reports the same IXSCAN;
- collation on aggregate, distinct, update, delete, findAndModify, and a
  collection default collation (listCollections shows it; a command's own
  collation overrides it; {locale: "simple"} is binary); distinct and $group
  treat values equal under the collation as one.
Every check runs; any failure fails."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, eq  # noqa: E402

from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

check = Checks(480)


def find_stage(plan, name):
    if not isinstance(plan, dict):
        return None
    if plan.get("stage") == name:
        return plan
    for k in ("inputStage",):
        r = find_stage(plan.get(k), name)
        if r:
            return r
    for s in plan.get("inputStages", []):
        r = find_stage(s, name)
        if r:
            return r
    return None


server = Server()
client = MongoClient("127.0.0.1", server.port, serverSelectionTimeoutMS=10000)
db = client.capped_explain


@check("capped by max keeps the newest documents in insertion order")
def _():
    db.create_collection("log", capped=True, size=1 << 20, max=5)
    for i in range(12):
        db.log.insert_one({"i": i})
    eq([d["i"] for d in db.log.find()], [7, 8, 9, 10, 11])
    eq([d["i"] for d in db.log.find().sort("$natural", -1)], [11, 10, 9, 8, 7])
    plan = db.log.find().sort("$natural", -1).explain()["queryPlanner"]["winningPlan"]
    eq((plan["stage"], plan["direction"]), ("COLLSCAN", "backward"))
    db.log.insert_many([{"i": i} for i in range(12, 20)])
    eq([d["i"] for d in db.log.find()], [15, 16, 17, 18, 19])


@check("capped by size keeps the newest documents that fit")
def _():
    db.create_collection("bysize", capped=True, size=5000)
    pad = "x" * 1000
    for i in range(30):
        db.bysize.insert_one({"i": i, "pad": pad})
    got = [d["i"] for d in db.bysize.find()]
    total = sum(len(str(d)) for d in db.bysize.find())
    if not (1 <= len(got) <= 5) or got != list(range(30 - len(got), 30)):
        raise AssertionError("kept %r" % got)
    st = db.command("collStats", "bysize")
    if st["size"] > 5120 or total <= 0:
        raise AssertionError("size %r" % st["size"])


@check("capped options in listCollections and collStats; delete allowed")
def _():
    eq(db.log.options(), {"capped": True, "size": 1 << 20, "max": 5})
    st = db.command("collStats", "log")
    eq((st["capped"], st["max"], st["maxSize"], st["count"]), (True, 5, 1 << 20, 5))
    eq(db.command("collStats", "bysize")["capped"], True)
    db.create_collection("plain")
    eq(db.command("collStats", "plain")["capped"], False)
    eq(db.log.delete_one({"i": 15}).deleted_count, 1)
    db.log.insert_one({"i": 20})
    eq([d["i"] for d in db.log.find()], [16, 17, 18, 19, 20])


@check("capped without size is 72 InvalidOptions")
def _():
    try:
        db.create_collection("nosize", capped=True)
    except OperationFailure as e:
        eq(e.code, 72)
        return
    raise AssertionError("no error")


@check("explain: IXSCAN with the index name and bounds, COLLSCAN without")
def _():
    c = db.books
    c.insert_many([{"_id": i, "k": i, "cat": "c%d" % (i % 4)} for i in range(100)])
    plan = c.find({"k": {"$gte": 10, "$lt": 20}}).explain()["queryPlanner"]["winningPlan"]
    eq(find_stage(plan, "COLLSCAN")["direction"], "forward")
    c.create_index("k")
    ex = c.find({"k": {"$gte": 10, "$lt": 20}}).explain()
    ix = find_stage(ex["queryPlanner"]["winningPlan"], "IXSCAN")
    eq((ix["indexName"], ix["keyPattern"], ix["indexBounds"]), ("k_1", {"k": 1}, {"k": ["[10, 20)"]}))
    eq(ex["queryPlanner"]["namespace"], "capped_explain.books")
    eq(ex["queryPlanner"]["rejectedPlans"], [])
    es = ex["executionStats"]
    eq((es["nReturned"], es["totalDocsExamined"], es["totalKeysExamined"]), (10, 10, 10))
    ex = db.command("explain", {"find": "books", "filter": {"cat": "c1"}, "sort": {"k": -1}},
                    verbosity="queryPlanner")
    plan = ex["queryPlanner"]["winningPlan"]
    ix = find_stage(plan, "IXSCAN")
    eq((ix["indexName"], ix["direction"]), ("k_1", "backward"))
    ex = db.command("explain", {"find": "books", "filter": {"cat": "c1"}, "sort": {"cat": 1}},
                    verbosity="executionStats")
    eq(find_stage(ex["queryPlanner"]["winningPlan"], "SORT")["sortPattern"], {"cat": 1})
    eq(ex["executionStats"]["nReturned"], 25)
    eq(ex["executionStats"]["totalDocsExamined"], 100)


@check("explain bounds: descending, multikey, $or, compound")
def _():
    c = db.bounds
    c.insert_many([{"_id": i, "d": i, "m": [i, i + 1], "a": i % 3, "b": i} for i in range(20)])
    c.create_index([("d", -1)])
    c.create_index("m")
    c.create_index([("a", 1), ("b", 1)])
    ix = find_stage(c.find({"d": {"$gt": 5}}).explain()["queryPlanner"]["winningPlan"], "IXSCAN")
    eq((ix["indexName"], ix["indexBounds"]), ("d_-1", {"d": ["[inf.0, 5)"]}))
    ix = find_stage(c.find({"m": {"$gt": 1, "$lt": 5}}).explain()["queryPlanner"]["winningPlan"], "IXSCAN")
    eq((ix["indexName"], ix["isMultiKey"], ix["indexBounds"]), ("m_1", True, {"m": ["(1, inf.0]"]}))
    ix = find_stage(c.find({"a": 2}).explain()["queryPlanner"]["winningPlan"], "IXSCAN")
    eq(ix["indexBounds"], {"a": ["[2, 2]"], "b": ["[MinKey, MaxKey]"]})
    ex = c.find({"$or": [{"d": 3}, {"a": 1}]}).explain()
    orst = find_stage(ex["queryPlanner"]["winningPlan"], "OR")
    eq(sorted(s["indexName"] for s in orst["inputStages"]), ["a_1_b_1", "d_-1"])
    eq(ex["executionStats"]["nReturned"], 8)
    ix = find_stage(c.find({"s": {"$lt": "m"}}).explain()["queryPlanner"]["winningPlan"], "COLLSCAN")
    eq(ix["filter"], {"s": {"$lt": "m"}})


@check("explain of count, distinct, update and findAndModify")
def _():
    ex = db.command("explain", {"count": "books", "query": {"k": 5}})
    eq(find_stage(ex["queryPlanner"]["winningPlan"], "COUNT") is not None, True)
    eq(find_stage(ex["queryPlanner"]["winningPlan"], "IXSCAN")["indexBounds"], {"k": ["[5, 5]"]})
    ex = db.command("explain", {"distinct": "books", "key": "cat", "query": {"k": {"$in": [3, 1]}}})
    eq(find_stage(ex["queryPlanner"]["winningPlan"], "IXSCAN")["indexBounds"], {"k": ["[1, 1]", "[3, 3]"]})
    eq(ex["executionStats"]["nReturned"], 2)
    ex = db.command("explain", {"update": "books", "updates": [{"q": {"k": 7}, "u": {"$set": {"x": 1}}}]})
    eq(find_stage(ex["queryPlanner"]["winningPlan"], "UPDATE") is not None, True)
    eq(db.books.find_one({"k": 7}).get("x"), None)
    ex = db.command("explain", {"findAndModify": "books", "query": {"k": 8}, "remove": True})
    eq(find_stage(ex["queryPlanner"]["winningPlan"], "DELETE") is not None, True)
    eq(db.books.count_documents({"k": 8}), 1)
    try:
        db.command("explain", {"insert": "books", "documents": [{}]})
        raise AssertionError("no error")
    except OperationFailure as e:
        eq(e.code, 20)


@check("mongosh: db.c.find().explain() shows the IXSCAN")
def _():
    shell = os.path.join(os.environ.get("TETHER_SRC", "."), "tests", "node_modules", ".bin", "mongosh")
    out = subprocess.run(
        [shell, "--quiet", "--nodb", "--eval",
         "const c = connect('mongodb://127.0.0.1:%d/capped_explain'); "
         "const e = c.books.find({k: 42}).explain(); "
         "print(JSON.stringify(e.queryPlanner.winningPlan));" % server.port],
        capture_output=True, text=True, timeout=120)
    if "\"IXSCAN\"" not in out.stdout or "\"k_1\"" not in out.stdout or "[42, 42]" not in out.stdout:
        raise AssertionError("mongosh said %r %r" % (out.stdout, out.stderr[-2000:]))



@check("collation on aggregate, distinct, update, delete and findAndModify")
def _():
    c = db.people
    c.insert_many([{"_id": i, "name": n} for i, n in enumerate(["ann", "Ann", "ANN", "bob", "Émile", "emile"])])
    ci = {"locale": "en", "strength": 2}
    got = list(c.aggregate([{"$match": {"name": "ann"}}, {"$sort": {"_id": -1}}], collation=ci))
    eq([d["_id"] for d in got], [2, 1, 0])
    got = list(c.aggregate([{"$sort": {"name": 1, "_id": 1}}, {"$project": {"_id": 1}}],
                           collation={"locale": "en", "strength": 1}))
    eq([d["_id"] for d in got], [0, 1, 2, 3, 4, 5])
    eq(sorted(c.distinct("_id", {"name": "EMILE"}, collation={"locale": "fr", "strength": 1})), [4, 5])
    eq(c.distinct("name", {}, collation={"locale": "en", "strength": 1}), ["ann", "bob", "Émile"])
    eq(sorted(c.distinct("name")), ["ANN", "Ann", "ann", "bob", "emile", "Émile"])
    got = list(c.aggregate([{"$group": {"_id": "$name", "n": {"$sum": 1}}}, {"$sort": {"n": -1, "_id": 1}}],
                           collation=ci))
    eq([(d["_id"], d["n"]) for d in got], [("ann", 3), ("bob", 1), ("emile", 1), ("Émile", 1)])
    eq(c.update_many({"name": "ANN"}, {"$set": {"hit": True}}, collation=ci).modified_count, 3)
    eq(c.count_documents({"hit": True}), 3)
    doc = c.find_one_and_update({"name": "BOB"}, {"$set": {"b": 1}}, collation=ci)
    eq(doc["_id"], 3)
    eq(c.delete_many({"name": "émile"}, collation=ci).deleted_count, 1)
    eq(c.count_documents({}), 5)
    try:
        c.find_one({"name": "x"}, collation={"locale": "en", "strength": 7})
        raise AssertionError("no error")
    except OperationFailure as e:
        eq(e.code, 2)


@check("a collection default collation applies unless a command gives its own")
def _():
    db.create_collection("tags", collation={"locale": "en", "strength": 2})
    info = [x for x in db.list_collections() if x["name"] == "tags"][0]
    eq((info["options"]["collation"]["locale"], info["options"]["collation"]["strength"]), ("en", 2))
    db.tags.insert_many([{"_id": 1, "t": "Red"}, {"_id": 2, "t": "red"}, {"_id": 3, "t": "blue"}])
    eq(db.tags.count_documents({"t": "RED"}), 2)
    eq([d["_id"] for d in db.tags.find({"t": "RED"}, collation={"locale": "simple"})], [])
    eq([d["t"] for d in db.tags.find().sort([("t", 1), ("_id", 1)])], ["blue", "Red", "red"])
    ex = db.command("explain", {"find": "tags", "filter": {"t": "red"}})
    eq(ex["queryPlanner"]["winningPlan"]["stage"], "COLLSCAN")


check.stop_and_finish(server, client)
