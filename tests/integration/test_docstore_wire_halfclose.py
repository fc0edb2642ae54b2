"""Plain-TCP reading (the docstore's own read path, no FIONREAD): a message
larger than one wakeup's read (256 KiB) arriving together with another
request and the client's end of stream (shutdown SHUT_WR) is read whole,
both requests are answered, then the server closes; a message sent a few
bytes at a time is answered too."""
import socket
import time

from docstore_wire_lib import Server, check, cmd, op_msg, recv_reply

server = Server()

s = server.connect()
big = cmd("insert", db="hc", documents=[{"_id": 1, "p": "x" * 300000}])
big["insert"] = "t"
count = cmd("count", db="hc")
count["count"] = "t"
data = op_msg(big, rid=1) + op_msg(count, rid=2)
check(len(data) > 256 * 1024, "the first message is larger than one wakeup's read")
s.sendall(data)
s.shutdown(socket.SHUT_WR)
r1 = recv_reply(s)
check(r1 is not None and r1[0][2] == 1 and r1[1]["ok"] == 1.0 and r1[1]["n"] == 1,
      "the large insert is answered: %r" % (r1 and r1[1]))
r2 = recv_reply(s)
check(r2 is not None and r2[0][2] == 2 and r2[1]["n"] == 1,
      "the request after it is answered: %r" % (r2 and r2[1]))
check(recv_reply(s) is None, "then the server closes the connection")
s.close()

# A request that fills the server's 16 KiB read exactly, with the end of
# stream right behind it: when both are there at once, the read that finds
# the end still answers what came before it.
s = server.connect()
pad = cmd("insert", db="hc", documents=[{"_id": 2, "p": ""}])
pad["insert"] = "t"
n = len(op_msg(pad, rid=3))
pad["documents"][0]["p"] = "y" * (16384 - n)
m = op_msg(pad, rid=3)
check(len(m) == 16384, "the message is 16 KiB (%d)" % len(m))
s.sendall(m)
s.shutdown(socket.SHUT_WR)
r = recv_reply(s)
check(r is not None and r[0][2] == 3 and r[1]["n"] == 1, "answered before the close: %r" % (r and r[1]))
check(recv_reply(s) is None, "then the server closes the connection")
s.close()

s = server.connect()
m = op_msg(cmd("ping"), rid=7)
for i in range(0, len(m), 5):
    s.sendall(m[i:i + 5])
    time.sleep(0.002)
r = recv_reply(s)
check(r is not None and r[0][2] == 7 and r[1]["ok"] == 1.0, "a ping sent 5 bytes at a time")
s.close()

check(server.alive(), "server alive at the end")
rc = server.stop()
check(rc == 0, "SIGTERM stops the server cleanly (exit %r)" % rc)
check("end of stream" in server.logtext(), "the end of stream is logged")
print("ok")
