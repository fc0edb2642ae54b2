"""Sessions belong to their user (pymongo, --auth scram).

A session is its UUID and the user that created it, as mongod keys it: user
B's endSessions/killSessions/refreshSessions naming user A's lsid, and an
unauthenticated client's endSessions, leave A's session cursors alone (ok: 1,
no effect, as mongod); unauthenticated killSessions is 13 Unauthorized. A's
own endSessions still frees them (getMore is then 43 CursorNotFound).
"""
import json
import os

import pymongo
from pymongo.errors import OperationFailure

from docstore_wire_lib import TMP, Server, check

users = [
    {"user": "alice", "db": "app", "password": "pw-alice", "roles": ["readWrite"]},
    {"user": "bob", "db": "app", "password": "pw-bob", "roles": ["readWrite"]},
]
users_path = os.path.join(TMP, "session-users.json")
with open(users_path, "w") as f:
    json.dump(users, f)
srv = Server("--auth", "scram", "--users", users_path)


def client(user=None):
    kw = {}
    if user is not None:
        kw = dict(username=user, password="pw-" + user, authSource="app")
    return pymongo.MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=5000, **kw)


def code_of(fn):
    try:
        fn()
        return 0
    except OperationFailure as e:
        return e.code


try:
    a, b, anon = client("alice"), client("bob"), client()
    a.app.things.insert_many([{"i": i} for i in range(20)])
    sess = a.start_session()
    lsid = sess.session_id
    first = a.app.command("find", "things", batchSize=2, session=sess)
    cid = first["cursor"]["id"]
    check(cid != 0, "alice's find left a cursor")

    def get_more():
        return code_of(lambda: a.app.command("getMore", cid, collection="things", batchSize=1,
                                             session=sess))

    b.admin.command("endSessions", [lsid])
    b.admin.command("killSessions", [lsid])
    b.admin.command("refreshSessions", [lsid])
    b.admin.command("killSessions", [])
    check(get_more() == 0, "alice's cursor survives bob's endSessions/killSessions")

    anon.admin.command("endSessions", [lsid])
    anon.admin.command("refreshSessions", [lsid])
    code = code_of(lambda: anon.admin.command("killSessions", [lsid]))
    check(code == 13, "unauthenticated killSessions: code %s" % code)
    check(get_more() == 0, "alice's cursor survives an unauthenticated endSessions")

    a.admin.command("refreshSessions", [lsid])
    check(get_more() == 0, "refreshSessions keeps alice's own cursor")
    a.admin.command("endSessions", [lsid])
    code = get_more()
    check(code == 43, "alice's endSessions frees her cursor: getMore code %s" % code)

    # killSessions: [] kills every session of the caller, and only of the caller
    sa = a.start_session()
    sb = b.start_session()
    ca = a.app.command("find", "things", batchSize=2, session=sa)["cursor"]["id"]
    cb = b.app.command("find", "things", batchSize=2, session=sb)["cursor"]["id"]
    a.admin.command("killSessions", [])
    code = code_of(lambda: a.app.command("getMore", ca, collection="things", session=sa))
    check(code == 43, "killSessions [] frees the caller's session cursors: %s" % code)
    code = code_of(lambda: b.app.command("getMore", cb, collection="things", session=sb))
    check(code == 0, "killSessions [] leaves another user's: %s" % code)
    check(srv.alive(), "server alive")
    for c in (a, b, anon):
        c.close()
finally:
    srv.stop()
print("ok")
