import os
import socket
import subprocess
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
if os.environ.get("CQLPP_PYTHONPATH"):
    sys.path.insert(0, os.environ["CQLPP_PYTHONPATH"])

BIN = os.environ.get("CQLPP_BIN", os.path.join(HERE, "..", "..", "..", "build", "release", "tools", "cqlpp"))
PORT = int(os.environ.get("CQLPP_TEST_PORT", "22152"))


@pytest.fixture(scope="module")
def client():
    proc = subprocess.Popen([BIN, "sim", "--nodes", "1", "--port", str(PORT)], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", PORT), 0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        os.environ["CQLPP_PORT"] = str(PORT)
        from fastapi.testclient import TestClient
        import app as example
        with TestClient(example.app) as c:  # runs the lifespan: connect, schema, prepare
            yield c
    finally:
        proc.terminate()
        proc.wait(5)


def test_health(client):
    r = client.get("/health")
    assert r.status_code == 200 and r.json()["status"] == "healthy"


def test_crud(client):
    r = client.post("/users", json={"name": "Ann", "email": "ann@example.com", "age": 31})
    assert r.status_code == 201
    uid = r.json()["id"]
    assert client.get("/users/" + uid).json()["name"] == "Ann"
    r = client.patch("/users/" + uid, json={"age": 32})
    assert r.status_code == 200 and r.json()["age"] == 32
    assert client.get("/users/" + uid).json()["age"] == 32
    assert client.delete("/users/" + uid).status_code == 204
    assert client.get("/users/" + uid).status_code == 404
    assert client.get("/users/not-a-uuid").status_code == 400


def test_batch_list_and_stream(client):
    users = [{"name": "u%d" % i, "email": "u%d@x" % i, "age": i} for i in range(250)]
    r = client.post("/users/batch", json=users)
    assert r.status_code == 201 and len(r.json()) == 250
    assert len(client.get("/users?limit=5").json()) == 5
    r = client.get("/users/stream?fetch_size=40")
    lines = [l for l in r.text.splitlines() if l]
    assert len(lines) >= 250
    assert {"u0", "u249"} <= {__import__("json").loads(l)["name"] for l in lines}


def test_performance_endpoints_and_metrics(client):
    a = client.get("/performance/async?requests=200").json()
    s = client.get("/performance/sync?requests=50").json()
    assert a["requests"] == 200 and s["requests"] == 50
    assert client.get("/metrics").json()["requests"] > 250
