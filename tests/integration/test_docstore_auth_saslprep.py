"""SASLprep (RFC 4013) of SCRAM-SHA-256 passwords, against real drivers.

Users with non-ASCII passwords log in with pymongo 3.11 (its own SASLprep on
Python's stringprep tables), the Node driver 7 (@mongodb-js/saslprep) and
libmongoc 1.23 (ICU), for SCRAM-SHA-256 and SCRAM-SHA-1. Because both sides
prepare the password, SCRAM-SHA-256 accepts any form SASLprep maps to the same
string (a soft hyphen, a non-ASCII space, a compatibility character), while
SCRAM-SHA-1 (never prepared) needs the exact bytes. A users file whose
password has a character SASLprep prohibits stops the server with a clear
error that names the user and never the password.
"""
import json
import os
import subprocess
import urllib.parse

import pymongo
from pymongo.errors import OperationFailure

from docstore_wire_lib import BIN, TMP, Server, check

PROBE = os.path.join(os.environ["TETHER_BUILD"], "tests", "clients", "auth_probe")
INTL = "\u2168 caf\u00e9\u00a0\u00df\u00f1"   # ROMAN NUMERAL NINE, é, NBSP, ß, ñ
users = [
    {"user": "intl", "db": "app", "password": INTL, "roles": ["readWrite"]},
    {"user": "nine", "db": "app", "password": "IX", "roles": ["readWrite"]},
    {"user": "hy", "db": "app", "password": "I\u00adX", "roles": ["readWrite"]},
]
users_path = os.path.join(TMP, "users.json")
with open(users_path, "w") as f:
    json.dump(users, f, ensure_ascii=False)


def py_login(user, pw, mech):
    c = pymongo.MongoClient("127.0.0.1", srv.port, username=user, password=pw, authSource="app",
                            authMechanism=mech, serverSelectionTimeoutMS=5000)
    try:
        c.app.things.insert_one({"by": user})
        return 0
    except OperationFailure as e:
        return e.code
    finally:
        c.close()


NODE = """
const { MongoClient } = require('mongodb');
(async () => {
  const c = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 5000 });
  await c.connect();
  await c.db('app').collection('fromnode').insertOne({ n: 1 });
  console.log('ok');
  await c.close();
})().catch(e => { console.log('error ' + e.code); process.exit(1); });
"""


def uri(user, pw, mech):
    return "mongodb://%s:%s@127.0.0.1:%d/app?authMechanism=%s" % (
        user, urllib.parse.quote(pw, safe=""), srv.port, mech)


def node_login(user, pw, mech):
    p = subprocess.run(["node", "-e", NODE, uri(user, pw, mech)], capture_output=True, text=True,
                       timeout=60)
    return p.stdout.strip()


def mongoc_login(user, pw, mech):
    p = subprocess.run([PROBE, uri(user, pw, mech), "app", "fromc"], capture_output=True,
                       text=True, timeout=60)
    return p.stdout.strip()


srv = Server("--auth", "scram", "--users", users_path)
try:
    for mech in ("SCRAM-SHA-256", "SCRAM-SHA-1"):
        check(py_login("intl", INTL, mech) == 0, "pymongo %s with a non-ASCII password" % mech)
        check(node_login("intl", INTL, mech) == "ok", "node %s with a non-ASCII password" % mech)
        out = mongoc_login("intl", INTL, mech)
        check(out == "ok", "libmongoc %s with a non-ASCII password: %s" % (mech, out))
        check(py_login("intl", INTL + "x", mech) == 18, "pymongo %s wrong password" % mech)
    # SCRAM-SHA-256: the forms SASLprep maps together are one password
    for user, pw in (("nine", "\u2168"), ("nine", "I\u00adX"), ("hy", "IX"), ("hy", "\u2168"),
                     ("intl", "IX caf\u00e9 \u00df\u00f1"),
                     ("intl", "\u2168 cafe\u0301\u3000\u00df\u00f1")):
        check(py_login(user, pw, "SCRAM-SHA-256") == 0,
              "pymongo SCRAM-SHA-256 %s with an equivalent form %r" % (user, pw))
        check(node_login(user, pw, "SCRAM-SHA-256") == "ok",
              "node SCRAM-SHA-256 %s with an equivalent form %r" % (user, pw))
        # SCRAM-SHA-1 is never prepared: only the exact bytes work
        check(py_login(user, pw, "SCRAM-SHA-1") == 18,
              "pymongo SCRAM-SHA-1 %s refuses another form %r" % (user, pw))
    out = mongoc_login("nine", "\u2168", "SCRAM-SHA-256")
    check(out == "ok", "libmongoc SCRAM-SHA-256 with an equivalent form: %s" % out)
finally:
    srv.stop()
log = srv.logtext()
check(INTL not in log and "caf\u00e9" not in log, "no password in the log")

# a prohibited character: the server refuses to start, naming the user only
for pw, why in (("bell\u0007rings", "prohibit"), ("priv\ue000ate", "prohibit"),
                ("\u0627abc", "right-to-left"), ("d\u0221", "unassigned")):
    with open(users_path, "w") as f:
        json.dump([{"user": "bad", "db": "app", "password": pw, "roles": []}], f,
                  ensure_ascii=False)
    p = subprocess.run([BIN, "db", "--port", "0", "--auth", "scram", "--users", users_path],
                       capture_output=True, text=True, timeout=30)
    err = p.stdout + p.stderr
    check(p.returncode != 0, "a password SASLprep refuses stops the server (%s)" % why)
    check("bad" in err and "SASLprep" in err and why in err,
          "the error names the user and the rule: %r" % err[-300:])
    check(pw not in err and pw[1:] not in err, "the error does not quote the password")
print("saslprep: all checks passed")
