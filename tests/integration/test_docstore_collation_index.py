"""Indexes with a collation through a real client (pymongo 3.11) against
`tether db`:
- createIndexes with `collation`: listIndexes shows the full collation
  document; an index on a collection with a default collation inherits it
  unless it says {locale: "simple"};
- a unique case-insensitive index (strength 2) refuses a case variant with
  11000, at insert and when built over existing duplicates;
- a query under the index's collation uses it (explain: IXSCAN with the
  collation) and one under another collation does not (COLLSCAN), with the
  same results as a scan; a binary index still serves a collated query on a
  number;
- a numericOrdering index sorts "10" after "9" (the sort served by it);
- property: random strings and random collations, find/sort results through
  a collated index equal those of the same query with the index hidden
  (dropped), i.e. a collation scan.
Every check runs; any failure fails."""
import os
import random
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, eq  # noqa: E402

from pymongo import ASCENDING, DESCENDING, MongoClient  # noqa: E402
from pymongo.errors import DuplicateKeyError, OperationFailure  # noqa: E402

check = Checks(480)
DEADLINE = check.deadline


def find_stage(plan, name):
    if not isinstance(plan, dict):
        return None
    if plan.get("stage") == name:
        return plan
    r = find_stage(plan.get("inputStage"), name)
    if r:
        return r
    for s in plan.get("inputStages", []):
        r = find_stage(s, name)
        if r:
            return r
    return None


def winning(coll, filt, collation=None, sort=None):
    cmd = {"find": coll.name, "filter": filt}
    if collation is not None:
        cmd["collation"] = collation
    if sort is not None:
        cmd["sort"] = sort
    return coll.database.command("explain", cmd)["queryPlanner"]["winningPlan"]


server = Server()
client = MongoClient("127.0.0.1", server.port, serverSelectionTimeoutMS=10000)
db = client.coll_index
CI = {"locale": "en", "strength": 2}
FULL_KEYS = ["locale", "caseLevel", "caseFirst", "strength", "numericOrdering", "alternate",
             "maxVariable", "normalization", "backwards", "version"]


@check("createIndexes with collation; listIndexes shows the full collation")
def _():
    db.people.create_index([("name", ASCENDING)], name="name_ci", collation=CI)
    ix = [i for i in db.people.list_indexes() if i["name"] == "name_ci"][0]
    eq(list(ix["collation"].keys()), FULL_KEYS)
    eq((ix["collation"]["locale"], ix["collation"]["strength"], ix["collation"]["caseLevel"]),
       ("en", 2, False))
    # the same keys under another collation is another index
    db.people.create_index([("name", ASCENDING)], name="name_bin")
    names = sorted(i["name"] for i in db.people.list_indexes())
    eq(names, ["_id_", "name_bin", "name_ci"])
    binix = [i for i in db.people.list_indexes() if i["name"] == "name_bin"][0]
    eq("collation" in binix, False)
    try:
        db.people.create_index([("x", 1)], collation={"locale": "xx_nope"})
        raise AssertionError("no error")
    except OperationFailure as e:
        eq(e.code, 2)


@check("unique strength-2 index refuses a case variant (11000)")
def _():
    c = db.users
    c.create_index([("email", ASCENDING)], unique=True, collation=CI)
    c.insert_one({"_id": 1, "email": "abc@example.com"})
    try:
        c.insert_one({"_id": 2, "email": "ABC@Example.COM"})
        raise AssertionError("no error")
    except DuplicateKeyError as e:
        eq(e.code, 11000)
    c.insert_one({"_id": 3, "email": "abd@example.com"})
    eq(c.count_documents({}), 2)
    # building one over existing case variants fails too
    db.dups.insert_many([{"v": "Hello"}, {"v": "hello"}])
    try:
        db.dups.create_index([("v", 1)], unique=True, collation=CI)
        raise AssertionError("no error")
    except OperationFailure as e:
        eq(e.code, 11000)
    db.dups.create_index([("v", 1)], unique=True)  # binary: distinct


