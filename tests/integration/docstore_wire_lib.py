"""Shared helpers for the docstore tests: start `tether db`, speak raw
OP_MSG / OP_QUERY over sockets, read replies; for the pymongo tests, the
named-check harness (Checks), eq, expect_code, no_sanitizer_report and
bystander_ping. Not a test itself (no test_ prefix). The Node twin is
docstore_lib.js."""
import os
import re
import select
import socket
import struct
import subprocess
import sys
import threading
import time
import traceback

import bson
from bson.son import SON

BIN = os.environ.get("TETHER_BIN", "build/tether")
TMP = os.environ.get("TETHER_TEST_TMP", "/tmp")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)


class Checks:
    """The named-check harness of the client tests: `check = Checks(480)`, then
    `@check("name")` on a function runs it at once and prints "ok   name" or
    "FAIL name: traceback"; a failing check does not stop the others. With
    seconds, a check reached after that many seconds fails unrun ("deadline
    passed"). finish() prints the summary and exits 1 if any check failed."""

    def __init__(self, seconds=None):
        self.deadline = None if seconds is None else time.monotonic() + seconds
        self.failures = []

    def __call__(self, name):
        def wrap(fn):
            if self.deadline is not None and time.monotonic() > self.deadline:
                self.failures.append(name)
                print("FAIL %s: deadline passed" % name, flush=True)
                return fn
            try:
                fn()
                print("ok   %s" % name, flush=True)
            except Exception:
                self.failures.append(name)
                print("FAIL %s:\n%s" % (name, traceback.format_exc()), flush=True)
            return fn
        return wrap

    def serving(self, server, client, sanitizer=True):
        """The last check while the server runs: it answers a ping, is alive
        and (with sanitizer) its log holds no sanitizer report."""
        @self("server still serving, no sanitizer report" if sanitizer else "server still serving")
        def _():
            eq(client.admin.command("ping")["ok"], 1.0)
            assert server.alive(), "server died:\n" + server.logtext()
            if sanitizer:
                no_sanitizer_report(server)

    def stop_and_finish(self, server, client):
        """Closes client, stops server, checks its log for a sanitizer report
        and finishes."""
        client.close()
        server.stop()
        self("server exited cleanly, no sanitizer report")(lambda: no_sanitizer_report(server))
        self.finish()

    def finish(self):
        if self.failures:
            print("%d check(s) failed: %s" % (len(self.failures), ", ".join(self.failures)))
            sys.exit(1)
        print("all checks passed")
        sys.exit(0)


def expect_code(code, fn):
    """Runs fn; it must fail with OperationFailure code. Returns the error."""
    from pymongo.errors import OperationFailure
    try:
        fn()
    except OperationFailure as e:
        if e.code != code:
            raise AssertionError("code %r (%s), want %r" % (e.code, e, code))
        return e
    raise AssertionError("no error, want code %r" % code)


def eq(got, want):
    if got != want:
        raise AssertionError("got %r\nwant %r" % (got, want))


def no_sanitizer_report(server):
    """Raises AssertionError when the server's log holds an ASan, LSan or UBSan report."""
    log = server.logtext()
    for bad in ("AddressSanitizer", "LeakSanitizer", "runtime error:"):
        if bad in log:
            raise AssertionError("sanitizer report:\n" + log[-3000:])


def bystander_ping(port, attack, code, pings, pause=0.0):
    """Runs attack(client) in a loop on a client of its own, each run expected
    to fail with OperationFailure code, while another client pings pings
    times (pause seconds apart). Returns (worst ping seconds, attacks run,
    errors: answers or other failures of the attack)."""
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    other = MongoClient("127.0.0.1", port, serverSelectionTimeoutMS=10000)
    other.admin.command("ping")
    stop = threading.Event()
    errors = []
    attacks = [0]

    def run():
        a = MongoClient("127.0.0.1", port, serverSelectionTimeoutMS=10000)
        while not stop.is_set():
            try:
                attack(a)
                errors.append("attack answered")
            except OperationFailure as e:
                if e.code != code:
                    errors.append(str(e))
            attacks[0] += 1
        a.close()

    th = threading.Thread(target=run)
    th.start()
    worst = 0.0
    try:
        for _ in range(pings):
            t0 = time.monotonic()
            other.admin.command("ping")
            worst = max(worst, time.monotonic() - t0)
            if pause:
                time.sleep(pause)
    finally:
        stop.set()
        th.join()
        other.close()
    return worst, attacks[0], errors


