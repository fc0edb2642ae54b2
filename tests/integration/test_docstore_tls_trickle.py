"""A TLS handshake sent a byte at a time cannot hold a connection slot
(`tether db --tls-local DIR --message-timeout 2`): the handshake counts as a
message, so a ClientHello trickled one byte per 0.2 s is closed within the
message timeout (logged, counted in serverStatus connections.closedSlow);
a client that completed its handshake and then sits idle past the message
timeout is not closed by it, and pymongo over TLS is served throughout."""
import os
import socket
import ssl
import time

from docstore_wire_lib import TMP, Server, check, closed_by_server, cmd, op_msg

import pymongo

d = os.path.join(TMP, "tls-trickle")
os.makedirs(d, exist_ok=True)
srv = Server("--tls-local", d, "--message-timeout", "2")
try:
    ca = os.path.join(d, "ca.pem")
    client = pymongo.MongoClient("127.0.0.1", srv.port, tls=True, tlsCAFile=ca,
                                 serverSelectionTimeoutMS=10000)
    check(client.admin.command("ping")["ok"] == 1.0, "pymongo over TLS")

    # the ClientHello a real TLS client sends, from an in-memory handshake
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    incoming, outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(incoming, outgoing)
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    hello = outgoing.read()
    check(len(hello) > 100, "a ClientHello of %d bytes" % len(hello))

    # a client that completes its handshake, then idles past the message timeout
    idle_raw = socket.create_connection(("127.0.0.1", srv.port), timeout=10)
    vctx = ssl.create_default_context(cafile=ca)
    idle = vctx.wrap_socket(idle_raw, server_hostname="localhost")

    trickle = srv.connect()
    start = time.monotonic()
    closed_at = None
    for i in range(len(hello) - 1):  # never the whole hello
        try:
            trickle.send(hello[i:i + 1])
        except (BrokenPipeError, ConnectionResetError):
            closed_at = time.monotonic()
            break
        if closed_by_server(trickle, timeout=0.2):
            closed_at = time.monotonic()
            break
        if i % 5 == 0:
            check(client.admin.command("ping")["ok"] == 1.0, "pymongo served meanwhile")
    check(closed_at is not None, "the trickled handshake was never cut")
    took = closed_at - start
    check(1.8 <= took < 8, "trickled handshake cut after the 2 s bound: %.2f s" % took)
    print("     trickled handshake closed after %.2f s (--message-timeout 2)" % took)

    time.sleep(max(0.0, 2.6 - (time.monotonic() - start)))  # idle past the message timeout
    idle.sendall(op_msg(cmd("ping")))
    idle.settimeout(10)  # SSL buffers what poll() cannot see: plain blocking reads
    data = b""
    while len(data) < 16 or len(data) < int.from_bytes(data[:4], "little"):
        chunk = idle.recv(65536)
        if not chunk:
            break
        data += chunk
    check(len(data) >= 16 and b"ok" in data, "an idle TLS connection past its handshake is kept")
    idle.close()
    trickle.close()

    st = client.admin.command("serverStatus")["connections"]
    check(st["closedSlow"] == 1, "closedSlow counted: %r" % st)
    client.close()
    check(srv.stop() == 0, "clean stop")
    check("TLS handshake incomplete after 2 s" in srv.logtext(), "the close is logged")
finally:
    srv.stop()
print("all ok")
