"""Helpers for the Lambda API tests in Python and the shell
(test_platform_lambda_api.py, test_platform_lambda_cli.sh): `tether up` on
the template lambda_api_lib.js writes (one template for every client), on a
free port, stopped at exit."""
import atexit
import os
import re
import subprocess
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.environ.get("TETHER_SRC", os.path.abspath(os.path.join(HERE, "..", "..")))
BIN = os.environ.get("TETHER_BIN", os.path.join(SRC, "build", "tether"))
TMP = os.environ.get("TETHER_TEST_TMP", "/tmp")
ACCOUNT_ARN = "arn:aws:lambda:us-east-1:123456789012:function:"


def names():
    """Every function's name in the template, sorted (as lambda_api_lib.js lists them)."""
    out = subprocess.run(["node", "-e", "console.log(JSON.stringify(require(%r).NAMES))"
                          % os.path.join(HERE, "lambda_api_lib.js")],
                         check=True, stdout=subprocess.PIPE, timeout=60).stdout
    import json
    return json.loads(out)


class Platform:
    """tether up on the Lambda API test template; .port, .logs(), .stop()."""

    def __init__(self):
        d = os.path.join(TMP, "lambda-api-py")
        subprocess.run(["node", "-e", "require(%r).writeTemplate(%r)"
                        % (os.path.join(HERE, "lambda_api_lib.js"), d)], check=True, timeout=60)
        self.proc = subprocess.Popen([BIN, "up", "--port", "0", "--no-db", "--template",
                                      os.path.join(d, "template.yaml")],
                                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        atexit.register(self.stop)
        self.text = ""
        self.port = None
        threading.Thread(target=self._read, daemon=True).start()
        end = time.monotonic() + 30
        while self.port is None:
            if self.proc.poll() is not None or time.monotonic() > end:
                raise RuntimeError("tether up did not start:\n" + self.text)
            m = re.search(r"platform listening on [^\s:]+:(\d+)", self.text)
            if m:
                self.port = int(m.group(1))
            time.sleep(0.02)
        self.endpoint = "http://127.0.0.1:%d" % self.port

    def _read(self):
        for line in iter(self.proc.stdout.readline, b""):
            self.text += line.decode(errors="replace")

    def logs(self):
        return self.text

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
