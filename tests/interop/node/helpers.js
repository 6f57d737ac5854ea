'use strict';
// Helpers for the Node.js driver interop suite: the simulator's `sim` keyspace,
// value normalisation for comparisons, and small utilities.
const cassandra = require('cassandra-driver');

const { types } = cassandra;

// The `sim` keyspace, always reached through one pinned host (fail_next counts
// every QUERY on a node, these included, so faults never go to that host).
class Sim {
  constructor(client, host) {
    this.client = client;
    this.host = host;
  }

  async _execute(query) {
    return this.client.execute(query, [], { host: this.host });
  }

  // Map address -> row of sim.nodes.
  async nodes() {
    const rs = await this._execute('SELECT * FROM sim.nodes');
    const out = new Map();
    for (const r of rs.rows) out.set(r.address, r);
    return out;
  }

  // Map address -> node id.
  async nodeIds() {
    const out = new Map();
    for (const [addr, r] of await this.nodes()) out.set(addr, r.node);
    return out;
  }

  // Map "node/name" -> Number.
  async counters() {
    const rs = await this._execute('SELECT node, name, value FROM sim.counters');
    const out = new Map();
    for (const r of rs.rows) out.set(`${r.node}/${r.name}`, Number(r.value));
    return out;
  }

  async setNode(node, settings) {
    const parts = Object.entries(settings).map(([k, v]) => `${k} = ${typeof v === 'string' ? `'${v}'` : v}`);
    await this._execute(`UPDATE sim.nodes SET ${parts.join(', ')} WHERE node = ${node}`);
  }
}

function delta(before, after, node, name) {
  return (after.get(`${node}/${name}`) || 0) - (before.get(`${node}/${name}`) || 0);
}

// Address of a driver Host ("127.0.0.2:19242" -> "127.0.0.2").
function hostAddress(host) {
  return host.address.replace(/:\d+$/, '');
}

async function waitFor(pred, timeoutMs, what) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await pred()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
}

// Runs fn(item) for every item with at most `concurrency` in flight; results in order.
async function mapConcurrent(items, concurrency, fn) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i], i);
    }
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  return results;
}

// Turns a decoded value into plain comparable data.
function norm(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v;
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Buffer.isBuffer(v)) return { blob: v.toString('hex') };
  if (v instanceof Date) return { ts: v.getTime() };
  if (v instanceof types.Long) return { long: v.toString() };
  if (v instanceof types.Integer) return { varint: v.toString() };
  if (v instanceof types.BigDecimal) return { decimal: v.toString() };
  if (v instanceof types.LocalDate) return { date: v.toString() };
  if (v instanceof types.LocalTime) return { time: v.getTotalNanoseconds().toString() };
  if (v instanceof types.Duration) return { duration: v.toString() };
  if (v instanceof types.InetAddress) return { inet: v.toString() };
  if (v instanceof types.Uuid) return { uuid: v.toString() };  // TimeUuid too
  if (v instanceof types.Tuple) return { tuple: v.values().map(norm) };
  if (v instanceof types.Vector) return { vector: Array.from(v.elements).map(norm) };
  if (v instanceof Map) {
    return { map: [...v.entries()].map(([k, x]) => [norm(k), norm(x)]).sort(byJson) };
  }
  if (v instanceof Set) return { set: [...v].map(norm).sort(byJson) };
  if (Array.isArray(v)) return v.map(norm);
  if (typeof v === 'object') {
    const o = {};
    for (const k of Object.keys(v).sort()) o[k] = norm(v[k]);
    return o;
  }
  return v;
}

function byJson(a, b) {
  const x = JSON.stringify(a);
  const y = JSON.stringify(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

// CQL type name of a driver type descriptor (metadata), with frozen<>.
function typeName(t) {
  let name;
  const c = types.dataTypes;
  switch (t.code) {
    case c.list: name = `list<${typeName(t.info)}>`; break;
    case c.set: name = `set<${typeName(t.info)}>`; break;
    case c.map: name = `map<${typeName(t.info[0])}, ${typeName(t.info[1])}>`; break;
    case c.tuple: name = `tuple<${t.info.map(typeName).join(', ')}>`; break;
    case c.udt: name = t.info.name; break;
    default: name = types.getDataTypeNameByCode(t);
  }
  return t.options && t.options.frozen ? `frozen<${name}>` : name;
}

// Serialized partition key as Cassandra builds it: one component as is,
// several as [length:2][bytes][0] each.
function routingKey(components) {
  if (components.length === 1) return components[0];
  const parts = [];
  for (const b of components) {
    const len = Buffer.alloc(2);
    len.writeUInt16BE(b.length);
    parts.push(len, b, Buffer.from([0]));
  }
  return Buffer.concat(parts);
}

function int32(n) {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
}

module.exports = { Sim, delta, hostAddress, waitFor, mapConcurrent, norm, typeName, routingKey, int32 };
