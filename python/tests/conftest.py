"""Spawns `cqlpp sim` clusters for the tests (CQLPP_BIN: the cqlpp tool; CQLPP_TEST_PORT: first port)."""
import os
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
BUILD_PY = os.environ.get("CQLPP_PYTHONPATH")
if BUILD_PY:
    sys.path.insert(0, BUILD_PY)

BIN = os.environ.get("CQLPP_BIN", os.path.join(HERE, "..", "..", "build", "release", "tools", "cqlpp"))
BASE_PORT = int(os.environ.get("CQLPP_TEST_PORT", "22142"))


def _wait(port, proc, host="127.0.0.1", timeout=15.0):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise RuntimeError("cqlpp sim exited: %s" % proc.stderr.read().decode(errors="replace"))
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError("cqlpp sim did not listen on %d" % port)


class Sim:
    def __init__(self, port, args=()):
        self.port = port
        self.proc = subprocess.Popen([BIN, "sim", "--port", str(port)] + list(args),
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        _wait(port, self.proc)

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


@pytest.fixture(scope="session")
def sim():
    s = Sim(BASE_PORT, ["--nodes", "1"])
    yield s
    s.stop()


@pytest.fixture(scope="session")
def sim3():
    s = Sim(BASE_PORT + 1, ["--nodes", "3"])
    yield s
    s.stop()


@pytest.fixture(scope="session")
def auth_sim():
    s = Sim(BASE_PORT + 2, ["--nodes", "1", "--user", "alice:secret"])
    yield s
    s.stop()


@pytest.fixture(scope="session")
def tls_sim(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    cert, key = str(d / "cert.pem"), str(d / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
                   check=True, capture_output=True)
    s = Sim(BASE_PORT + 3, ["--nodes", "1", "--tls-cert", cert, "--tls-key", key])
    s.cert = cert
    yield s
    s.stop()
