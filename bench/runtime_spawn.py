#!/usr/bin/env python3
"""Spawn-to-first-/next: the runtime's own cold start, without the platform.

For each bootstrap given, 30 times: listen on a free loopback port, start the
bootstrap with AWS_LAMBDA_RUNTIME_API pointing at it, and time until its
`GET /2018-06-01/runtime/invocation/next` arrives (process start, dynamic
loading, libtether init, the init callback). Prints p50 and min in ms.

  python3 bench/runtime_spawn.py build/examples/echo/bootstrap build/examples/counter/bootstrap
"""
import os
import socket
import statistics
import subprocess
import sys
import time

RUNS = 30
for exe in sys.argv[1:]:
    times = []
    for _ in range(RUNS):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        s.settimeout(10)
        env = dict(os.environ, AWS_LAMBDA_RUNTIME_API="127.0.0.1:%d" % s.getsockname()[1],
                   MONGODB_URI=os.environ.get("MONGODB_URI", "mongodb://127.0.0.1:1/app"))
        t = time.perf_counter()
        p = subprocess.Popen([exe], env=env, stderr=subprocess.DEVNULL)
        try:
            c, _ = s.accept()
            c.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            times.append((time.perf_counter() - t) * 1000)
            c.close()
        except socket.timeout:
            print(f"{exe}: no request within 10 s", file=sys.stderr)
        finally:
            p.kill()
            p.wait()
            s.close()
    if times:
        print(f"{exe}: spawn to first /next p50 {statistics.median(times):.2f} ms, "
              f"min {min(times):.2f} ms ({len(times)} runs)")
