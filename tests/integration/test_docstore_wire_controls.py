"""Atlas-style connection controls of `tether db`: --max-connections (with
serverStatus.connections.rejected), --access-list (refused before any byte),
--idle-timeout, currentOp $all with client metadata, pymongo end to end, and
clear errors for bad command lines."""
import os
import subprocess
import time

import pymongo

from docstore_wire_lib import (BIN, TMP, Server, check, closed_by_server, cmd, op_msg, op_query,
                               recv_reply)


def handshake(s, app):
    s.sendall(op_query("admin.$cmd", {"isMaster": 1, "client": {
        "application": {"name": app}, "driver": {"name": "raw", "version": "1"}}}))
    r = recv_reply(s)
    check(r is not None and r[1]["ok"] == 1.0, "handshake")


def wait_until(what, fn, secs=10):
    end = time.monotonic() + secs
    while time.monotonic() < end:
        if fn():
            return
        time.sleep(0.05)
    check(False, "timed out waiting for " + what)


# --max-connections
srv = Server("--max-connections", "2")
a, b = srv.connect(), srv.connect()
handshake(a, "a")
handshake(b, "b")
c = srv.connect()
check(closed_by_server(c), "the third connection is refused")
c.close()
a.sendall(op_msg(cmd("serverStatus"), rid=2))
st = recv_reply(a)[1]["connections"]
check(st["current"] == 2, "current is 2: %r" % st)
check(st["rejected"] == 1, "rejected counts the refusal: %r" % st)
check(st["available"] == 0, "available is 0: %r" % st)
check(st["totalCreated"] == 2 and st["active"] == 1, "totalCreated, active: %r" % st)
b.close()
# once one leaves, a new one gets in (wait for the server to see the close)
def new_one_served():
    d = srv.connect()
    try:
        d.sendall(op_msg(cmd("ping")))
        r = recv_reply(d, timeout=2)
        return r is not None
    except TimeoutError:
        return False
    finally:
        d.close()
wait_until("a freed slot", new_one_served)
a.close()
check(srv.stop() == 0, "clean stop")
check("refused 127.0.0.1" in srv.logtext(), "the refusal is logged")

# --access-list: 127.0.0.1 is outside 10.0.0.0/8, inside 127.0.0.0/8
srv = Server("--access-list", "10.0.0.0/8, 192.168.1.7")
s = srv.connect()
check(closed_by_server(s), "an address outside the access list is refused")
s.close()
check(srv.stop() == 0, "clean stop")
check("not in the access list" in srv.logtext(), "access-list refusal logged")
srv = Server("--access-list", "10.0.0.0/8,127.0.0.0/8,::1")
s = srv.connect()
s.sendall(op_msg(cmd("ping")))
check(recv_reply(s)[1]["ok"] == 1.0, "an address inside the access list is served")
s.close()
check(srv.stop() == 0, "clean stop")

# --idle-timeout: an idle connection is closed, a busy one is not
srv = Server("--idle-timeout", "1")
idle = srv.connect()
handshake(idle, "idle")
busy = srv.connect()
handshake(busy, "busy")
start = time.monotonic()
for i in range(8):
    busy.sendall(op_msg(cmd("ping"), rid=i + 1))
    check(recv_reply(busy) is not None, "busy connection served")
    time.sleep(0.25)
check(closed_by_server(idle, timeout=5), "the idle connection was closed")
check(time.monotonic() - start >= 0.9, "not before the timeout")
busy.sendall(op_msg(cmd("serverStatus"), rid=50))
st = recv_reply(busy)[1]["connections"]
check(st["closedIdle"] >= 1, "closedIdle counted: %r" % st)
busy.close()
idle.close()
check(srv.stop() == 0, "clean stop")

# pymongo end to end, currentOp $all with metadata and idle time
srv = Server()
raw = srv.connect()
handshake(raw, "lambda-orders")
client = pymongo.MongoClient("127.0.0.1", srv.port, appName="pytest-app", serverSelectionTimeoutMS=5000)
check(client.admin.command("ping")["ok"] == 1.0, "pymongo ping")
hello = client.admin.command("isMaster")
for k, v in [("maxBsonObjectSize", 16777216), ("maxMessageSizeBytes", 48000000),
             ("maxWriteBatchSize", 100000), ("minWireVersion", 0), ("maxWireVersion", 17),
             ("logicalSessionTimeoutMinutes", 30)]:
    check(hello.get(k) == v, "isMaster %s: %r" % (k, hello.get(k)))
check(hello["ismaster"] is True and "setName" not in hello and "topologyVersion" not in hello,
      "standalone isMaster")
