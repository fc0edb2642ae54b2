"""Decimal128 arithmetic through a real client (pymongo 3.11) against
`tether db`, checked against Python's `decimal` module in a decimal128
context (34 digits, ROUND_HALF_EVEN, Emin -6143, Emax 6144, clamped):
- property tests over random operands: $add, $subtract, $multiply, $divide
  (expressions), $sum and $avg ($group and the expression forms), $inc and
  $mul (updates), with ints mixed in as mongod widens them; every result
  must be the exact decimal (digits and exponent) Python computes;
- comparisons and sorts across decimal, int, long and double are exact;
- a unique index tells decimals apart exactly and treats 1.0 and 1 as one key;
- mongod's conversion of a double operand (15 significant digits).
Every check runs; any failure fails."""
import decimal
import os
import random
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server  # noqa: E402

from bson.decimal128 import Decimal128, create_decimal128_context  # noqa: E402
from bson.int64 import Int64  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from pymongo.errors import DuplicateKeyError, OperationFailure  # noqa: E402

check = Checks(480)
CTX = create_decimal128_context()
rng = random.Random(int(os.environ.get("TETHER_TEST_SEED", "20261207")))
ROUNDS = 300


def rand_decimal():
    """A random decimal128 operand: up to 34 digits, exponent -30..30, and now
    and then a zero with an exponent or a short round value."""
    r = rng.random()
    if r < 0.05:
        return decimal.Decimal("0E%d" % rng.randint(-5, 5))
    if r < 0.15:
        return decimal.Decimal(rng.choice(["0.1", "0.2", "0.3", "1.50", "-2.5", "1E+2", "100",
                                           "-0", "9999999999999999999999999999999999"]))
    ndig = rng.randint(1, 34)
    digits = "".join(rng.choice("0123456789") for _ in range(ndig)).lstrip("0") or "0"
    sign = rng.choice(["", "-"])
    return decimal.Decimal("%s%sE%d" % (sign, digits, rng.randint(-30, 30)))


def rand_operand():
    """A decimal most of the time, else an int32 or int64."""
    r = rng.random()
    if r < 0.7:
        return rand_decimal()
    if r < 0.85:
        return rng.randint(-1000000, 1000000)
    return Int64(rng.randint(-2 ** 40, 2 ** 40))


def to_bson(x):
    return Decimal128(x) if isinstance(x, decimal.Decimal) else x


def to_dec(x):
    return x if isinstance(x, decimal.Decimal) else decimal.Decimal(int(x))


def same_decimal(got, want, what):
    if not isinstance(got, Decimal128):
        raise AssertionError("%s: got %r (%s), want Decimal128(%s)" %
                             (what, got, type(got).__name__, want))
    g = got.to_decimal()
    if g.as_tuple() != want.as_tuple():
        raise AssertionError("%s: got %s, want %s" % (what, g, want))


def fold(op, operands):
    """mongod's $add/$multiply: integers add up exactly until the first
    decimal, which starts a decimal total; later operands go in one by one.
    None when the integers overflow int64 first (mongod then goes through a
    double; those cases are left out)."""
    total, dec = (0 if op == "add" else 1), None
    for x in operands:
        if dec is None and not isinstance(x, decimal.Decimal):
            total = total + int(x) if op == "add" else total * int(x)
            if not -2 ** 63 <= total < 2 ** 63:
                return None
            continue
        if dec is None:
            dec = decimal.Decimal(total)
        dec = CTX.add(dec, to_dec(x)) if op == "add" else CTX.multiply(dec, to_dec(x))
    return dec


server = Server()
client = MongoClient("127.0.0.1", server.port, serverSelectionTimeoutMS=10000)
db = client.decimals


def evaluate(expr):
    """Evaluates one aggregation expression on the server."""
    db.one.delete_many({})
    db.one.insert_one({"_id": 1})
    return list(db.one.aggregate([{"$project": {"_id": 0, "r": expr}}]))[0]["r"]