@check("a query under the index's collation uses it; another collation scans")
def _():
    c = db.people
    names = ["ann", "Ann", "ANN", "bob", "Bob", "carl", "émile", "Emile", 5, None]
    c.insert_many([{"_id": i, "name": n} for i, n in enumerate(names)])
    c.drop_index("name_bin")
    plan = winning(c, {"name": "ANN"}, CI)
    ix = find_stage(plan, "IXSCAN")
    if ix is None:
        raise AssertionError("no IXSCAN: %r" % plan)
    eq(ix["indexName"], "name_ci")
    eq(ix["collation"]["strength"], 2)
    got = sorted(d["_id"] for d in c.find({"name": "ANN"}, collation=CI))
    eq(got, [0, 1, 2])
    # the simple collation: the index orders strings otherwise: a scan
    eq(winning(c, {"name": "ANN"})["stage"], "COLLSCAN")
    eq([d["_id"] for d in c.find({"name": "ANN"})], [2])
    # another collation (strength 1): a scan, with the scan's results
    s1 = {"locale": "en", "strength": 1}
    eq(winning(c, {"name": "emile"}, s1)["stage"], "COLLSCAN")
    eq(sorted(d["_id"] for d in c.find({"name": "emile"}, collation=s1)), [6, 7])
    # a number bound holds no string: the collated index serves any collation
    eq(find_stage(winning(c, {"name": 5}), "IXSCAN")["indexName"], "name_ci")
    eq([d["_id"] for d in c.find({"name": 5})], [8])
    # ranges and $in under the index's collation
    eq(sorted(d["_id"] for d in c.find({"name": {"$gte": "B", "$lt": "c"}}, collation=CI)), [3, 4])
    eq(sorted(d["_id"] for d in c.find({"name": {"$in": ["BOB", "CARL"]}}, collation=CI)), [3, 4, 5])
    eq(c.count_documents({"name": "bob"}, collation=CI), 2)
    # the sort is served by the index under its collation (no SORT stage)
    plan = winning(c, {"name": {"$gt": ""}}, CI, {"name": 1})
    if find_stage(plan, "SORT") is not None or find_stage(plan, "IXSCAN") is None:
        raise AssertionError("sort not served: %r" % plan)
    got = [d["name"] for d in c.find({"name": {"$gt": ""}}, collation=CI).sort("name", 1)]
    eq([n.lower() for n in got], ["ann", "ann", "ann", "bob", "bob", "carl", "emile", "émile"])
    # a binary index serves a collated query on a number, not on a string
    db.nums.create_index([("k", 1)])
    db.nums.insert_many([{"k": i} for i in range(5)] + [{"k": "A"}, {"k": "a"}])
    eq(find_stage(winning(db.nums, {"k": 3}, CI), "IXSCAN")["indexName"], "k_1")
    eq(winning(db.nums, {"k": "a"}, CI)["stage"], "COLLSCAN")
    eq(db.nums.count_documents({"k": "a"}, collation=CI), 2)


@check("an index on a collection with a default collation inherits it")
def _():
    db.create_collection("tags", collation={"locale": "fr", "strength": 1})
    db.tags.create_index([("t", 1)])
    db.tags.create_index([("u", 1)], collation={"locale": "simple"})
    ix = {i["name"]: i for i in db.tags.list_indexes()}
    eq((ix["t_1"]["collation"]["locale"], ix["t_1"]["collation"]["strength"]), ("fr", 1))
    eq("collation" in ix["u_1"], False)
    db.tags.insert_many([{"_id": 1, "t": "Côte", "u": "x"}, {"_id": 2, "t": "cote", "u": "X"}])
    eq(find_stage(winning(db.tags, {"t": "COTE"}), "IXSCAN")["indexName"], "t_1")
    eq(sorted(d["_id"] for d in db.tags.find({"t": "COTE"})), [1, 2])
    eq(winning(db.tags, {"u": "x"})["stage"], "COLLSCAN")  # u_1 is binary, the query is not
    eq(sorted(d["_id"] for d in db.tags.find({"u": "x"})), [1, 2])
    eq(sorted(d["_id"] for d in db.tags.find({"u": "x"}, collation={"locale": "simple"})), [1])
    eq(find_stage(winning(db.tags, {"u": "x"}, {"locale": "simple"}), "IXSCAN")["indexName"], "u_1")


@check("numericOrdering index sorts \"10\" after \"9\"")
def _():
    c = db.versions
    num = {"locale": "en", "numericOrdering": True}
    c.create_index([("v", 1)], collation=num)
    c.insert_many([{"v": s} for s in ["10", "9", "100", "2", "1"]])
    plan = winning(c, {}, num, {"v": 1})
    if find_stage(plan, "SORT") is not None or find_stage(plan, "IXSCAN") is None:
        raise AssertionError("sort not served: %r" % plan)
    eq([d["v"] for d in c.find({}, collation=num).sort("v", 1)], ["1", "2", "9", "10", "100"])
    eq([d["v"] for d in c.find({}, collation=num).sort("v", -1)], ["100", "10", "9", "2", "1"])
    eq([d["v"] for d in c.find({"v": {"$gt": "9"}}, collation=num).sort("v", 1)], ["10", "100"])
    eq([d["v"] for d in c.find().sort("v", 1)], ["1", "10", "100", "2", "9"])  # binary: a sort