time.sleep(0.3)
ops = client.admin.command({"currentOp": 1, "$all": True})["inprog"]
apps = {op.get("appName"): op for op in ops}
check("lambda-orders" in apps and "pytest-app" in apps, "currentOp lists every connection: %r" % list(apps))
raw_op = apps["lambda-orders"]
check(raw_op["client"].startswith("127.0.0.1:"), "peer address")
check(raw_op["idleMillis"] >= 200, "idle time: %r" % raw_op["idleMillis"])
check(raw_op["clientMetadata"]["driver"]["name"] == "raw", "client metadata")
check(raw_op["active"] is False, "idle connection is not active")
filtered = client.admin.command({"currentOp": 1, "$all": True, "appName": "lambda-orders"})["inprog"]
check(len(filtered) == 1 and filtered[0]["appName"] == "lambda-orders", "currentOp filter: %r" % filtered)
only_active = client.admin.command({"currentOp": 1})["inprog"]
check(all(op["active"] for op in only_active), "without $all only active operations")
st = client.admin.command("serverStatus")
check(st["process"] == "tether" and st["connections"]["current"] >= 2, "serverStatus")
check(st["opcounters"]["command"] >= 3, "opcounters count commands")
try:
    client.admin.command("noSuchCommand")
    check(False, "unknown command fails")
except pymongo.errors.OperationFailure as e:
    check(e.code == 59 and "no such command: 'noSuchCommand'" in str(e), "CommandNotFound: %s" % e)
try:
    client.app.command("getMore", 12345, collection="c")
    check(False, "getMore of an unknown cursor fails")
except pymongo.errors.OperationFailure as e:
    check(e.code == 43, "CursorNotFound: %s" % e)
kc = client.app.command("killCursors", "c", cursors=[12345])
check(kc["cursorsNotFound"] == [12345] and kc["cursorsKilled"] == [], "killCursors: %r" % kc)
fcv = client.admin.command({"getParameter": 1, "featureCompatibilityVersion": 1})
check(fcv["featureCompatibilityVersion"]["version"] == "6.0", "getParameter fcv")
check("featureCompatibilityVersion" in client.admin.command({"getParameter": "*"}), "getParameter *")
try:
    client.app.command({"getParameter": 1, "featureCompatibilityVersion": 1})
    check(False, "getParameter outside admin fails")
except pymongo.errors.OperationFailure as e:
    check(e.code == 13, "admin only: %s" % e)
try:
    client.admin.command("saslStart", mechanism="SCRAM-SHA-256", payload=b"x")
    check(False, "saslStart fails without auth")
except pymongo.errors.OperationFailure as e:
    check("authentication is not enabled" in str(e), "clear auth error: %s" % e)
for name in ["buildInfo", "hostInfo", "whatsmyuri", "getCmdLineOpts", "connectionStatus",
             "listCommands", "logout"]:
    check(client.admin.command(name)["ok"] == 1.0, name)
check(client.admin.command("getLog", "startupWarnings")["ok"] == 1.0, "getLog")
client.close()
raw.close()
check(srv.stop() == 0, "clean stop")
log = srv.logtext()
check("[docstore conn 1 127.0.0.1:" in log, "log lines name the connection")

# TLS: drivers connect with tls=true and the CA; a plain client gets nowhere.
cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                "-out", cert, "-days", "2", "-subj", "/CN=localhost",
                "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
               check=True, capture_output=True, timeout=60)
srv = Server("--tls-cert", cert, "--tls-key", key)
client = pymongo.MongoClient("127.0.0.1", srv.port, tls=True, tlsCAFile=cert,
                             serverSelectionTimeoutMS=5000)
check(client.admin.command("ping")["ok"] == 1.0, "ping over TLS")
check(client.admin.command("getParameter", "*")["tlsMode"] == "requireTLS", "tlsMode")
client.close()
plain = srv.connect()
plain.sendall(op_msg(cmd("ping")))
check(closed_by_server(plain), "a plain-TCP client is closed by the TLS server")
plain.close()
check(srv.stop() == 0, "clean stop")
log = srv.logtext()
check("(TLS)" in log and "TLS error" in log, "TLS listening and the plain client's failure logged")
check("unexpected eof" not in log, "a driver closing without close_notify is no error")
p = subprocess.run([BIN, "db", "--port", "0", "--tls-cert", cert, "--tls-key", cert],
                   capture_output=True, text=True, timeout=10)
check(p.returncode != 0 and "private key" in p.stderr, "a bad key file is named: %s" % p.stderr)

# Command-line errors are clear and exit 2.
def bad(args, needle):
    p = subprocess.run([BIN, "db"] + args, capture_output=True, text=True, timeout=10)
    check(p.returncode == 2, "%r exits 2 (got %d)" % (args, p.returncode))
    check(needle in p.stderr, "%r says %r: %s" % (args, needle, p.stderr))

bad(["--port", "70000"], "--port")
bad(["--auth", "kerberos"], "--auth is none, scram, aws or both")
bad(["--auth", "scram"], "needs --users")
bad(["--auth", "aws", "--users", "u.json"], "needs --iam")
bad(["--users", "u.json"], "need --auth")
bad(["--tls-cert", "c.pem"], "go together")
bad(["--bogus", "1"], "unknown option")
p = subprocess.run([BIN, "db", "--port", "0", "--access-list", "10.0.0.0/99"], capture_output=True,
                   text=True, timeout=10)
check(p.returncode != 0 and "access list" in p.stderr, "bad access list: %s" % p.stderr)
p = subprocess.run([BIN, "db", "--help"], capture_output=True, text=True, timeout=10)
check(p.returncode == 0 and "--max-connections" in p.stdout, "--help")
print("ok")
