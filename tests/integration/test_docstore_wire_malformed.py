"""Bad input on the wire: each case gets an error reply or a closed
connection, never a crash, and the server keeps serving a bystander
connection opened before the abuse and new clients after it."""
import socket
import struct
import time

from docstore_wire_lib import (Server, check, closed_by_server, cmd, crc32c, enc, fail, op_msg,
                               op_query, ping_ok, recv_reply)

server = Server()
bystander = server.connect()
bystander.sendall(op_query("admin.$cmd", {"isMaster": 1, "client": {"driver": {"name": "raw", "version": "1"}}}))
r = recv_reply(bystander)
check(r is not None and r[0][3] == 1 and r[1]["ismaster"] is True, "OP_QUERY handshake answered with OP_REPLY")


def expect_closed(name, data, *, then_send=b""):
    s = server.connect()
    try:
        s.sendall(data)
        if then_send:
            try:
                s.sendall(then_send)
            except (BrokenPipeError, ConnectionResetError):
                pass
        check(closed_by_server(s), name + ": the server closes the connection")
    finally:
        s.close()
    after(name)


def expect_error(name, data, code=None, rid=1):
    s = server.connect()
    try:
        s.sendall(data)
        r = recv_reply(s)
        check(r is not None, name + ": an error reply, not a closed connection")
        check(r[1].get("ok") == 0.0, name + ": ok is 0: %r" % r[1])
        check(isinstance(r[1].get("errmsg"), str) and r[1]["errmsg"], name + ": errmsg")
        check(r[0][2] == rid, name + ": responseTo names the request")
        if code is not None:
            check(r[1].get("code") == code, name + ": code %r, expected %r" % (r[1].get("code"), code))
        # the connection is still usable
        s.sendall(op_msg(cmd("ping"), rid=99))
        r = recv_reply(s)
        check(r is not None and r[1]["ok"] == 1.0 and r[0][2] == 99, name + ": connection still serves")
    finally:
        s.close()
    after(name)


def after(name):
    check(server.alive(), name + ": server alive")
    bystander.sendall(op_msg(cmd("ping"), rid=7))
    r = recv_reply(bystander)
    check(r is not None and r[1]["ok"] == 1.0, name + ": the bystander connection still works")
    check(ping_ok(server), name + ": a new client is served")


ping = enc(cmd("ping"))

# Framing: lengths that cannot be.
expect_closed("length below a header", struct.pack("<iiii", 4, 1, 0, 2013))
expect_closed("negative length", struct.pack("<iiii", -50, 1, 0, 2013))
expect_closed("length over 48,000,000", struct.pack("<iiii", 48000001, 1, 0, 2013),
              then_send=b"\0" * (4 << 20))
expect_closed("length INT_MAX", struct.pack("<iiii", 0x7FFFFFFF, 1, 0, 2013))

# A real message over 48,000,000 bytes: refused at its header, before the server buffers it.
big_body = enc({"insert": "c", "$db": "app", "pad": "x" * 1000})
s = server.connect()
hdr = struct.pack("<iiii", 48_000_100, 5, 0, 2013)
s.sendall(hdr)
closed = False
try:
    for _ in range(60):
        s.sendall(b"\1" * (1 << 20))
except (BrokenPipeError, ConnectionResetError):
    closed = True
check(closed or closed_by_server(s), "a 48 MB+ message is refused")
s.close()
after("48 MB+ message")

# Lengths that lie inside a message.
body = enc(cmd("ping"))
m = bytearray(op_msg(None, raw_body=body))
m[21:25] = struct.pack("<i", len(body) + 50)  # body claims more than the message holds
expect_closed("body length past the message", bytes(m))
m = bytearray(op_msg(None, raw_body=body))
m[21:25] = struct.pack("<i", 3)  # body shorter than any document
expect_closed("body length below 5", bytes(m))
m = op_msg(cmd("insert", "app"), seqs=[("documents", [{"_id": 1}])])
m = bytearray(m)
seq_at = 21 + len(enc(cmd("insert", "app"))) + 1
m[seq_at:seq_at + 4] = struct.pack("<i", 9999)
expect_closed("sequence length past the message", bytes(m))

# A message that promises more bytes than are sent, then goes quiet: no reply
# (the server waits for the rest) and the client leaving is harmless.
s = server.connect()
s.sendall(struct.pack("<iiii", 1000, 1, 0, 2013) + b"\0" * 100)
try:
    recv_reply(s, timeout=0.5)
    fail("a partial message got a reply")
except TimeoutError:
    pass
s.close()
after("partial message")

# Truncated and invalid BSON.
trunc = body[:-3]
trunc = struct.pack("<i", len(body)) + trunc[4:]  # claims the full length, holds less
payload = struct.pack("<I", 0) + b"\x00" + trunc
expect_closed("truncated BSON body", struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload)
bad = bytearray(body)
bad[4] = 0x42  # an element type that does not exist
expect_error("invalid element type", op_msg(None, raw_body=bytes(bad)), code=22)
bad = bytearray(body)
bad[-1] = 1  # the terminator is not zero
expect_error("bad terminator", op_msg(None, raw_body=bytes(bad)), code=22)
bad = bytearray(enc(cmd("ping", comment="hello")))
i = bad.index(b"hello")
bad[i - 4:i] = struct.pack("<i", 500)  # a string length that lies
expect_error("string length lies", op_msg(None, raw_body=bytes(bad)), code=22)

