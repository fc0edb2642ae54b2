"""Slow clients cannot hold a connection slot (raw sockets).

--idle-timeout counts from the last complete message, and a begun message
must complete within --message-timeout of its first byte. A message sent one
byte per 0.2 s is closed after the bound (before the idle timeout, logged
once at info naming the connection, serverStatus connections.closedSlow); a
normal client pinging throughout is served; an idle connection is still
closed by --idle-timeout; a 16 MB insert sent at loopback pace is not cut.
"""
import re
import time

from bson.son import SON

from docstore_wire_lib import Server, check, closed_by_server, cmd, op_msg, recv_reply

# 3 s leaves a loaded, sanitized build ample time to read 16 MB; the idle
# timeout is longer, so the slow message is cut by the message bound alone.
srv = Server("--message-timeout", "3", "--idle-timeout", "8")
try:
    slow = srv.connect()
    idle = srv.connect()
    busy = srv.connect()
    msg = op_msg(cmd("ping"))
    start = time.monotonic()
    closed_at = None
    for i in range(len(msg) - 1):  # never the last byte
        try:
            slow.send(msg[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.monotonic()
            break
        if closed_by_server(slow, timeout=0.2):
            closed_at = time.monotonic()
            break
        if i % 2 == 0:  # the normal client, meanwhile
            busy.sendall(op_msg(cmd("ping"), rid=i + 1))
            r = recv_reply(busy)
            check(r is not None and r[1]["ok"] == 1.0, "normal client served")
    check(closed_at is not None, "the slow message was never cut (%d bytes sent)" % len(msg))
    took = closed_at - start
    check(2.8 <= took < 7, "slow message cut after the 3 s bound, not the idle timeout: %.2f s"
          % took)

    # the idle connection (8 s from accept) is closed by --idle-timeout
    check(closed_by_server(idle, timeout=10), "the idle connection was closed")
    check(time.monotonic() - start >= 7.8, "not before the idle timeout")

    # 16 MB at loopback pace is one message well within the bound
    big = srv.connect()
    doc = SON([("_id", 1), ("blob", "x" * (16 * 1024 * 1024 - 200))])
    big.sendall(op_msg(SON([("insert", "big"), ("documents", [doc]), ("$db", "t")])))
    r = recv_reply(big, timeout=30)
    check(r is not None and r[1].get("ok") == 1.0 and r[1].get("n") == 1,
          "16 MB insert served: %r" % (r and {k: v for k, v in r[1].items() if k != "writeErrors"}))

    big.sendall(op_msg(cmd("serverStatus"), rid=900))
    st = recv_reply(big)[1]["connections"]
    check(st["closedSlow"] == 1, "closedSlow counted: %r" % st)
    for s in (slow, idle, busy, big):
        s.close()
    log = srv.logtext()
    lines = [l for l in log.splitlines() if "message incomplete" in l]
    check(len(lines) == 1 and re.search(r"docstore conn \d+ 127\.0\.0\.1:\d+", lines[0]),
          "one log line naming the connection: %r" % lines)
finally:
    rc = srv.stop()
check(rc == 0, "clean stop")
print("ok")
