"""One greedy client cannot starve the others: it pipelines commands as fast as
it can and never reads a reply. The server bounds the work per wakeup and stops
reading from a client whose replies pile up (over 32 MiB), so a second client
keeps getting answers, and the greedy one is served in order once it reads.

The greedy client sends listCommands (a 3 KB reply for 59 bytes): its unread
replies reach 32 MiB after some 11,000 commands, not the 880,000 pings it would
take, which under ASan on a loaded machine took longer than the test allowed."""
import socket
import struct
import time

from docstore_wire_lib import Server, check, cmd, op_msg, recv_reply

server = Server()
greedy = server.connect()
greedy.setblocking(False)
GREEDY_MSG = op_msg(cmd("listCommands"))
batch = b"".join(op_msg(cmd("listCommands"), rid=1 + i) for i in range(2000))
sent = 0
pending = memoryview(batch)
blocked_since = None
deadline = time.monotonic() + 240  # a bound, not an expectation: ctest allows 600 s
while time.monotonic() < deadline:
    try:
        n = greedy.send(pending)
        sent += n
        pending = pending[n:] if n < len(pending) else memoryview(batch)
        blocked_since = None
    except BlockingIOError:
        if blocked_since is None:
            blocked_since = time.monotonic()
        elif time.monotonic() - blocked_since > 2:
            break  # the server stopped reading from us: it is holding our replies
        time.sleep(0.01)
check(blocked_since is not None and time.monotonic() - blocked_since > 2,
      "the greedy client was eventually held back")
print("greedy client sent %.1f MB before the server stopped reading it" % (sent / 1e6))

# While the greedy client's backlog sits there, others are served promptly.
polite = server.connect()
for i in range(20):
    t = time.monotonic()
    polite.sendall(op_msg(cmd("ping"), rid=500000 + i))
    r = recv_reply(polite, timeout=10)
    check(r is not None and r[1]["ok"] == 1.0, "the polite client is served")
polite.sendall(op_msg(cmd("serverStatus"), rid=9))
st = recv_reply(polite)[1]
print("server: bytesIn %.1f MB, bytesOut %.1f MB, RSS %d MB" % (st["network"]["bytesIn"] / 1e6,
      st["network"]["bytesOut"] / 1e6, st["mem"]["resident"]))
check(st["connections"]["current"] == 2, "the greedy client is still connected")

# The greedy client reads: its replies come in order, from the first.
greedy.setblocking(True)
greedy.settimeout(30)
for i in range(min(3000, sent // len(GREEDY_MSG))):
    r = recv_reply(greedy, timeout=30)
    check(r is not None and r[0][2] == 1 + (i % 2000), "greedy reply %d in order" % i)
greedy.close()
polite.close()
check(server.alive(), "server alive")
check(server.stop() == 0, "clean stop")
print("ok")