@check("property: results through a collated index equal a collation scan")
def _():
    rnd = random.Random(int(os.environ.get("TETHER_TEST_SEED", "20261207")))
    alphabet = ["a", "A", "b", "B", "é", "É", "e", "E", "1", "2", "9", "0", " ", "-", "ß", "ss"]
    locales = ["en", "fr", "de", "sv"]
    for rnd_i in range(12):
        if time.monotonic() > DEADLINE - 60:
            break
        coll = {"locale": rnd.choice(locales), "strength": rnd.randint(1, 3),
                "caseLevel": rnd.random() < 0.3, "numericOrdering": rnd.random() < 0.4}
        c = db["prop%d" % rnd_i]
        docs = []
        for i in range(60):
            s = "".join(rnd.choice(alphabet) for _ in range(rnd.randint(0, 5)))
            docs.append({"_id": i, "s": s if rnd.random() < 0.9 else rnd.randint(0, 20)})
        c.insert_many(docs)
        desc = rnd.random() < 0.5
        c.create_index([("s", DESCENDING if desc else ASCENDING)], name="s_coll", collation=coll)
        queries = []
        for _ in range(10):
            v = rnd.choice(docs)["s"]
            op = rnd.choice(["eq", "gt", "gte", "lt", "lte", "in"])
            if op == "eq":
                queries.append({"s": v})
            elif op == "in":
                queries.append({"s": {"$in": [v, rnd.choice(docs)["s"]]}})
            else:
                queries.append({"s": {"$" + op: v}})
        runs = []
        for q in queries:
            d = 1 if rnd.random() < 0.5 else -1
            runs.append((q, d))
        with_index = []
        for q, d in runs:
            plan = winning(c, q, coll, {"s": d})
            if find_stage(plan, "IXSCAN") is None:
                raise AssertionError("no IXSCAN for %r under %r: %r" % (q, coll, plan))
            got = [(x["_id"]) for x in c.find(q, collation=coll).sort("s", d)]
            with_index.append((got, sorted(x["_id"] for x in c.find(q, collation=coll))))
        c.drop_index("s_coll")
        for (q, d), (got, unsorted) in zip(runs, with_index):
            if winning(c, q, coll)["stage"] != "COLLSCAN":
                raise AssertionError("expected a scan")
            want = [(x["_id"]) for x in c.find(q, collation=coll).sort("s", d)]
            if got != want or unsorted != sorted(x["_id"] for x in c.find(q, collation=coll)):
                raise AssertionError("collation %r query %r dir %d:\nindex %r\nscan  %r"
                                     % (coll, q, d, got, want))


@check("aggregate collation: expressions, $addToSet, set operators, $lookup join")
def _():
    c = db.aggcoll
    c.insert_many([{"_id": 1, "g": "x", "n": "Ann", "tags": ["a", "B"]},
                   {"_id": 2, "g": "x", "n": "ann", "tags": ["A", "b", "c"]},
                   {"_id": 3, "g": "x", "n": "bob", "tags": []}])
    db.aggforeign.insert_many([{"_id": 10, "name": "ANN"}, {"_id": 11, "name": "Bob"}])
    pipe = [{"$project": {"eq": {"$eq": ["$n", "ANN"]}, "cmp": {"$cmp": ["$n", "ANN"]},
                          "in": {"$in": ["ANN", ["$n"]]}, "gt": {"$gt": ["$n", "B"]},
                          "u": {"$size": {"$setUnion": ["$tags", ["a"]]}}}},
            {"$sort": {"_id": 1}}]
    got = list(c.aggregate(pipe, collation=CI))
    eq([(d["eq"], d["cmp"], d["in"], d["gt"], d["u"]) for d in got],
       [(True, 0, True, False, 2), (True, 0, True, False, 3), (False, 1, False, True, 1)])
    got = list(c.aggregate(pipe))  # binary without a collation
    eq([(d["eq"], d["in"], d["u"]) for d in got],
       [(False, False, 2), (False, False, 4), (False, False, 1)])
    got = list(c.aggregate([{"$group": {"_id": "$g", "s": {"$addToSet": "$n"},
                                        "mx": {"$max": "$n"}}}], collation=CI))
    eq((len(got[0]["s"]), got[0]["mx"]), (2, "bob"))
    got = list(c.aggregate([{"$lookup": {"from": "aggforeign", "localField": "n",
                                         "foreignField": "name", "as": "f"}},
                            {"$sort": {"_id": 1}}], collation=CI))
    eq([[f["_id"] for f in d["f"]] for d in got], [[10], [10], [11]])
    got = list(c.aggregate([{"$lookup": {"from": "aggforeign", "localField": "n",
                                         "foreignField": "name", "as": "f"}},
                            {"$sort": {"_id": 1}}]))
    eq([[f["_id"] for f in d["f"]] for d in got], [[], [], []])
    eq(c.count_documents({"$expr": {"$eq": ["$n", "ANN"]}}, collation=CI), 2)
    eq(c.count_documents({"$expr": {"$eq": ["$n", "ANN"]}}), 0)


@check("update operators under the statement's collation: $addToSet, $pull, $max")
def _():
    c = db.updcoll
    c.insert_one({"_id": 1, "tags": ["a", "b"], "m": "b"})
    eq(c.update_one({"_id": 1}, {"$addToSet": {"tags": "A"}}, collation=CI).modified_count, 0)
    eq(c.update_one({"_id": 1}, {"$addToSet": {"tags": "A"}}).modified_count, 1)
    eq(c.update_one({"_id": 1}, {"$pull": {"tags": "B"}}, collation=CI).modified_count, 1)
    eq(c.find_one({"_id": 1})["tags"], ["a", "A"])
    eq(c.update_one({"_id": 1}, {"$max": {"m": "B"}}, collation=CI).modified_count, 0)
    doc = c.find_one_and_update({"_id": 1}, {"$pullAll": {"tags": ["A"]}}, collation=CI,
                                return_document=True)
    eq(doc["tags"], [])


check.stop_and_finish(server, client)
