"""What an authenticated user may see and do, as MongoDB's built-in roles allow.

listDatabases (pymongo, the Node driver, mongosh): users without the
listDatabases action on the cluster see only the databases they hold a role
on; the any-database roles see all; authorizedDatabases true/false and
nameOnly as MongoDB. connectionStatus lists the user's roles and, with
showPrivileges, the privileges they grant. dropDatabase needs dbOwner (or
root): readWrite and readWriteAnyDatabase lack it in MongoDB.
renameCollection needs readWrite on both databases; a cursor serves only the
user that opened it; serverStatus, hostInfo, getLog, getParameter,
getCmdLineOpts and currentOp of all users need clusterMonitor or root
($ownOps lists one's own); killAllSessions needs root; the authenticate
command (X.509) is 334.
"""
import json
import os
import subprocess

import pymongo
from pymongo.errors import OperationFailure

from docstore_wire_lib import TMP, Server, check

users = [
    {"user": "app", "db": "app", "password": "pw-app", "roles": ["readWrite"]},
    {"user": "reader", "db": "app", "password": "pw-reader",
     "roles": ["read", {"role": "read", "db": "shared"}]},
    {"user": "owner", "db": "app", "password": "pw-owner", "roles": ["dbOwner"]},
    {"user": "rany", "db": "admin", "password": "pw-rany", "roles": ["readAnyDatabase"]},
    {"user": "rwany", "db": "admin", "password": "pw-rwany", "roles": ["readWriteAnyDatabase"]},
    {"user": "root", "db": "admin", "password": "pw-root", "roles": ["root"]},
    {"user": "norole", "db": "app", "password": "pw-norole", "roles": []},
    {"user": "mon", "db": "admin", "password": "pw-mon", "roles": ["clusterMonitor"]},
]
users_path = os.path.join(TMP, "users.json")
with open(users_path, "w") as f:
    json.dump(users, f)
srv = Server("--auth", "scram", "--users", users_path)


def client(user):
    u = next(x for x in users if x["user"] == user)
    return pymongo.MongoClient("127.0.0.1", srv.port, username=user, password=u["password"],
                               authSource=u["db"], serverSelectionTimeoutMS=5000)


def code_of(fn):
    try:
        fn()
        return 0
    except OperationFailure as e:
        return e.code


