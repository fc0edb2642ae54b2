"""Docstore authentication in the handshake, as MongoDB 4.4+ answers it.

- hello's speculativeAuthenticate: pymongo 3.11 (OP_QUERY isMaster), the Node
  driver 7 (OP_MSG hello) and libmongoc 1.23 (single-threaded client and pool)
  each send a SCRAM saslStart inside
  their first hello; serverStatus.security.authentication counters prove that
  every login took the speculative path (no separate saslStart) and succeeded.
- A speculative saslStart that fails (unknown user, mechanism not enabled, no
  db) leaves the field out with ok: 1, and a normal saslStart on the same
  connection then succeeds; malformed fields fail the hello as MongoDB does.
- MONGODB-AWS through the Node driver (the usual way), speculatively through
  a SigV4 client written here from the auth spec (no driver here sends it),
  and SCRAM done by hand over the raw wire.
- saslContinue without a conversation, without or with a wrong
  conversationId, or on another database: ProtocolError / 40414.
- saslSupportedMechs: per user and per enabled mechanism.
"""
import base64
import datetime
import hashlib
import hmac
import json
import os
import subprocess

import bson
import pymongo
from bson.binary import Binary
from bson.son import SON
from pymongo.errors import OperationFailure

from docstore_wire_lib import TMP, Server, check, cmd, op_msg, op_query, recv_reply

PROBE = os.path.join(os.environ["TETHER_BUILD"], "tests", "clients", "auth_probe")
ROLE = "arn:aws:iam::123456789012:role/orders-fn"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/="
PW = "p@ss:w0rd,=x"

users = [
    {"user": "app", "db": "app", "password": PW, "roles": ["readWrite"]},
    {"user": "admin", "db": "admin", "password": "adm1n", "roles": ["root"]},
    {"user": ROLE, "db": "$external", "roles": [{"role": "readWrite", "db": "app"}]},
]
iam = [{"accessKeyId": "ASIATESTKEY0001", "secretAccessKey": SECRET, "sessionToken": TOKEN,
        "arn": ROLE}]
users_path = os.path.join(TMP, "users.json")
iam_path = os.path.join(TMP, "iam.json")
with open(users_path, "w") as f:
    json.dump(users, f)
with open(iam_path, "w") as f:
    json.dump(iam, f)


# ---- a SCRAM client over the raw wire (RFC 5802 / 7677, MongoDB's variant) ----

def scram_first(user, nonce):
    return "n,,n=%s,r=%s" % (user.replace("=", "=3D").replace(",", "=2C"), nonce)


def scram_final(mech, user, pw, first, server_first):
    attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
    if mech == "SCRAM-SHA-1":
        hname, secret = "sha1", hashlib.md5(("%s:mongo:%s" % (user, pw)).encode()).hexdigest()
    else:
        hname, secret = "sha256", pw
    salted = hashlib.pbkdf2_hmac(hname, secret.encode(), base64.b64decode(attrs["s"]),
                                 int(attrs["i"]))
    ck = hmac.new(salted, b"Client Key", hname).digest()
    sk = hmac.new(salted, b"Server Key", hname).digest()
    without_proof = "c=biws,r=" + attrs["r"]
    am = ",".join((first[3:], server_first, without_proof)).encode()
    sig = hmac.new(hashlib.new(hname, ck).digest(), am, hname).digest()
    proof = base64.b64encode(bytes(a ^ b for a, b in zip(ck, sig))).decode()
    expect = "v=" + base64.b64encode(hmac.new(sk, am, hname).digest()).decode()
    return without_proof + ",p=" + proof, expect


def spec_doc(mech, payload, db, **extra):
    d = SON([("saslStart", 1), ("mechanism", mech), ("payload", Binary(payload)),
             ("autoAuthorize", 1), ("options", {"skipEmptyExchange": True}), ("db", db)])
    d.update(extra)
    return d


