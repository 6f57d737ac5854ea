"""The async-cassandra FastAPI example rebuilt on cqlpp: users CRUD with prepared
statements, batch create, a streaming endpoint over execute_stream, health checks,
start-up/shutdown in the app's lifespan.

    CQLPP_HOSTS=127.0.0.1 CQLPP_PORT=9042 uvicorn app:app   (from this directory)
"""
import contextlib
import json
import os
import time
import uuid
from datetime import datetime
from typing import List, Optional

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

import cqlpp

KEYSPACE = os.environ.get("CQLPP_KEYSPACE", "example")


class UserCreate(BaseModel):
    name: str
    email: str
    age: int


class UserUpdate(BaseModel):
    name: Optional[str] = None
    email: Optional[str] = None
    age: Optional[int] = None


class User(BaseModel):
    id: str
    name: str
    email: str
    age: int
    created_at: datetime
    updated_at: datetime


def _user(row) -> User:
    return User(id=str(row.id), name=row.name, email=row.email, age=row.age,
                created_at=row.created_at, updated_at=row.updated_at)


@contextlib.asynccontextmanager
async def lifespan(app):
    hosts = os.environ.get("CQLPP_HOSTS", "127.0.0.1").split(",")
    if os.environ.get("APP_DRIVER") == "datastax":  # the load test's comparison (see README)
        from datastax_bridge import Cluster
    else:
        Cluster = cqlpp.Cluster
    cluster = Cluster(hosts, port=int(os.environ.get("CQLPP_PORT", "9042")))
    session = await cluster.connect()
    await session.execute("CREATE KEYSPACE IF NOT EXISTS %s WITH replication = "
                          "{'class': 'SimpleStrategy', 'replication_factor': 1}" % KEYSPACE)
    await session.execute("CREATE TABLE IF NOT EXISTS %s.users (id uuid PRIMARY KEY, name text, email text, "
                          "age int, created_at timestamp, updated_at timestamp)" % KEYSPACE)
    st = app.state
    st.cluster, st.session = cluster, session
    st.insert = await session.prepare("INSERT INTO %s.users (id, name, email, age, created_at, updated_at) "
                                      "VALUES (?, ?, ?, ?, ?, ?)" % KEYSPACE)
    st.select = await session.prepare("SELECT * FROM %s.users WHERE id = ?" % KEYSPACE)
    st.delete = await session.prepare("DELETE FROM %s.users WHERE id = ?" % KEYSPACE)
    try:
        yield
    finally:
        await cluster.shutdown()  # drains in-flight requests, closes connections


app = FastAPI(title="cqlpp FastAPI example")
app.router.lifespan_context = lifespan  # FastAPI 0.92 (Debian) has no lifespan= argument yet


def _parse_id(user_id: str) -> uuid.UUID:
    try:
        return uuid.UUID(user_id)
    except ValueError:
        raise HTTPException(400, "invalid user id")


@app.get("/health")
async def health(request: Request):
    try:
        await request.app.state.session.execute("SELECT release_version FROM system.local", timeout=2)
        return {"status": "healthy", "cassandra_connected": True, "timestamp": datetime.utcnow().isoformat()}
    except cqlpp.DriverException as e:
        return {"status": "unhealthy", "cassandra_connected": False, "error": str(e)}


@app.get("/metrics")
async def metrics(request: Request):
    m = request.app.state.session.metrics()
    return {"requests": m["requests"], "errors": m["errors"], "p99_s": m["latency"]["p99"]}


@app.post("/users", response_model=User, status_code=201)
async def create_user(user: UserCreate, request: Request):
    st = request.app.state
    now = datetime.utcnow().replace(microsecond=0)
    uid = uuid.uuid4()
    await st.session.execute(st.insert, [uid, user.name, user.email, user.age, now, now])
    return User(id=str(uid), created_at=now, updated_at=now, **user.dict())


@app.post("/users/batch", response_model=List[User], status_code=201)
async def create_users(users: List[UserCreate], request: Request):
    st = request.app.state
    now = datetime.utcnow().replace(microsecond=0)
    batch = cqlpp.BatchStatement(cqlpp.BatchType.UNLOGGED)
    out = []
    for u in users:
        uid = uuid.uuid4()
        batch.add(st.insert, [uid, u.name, u.email, u.age, now, now])
        out.append(User(id=str(uid), created_at=now, updated_at=now, **u.dict()))
    await st.session.execute(batch)
    return out


@app.get("/users", response_model=List[User])
async def list_users(request: Request, limit: int = Query(10, ge=1, le=10000)):
    rs = await request.app.state.session.execute("SELECT * FROM %s.users LIMIT %d" % (KEYSPACE, limit))
    return [_user(r) async for r in rs]


@app.get("/users/stream")
async def stream_users(request: Request, fetch_size: int = Query(100, ge=1, le=5000)):
    """Every user as JSON lines; pages come one ahead, the loop is never blocked."""
    stream = await request.app.state.session.execute_stream("SELECT * FROM %s.users" % KEYSPACE,
                                                            fetch_size=fetch_size)

    async def lines():
        async for row in stream:
            yield json.dumps(_user(row).dict(), default=str) + "\n"

    return StreamingResponse(lines(), media_type="application/x-ndjson")


@app.get("/users/{user_id}", response_model=User)
async def get_user(user_id: str, request: Request):
    st = request.app.state
    row = (await st.session.execute(st.select, [_parse_id(user_id)])).one()
    if row is None:
        raise HTTPException(404, "user not found")
    return _user(row)


@app.put("/users/{user_id}", response_model=User)
@app.patch("/users/{user_id}", response_model=User)
async def update_user(user_id: str, update: UserUpdate, request: Request):
    st = request.app.state
    uid = _parse_id(user_id)
    row = (await st.session.execute(st.select, [uid])).one()
    if row is None:
        raise HTTPException(404, "user not found")
    fields = {k: v for k, v in update.dict().items() if v is not None}
    now = datetime.utcnow().replace(microsecond=0)
    sets = ", ".join("%s = ?" % k for k in fields) + (", " if fields else "") + "updated_at = ?"
    await st.session.execute("UPDATE %s.users SET %s WHERE id = ?" % (KEYSPACE, sets),
                             list(fields.values()) + [now, uid])
    merged = row._asdict()
    merged.update(fields, updated_at=now)
    return _user(type(row)(**merged))


@app.delete("/users/{user_id}", status_code=204)
async def delete_user(user_id: str, request: Request):
    st = request.app.state
    await st.session.execute(st.delete, [_parse_id(user_id)])


@app.get("/performance/async")
async def perf_async(request: Request, requests: int = Query(100, ge=1, le=10000)):
    """`requests` concurrent reads on the event loop (the "async vs sync" comparison)."""
    import asyncio
    st = request.app.state
    t = time.perf_counter()
    await asyncio.gather(*[st.session.execute(st.select, [uuid.uuid4()]) for _ in range(requests)])
    secs = time.perf_counter() - t
    return {"requests": requests, "total_time": secs, "requests_per_second": requests / secs}


@app.get("/performance/sync")
async def perf_sync(request: Request, requests: int = Query(100, ge=1, le=10000)):
    """The same reads one after the other."""
    st = request.app.state
    t = time.perf_counter()
    for _ in range(requests):
        await st.session.execute(st.select, [uuid.uuid4()])
    secs = time.perf_counter() - t
    return {"requests": requests, "total_time": secs, "requests_per_second": requests / secs}
