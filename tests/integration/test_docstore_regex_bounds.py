"""Bounded regex matching, through a real client (pymongo 3.11) against
`tether db`: catastrophic patterns ($regex in find, count and aggregate's
$match, $in with regexes, $regexMatch/$regexFind/$regexFindAll) answer
quickly with 51156, MongoDB's code for a regex that cannot be evaluated,
never a silent "no match"; correct matches still answer; a bystander
client's ping stays responsive during the attack (its worst latency is
printed, bounded only generously). Every check runs; any failure fails."""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, bystander_ping  # noqa: E402

from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

check = Checks()
EVIL = "^(a+)+$|b$"
QUICK = 5.0  # seconds: generous; unbounded, these took 32 s


def expect_51156(fn):
    t0 = time.monotonic()
    try:
        got = fn()
    except OperationFailure as e:
        took = time.monotonic() - t0
        if e.code != 51156:
            raise AssertionError("code %r: %s" % (e.code, e))
        if "regular expression" not in str(e):
            raise AssertionError("message: %s" % e)
        if took > QUICK:
            raise AssertionError("took %.1f s" % took)
        return took
    raise AssertionError("no error; answered %r" % (got,))


srv = Server()
try:
    cli = MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=10000)
    coll = cli.t.evil
    coll.insert_many([{"_id": 0, "s": "a" * 30 + "b"}] +
                     [{"_id": i, "s": "a" * 30 + "!"} for i in range(1, 20)] +
                     [{"_id": 100, "s": "hello world"}])

    @check("find with a catastrophic $regex is 51156, quickly")
    def _():
        took = expect_51156(lambda: list(coll.find({"s": {"$regex": EVIL}})))
        print("     find: %.3f s" % took)

    @check("count and aggregate $match: 51156")
    def _():
        expect_51156(lambda: coll.count_documents({"s": {"$regex": "(a+)+$"}}))
        expect_51156(lambda: list(coll.aggregate([{"$match": {"s": {"$regex": "(a+)+$"}}}])))
        expect_51156(lambda: list(coll.find({"s": {"$regex": "(a+)+$"}}).sort("s", 1)))

    @check("$in with regexes: 51156")
    def _():
        import re
        expect_51156(lambda: list(coll.find({"s": {"$in": ["x", re.compile("(a+)+$")]}})))

    @check("$regexMatch / $regexFind / $regexFindAll: 51156")
    def _():
        for op in ("$regexMatch", "$regexFind", "$regexFindAll"):
            took = expect_51156(lambda: list(coll.aggregate(
                [{"$project": {"r": {op: {"input": "$s", "regex": EVIL}}}}])))
            print("     %s: %.3f s" % (op, took))

    @check("correct matches still answer")
    def _():
        got = sorted(d["_id"] for d in coll.find({"s": {"$regex": "b$"}}))
        assert got == [0], got
        got = sorted(d["_id"] for d in coll.find({"s": {"$regex": "^a+!$"}}))
        assert got == list(range(1, 20)), got
        got = [d["_id"] for d in coll.find({"s": {"$regex": "^HELLO", "$options": "i"}})]
        assert got == [100], got
        r = list(coll.aggregate([{"$match": {"_id": 100}}, {"$project": {
            "m": {"$regexMatch": {"input": "$s", "regex": "o w"}},
            "f": {"$regexFindAll": {"input": "$s", "regex": "o"}}}}]))
        assert r[0]["m"] is True and len(r[0]["f"]) == 2, r

    @check("backtracking patterns over a 100 KB string still match (bounded, not refused)")
    def _():
        big = cli.t.big
        big.insert_one({"_id": 1, "s": "ab" * 50000 + "c"})
        for pat in ("(?:a|b)+c", "(ab)*c", "(a|b)*?c$", "^.*c$", "[ab]c"):
            got = big.count_documents({"s": {"$regex": pat}})
            assert got == 1, (pat, got)
        r = list(big.aggregate([{"$project": {
            "m": {"$regexMatch": {"input": "$s", "regex": "(?:a|b)+c"}}}}]))
        assert r[0]["m"] is True, r

    @check("a bystander's ping stays responsive during the attack")
    def _():
        worst, _, errors = bystander_ping(
            srv.port, lambda a: list(a.t.evil.find({"s": {"$regex": EVIL}})), 51156, 50)
        print("     bystander ping worst latency: %.1f ms" % (worst * 1000))
        assert not errors, errors[:3]
        assert worst < QUICK, worst

    assert srv.alive(), "server died"
finally:
    srv.stop()

check.finish()