def find_app():
    return SON([("find", "things"), ("filter", {}), ("$db", "app")])


class Conn:
    def __init__(self, server):
        self.s = server.connect()
        self.rid = 0

    def msg(self, doc):
        self.rid += 1
        self.s.sendall(op_msg(doc, rid=self.rid))
        r = recv_reply(self.s)
        check(r is not None, "reply to %s" % list(doc.keys())[0])
        return r[1]

    def query(self, doc):
        self.rid += 1
        self.s.sendall(op_query("admin.$cmd", doc, rid=self.rid))
        r = recv_reply(self.s)
        check(r is not None and r[0][3] == 1, "OP_REPLY to %s" % list(doc.keys())[0])
        return r[1]

    def close(self):
        self.s.close()


def raw_scram_speculative(server, mech, user, pw, db, legacy=False):
    """hello with speculativeAuthenticate, then saslContinue; returns (conn, hello reply)."""
    c = Conn(server)
    first = scram_first(user, base64.b64encode(os.urandom(18)).decode())
    hello = SON([("isMaster" if legacy else "hello", 1), ("helloOk", True),
                 ("client", {"driver": {"name": "raw", "version": "1"}}),
                 ("speculativeAuthenticate", spec_doc(mech, first.encode(), db))])
    if legacy:
        r = c.query(hello)
    else:
        hello["$db"] = "admin"
        r = c.msg(hello)
    sa = r.get("speculativeAuthenticate")
    if sa is None:
        return c, r
    check(sa.get("conversationId") == 1 and sa.get("done") is False and "ok" not in sa,
          "speculativeAuthenticate reply shape: %r" % {k: v for k, v in sa.items()
                                                        if k != "payload"})
    final, expect = scram_final(mech, user, pw, first, sa["payload"].decode())
    r2 = c.msg(cmd("saslContinue", db=db, conversationId=1, payload=Binary(final.encode())))
    check(r2.get("ok") == 1.0 and r2.get("done") is True, "%s speculative saslContinue: %r"
          % (mech, r2.get("errmsg")))
    check(r2.get("payload", b"").decode() == expect, "server signature")
    return c, r


def raw_scram_plain(c, mech, user, pw, db):
    """A normal saslStart + saslContinue on connection c; returns the last reply."""
    first = scram_first(user, "fallbacknonce0123456789")
    r = c.msg(cmd("saslStart", db=db, mechanism=mech, payload=Binary(first.encode()),
                  options={"skipEmptyExchange": True}))
    if r.get("ok") != 1.0:
        return r
    final, _ = scram_final(mech, user, pw, first, r["payload"].decode())
    return c.msg(cmd("saslContinue", db=db, conversationId=r["conversationId"],
                     payload=Binary(final.encode())))


# ---- MONGODB-AWS: the client side of the auth spec, SigV4 by hand ----

