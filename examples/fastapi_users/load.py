#!/usr/bin/env python3
"""A small closed-loop HTTP/1.1 load client (stdlib asyncio, keep-alive) for
the example: creates --users users, then for --seconds every one of
--connections connections sends GET /users/{id} (random existing id) and waits
for the answer. Prints requests/s and latency percentiles as one JSON line.

    /usr/bin/python3 load.py --port 8000 --connections 64 --seconds 10
"""
import argparse
import asyncio
import json
import random
import time


async def request(reader, writer, method, path, body=b""):
    writer.write(b"%s %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                 % (method.encode(), path.encode(), len(body), body))
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    data = await reader.readexactly(length)
    return status, data


async def main(a):
    r, w = await asyncio.open_connection("127.0.0.1", a.port)
    ids = []
    for i in range(a.users):
        st, data = await request(r, w, "POST", "/users",
                                 json.dumps({"name": "u%d" % i, "email": "u%d@x" % i, "age": 30}).encode())
        assert st == 201, (st, data)
        ids.append(json.loads(data)["id"])
    w.close()
    lat, errors, stop = [], [0], [False]

    async def conn(seed):
        rnd = random.Random(seed)
        r, w = await asyncio.open_connection("127.0.0.1", a.port)
        while not stop[0]:
            t = time.perf_counter()
            st, _ = await request(r, w, "GET", "/users/" + rnd.choice(ids))
            if st == 200:
                lat.append(time.perf_counter() - t)
            else:
                errors[0] += 1
        w.close()

    tasks = [asyncio.create_task(conn(i)) for i in range(a.connections)]
    await asyncio.sleep(a.warmup)
    lat.clear()
    t0 = time.perf_counter()
    await asyncio.sleep(a.seconds)
    n, secs = len(lat), time.perf_counter() - t0
    done = sorted(lat[:n])
    stop[0] = True
    await asyncio.gather(*tasks)

    def pct(q):
        return round(1000 * done[min(len(done) - 1, int(q * len(done)))], 2) if done else 0

    print(json.dumps({"requests": n, "errors": errors[0], "seconds": round(secs, 2), "rps": round(n / secs, 1),
                      "p50_ms": pct(0.5), "p99_ms": pct(0.99), "max_ms": pct(1.0)}))


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--seconds", type=float, default=10)
    ap.add_argument("--warmup", type=float, default=1)
    ap.add_argument("--users", type=int, default=200)
    asyncio.run(main(ap.parse_args()))