# Structure of OP_MSG.
payload = struct.pack("<I", 0) + b"\x00" + ping + b"\x00" + ping
expect_error("two kind-0 sections", struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload, code=40430)
payload = struct.pack("<I", 0) + b"\x00" + ping + b"\x07" + ping
expect_closed("unknown section kind", struct.pack("<iiii", 16 + len(payload), 1, 0, 2013) + payload)
expect_closed("unknown required flag bit", op_msg(cmd("ping"), flags=1 << 4))
expect_error("no $db", op_msg({"ping": 1}), code=40571)
expect_error("no body", struct.pack("<iiiiI", 20, 1, 0, 2013, 0), code=40587)

# Optional flag bits are ignored; exhaustAllowed too.
s = server.connect()
s.sendall(op_msg(cmd("ping"), flags=(1 << 16) | (1 << 17), rid=3))
r = recv_reply(s)
check(r is not None and r[1]["ok"] == 1.0, "optional flag bits ignored")
s.close()

# Checksums: a good one is verified and accepted, a bad one closes.
s = server.connect()
s.sendall(op_msg(cmd("ping"), flags=1, rid=4))
r = recv_reply(s)
check(r is not None and r[1]["ok"] == 1.0 and r[0][2] == 4, "a correct CRC-32C is accepted")
s.close()
m = bytearray(op_msg(cmd("ping"), flags=1))
m[-1] ^= 0xFF
expect_closed("checksum mismatch", bytes(m))

# moreToCome: no reply; the next request's reply answers the next request.
s = server.connect()
s.sendall(op_msg(cmd("ping"), flags=2, rid=10) + op_msg(cmd("ping"), rid=11))
r = recv_reply(s)
check(r is not None and r[0][2] == 11, "moreToCome gets no reply")
s.close()
expect_closed("bad request with moreToCome", op_msg({"ping": 1}, flags=2))

# Opcodes.
expect_closed("unknown opcode", struct.pack("<iiii", 20, 1, 0, 4242) + b"\0\0\0\0")
expect_closed("removed OP_INSERT", struct.pack("<iiii", 20, 1, 0, 2002) + b"\0\0\0\0")
s = server.connect()
s.sendall(struct.pack("<iiii", 40_000_000, 1, 0, 2002))  # refused at the header, not after 40 MB
check(closed_by_server(s, timeout=5), "unknown opcode refused before its body")
s.close()
comp = struct.pack("<iiB", 2013, len(ping) + 5, 1) + b"notsnappy"
expect_error("OP_COMPRESSED", struct.pack("<iiii", 16 + len(comp), 1, 0, 2012) + comp)
s = server.connect()
s.sendall(op_query("app.users", {"find": "users"}))
r = recv_reply(s)
check(r is not None and r[0][3] == 1 and r[1]["ok"] == 0.0, "OP_QUERY outside $cmd: OP_REPLY error")
s.sendall(op_query("admin.$cmd", {"serverStatus": 1}))
r = recv_reply(s)
check(r is not None and r[1]["ok"] == 0.0 and r[1]["code"] == 352, "OP_QUERY only for the handshake")
s.close()

# Deep nesting: bounded, answered with an error, no stack exhaustion.
def nested(depth):
    inner = b"\x05\0\0\0\0"
    for _ in range(depth):
        content = b"\x03a\0" + inner
        inner = struct.pack("<i", 4 + len(content) + 1) + content + b"\0"
    return inner

deep = nested(100000)  # ~800 KB of documents inside documents
body = enc(cmd("ping"))
body = body[:-1] + b"\x03deep\0" + deep + b"\0"
body = struct.pack("<i", len(body)) + body[4:]
expect_error("100,000 levels of nesting", op_msg(None, raw_body=body), code=15)
body = enc(cmd("ping"))
body = body[:-1] + b"\x03deep\0" + nested(150) + b"\0"
body = struct.pack("<i", len(body)) + body[4:]
s = server.connect()
s.sendall(op_msg(None, raw_body=body))
r = recv_reply(s)
check(r is not None and r[1]["ok"] == 1.0, "150 levels are fine")
s.close()

# Resumable framing: a valid message one byte at a time.
s = server.connect()
for b in op_msg(cmd("ping"), rid=21):
    s.sendall(bytes([b]))
r = recv_reply(s)
check(r is not None and r[1]["ok"] == 1.0 and r[0][2] == 21, "byte-at-a-time message answered")
s.close()

# Pipelining: many messages in one write, answered in order (bounded work per wakeup).
s = server.connect()
s.sendall(b"".join(op_msg(cmd("ping"), rid=1000 + i) for i in range(200)))
for i in range(200):
    r = recv_reply(s)
    check(r is not None and r[0][2] == 1000 + i, "pipelined reply %d in order" % i)
s.close()

# Garbage: random bytes on several connections at once.
import random
rng = random.Random(4)
socks = []
for i in range(20):
    g = server.connect()
    junk = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 4000)))
    try:
        g.sendall(junk)
    except OSError:
        pass
    socks.append(g)
for g in socks:
    g.close()
after("random garbage")

# A second hello with client metadata on the same connection is an error.
s = server.connect()
meta = {"driver": {"name": "raw", "version": "1"}}
s.sendall(op_msg(cmd("hello", client=meta), rid=1))
r = recv_reply(s)
check(r[1]["ok"] == 1.0 and r[1]["isWritablePrimary"] is True, "first hello")
s.sendall(op_msg(cmd("hello", client=meta), rid=2))
r = recv_reply(s)
check(r[1]["ok"] == 0.0 and r[1]["code"] == 186, "second hello with client metadata: %r" % r[1])
s.sendall(op_msg(cmd("hello"), rid=3))
r = recv_reply(s)
check(r[1]["ok"] == 1.0, "hello without metadata is fine afterwards")
s.close()

bystander.close()
check(server.alive(), "server alive at the end")
rc = server.stop()
check(rc == 0, "SIGTERM stops the server cleanly (exit %r)" % rc)
log = server.logtext()
check("protocol error" in log, "protocol errors are logged")
print("ok")
