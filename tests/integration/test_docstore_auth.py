"""Docstore authentication against real clients.

Starts `tether db --auth both` with a users file and an IAM registry, then:
pymongo 3.11 logs in with SCRAM-SHA-256 and SCRAM-SHA-1; wrong passwords and
unknown users are refused with AuthenticationFailed; an unauthenticated client
cannot run data commands; a user with readWrite on one database cannot touch
another; libmongoc 1.23 (tests/clients/auth_probe) logs in with SCRAM and with
MONGODB-AWS from AWS_* environment variables, and fails with a wrong secret or
session token; the Node driver logs in with SCRAM-SHA-256; no secret appears in
the server's log.
"""
import json
import os
import re
import subprocess
import sys
import time

import pymongo
from pymongo.errors import OperationFailure

BIN = os.environ["TETHER_BIN"]
BUILD = os.environ["TETHER_BUILD"]
TMP = os.environ["TETHER_TEST_TMP"]
PROBE = os.path.join(BUILD, "tests", "clients", "auth_probe")
ROLE = "arn:aws:iam::123456789012:role/orders-fn"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
TOKEN = "IQoJb3JpZ2luX2VjEXAMPLETOKEN+/="
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what, file=sys.stderr)


users = [
    {"user": "app", "db": "app", "password": "p@ss:w0rd,=x", "roles": ["readWrite"]},
    {"user": "reader", "db": "app", "password": "r3ad", "roles": ["read"]},
    {"user": "admin", "db": "admin", "password": "adm1n", "roles": ["root"]},
    {"user": ROLE, "db": "$external", "roles": [{"role": "readWrite", "db": "app"}]},
]
iam = [{"accessKeyId": "ASIATESTKEY0001", "secretAccessKey": SECRET,
        "sessionToken": TOKEN, "arn": ROLE}]
with open(os.path.join(TMP, "users.json"), "w") as f:
    json.dump(users, f)
with open(os.path.join(TMP, "iam.json"), "w") as f:
    json.dump(iam, f)

log_path = os.path.join(TMP, "db.log")
log = open(log_path, "w")
proc = subprocess.Popen([BIN, "db", "--port", "0", "--auth", "both",
                         "--users", os.path.join(TMP, "users.json"),
                         "--iam", os.path.join(TMP, "iam.json")],
                        stdout=log, stderr=subprocess.STDOUT)
port = None
deadline = time.time() + 30
while time.time() < deadline and port is None:
    with open(log_path) as f:
        m = re.search(r"docstore listening on [0-9.]+:(\d+)", f.read())
    if m:
        port = int(m.group(1))
    elif proc.poll() is not None:
        break
    else:
        time.sleep(0.05)
if port is None:
    print(open(log_path).read(), file=sys.stderr)
    sys.exit("docstore did not start")


def client(user=None, pw=None, mech=None, source="app"):
    kw = dict(serverSelectionTimeoutMS=5000)
    if user is not None:
        kw.update(username=user, password=pw, authSource=source)
        if mech:
            kw["authMechanism"] = mech
    return pymongo.MongoClient("127.0.0.1", port, **kw)


def auth_fails(user, pw, mech=None, source="app"):
    c = client(user, pw, mech, source)
    try:
        c.app.things.find_one()
        return False
    except OperationFailure as e:
        return e.code == 18
    finally:
        c.close()


