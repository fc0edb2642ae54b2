"""Durability of the docstore's storage: a writer (pymongo) gets inserts,
an update and a unique index acknowledged while the docstore runs on --dir;
the docstore is killed with SIGKILL in the middle of the writes and restarted
on the same folder. Every acknowledged write must be there, at most the one
write in flight at the kill may be extra, and the unique index must still
refuse duplicates."""
import os
import re
import signal
import subprocess
import sys
import threading
import time

from pymongo import MongoClient
from pymongo.errors import DuplicateKeyError, PyMongoError

BIN = os.environ["TETHER_BIN"]
TMP = os.environ.get("TETHER_TEST_TMP", "/tmp")
DIR = os.path.join(TMP, "durability-db")
WANT_ACKED = 1500
DEADLINE = time.monotonic() + 120


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


class Server:
    def __init__(self):
        self.proc = subprocess.Popen([BIN, "db", "--port", "0", "--dir", DIR],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        self.port = None
        self.log = []
        self.cond = threading.Condition()
        threading.Thread(target=self._reader, daemon=True).start()
        with self.cond:
            self.cond.wait_for(lambda: self.port is not None or self.proc.poll() is not None,
                               timeout=20)
        if self.port is None:
            self.proc.kill()
            fail("docstore did not report listening:\n" + "".join(self.log))

    def _reader(self):
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace")
            with self.cond:
                self.log.append(line)
                m = re.search(r"docstore listening on 127\.0\.0\.1:(\d+)", line)
                if m and self.port is None:
                    self.port = int(m.group(1))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def client(self):
        return MongoClient("127.0.0.1", self.port, serverSelectionTimeoutMS=5000,
                           socketTimeoutMS=10000, connectTimeoutMS=5000)


os.makedirs(DIR, exist_ok=True)
srv = Server()
cl = srv.client()
coll = cl["durable"]["events"]
coll.create_index("seq", unique=True)
coll.insert_one({"_id": "counter", "seq": -1, "n": 0})
coll.update_one({"_id": "counter"}, {"$set": {"n": 42}})
coll.insert_many([{"_id": "batch%d" % i, "seq": -2 - i} for i in range(200)])

acked = []
stop = threading.Event()
writer_error = []


def writer():
    i = 0
    while not stop.is_set() and time.monotonic() < DEADLINE:
        try:
            coll.insert_one({"_id": i, "seq": i, "pad": "x" * 100})
        except PyMongoError as e:  # the kill: this write was not acknowledged
            writer_error.append(repr(e))
            return
        acked.append(i)
        i += 1


t = threading.Thread(target=writer, daemon=True)
t.start()
while len(acked) < WANT_ACKED and t.is_alive() and time.monotonic() < DEADLINE:
    time.sleep(0.01)
if len(acked) < WANT_ACKED:
    fail("writer got only %d acknowledgements (%s)" % (len(acked), writer_error))
srv.proc.send_signal(signal.SIGKILL)  # in the middle of the writer's stream
srv.proc.wait(timeout=10)
stop.set()
t.join(timeout=30)
cl.close()
n_acked = len(acked)
print("acknowledged %d inserts before SIGKILL" % n_acked)

srv = Server()
cl = srv.client()
coll = cl["durable"]["events"]
ids = set(d["_id"] for d in coll.find({"_id": {"$type": "number"}}, {"_id": 1}))
missing = [i for i in acked if i not in ids]
if missing:
    fail("%d acknowledged inserts lost, first %r" % (len(missing), missing[:5]))
extra = ids - set(acked)
if len(extra) > 1 or any(x != n_acked for x in extra):
    fail("unexpected documents after restart: %r" % sorted(extra)[:5])
if coll.find_one({"_id": "counter"})["n"] != 42:
    fail("acknowledged update lost")
if len(list(coll.find({"_id": {"$regex": "^batch"}}))) != 200:
    fail("acknowledged insert_many lost")
try:
    coll.insert_one({"seq": 5})
    fail("the unique index on seq did not survive the restart")
except DuplicateKeyError:
    pass
names = [ix["name"] for ix in coll.list_indexes()]
if "seq_1" not in names:
    fail("index list after restart: %r" % names)
cl.close()
srv.proc.send_signal(signal.SIGTERM)
try:
    srv.proc.wait(timeout=10)
except subprocess.TimeoutExpired:
    srv.proc.kill()
    fail("docstore did not stop on SIGTERM")
print("ok: all %d acknowledged writes survived SIGKILL" % n_acked)