def aws_second(server_payload, akid, secret, token):
    sp = bson.BSON(server_payload).decode()
    nonce, host = sp["s"], sp["h"]
    now = datetime.datetime.utcnow()
    date, day = now.strftime("%Y%m%dT%H%M%SZ"), now.strftime("%Y%m%d")
    headers = [("content-length", "43"), ("content-type", "application/x-www-form-urlencoded"),
               ("host", host), ("x-amz-date", date), ("x-amz-security-token", token),
               ("x-mongodb-gs2-cb-flag", "n"),
               ("x-mongodb-server-nonce", base64.b64encode(nonce).decode())]
    signed = ";".join(h for h, _ in headers)
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    creq = "POST\n/\n\n" + "".join("%s:%s\n" % h for h in headers) + "\n" + signed + "\n" + \
        hashlib.sha256(body).hexdigest()
    scope = "%s/us-east-1/sts/aws4_request" % day
    sts = "AWS4-HMAC-SHA256\n%s\n%s\n%s" % (date, scope, hashlib.sha256(creq.encode()).hexdigest())
    k = ("AWS4" + secret).encode()
    for part in (day, "us-east-1", "sts", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
    authz = "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s" % (
        akid, scope, signed, sig)
    return bson.BSON.encode(SON([("a", authz), ("d", date), ("t", token)])), nonce


# ---- helpers on serverStatus counters ----

def auth_counters(admin):
    st = admin.admin.command("serverStatus")
    return st["security"]["authentication"]


def delta(before, after, mech, part, field):
    b = before["mechanisms"].get(mech, {}).get(part, {}).get(field, 0)
    a = after["mechanisms"].get(mech, {}).get(part, {}).get(field, 0)
    return a - b


srv = Server("--auth", "both", "--users", users_path, "--iam", iam_path)
admin = pymongo.MongoClient("127.0.0.1", srv.port, username="admin", password="adm1n",
                            authSource="admin", serverSelectionTimeoutMS=5000)
try:
    admin.admin.command("ping")
    mechs = auth_counters(admin)["mechanisms"]
    check(sorted(mechs) == ["MONGODB-AWS", "SCRAM-SHA-1", "SCRAM-SHA-256"],
          "serverStatus lists the enabled mechanisms: %r" % sorted(mechs))
    check(mechs["SCRAM-SHA-256"]["speculativeAuthenticate"]["successful"] >= 1,
          "the admin client itself logged in speculatively")

    # -- real drivers: every login speculative, no separate saslStart --
    def driver_login(what, mech, run):
        before = auth_counters(admin)
        out = run()
        after = auth_counters(admin)
        spec_ok = delta(before, after, mech, "speculativeAuthenticate", "successful")
        spec_in = delta(before, after, mech, "speculativeAuthenticate", "received")
        recv = delta(before, after, mech, "authenticate", "received")
        ok = delta(before, after, mech, "authenticate", "successful")
        check(spec_ok >= 1 and spec_ok == spec_in == recv == ok,
              "%s: every login speculative (spec ok %d, spec received %d, received %d, ok %d) %s"
              % (what, spec_ok, spec_in, recv, ok, out))

    for mech, expect in (("SCRAM-SHA-256", "SCRAM-SHA-256"), ("SCRAM-SHA-1", "SCRAM-SHA-1"),
                         (None, "SCRAM-SHA-256")):
        def py_run(mech=mech):
            kw = dict(username="app", password=PW, authSource="app",
                      serverSelectionTimeoutMS=5000)
            if mech:
                kw["authMechanism"] = mech
            c = pymongo.MongoClient("127.0.0.1", srv.port, **kw)
            c.app.things.insert_one({"by": "pymongo %s" % mech})
            n = c.app.things.count_documents({"by": "pymongo %s" % mech})
            c.close()
            check(n == 1, "pymongo %s round trip" % mech)
            return ""
        driver_login("pymongo %s" % mech, expect, py_run)

    js = """
const { MongoClient } = require('mongodb');
(async () => {
  const c = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 5000, maxPoolSize: 1 });
  await c.connect();
  await c.db('app').collection('fromnode').insertOne({ n: 1 });
  const n = await c.db('app').collection('fromnode').countDocuments({});
  console.log(n >= 1 ? 'ok' : 'count ' + n);
  await c.close();
})().catch(e => { console.log('error ' + e.code + ' ' + e.message); process.exit(1); });
"""
    quoted = "p%40ss%3Aw0rd%2C%3Dx"
    for mech, expect in (("SCRAM-SHA-256", "SCRAM-SHA-256"), ("SCRAM-SHA-1", "SCRAM-SHA-1"),
                         (None, "SCRAM-SHA-256")):
        uri = "mongodb://app:%s@127.0.0.1:%d/app%s" % (
            quoted, srv.port, "?authMechanism=" + mech if mech else "")

        def node_run(uri=uri, mech=mech):
            p = subprocess.run(["node", "-e", js, uri], capture_output=True, text=True,
                               timeout=60)
            check(p.stdout.strip() == "ok", "node %s: %s %s" % (mech, p.stdout, p.stderr[-400:]))
            return p.stdout.strip()
        driver_login("node %s" % mech, expect, node_run)

    for mode in ([], ["pool"]):
        def mongoc_run(mode=mode):
            p = subprocess.run([PROBE, "mongodb://app:%s@127.0.0.1:%d/?authSource=app"
                                % (quoted, srv.port), "app", "fromc"] + mode,
                               capture_output=True, text=True, timeout=60)
            check(p.returncode == 0, "libmongoc %s SCRAM: %s" % (mode, p.stdout))
            return p.stdout.strip()
        driver_login("libmongoc %s" % (mode or "single"), "SCRAM-SHA-256", mongoc_run)

    # MONGODB-AWS through the Node driver (credentials from AWS_* as on Lambda):
    # no driver here sends it speculatively, so it takes saslStart + saslContinue
    aws_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    aws_env.update({"AWS_ACCESS_KEY_ID": "ASIATESTKEY0001", "AWS_SECRET_ACCESS_KEY": SECRET,
                    "AWS_SESSION_TOKEN": TOKEN, "AWS_REGION": "us-east-1"})
    for good in (True, False):
        env = dict(aws_env, **({} if good else {"AWS_SECRET_ACCESS_KEY": "not-the-secret"}))
        before = auth_counters(admin)
        p = subprocess.run(["node", "-e", js, "mongodb://127.0.0.1:%d/app?authMechanism="
                            "MONGODB-AWS&authSource=%%24external" % srv.port],
                           capture_output=True, text=True, timeout=60, env=env)
        after = auth_counters(admin)
        if good:
            check(p.stdout.strip() == "ok", "node MONGODB-AWS: %s %s" % (p.stdout,
                                                                        p.stderr[-400:]))
        else:
            check(p.stdout.strip().startswith("error 18"),
                  "node MONGODB-AWS wrong secret: 18: %s" % p.stdout)
        check(delta(before, after, "MONGODB-AWS", "authenticate", "successful") == int(good) and
              delta(before, after, "MONGODB-AWS", "authenticate", "received") >= 1,
              "MONGODB-AWS counted: %r %r" % (before["mechanisms"]["MONGODB-AWS"],
                                              after["mechanisms"]["MONGODB-AWS"]))

    # a wrong password: the speculative start succeeds, the proof fails with 18
    bad = pymongo.MongoClient("127.0.0.1", srv.port, username="app", password="wrong",
                              authSource="app", serverSelectionTimeoutMS=5000)
    try:
        bad.app.things.find_one()
        check(False, "wrong password must fail")
    except OperationFailure as e:
        check(e.code == 18, "wrong password after speculative start: 18, got %s" % e.code)
    bad.close()
    # an unknown user: the field is left out, the driver falls back to saslStart: 18
    before = auth_counters(admin)
    bad = pymongo.MongoClient("127.0.0.1", srv.port, username="nobody", password="x",
                              authSource="app", serverSelectionTimeoutMS=5000)
    try:
        bad.app.things.find_one()
        check(False, "unknown user must fail")
    except OperationFailure as e:
        check(e.code == 18, "unknown user falls back and fails with 18, got %s" % e.code)
    bad.close()
    after = auth_counters(admin)
    # no saslSupportedMechs for an unknown user: the driver falls back to SCRAM-SHA-1
    spec = delta(before, after, "SCRAM-SHA-256", "speculativeAuthenticate", "received")
    check(spec >= 1 and delta(before, after, "SCRAM-SHA-256", "authenticate", "received") == spec
          and delta(before, after, "SCRAM-SHA-1", "authenticate", "received") == spec
          and delta(before, after, "SCRAM-SHA-1", "authenticate", "successful") == 0,
          "each failed speculative start was followed by one SCRAM-SHA-1 saslStart: %r %r"
          % (before, after))

    # -- raw wire: speculative SCRAM over OP_MSG hello and OP_QUERY isMaster --
    for legacy in (False, True):
        for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
            c, r = raw_scram_speculative(srv, mech, "app", PW, "app", legacy)
            check("speculativeAuthenticate" in r, "raw %s hello (legacy=%s) answers speculatively"
                  % (mech, legacy))
            f = c.msg(find_app())
            check(f.get("ok") == 1.0, "find after a speculative login (legacy=%s): %r" % (legacy, f))
            st = c.msg(cmd("connectionStatus"))["authInfo"]
            check(st["authenticatedUsers"] == [{"user": "app", "db": "app"}] and
                  st["authenticatedUserRoles"] == [{"role": "readWrite", "db": "app"}],
                  "connectionStatus after a speculative login: %r" % st)
            c.msg(cmd("logout", db="app"))
            check(c.msg(find_app()).get("code") == 13, "logout returns to unauthenticated")
            check(c.msg(cmd("connectionStatus"))["authInfo"]["authenticatedUsers"] == [],
                  "no user after logout")
            c.close()

    # a failed speculative start: ok 1, no field, then saslStart succeeds on the same socket
    for spec in (spec_doc("SCRAM-SHA-256", scram_first("nobody", "abc").encode(), "app"),
                 spec_doc("SCRAM-SHA-256", scram_first("app", "abc").encode(), "other"),
                 spec_doc("PLAIN", b"\x00app\x00pw", "app"),
                 SON([("saslStart", 1), ("mechanism", "SCRAM-SHA-256"),
                      ("payload", Binary(scram_first("app", "abc").encode()))]),
                 spec_doc("SCRAM-SHA-256", b"garbage", "app")):
        c = Conn(srv)
        r = c.msg(cmd("hello", speculativeAuthenticate=spec))
        check(r.get("ok") == 1.0 and "speculativeAuthenticate" not in r,
              "failed speculative start leaves the field out: %r" % r.get("errmsg"))
        f = c.msg(find_app())
        check(f.get("code") == 13, "still unauthenticated after a failed speculative start")
        r = raw_scram_plain(c, "SCRAM-SHA-256", "app", PW, "app")
        check(r.get("ok") == 1.0 and r.get("done") is True, "fallback saslStart succeeds: %r"
              % r.get("errmsg"))
        f = c.msg(find_app())
        check(f.get("ok") == 1.0, "find after the fallback login")
        c.close()

    # malformed: the hello fails, as MongoDB's does
    for value, code in ((5, 2), ({}, 2), ({"foo": 1}, 51769)):
        c = Conn(srv)
        r = c.msg(cmd("hello", speculativeAuthenticate=value))
        check(r.get("ok") == 0.0 and r.get("code") == code,
              "malformed speculativeAuthenticate %r: code %s, got %r" % (value, code, r))
        c.close()
    # X.509 (authenticate) is not supported: left out, hello ok
    c = Conn(srv)
    r = c.msg(cmd("hello", speculativeAuthenticate={"authenticate": 1,
                                                     "mechanism": "MONGODB-X509"}))
    check(r.get("ok") == 1.0 and "speculativeAuthenticate" not in r, "X.509 speculative omitted")
    c.close()

    # -- MONGODB-AWS speculatively --
    for good in (True, False):
        c = Conn(srv)
        first = bson.BSON.encode(SON([("r", Binary(os.urandom(32))), ("p", 110)]))
        r = c.msg(cmd("hello", speculativeAuthenticate=SON([
            ("saslStart", 1), ("mechanism", "MONGODB-AWS"), ("payload", Binary(first)),
            ("db", "$external")])))
        sa = r.get("speculativeAuthenticate")
        check(sa is not None and sa.get("done") is False, "AWS speculative reply")
        if sa is None:
            c.close()
            continue
        second, nonce = aws_second(sa["payload"], "ASIATESTKEY0001",
                                   SECRET if good else "not-the-secret", TOKEN)
        check(nonce[:32] == bson.BSON(first).decode()["r"], "server nonce extends the client's")
        r2 = c.msg(cmd("saslContinue", db="$external", conversationId=1, payload=Binary(second)))
        if good:
            check(r2.get("ok") == 1.0 and r2.get("done") is True, "AWS speculative login: %r"
                  % r2.get("errmsg"))
            f = c.msg(find_app())
            check(f.get("ok") == 1.0, "AWS principal reads app")
        else:
            check(r2.get("code") == 18, "AWS wrong secret after speculative start: 18")
        c.close()

    # -- saslContinue edge cases --
    c = Conn(srv)
    r = c.msg(cmd("saslContinue", db="app", conversationId=1, payload=Binary(b"x")))
    check(r.get("code") == 17 and "No SASL session" in r.get("errmsg", ""),
          "saslContinue with no conversation: ProtocolError")
    r = c.msg(cmd("saslContinue", db="app", payload=Binary(b"x")))
    check(r.get("code") == 40414, "saslContinue without conversationId: 40414, got %r" % r)
    first = scram_first("app", "edgecasenonce")
    for wrong in ({"conversationId": 2, "db": "app"}, {"conversationId": 1, "db": "admin"}):
        r = c.msg(cmd("saslStart", db="app", mechanism="SCRAM-SHA-256",
                      payload=Binary(first.encode())))
        check(r.get("ok") == 1.0, "saslStart for edge cases")
        final, _ = scram_final("SCRAM-SHA-256", "app", PW, first, r["payload"].decode())
        r = c.msg(cmd("saslContinue", db=wrong["db"], conversationId=wrong["conversationId"],
                      payload=Binary(final.encode())))
        check(r.get("code") == 17, "saslContinue %r: ProtocolError, got %r" % (wrong, r))
        r = c.msg(cmd("saslContinue", db="app", conversationId=1, payload=Binary(final.encode())))
        check(r.get("code") == 17, "the conversation is gone after a protocol error")
    c.close()

    # -- saslSupportedMechs --
    c = Conn(srv)
    for who, want in (("app.app", ["SCRAM-SHA-1", "SCRAM-SHA-256"]),
                      ("$external." + ROLE, ["MONGODB-AWS"]), ("app.nobody", None)):
        r = c.msg(cmd("hello", saslSupportedMechs=who))
        got = r.get("saslSupportedMechs")
        check((sorted(got) if got is not None else None) == want,
              "saslSupportedMechs %s: %r" % (who, got))
    c.close()
    check(auth_counters(admin)["saslSupportedMechsReceived"] >= 3, "saslSupportedMechsReceived")
finally:
    admin.close()
    srv.stop()
logs = srv.logtext()

# only SCRAM enabled: AWS users get no mechanism, speculative AWS is left out
srv = Server("--auth", "scram", "--users", users_path)
try:
    c = Conn(srv)
    r = c.msg(cmd("hello", saslSupportedMechs="$external." + ROLE))
    check(r.get("saslSupportedMechs") == [], "no enabled mechanism for an AWS user under scram")
    first = bson.BSON.encode(SON([("r", Binary(os.urandom(32))), ("p", 110)]))
    r = c.msg(cmd("hello", speculativeAuthenticate=SON([
        ("saslStart", 1), ("mechanism", "MONGODB-AWS"), ("payload", Binary(first)),
        ("db", "$external")])))
    check(r.get("ok") == 1.0 and "speculativeAuthenticate" not in r,
          "AWS speculative left out when not enabled")
    c.close()
finally:
    srv.stop()

logs += srv.logtext()
for secret in (PW, "adm1n", SECRET, TOKEN):
    check(secret not in logs, "a secret in the log")
print("auth handshake: all checks passed")