@check("$add and $multiply over random operands equal Python's decimal128")
def _():
    # Batched: one document per case, one aggregate computes them all.
    db.ops.drop()
    cases = []
    for i in range(ROUNDS):
        n = rng.randint(2, 5)
        ops = [rand_operand() for _ in range(n)]
        if not any(isinstance(x, decimal.Decimal) for x in ops):
            ops[rng.randrange(n)] = rand_decimal()
        cases.append(ops)
        db.ops.insert_one({"_id": i, "v": [to_bson(x) for x in ops]})
    got = {d["_id"]: d for d in db.ops.aggregate([{"$project": {
        "add": {"$add": [{"$arrayElemAt": ["$v", k]} for k in range(5)]},
        "mul": {"$multiply": [{"$arrayElemAt": ["$v", k]} for k in range(5)]},
        "n": {"$size": "$v"}}}])}
    for i, ops in enumerate(cases):
        # Missing elements ($arrayElemAt past the end) make $add/$multiply null
        # for short lists; compare only the full ones and redo the rest singly.
        if len(ops) == 5:
            same_decimal(got[i]["add"], fold("add", ops), "add %r" % ops)
            if fold("mul", ops) is not None:
                same_decimal(got[i]["mul"], fold("mul", ops), "multiply %r" % ops)
    for ops in [c for c in cases if len(c) < 5][:120]:
        r = evaluate({"$add": [{"$literal": to_bson(x)} for x in ops]})
        same_decimal(r, fold("add", ops), "add %r" % ops)
        if fold("mul", ops) is not None:
            r = evaluate({"$multiply": [{"$literal": to_bson(x)} for x in ops]})
            same_decimal(r, fold("mul", ops), "multiply %r" % ops)


@check("$subtract and $divide over random operands equal Python's decimal128")
def _():
    db.ops2.drop()
    cases = []
    for i in range(ROUNDS):
        a, b = rand_operand(), rand_operand()
        if not isinstance(a, decimal.Decimal) and not isinstance(b, decimal.Decimal):
            a = rand_decimal()
        cases.append((a, b))
        db.ops2.insert_one({"_id": i, "a": to_bson(a), "b": to_bson(b)})
    got = {d["_id"]: d for d in db.ops2.aggregate([{"$project": {
        "sub": {"$subtract": ["$a", "$b"]},
        "div": {"$cond": [{"$eq": ["$b", 0]}, None, {"$divide": ["$a", "$b"]}]}}}])}
    for i, (a, b) in enumerate(cases):
        same_decimal(got[i]["sub"], CTX.subtract(to_dec(a), to_dec(b)), "%r - %r" % (a, b))
        if to_dec(b) != 0:
            same_decimal(got[i]["div"], CTX.divide(to_dec(a), to_dec(b)), "%r / %r" % (a, b))
    try:
        evaluate({"$divide": [Decimal128("1"), Decimal128("0E+3")]})
        raise AssertionError("no error dividing by a decimal zero")
    except OperationFailure as e:
        assert e.code == 2 and "divide by zero" in str(e), e


@check("$group $sum and $avg, and the expression forms, equal Python's decimal128")
def _():
    db.grp.drop()
    groups = {}
    docs = []
    for i in range(ROUNDS * 2):
        g = rng.randrange(40)
        x = rand_operand()
        groups.setdefault(g, []).append(x)
        docs.append({"_id": i, "g": g, "x": to_bson(x)})
    db.grp.insert_many(docs)
    got = {d["_id"]: d for d in db.grp.aggregate([
        {"$group": {"_id": "$g", "s": {"$sum": "$x"}, "a": {"$avg": "$x"},
                    "all": {"$push": "$x"}}},
        {"$addFields": {"es": {"$sum": "$all"}, "ea": {"$avg": "$all"}}}])}
    for g, xs in groups.items():
        if not any(isinstance(x, decimal.Decimal) for x in xs):
            continue
        # mongod: the decimals add up from 0E0, then the integers' total joins.
        t = decimal.Decimal(0)
        for x in xs:
            if isinstance(x, decimal.Decimal):
                t = CTX.add(t, x)
        t = CTX.add(t, decimal.Decimal(sum(int(x) for x in xs
                                           if not isinstance(x, decimal.Decimal))))
        avg = CTX.divide(t, decimal.Decimal(len(xs)))
        same_decimal(got[g]["s"], t, "$sum group %d" % g)
        same_decimal(got[g]["a"], avg, "$avg group %d" % g)
        same_decimal(got[g]["es"], t, "$sum expression group %d" % g)
        same_decimal(got[g]["ea"], avg, "$avg expression group %d" % g)