try:
    root = client("root")
    for db in ("app", "shared", "other"):
        root[db].things.insert_one({"db": db})
    everything = sorted(root.list_database_names())
    check(everything == ["app", "other", "shared"], "root sees every database: %r" % everything)

    for user, want in (("app", ["app"]), ("reader", ["app", "shared"]), ("owner", ["app"]),
                       ("rany", everything), ("rwany", everything), ("root", everything),
                       ("norole", []), ("mon", everything)):
        c = client(user)
        got = sorted(d["name"] for d in c.admin.command("listDatabases")["databases"])
        check(got == want, "listDatabases as %s: %r, want %r" % (user, got, want))
        got = sorted(c.list_database_names())  # nameOnly: true
        check(got == want, "list_database_names as %s: %r" % (user, got))
        got = sorted(d["name"] for d in c.admin.command("listDatabases",
                                                        authorizedDatabases=True)["databases"])
        # clusterMonitor may list every database but holds privileges on none
        check(got == ([] if user == "mon" else want),
              "authorizedDatabases: true as %s: %r" % (user, got))
        lists = user in ("rany", "rwany", "root", "mon")
        code = code_of(lambda: c.admin.command("listDatabases", authorizedDatabases=False))
        check(code == (0 if lists else 13),
              "authorizedDatabases: false as %s: code %s" % (user, code))
        c.close()

    c = client("app")
    r = c.admin.command("listDatabases", nameOnly=True)
    check(r["databases"] == [{"name": "app"}] and "totalSize" not in r, "nameOnly shape: %r" % r)
    r = c.admin.command("listDatabases", filter={"name": "shared"})
    check(r["databases"] == [], "a filter cannot reveal an unauthorized database")
    r = c.admin.command("listDatabases")
    check(r["databases"][0].get("sizeOnDisk", 0) > 0 and "totalSize" in r, "full shape: %r" % r)

    # connectionStatus: users, roles, privileges
    st = c.admin.command("connectionStatus")["authInfo"]
    check(st["authenticatedUsers"] == [{"user": "app", "db": "app"}], "connectionStatus users")
    check(st["authenticatedUserRoles"] == [{"role": "readWrite", "db": "app"}],
          "connectionStatus roles: %r" % st["authenticatedUserRoles"])
    check("authenticatedUserPrivileges" not in st, "privileges only when asked")
    st = c.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
    privs = st["authenticatedUserPrivileges"]
    check(len(privs) == 1 and privs[0]["resource"] == {"db": "app", "collection": ""} and
          {"find", "insert", "update", "remove", "dropCollection"} <= set(privs[0]["actions"]) and
          "dropDatabase" not in privs[0]["actions"] and
          privs[0]["actions"] == sorted(privs[0]["actions"]),
          "readWrite privileges: %r" % privs)
    # dropDatabase: readWrite lacks it
    check(code_of(lambda: c.drop_database("app")) == 13, "readWrite cannot dropDatabase")
    c.close()
    st = root.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
    check(any(p["resource"] == {"cluster": True} and
              {"listDatabases", "serverStatus", "inprog", "killAnySession"} <= set(p["actions"])
              for p in st["authenticatedUserPrivileges"]),
          "root holds the cluster actions: %r" % st["authenticatedUserPrivileges"])
    check(any(p["resource"] == {"db": "", "collection": ""} and "dropDatabase" in p["actions"]
              for p in st["authenticatedUserPrivileges"]), "root privileges on every database")
    rw = client("rwany")
    check(code_of(lambda: rw.drop_database("other")) == 13, "readWriteAnyDatabase cannot drop")
    check(code_of(lambda: rw.other.things.insert_one({"x": 1})) == 0, "rwany writes other")
    rw.close()
    anon = pymongo.MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=5000)
    st = anon.admin.command("connectionStatus", showPrivileges=True)["authInfo"]
    check(st == {"authenticatedUsers": [], "authenticatedUserRoles": [],
                 "authenticatedUserPrivileges": []}, "connectionStatus before auth: %r" % st)
    check(code_of(lambda: anon.admin.command("listDatabases")) == 13,
          "listDatabases needs authentication")
    anon.close()
    o = client("owner")
    check(code_of(lambda: o.drop_database("app")) == 0, "dbOwner drops its database")
    check(sorted(root.list_database_names()) == ["other", "shared"], "app is gone")
    o.close()
    root.app.things.insert_one({"db": "app"})

    # listCollections: authorizedCollections lists what one may see, else 13
    a = client("app")
    lc = lambda db, **kw: sorted(c["name"] for c in a[db].command("listCollections", **kw)
                                 ["cursor"]["firstBatch"])
    check("things" in lc("app", nameOnly=True, authorizedCollections=True),
          "authorizedCollections in one's own db")
    check(lc("other", nameOnly=True, authorizedCollections=True) == [],
          "authorizedCollections elsewhere: an empty list")
    check(code_of(lambda: lc("other", nameOnly=True)) == 13, "listCollections elsewhere: 13")
    check(code_of(lambda: lc("other", authorizedCollections=True)) == 13,
          "authorizedCollections needs nameOnly")
    check(sorted(a.other.list_collection_names(authorizedCollections=True)) == [],
          "pymongo list_collection_names(authorizedCollections) elsewhere")

    # renameCollection: readWrite on both databases
    root.app.torename.insert_one({"x": 1})
    check(code_of(lambda: a.admin.command("renameCollection", "app.torename",
                                          to="app.renamed")) == 0, "readWrite renames in its db")
    check(code_of(lambda: a.admin.command("renameCollection", "app.renamed",
                                          to="other.renamed")) == 13,
          "readWrite cannot rename into another database")
    check(code_of(lambda: root.admin.command("renameCollection", "app.renamed",
                                             to="other.renamed")) == 0, "root renames across")

    # cursors belong to the user that opened them
    root.app.many.insert_many([{"i": i} for i in range(10)])
    first = a.app.command("find", "many", batchSize=2)["cursor"]
    r = client("rany")
    check(code_of(lambda: r.app.command("getMore", first["id"], collection="many")) == 13,
          "another user cannot getMore a cursor")
    k = r.app.command("killCursors", "many", cursors=[first["id"]])
    check(k["cursorsNotFound"] == [first["id"]] and k["cursorsKilled"] == [],
          "another user cannot kill a cursor: %r" % k)
    more = a.app.command("getMore", first["id"], collection="many", batchSize=100)
    check(len(more["cursor"]["nextBatch"]) == 8, "the owner still reads its cursor")
    r.close()

    # cluster monitoring needs clusterMonitor or root
    mon = client("mon")
    for cmdname in ("serverStatus", "hostInfo", "getCmdLineOpts"):
        check(code_of(lambda: a.admin.command(cmdname)) == 13, "%s as readWrite: 13" % cmdname)
        check(code_of(lambda: mon.admin.command(cmdname)) == 0, "%s as clusterMonitor" % cmdname)
        check(code_of(lambda: root.admin.command(cmdname)) == 0, "%s as root" % cmdname)
    check(code_of(lambda: a.admin.command("getLog", "global")) == 13, "getLog as readWrite")
    check(code_of(lambda: a.admin.command("getParameter", "*")) == 13, "getParameter as readWrite")
    check(code_of(lambda: mon.app.things.find_one()) == 13, "clusterMonitor reads no data")
    check(code_of(lambda: a.admin.command("currentOp", **{"$all": True})) == 13,
          "currentOp of all users as readWrite: 13")
    a2 = client("app")
    a2.admin.command("ping")
    own = a.admin.command("currentOp", **{"$all": True, "$ownOps": True})["inprog"]
    check(len(own) >= 2 and all(op["effectiveUsers"] == [{"user": "app", "db": "app"}]
                                for op in own), "$ownOps lists only app's connections: %r"
          % [op.get("effectiveUsers") for op in own])
    every = mon.admin.command("currentOp", **{"$all": True})["inprog"]
    users_seen = {u["user"] for op in every for u in op["effectiveUsers"]}
    check({"app", "root", "mon"} <= users_seen, "clusterMonitor sees every user: %r" % users_seen)
    agg = root.admin.aggregate([{"$currentOp": {"idleConnections": True}}])
    check({u["user"] for op in agg for u in op["effectiveUsers"]} == {"root"},
          "$currentOp without allUsers lists one's own")
    agg = root.admin.aggregate([{"$currentOp": {"allUsers": True, "idleConnections": True}}])
    check({"app", "mon"} <= {u["user"] for op in agg for u in op["effectiveUsers"]},
          "$currentOp allUsers as root")
    check(code_of(lambda: a.admin.command("killAllSessions", [])) == 13,
          "killAllSessions needs root")
    check(code_of(lambda: root.admin.command("killAllSessions", [])) == 0, "root kills sessions")
    a2.close()
    mon.close()
    a.close()
    anon = pymongo.MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=5000)
    check(code_of(lambda: anon.admin.command("authenticate", 1, mechanism="MONGODB-X509")) ==
          334, "authenticate (X.509) is MechanismUnavailable")
    anon.close()

    # the Node driver and mongosh see the same
    js = """
const { MongoClient } = require('mongodb');
(async () => {
  const c = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 5000 });
  const a = c.db('admin').admin();
  const all = (await a.listDatabases()).databases.map(d => d.name).sort().join(',');
  const names = (await a.listDatabases({ nameOnly: true })).databases.map(d => d.name).sort();
  let refused = 'no';
  try { await a.listDatabases({ authorizedDatabases: false }); } catch (e) { refused = e.code; }
  console.log(all + ' ' + names.join(',') + ' ' + refused);
  await c.close();
})().catch(e => { console.log('error ' + e.message); process.exit(1); });
"""
    uri = "mongodb://reader:pw-reader@127.0.0.1:%d/app" % srv.port
    p = subprocess.run(["node", "-e", js, uri], capture_output=True, text=True, timeout=60)
    check(p.stdout.strip() == "app,shared app,shared 13", "node listDatabases as reader: %s %s"
          % (p.stdout, p.stderr[-300:]))
    p = subprocess.run(["mongosh", uri, "--quiet", "--norc", "--eval",
                        "db.adminCommand({listDatabases: 1}).databases.map(d => d.name)"
                        ".sort().join(',')"],
                       capture_output=True, text=True, timeout=90)
    check(p.stdout.strip().splitlines()[-1:] == ["app,shared"],
          "mongosh listDatabases as reader: %s %s" % (p.stdout, p.stderr[-300:]))
    js = """
const { MongoClient } = require('mongodb');
(async () => {
  const c = new MongoClient(process.argv[1], { serverSelectionTimeoutMS: 5000 });
  const names = async db => (await c.db(db).listCollections({}, { nameOnly: true,
    authorizedCollections: true }).toArray()).map(x => x.name);
  console.log(JSON.stringify([(await names('app')).includes('things'), await names('other')]));
  await c.close();
})().catch(e => { console.log('error ' + e.message); process.exit(1); });
"""
    p = subprocess.run(["node", "-e", js, "mongodb://app:pw-app@127.0.0.1:%d/app" % srv.port],
                       capture_output=True, text=True, timeout=60)
    check(p.stdout.strip() == "[true,[]]", "node listCollections authorizedCollections: %s %s"
          % (p.stdout, p.stderr[-300:]))
    root.close()
finally:
    srv.stop()
print("auth privileges: all checks passed")