try:
    # SCRAM through pymongo, both mechanisms (and negotiation without one)
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1", None):
        c = client("app", "p@ss:w0rd,=x", mech)
        c.app.things.insert_one({"mech": str(mech)})
        check(len(list(c.app.things.find({"mech": str(mech)}))) == 1, "pymongo %s round trip" % mech)
        c.close()
    check(auth_fails("app", "wrong"), "wrong password refused with code 18")
    check(auth_fails("app", "wrong", "SCRAM-SHA-1"), "wrong SHA-1 password refused")
    check(auth_fails("nobody", "x"), "unknown user refused")

    # unauthenticated: hello works, data commands do not
    anon = client()
    check(anon.admin.command("ping")["ok"] == 1.0, "ping without auth")
    try:
        anon.app.things.find_one()
        check(False, "find without auth must fail")
    except OperationFailure as e:
        check(e.code == 13, "find without auth is Unauthorized (13), got %s" % e.code)
    hello = anon.admin.command("hello", saslSupportedMechs="app.app")
    check(sorted(hello.get("saslSupportedMechs", [])) == ["SCRAM-SHA-1", "SCRAM-SHA-256"],
          "saslSupportedMechs for app.app")
    anon.close()

    # roles: read-only user cannot write; app user cannot touch another db
    r = client("reader", "r3ad")
    check(len(list(r.app.things.find({}))) >= 3, "reader can read app")
    try:
        r.app.things.insert_one({"x": 1})
        check(False, "reader insert must fail")
    except OperationFailure as e:
        check(e.code == 13, "reader insert is Unauthorized")
    r.close()
    a = client("app", "p@ss:w0rd,=x")
    try:
        a.other.things.insert_one({"x": 1})
        check(False, "app user writing db other must fail")
    except OperationFailure as e:
        check(e.code == 13, "cross-database write is Unauthorized")
    a.close()
    root = client("admin", "adm1n", source="admin")
    root.other.things.insert_one({"x": 1})
    check(len(list(root.other.things.find({}))) == 1, "root writes anywhere")
    root.close()

    # libmongoc: SCRAM, then MONGODB-AWS from the environment
    def probe(uri, env_extra=None):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(env_extra or {})
        p = subprocess.run([PROBE, uri, "app", "fromc"], env=env, capture_output=True,
                           text=True, timeout=60)
        return p.returncode, p.stdout.strip()

    rc, out = probe("mongodb://app:p%%40ss%%3Aw0rd%%2C%%3Dx@127.0.0.1:%d/?authSource=app" % port)
    check(rc == 0, "libmongoc SCRAM: %s" % out)
    aws_uri = "mongodb://127.0.0.1:%d/?authMechanism=MONGODB-AWS&authSource=$external" % port
    good = {"AWS_ACCESS_KEY_ID": "ASIATESTKEY0001", "AWS_SECRET_ACCESS_KEY": SECRET,
            "AWS_SESSION_TOKEN": TOKEN}
    rc, out = probe(aws_uri, good)
    check(rc == 0, "libmongoc MONGODB-AWS: %s" % out)
    rc, out = probe(aws_uri, dict(good, AWS_SECRET_ACCESS_KEY="not-the-secret"))
    check(rc != 0 and ("18" in out or "uthentication" in out), "AWS wrong secret refused: %s" % out)
    rc, out = probe(aws_uri, dict(good, AWS_SESSION_TOKEN="other-token"))
    check(rc != 0, "AWS wrong session token refused: %s" % out)
    rc, out = probe(aws_uri, dict(good, AWS_ACCESS_KEY_ID="ASIAUNKNOWNKEY00"))
    check(rc != 0, "AWS unknown key refused: %s" % out)

    # the Node driver, SCRAM-SHA-256
    js = """
const { MongoClient } = require('mongodb');
(async () => {
  const c = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 5000 });
  await c.connect();
  await c.db('app').collection('fromnode').insertOne({ n: 1 });
  const n = (await c.db('app').collection('fromnode').find({}).toArray()).length;
  console.log(n === 1 ? 'ok' : 'count ' + n);
  await c.close();
})().catch(e => { console.log('error ' + e.code + ' ' + e.message); process.exit(1); });
"""
    p = subprocess.run(["node", "-e", js,
                        "mongodb://app:p%%40ss%%3Aw0rd%%2C%%3Dx@127.0.0.1:%d/app?authMechanism=SCRAM-SHA-256" % port],
                       capture_output=True, text=True, timeout=60)
    check(p.stdout.strip() == "ok", "node driver SCRAM-SHA-256: %s %s" % (p.stdout, p.stderr[-500:]))

    status = pymongo.MongoClient("127.0.0.1", port, username="admin", password="adm1n",
                                 authSource="admin").admin.command("connectionStatus")
    check(status["authInfo"]["authenticatedUsers"][0]["user"] == "admin", "connectionStatus user")
finally:
    proc.terminate()
    proc.wait(timeout=20)
    log.close()

text = open(log_path).read()
for secret in ("p@ss:w0rd", SECRET, TOKEN, "adm1n", "r3ad"):
    check(secret not in text, "secret %r must not appear in the log" % secret[:4])
check("authenticated as" in text, "log names authenticated principals")
if failures:
    print(text[-3000:], file=sys.stderr)
    sys.exit("%d check(s) failed" % len(failures))
print("auth: all checks passed")
