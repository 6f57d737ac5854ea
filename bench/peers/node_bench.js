'use strict';
// bench/run contender: the DataStax Node.js driver (npm cassandra-driver,
// protocol v4, token-aware), N async loops on the event loop.
// --rate R runs open loop: request i is due at start + i/R, at most N in
// flight, latency counted from the due time (coordinated omission corrected).
// Same CLI and one-line JSON output as every contender: see bench/README.md.
const fs = require('fs');
const cassandra = require('cassandra-driver');

function parseArgs(argv) {
  const o = { keyspace: 'bench', concurrency: 1, seconds: 5, warmup: 0.5, rows: 100000, pageSize: 5000, rate: 0, ops: 0 };
  for (let i = 2; i < argv.length; i += 2) {
    const k = argv[i];
    const v = argv[i + 1];
    if (v === undefined) usage();
    if (k === '--hosts') o.hosts = v.split(',');
    else if (k === '--keyspace') o.keyspace = v;
    else if (k === '--workload') o.workload = v;
    else if (k === '--concurrency') o.concurrency = Math.max(1, parseInt(v, 10));
    else if (k === '--seconds') o.seconds = parseFloat(v);
    else if (k === '--warmup') o.warmup = parseFloat(v);
    else if (k === '--rows') o.rows = parseInt(v, 10);
    else if (k === '--page-size') o.pageSize = parseInt(v, 10);
    else if (k === '--rate') o.rate = Math.max(0, parseFloat(v));
    // Not used by bench/run: exactly this many requests, no time window, all
    // measured (bench/instr/peers_instr.py: instructions per request from two
    // such runs under callgrind). Closed loop read/write/mix only.
    else if (k === '--ops') o.ops = Math.max(0, parseInt(v, 10));
    else usage();
  }
  if (!o.hosts || !['read', 'write', 'mix', 'scan', 'stall'].includes(o.workload)) usage();
  if (o.workload === 'scan' || o.workload === 'stall') o.rate = 0;
  if (o.ops && (o.rate || !['read', 'write', 'mix'].includes(o.workload))) usage();
  return o;
}

function usage() {
  process.stderr.write('usage: node node_bench.js --hosts H:P[,..] --workload read|write|mix|scan|stall ' +
    '--concurrency N --seconds S [--rows R] [--warmup S] [--keyspace bench] [--rate R] [--ops N]\n');
  process.exit(2);
}

const nowNs = () => process.hrtime.bigint();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const immediate = () => new Promise((r) => setImmediate(r));
// Until a due time (ns): setTimeout for whole milliseconds, then setImmediate
// for the last one (timers are ms-grained and may fire a little early).
async function sleepUntil(due) {
  for (;;) {
    const ms = Number(due - nowNs()) / 1e6;
    if (ms <= 0) return;
    if (ms >= 1) await sleep(Math.floor(ms));
    else await immediate();
  }
}
// The main thread's run-queue wait in ns (runnable, waiting for a CPU): field 2
// of /proc/thread-self/schedstat, one positioned read on a kept-open fd.
function runQueueClock() {
  let fd = null;
  try { fd = fs.openSync('/proc/thread-self/schedstat', 'r'); } catch (e) { return null; }
  const buf = Buffer.alloc(128);
  return () => {
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return Number(buf.toString('latin1', 0, n).split(' ')[1]);
  };
}
const cpuSeconds = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };

// Growable sample buffer (nanoseconds as doubles).
class Samples {
  constructor() { this.a = new Float64Array(1 << 16); this.n = 0; }
  push(v) {
    if (this.n === this.a.length) { const b = new Float64Array(this.a.length * 2); b.set(this.a); this.a = b; }
    this.a[this.n++] = v;
  }
  sorted() { return this.a.subarray(0, this.n).sort(); }
}
function pct(sorted, q) {
  if (sorted.length === 0) return 0;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i];
}