@check("$inc and $mul of decimals equal Python's decimal128")
def _():
    db.upd.drop()
    for i in range(ROUNDS):
        start = rand_operand() if rng.random() < 0.8 else None
        by = rand_operand()
        op = rng.choice(["$inc", "$mul"])
        if start is None or not isinstance(start, decimal.Decimal):
            by = rand_decimal() if not isinstance(by, decimal.Decimal) else by
        doc = {"_id": i}
        if start is not None:
            doc["v"] = to_bson(start)
        db.upd.insert_one(doc)
        db.upd.update_one({"_id": i}, {op: {"v": to_bson(by)}})
        got = db.upd.find_one({"_id": i})["v"]
        base = decimal.Decimal(0) if start is None else to_dec(start)
        if op == "$inc":
            want = CTX.add(base, to_dec(by))
        else:
            want = CTX.multiply(base, to_dec(by))
        same_decimal(got, want, "%s %r by %r" % (op, start, by))


@check("money: 0.1 + 0.2 is 0.3, never 0.30000000000000004")
def _():
    db.money.drop()
    db.money.insert_many([{"amt": Decimal128("0.1")}, {"amt": Decimal128("0.2")}])
    r = list(db.money.aggregate([{"$group": {"_id": None, "t": {"$sum": "$amt"}}}]))[0]["t"]
    same_decimal(r, decimal.Decimal("0.3"), "0.1 + 0.2")
    db.money.update_many({}, {"$inc": {"amt": Decimal128("0.01")}})
    eq_vals = sorted(str(d["amt"]) for d in db.money.find())
    assert eq_vals == ["0.11", "0.21"], eq_vals


@check("a double operand converts as mongod's: 15 significant digits")
def _():
    same_decimal(evaluate({"$add": [Decimal128("1"), 0.1]}),
                 decimal.Decimal("1.100000000000000"), "1 + 0.1")
    same_decimal(evaluate({"$subtract": [Decimal128("0"), 2.5]}),
                 decimal.Decimal("-2.50000000000000"), "0 - 2.5")
    # A running double total turns decimal at 34 digits.
    same_decimal(evaluate({"$add": [0.5, Decimal128("1")]}), decimal.Decimal("1.5"),
                 "0.5 + 1")


@check("decimal $abs $ceil $floor $round $trunc $sqrt $log10 $pow $mod $toDecimal")
def _():
    D = Decimal128
    table = [
        ({"$abs": D("-1.50")}, "1.50"), ({"$ceil": D("1.20")}, "2"), ({"$floor": D("-1.2")}, "-2"),
        ({"$round": [D("1.25"), 1]}, "1.2"), ({"$round": [D("1.35"), 1]}, "1.4"),
        ({"$trunc": [D("1.29"), 1]}, "1.2"), ({"$round": D("2.5")}, "2"),
        ({"$sqrt": D("2")}, str(CTX.sqrt(decimal.Decimal(2)))),
        ({"$log10": D("1000")}, "3"), ({"$pow": [D("1.1"), 2]}, "1.21"),
        ({"$mod": [D("7.5"), 2]}, "1.5"), ({"$toDecimal": 0.1}, "0.100000000000000"),
        ({"$toDecimal": "1.50"}, "1.50"), ({"$convert": {"input": 5, "to": "decimal"}}, "5"),
    ]
    for expr, want in table:
        same_decimal(evaluate(expr), decimal.Decimal(want), repr(expr))
    assert evaluate({"$toLong": D("9223372036854775807")}) == 2 ** 63 - 1
    assert evaluate({"$toInt": D("-12.99")}) == -12
    for bad, code in (({"$ln": D("0")}, 28766), ({"$sqrt": D("-1")}, 28714),
                      ({"$toDecimal": "1.2.3"}, 241), ({"$toInt": D("2147483648")}, 241)):
        try:
            evaluate(bad)
            raise AssertionError("no error for %r" % (bad,))
        except OperationFailure as e:
            assert e.code == code, (bad, e.code, str(e))


