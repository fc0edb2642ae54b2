"""One server per --dir, through a real client (pymongo 3.11): a second
`tether db` on the same directory exits at once, non-zero, with a message
naming the directory and the first server's pid; the first keeps serving
writes; once the first has stopped, a new server on the directory starts
and sees the data (the lock file left behind does not block it)."""
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from docstore_wire_lib import BIN, TMP, Server  # noqa: E402

from pymongo import MongoClient  # noqa: E402

d = tempfile.mkdtemp(dir=TMP)
first = Server("--dir", d)
try:
    cli = MongoClient("127.0.0.1", first.port, serverSelectionTimeoutMS=10000)
    cli.app.items.insert_one({"_id": 1})

    t0 = time.monotonic()
    second = subprocess.run([BIN, "db", "--port", "0", "--dir", d], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, timeout=30)
    took = time.monotonic() - t0
    out = second.stdout.decode()
    print("second server: rc %d in %.2f s: %s" % (second.returncode, took, out.strip()))
    assert second.returncode != 0, out
    assert d in out and "pid %d" % first.proc.pid in out, out
    assert took < 10, took

    # tether up's embedded docstore on the same folder: the same refusal, and
    # tether up stops rather than serve functions without their data
    tmpl = os.path.join(d, "..", "dirlock-template.yaml")
    with open(tmpl, "w") as f:
        f.write("Resources: {}\n")
    up = subprocess.run([BIN, "up", "--port", "0", "--db-port", "0", "--db-dir", d,
                         "--template", tmpl], stdout=subprocess.PIPE,
                        stderr=subprocess.STDOUT, timeout=30)
    out = up.stdout.decode()
    print("tether up --db-dir: rc %d: %s" % (up.returncode, out.strip().splitlines()[-1]))
    assert up.returncode != 0, out
    assert "pid %d" % first.proc.pid in out, out
    assert "did not start on --db-dir" in out, out

    # The first server still owns every database, new ones included.
    cli.app.items.insert_one({"_id": 2})
    cli.other.items.insert_one({"_id": 1})
    assert sorted(x["_id"] for x in cli.app.items.find()) == [1, 2]
    assert first.alive()
    cli.close()
finally:
    first.stop()

again = Server("--dir", d)
try:
    cli = MongoClient("127.0.0.1", again.port, serverSelectionTimeoutMS=10000)
    assert sorted(x["_id"] for x in cli.app.items.find()) == [1, 2]
    assert cli.other.items.count_documents({}) == 1
    cli.close()
finally:
    again.stop()
print("all ok")