async function main() {
  const o = parseArgs(process.argv);
  const port = parseInt(o.hosts[0].split(':').pop(), 10);
  const client = new cassandra.Client({
    contactPoints: o.hosts.map((h) => h.replace(/:\d+$/, '')),
    localDataCenter: 'datacenter1',
    keyspace: o.keyspace,
    protocolOptions: { port, maxVersion: 4 },
    queryOptions: { consistency: cassandra.types.consistencies.one, prepare: true },
    socketOptions: { readTimeout: 60000 },
    policies: {
      loadBalancing: new cassandra.policies.loadBalancing.TokenAwarePolicy(
        new cassandra.policies.loadBalancing.DCAwareRoundRobinPolicy('datacenter1')),
    },
  });
  await client.connect();
  const readQ = 'SELECT v FROM kv WHERE k = ?';
  const writeQ = 'INSERT INTO kv (k, v) VALUES (?, ?)';
  const scanQ = 'SELECT k, v FROM kv';
  const blob = Buffer.alloc(100, 0xab);
  const rows = Math.max(1, o.rows);

  const rec = { measuring: false, ops: 0, errors: 0, rows: 0, lat: new Samples(), t0: 0n, t1: 0n, cpu0: 0, cpu1: 0 };
  const start = () => {
    Object.assign(rec, { measuring: true, ops: 0, errors: 0, rows: 0, lat: new Samples(), t0: nowNs(), cpu0: cpuSeconds() });
  };
  const stopRec = () => { if (rec.measuring) { rec.measuring = false; rec.t1 = nowNs(); rec.cpu1 = cpuSeconds(); } };
  const ok = (t, n = 0) => { if (rec.measuring) { rec.ops++; rec.rows += n; rec.lat.push(Number(nowNs() - t)); } };
  const err = (e) => {
    if (rec.measuring) rec.errors++;
    if (rec.errors <= 3) process.stderr.write(`node: ${e}\n`);
  };

  let stop = false;
  let claimed = 0;  // --ops
  async function worker() {
    while (!stop) {
      if (o.ops && claimed++ >= o.ops) break;
      const k = Math.floor(Math.random() * rows);
      const write = o.workload === 'write' || (o.workload === 'mix' && Math.random() < 0.1);
      const t = nowNs();
      try {
        if (write) await client.execute(writeQ, [k, blob]);
        else await client.execute(readQ, [k]);
        ok(t);
      } catch (e) {
        err(e);
      }
    }
  }

  // One full pass of the table, page by page (page state carried by hand).
  async function scanPass(countAsOps) {
    let pageState;
    let got = 0;
    do {
      const t = nowNs();
      const rs = await client.execute(scanQ, [], { fetchSize: o.pageSize, pageState, autoPage: false });
      if (countAsOps) ok(t, rs.rows.length);
      else if (rec.measuring) rec.scanRows = (rec.scanRows || 0) + rs.rows.length;
      got += rs.rows.length;
      pageState = rs.pageState;
      if (stop) break;
    } while (pageState);
    return got;
  }

  // Fixed rate: each of the N loops takes the next slot of the schedule when
  // free and waits for its due time; a slot taken late (all N busy) goes out
  // at once and its latency still counts from the due time.
  const paced = { next: 0, issued: 0, late: 0, ops: 0, errors: 0, lat: new Samples(), service: new Samples() };
  async function pacedWorker() {
    for (;;) {
      const due = paced.start + BigInt(Math.round(paced.next++ * 1e9 / o.rate));
      if (due >= paced.end || nowNs() >= paced.end) return;  // later slots, or a backlog at the end: unissued
      await sleepUntil(due);
      const k = Math.floor(Math.random() * rows);
      const write = o.workload === 'write' || (o.workload === 'mix' && Math.random() < 0.1);
      const t = nowNs();
      let good = true;
      try {
        if (write) await client.execute(writeQ, [k, blob]);
        else await client.execute(readQ, [k]);
      } catch (e) {
        good = false;
        if (paced.errors < 3) process.stderr.write(`node: ${e}\n`);
      }
      const done = nowNs();
      paced.issued++;
      // Measured: answered within the window, whenever due (a backlog from the
      // warm-up counts, with its whole wait).
      if (done < paced.from || done > paced.end) continue;
      if (t - due > 1000000n) paced.late++;
      if (!good) { paced.errors++; continue; }
      paced.ops++;
      paced.lat.push(Number(done - due));
      paced.service.push(Number(done - t));
    }
  }

  const extra = {};
  let inFlight = o.concurrency;
  if (o.rate > 0) {
    paced.start = nowNs();
    paced.from = paced.start + BigInt(Math.round(o.warmup * 1e9));
    paced.end = paced.from + BigInt(Math.round(o.seconds * 1e9));
    const tasks = [];
    for (let i = 0; i < o.concurrency; i++) tasks.push(pacedWorker());
    await sleepUntil(paced.from);
    start();
    await sleepUntil(paced.end);
    stopRec();
    await Promise.allSettled(tasks);
    Object.assign(rec, { ops: paced.ops, errors: paced.errors, lat: paced.lat });
    // Rates over the nominal window: the measured requests' due times span exactly it.
    rec.t1 = rec.t0 + BigInt(Math.round(o.seconds * 1e9));
    const secs = o.seconds;
    const svc = paced.service.sorted();
    const dueSlots = Math.ceil(o.rate * (o.warmup + o.seconds));  // due before the end; never sent: the backlog left
    Object.assign(extra, {
      rate: o.rate, achieved_rate: +(paced.ops / secs).toFixed(1), late_starts: paced.late,
      unissued: Math.max(0, dueSlots - paced.issued),
      service_p50_us: +(pct(svc, 0.5) / 1000).toFixed(1), service_p99_us: +(pct(svc, 0.99) / 1000).toFixed(1),
      service_p999_us: +(pct(svc, 0.999) / 1000).toFixed(1),
    });
  } else if (o.ops) {
    const tasks = [];
    start();
    for (let i = 0; i < o.concurrency; i++) tasks.push(worker());
    await Promise.allSettled(tasks);
    stopRec();
  } else if (o.workload === 'scan') {
    inFlight = 1;
    start();
    const deadline = rec.t0 + BigInt(Math.round(o.seconds * 1e9));
    do {
      await scanPass(true);
    } while (nowNs() < deadline);
    stopRec();
  } else {
    const tasks = [];
    for (let i = 0; i < o.concurrency; i++) tasks.push(worker());
    const delays = [];
    const loopDelays = [];  // lateness minus the run-queue wait over the tick
    const runQueue = o.workload === 'stall' ? runQueueClock() : null;
    if (o.workload === 'stall') {
      tasks.push((async () => {
        while (!stop) {
          const w0 = runQueue ? runQueue() : 0;
          const t = nowNs();
          await sleep(1);
          const late = Math.max(0, Number(nowNs() - t) / 1e6 - 1);
          const waited = runQueue ? (runQueue() - w0) / 1e6 : 0;
          if (rec.measuring) {
            delays.push(late);
            loopDelays.push(Math.max(0, late - waited));
          }
        }
      })());
      tasks.push((async () => { while (!stop) await scanPass(false); })());
    }
    await sleep(o.warmup * 1000);
    start();
    rec.scanRows = 0;
    await sleep(o.seconds * 1000);
    stopRec();
    stop = true;
    await Promise.allSettled(tasks);
    if (o.workload === 'stall') {
      delays.sort((a, b) => a - b);
      const secs = Number(rec.t1 - rec.t0) / 1e9;
      Object.assign(extra, {
        rows: rec.scanRows,
        rows_per_s: +(rec.scanRows / secs).toFixed(1),
        ticker_max_delay_ms: +(delays.length ? delays[delays.length - 1] : 0).toFixed(3),
        ticker_p99_delay_ms: +pct(delays, 0.99).toFixed(3),
        ticks: delays.length,
        ticks_over_2ms: delays.filter((d) => d > 2).length,
        ticker_loop_max_ms: null, ticker_loop_p99_ms: null, loop_ticks_over_2ms: null,
      });
      if (runQueue) {
        loopDelays.sort((a, b) => a - b);
        Object.assign(extra, {
          ticker_loop_max_ms: +(loopDelays.length ? loopDelays[loopDelays.length - 1] : 0).toFixed(3),
          ticker_loop_p99_ms: +pct(loopDelays, 0.99).toFixed(3),
          loop_ticks_over_2ms: loopDelays.filter((d) => d > 2).length,
        });
      }
    }
  }
  await client.shutdown();
  const secs = Number(rec.t1 - rec.t0) / 1e9;
  const cpu = rec.cpu1 - rec.cpu0;
  const lat = rec.lat.sorted();
  const us = (v) => +(v / 1000).toFixed(1);
  const out = {
    contender: 'node', mode: 'event-loop', workload: o.workload, concurrency: inFlight,
    ops: rec.ops, errors: rec.errors, seconds: +secs.toFixed(3), ops_per_s: +(rec.ops / secs).toFixed(1),
    p50_us: us(pct(lat, 0.5)), p99_us: us(pct(lat, 0.99)), p999_us: us(pct(lat, 0.999)),
    max_us: us(lat.length ? lat[lat.length - 1] : 0),
    cpu_s: +cpu.toFixed(3), ops_per_cpu_s: cpu > 0 ? +(rec.ops / cpu).toFixed(1) : 0,
    peak_rss_kib: Math.round(process.resourceUsage().maxRSS), threads: null, rate: 0,
  };
  if (o.workload === 'scan') Object.assign(out, { rows: rec.rows, rows_per_s: +(rec.rows / secs).toFixed(1) });
  Object.assign(out, extra);
  process.stdout.write(JSON.stringify(out) + '\n');
}

main().catch((e) => { process.stderr.write(`node: ${e && e.stack ? e.stack : e}\n`); process.exit(1); });