@check("comparisons and sorts across decimal, int, long and double are exact")
def _():
    db.cmp.drop()
    vals = [rand_decimal() for _ in range(150)] + \
        [rng.randint(-10 ** 6, 10 ** 6) for _ in range(30)] + \
        [decimal.Decimal("0.1"), decimal.Decimal("0.1000000000000000000000000000000001"),
         decimal.Decimal("0.1000000000000000055511151231257827"),
         decimal.Decimal("0.1000000000000000055511151231257828"), 1, decimal.Decimal("1.0")]
    doubles = [0.1, 2.5, -1e-20, 1e20]
    docs = [{"_id": i, "v": to_bson(v)} for i, v in enumerate(vals)]
    docs += [{"_id": 1000 + i, "v": d} for i, d in enumerate(doubles)]
    db.cmp.insert_many(docs)
    exact = {d["_id"]: (to_dec(v)) for d, v in zip(docs, vals)}
    for i, d in enumerate(doubles):
        exact[1000 + i] = decimal.Decimal(d)  # a double's exact value
    order = [d["_id"] for d in db.cmp.find().sort([("v", 1), ("_id", 1)])]
    want = sorted(exact, key=lambda k: (exact[k], k))
    assert order == want, "sort differs"
    for probe in vals[:40] + [decimal.Decimal("0.1")]:
        for op, fn in (("$gt", lambda a, b: a > b), ("$lte", lambda a, b: a <= b),
                       ("$eq", lambda a, b: a == b)):
            got = sorted(d["_id"] for d in db.cmp.find({"v": {op: to_bson(probe)}}))
            exp = sorted(k for k, x in exact.items() if fn(x, to_dec(probe)))
            assert got == exp, "%s %s: got %r want %r" % (op, probe, got, exp)
    # The same through an index.
    db.cmp.create_index("v")
    order2 = [d["_id"] for d in db.cmp.find().sort([("v", 1), ("_id", 1)])]
    assert order2 == want, "indexed sort differs"
    for probe in vals[:40]:
        got = sorted(d["_id"] for d in db.cmp.find({"v": {"$gte": to_bson(probe)}}))
        exp = sorted(k for k, x in exact.items() if x >= to_dec(probe))
        assert got == exp, "indexed $gte %s" % probe


@check("a unique index on decimals: no false duplicates, 1.0 and 1 one key")
def _():
    db.uniq.drop()
    db.uniq.create_index("p", unique=True)
    db.uniq.insert_one({"p": Decimal128("0.1")})
    db.uniq.insert_one({"p": Decimal128("0.1000000000000000000000000000000001")})
    db.uniq.insert_one({"p": 0.1})  # the double: a different number
    db.uniq.insert_one({"p": Decimal128("1.0")})
    for dup in (1, Int64(1), 1.0, Decimal128("1"), Decimal128("1.000"), Decimal128("0.10")):
        try:
            db.uniq.insert_one({"p": dup})
            raise AssertionError("%r accepted as a new key" % (dup,))
        except DuplicateKeyError as e:
            assert e.code == 11000
    assert db.uniq.count_documents({}) == 4
    # _id keys too.
    db.ids.drop()
    db.ids.insert_one({"_id": Decimal128("2.5")})
    db.ids.insert_one({"_id": Decimal128("2.500000000000000000000000000000001")})
    try:
        db.ids.insert_one({"_id": 2.5})
        raise AssertionError("2.5 accepted beside Decimal128('2.5')")
    except DuplicateKeyError:
        pass


check.serving(server, client)
check.stop_and_finish(server, client)
