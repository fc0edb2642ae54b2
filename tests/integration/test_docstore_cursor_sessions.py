"""A session's cursors go with its client (pymongo 3.11 and raw OP_MSG
against `tether db`):
  - a pymongo client that opens a cursor in its session and is then killed
    (SIGKILL: no endSessions, no killCursors) leaves no cursor behind once
    its connections close;
  - a session used on two connections keeps its cursor while either is open
    (a pooled driver may send getMore on another connection), and loses it
    when the last closes;
  - hello reports --session-timeout-minutes as logicalSessionTimeoutMinutes;
  - the server-wide cursor memory cap answers 146 ExceededMemoryLimit and
    keeps the cursors already open.
Every check runs; any failure fails."""
import os
import subprocess
import sys
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import Checks, Server, cmd, op_msg, recv_reply  # noqa: E402

from bson.binary import Binary, UUID_SUBTYPE  # noqa: E402
from pymongo import MongoClient  # noqa: E402
from pymongo.errors import OperationFailure  # noqa: E402

check = Checks()


def wait_for(what, fn, timeout=20):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for %s (last %r)" % (what, v))
        time.sleep(0.05)


CHILD = r"""
import sys
from pymongo import MongoClient
c = MongoClient("127.0.0.1", int(sys.argv[1]), serverSelectionTimeoutMS=10000)
s = c.start_session()
cur = c.t.items.find({}, batch_size=3, session=s)
next(cur)
print(cur.cursor_id, flush=True)
sys.stdin.read()  # until killed
"""

srv = Server("--session-timeout-minutes", "7", "--max-cursor-memory-mb", "4")
try:
    cli = MongoClient("127.0.0.1", srv.port, serverSelectionTimeoutMS=10000)
    cli.t.items.insert_many([{"_id": i, "pad": "x" * 100} for i in range(100)])

    def open_cursors():
        return cli.admin.command("serverStatus")["metrics"]["cursor"]["open"]["total"]

    @check("hello reports the session timeout")
    def _():
        assert cli.admin.command("hello")["logicalSessionTimeoutMinutes"] == 7

    @check("a killed pymongo client's session cursor goes with its connections")
    def _():
        child = subprocess.Popen([sys.executable, "-c", CHILD, str(srv.port)],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        try:
            cid = int(child.stdout.readline())
            assert cid != 0
            assert open_cursors() == 1, open_cursors()
        finally:
            child.kill()
            child.wait()
        wait_for("the cursor to go", lambda: open_cursors() == 0)
        try:
            cli.t.command("getMore", cid, collection="items")
            raise AssertionError("getMore answered")
        except OperationFailure as e:
            assert e.code == 43, e

    @check("a session used on two connections keeps its cursor until the last closes")
    def _():
        lsid = {"id": Binary(uuid.uuid4().bytes, UUID_SUBTYPE)}
        a, b = srv.connect(), srv.connect()
        a.sendall(op_msg(cmd("find", "t", find="items", batchSize=2, lsid=lsid)))
        r = recv_reply(a)[1]
        cid = r["cursor"]["id"]
        assert r["ok"] == 1.0 and cid != 0, r
        b.sendall(op_msg(cmd("ping", "admin", lsid=lsid)))
        assert recv_reply(b)[1]["ok"] == 1.0
        a.close()
        time.sleep(0.3)  # give the server the close; the cursor must still be there
        b.sendall(op_msg(cmd("getMore", "t", getMore=cid, collection="items", batchSize=2,
                             lsid=lsid)))
        r = recv_reply(b)[1]
        assert r["ok"] == 1.0 and len(r["cursor"]["nextBatch"]) == 2, r
        assert open_cursors() == 1
        b.close()
        wait_for("the cursor to go", lambda: open_cursors() == 0)

    @check("the cursor memory cap: 146, the open cursors stay")
    def _():
        big = cli.t.big
        big.insert_many([{"_id": i, "pad": "y" * 10000} for i in range(300)])  # ~3 MB
        # sorted in memory (no index on pad): the result set is held; a plain
        # find, or one sorted by an index walk, would stream
        keep = cli.t.command("find", "big", filter={}, sort={"pad": 1}, batchSize=1)
        assert keep["cursor"]["id"] != 0
        try:
            cli.t.command("find", "big", filter={}, sort={"pad": 1}, batchSize=1)
            raise AssertionError("a second 3 MB cursor fits under 4 MB")
        except OperationFailure as e:
            assert e.code == 146 and "max-cursor-memory-mb" in str(e), str(e)
        r = cli.t.command("getMore", keep["cursor"]["id"], collection="big", batchSize=1000)
        assert len(r["cursor"]["nextBatch"]) == 299
        assert len(list(big.find({}, batch_size=50))) == 300  # fits once the first drained

    assert srv.alive(), "server died"
finally:
    srv.stop()

check.finish()