class Server:
    """A `tether db` on a free port; its log goes to a file under TETHER_TEST_TMP."""

    def __init__(self, *args):
        self.log_path = os.path.join(TMP, "docstore-%d-%d.log" % (os.getpid(), time.monotonic_ns()))
        self.log = open(self.log_path, "w+")
        self.proc = subprocess.Popen([BIN, "db", "--port", "0"] + list(args),
                                     stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        self.port = None
        while time.monotonic() < deadline:
            with open(self.log_path) as f:
                m = re.search(r"docstore listening on 127\.0\.0\.1:(\d+)", f.read())
            if m:
                self.port = int(m.group(1))
                break
            if self.proc.poll() is not None:
                break
            time.sleep(0.02)
        if self.port is None:
            self.stop()
            fail("docstore did not start:\n" + self.logtext())

    def logtext(self):
        with open(self.log_path) as f:
            return f.read()

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                return self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                fail("docstore did not stop on SIGTERM")
        return self.proc.returncode

    def connect(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=10)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return s


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def enc(doc):
    return bson.BSON.encode(doc)


def op_msg(body, seqs=(), flags=0, rid=1, raw_body=None):
    payload = struct.pack("<I", flags) + b"\x00" + (raw_body if raw_body is not None else enc(body))
    for name, docs in seqs:
        inner = name.encode() + b"\x00" + b"".join(enc(d) for d in docs)
        payload += b"\x01" + struct.pack("<i", 4 + len(inner)) + inner
    n = 16 + len(payload) + (4 if flags & 1 else 0)
    m = struct.pack("<iiii", n, rid, 0, 2013) + payload
    if flags & 1:
        m += struct.pack("<I", crc32c(m))
    return m


def op_query(ns, q, rid=1):
    payload = struct.pack("<i", 0) + ns.encode() + b"\x00" + struct.pack("<ii", 0, -1) + enc(q)
    return struct.pack("<iiii", 16 + len(payload), rid, 0, 2004) + payload


def cmd(name, db="admin", **fields):
    d = SON([(name, 1)])
    for k, v in fields.items():
        d[k] = v
    d["$db"] = db
    return d


def recv_exact(sock, n, timeout):
    buf = b""
    deadline = time.monotonic() + timeout
    while len(buf) < n:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("no reply within %.1fs" % timeout)
        poller = select.poll()  # not select(): descriptors past 1024 happen in load tests
        poller.register(sock, select.POLLIN)
        if not poller.poll(left * 1000):
            continue
        try:
            chunk = sock.recv(n - len(buf))
        except (ConnectionResetError, BrokenPipeError):
            return None
        if not chunk:
            return None
        buf += chunk
    return buf


def recv_reply(sock, timeout=10):
    """(header tuple, reply document) or None when the server closed the connection."""
    head = recv_exact(sock, 16, timeout)
    if head is None:
        return None
    length, rid, rto, opcode = struct.unpack("<iiii", head)
    rest = recv_exact(sock, length - 16, timeout)
    if rest is None:
        return None
    if opcode == 2013:
        check(rest[4] == 0, "reply section kind 0")
        doc = bson.BSON(rest[5:]).decode()
    elif opcode == 1:
        doc = bson.BSON(rest[20:]).decode()
    else:
        fail("unexpected reply opcode %d" % opcode)
    return (length, rid, rto, opcode), doc


def closed_by_server(sock, timeout=10):
    """True when the server closes the connection without replying."""
    try:
        r = recv_reply(sock, timeout)
    except TimeoutError:
        return False
    return r is None


def ping_ok(server):
    s = server.connect()
    try:
        s.sendall(op_msg(cmd("ping")))
        r = recv_reply(s)
        return r is not None and r[1].get("ok") == 1.0
    finally:
        s.close()
