'use strict';
// The DataStax Node.js driver (npm cassandra-driver, protocol v4) against `cqlpp sim`.
// run_node.sh starts the simulator and runs this file with node --test, once per mode:
//   INTEROP_MODE=main    3 nodes: metadata, every type, batches, paging, errors
//   INTEROP_MODE=tokens  4 nodes: token and replica agreement, token-aware routing
//   INTEROP_MODE=auth    PasswordAuthenticator (INTEROP_USER=name:password)
//   INTEROP_MODE=features 3 nodes: system_views.clients/settings, tracing, warnings, custom payloads;
//                        JSON, aggregates and GROUP BY, native functions and CAST, indexes, vector search
//   INTEROP_MODE=topology 3 nodes (then on the same simulator as features): a node joins, one leaves
// INTEROP_PORT: the simulator's port (nodes on 127.0.0.1..N).
const { describe, it, before, after } = require('node:test');
const assert = require('node:assert/strict');
const cassandra = require('cassandra-driver');
const h = require('./helpers');

const { types, errors, policies } = cassandra;
const { Long } = types;
const codes = types.responseErrorCodes;
const cl = types.consistencies;

const MODE = process.env.INTEROP_MODE || 'main';
const PORT = Number(process.env.INTEROP_PORT || 19242);
const NODES = Number(process.env.INTEROP_NODES || 3);
const NUM_TOKENS = 16;

function newClient(extra = {}) {
  const opts = {
    contactPoints: ['127.0.0.1'],
    localDataCenter: 'datacenter1',
    protocolOptions: { port: PORT, maxVersion: 4 },
    policies: {
      loadBalancing: new policies.loadBalancing.TokenAwarePolicy(
        new policies.loadBalancing.DCAwareRoundRobinPolicy('datacenter1')),
      reconnection: new policies.reconnection.ConstantReconnectionPolicy(500),
    },
    socketOptions: { readTimeout: 20000, connectTimeout: 10000 },
    ...extra,
  };
  if (extra.protocolOptions) opts.protocolOptions = { port: PORT, ...extra.protocolOptions };
  return new cassandra.Client(opts);
}

function hostByAddress(client, addr) {
  return client.hosts.values().find((x) => h.hostAddress(x) === addr);
}

// Asserts that fn rejects with a ResponseError of this code; returns the error.
async function rejectsWithCode(fn, code, what) {
  try {
    await fn();
  } catch (e) {
    assert.ok(e instanceof errors.ResponseError, `${what}: expected ResponseError, got ${e && e.name}: ${e && e.message}`);
    assert.equal(e.code, code, `${what}: error code (message: ${e.message})`);
    return e;
  }
  assert.fail(`${what}: expected error code 0x${code.toString(16)}, but the call succeeded`);
}

// ---------------------------------------------------------------------------
// Values

const KS = 'interop_node';
const COLUMNS = [
  ['a', 'ascii'], ['b', 'bigint'], ['bl', 'blob'], ['bo', 'boolean'], ['d', 'date'], ['de', 'decimal'],
  ['db', 'double'], ['du', 'duration'], ['f', 'float'], ['i4', 'inet'], ['i6', 'inet'], ['i', 'int'],
  ['si', 'smallint'], ['t', 'text'], ['tm', 'time'], ['ts', 'timestamp'], ['tu', 'timeuuid'],
  ['ti', 'tinyint'], ['u', 'uuid'], ['vi', 'varint'],
  ['l', 'list<int>'], ['s', 'set<text>'], ['m', 'map<text, int>'],
  ['fl', 'frozen<list<frozen<map<int, text>>>>'], ['fs', 'frozen<set<frozen<list<int>>>>'],
  ['fm', 'map<text, frozen<set<bigint>>>'], ['tup', 'tuple<int, text, double>'],
  ['nt', 'frozen<tuple<int, frozen<list<text>>>>'], ['addr', 'frozen<address>'],
  ['addrs', 'list<frozen<address>>'], ['mu', 'map<frozen<address>, int>'],
];
const NAMES = COLUMNS.map((c) => c[0]);
const UDT_COLUMNS = new Set(['addr', 'addrs', 'mu']);

const TU = types.TimeUuid.fromString('8a4b3f10-55a8-11ee-8c99-0242ac120002');
const U = types.Uuid.fromString('5f1c2a3b-4d5e-4f60-8172-8394a5b6c7d8');

// [value, CQL literal] per column.
function fullValues() {
  return {
    a: ['ascii text ~', "'ascii text ~'"],
    b: [Long.fromString('-9223372036854775808'), '-9223372036854775808'],
    bl: [Buffer.from('0001feff', 'hex'), '0x0001feff'],
    bo: [true, 'true'],
    d: [types.LocalDate.fromString('2024-02-29'), "'2024-02-29'"],
    de: [types.BigDecimal.fromString('-12345.678901234567890123'), '-12345.678901234567890123'],
    db: [3.141592653589793, '3.141592653589793'],
    du: [new types.Duration(14, 3, Long.fromString('3723000000123')), '1y2mo3d1h2m3s123ns'],
    f: [1.5, '1.5'],
    i4: [types.InetAddress.fromString('192.168.1.10'), "'192.168.1.10'"],
    i6: [types.InetAddress.fromString('2001:db8::ff00:42:8329'), "'2001:db8::ff00:42:8329'"],
    i: [-2147483648, '-2147483648'],
    si: [-32768, '-32768'],
    t: ["unicode \u2713 \u30c6\u30ad\u30b9\u30c8 'quoted'", "'unicode \u2713 \u30c6\u30ad\u30b9\u30c8 ''quoted'''"],
    tm: [types.LocalTime.fromString('23:59:59.999999'), "'23:59:59.999999'"],
    ts: [new Date(Date.UTC(2024, 4, 6, 7, 8, 9, 123)), "'2024-05-06 07:08:09.123+0000'"],
    tu: [TU, TU.toString()],
    ti: [-128, '-128'],
    u: [U, U.toString()],
    vi: [types.Integer.fromString('-1267650600228229401496703205369'), '-1267650600228229401496703205369'],
    l: [[3, 1, 2, 1], '[3, 1, 2, 1]'],
    s: [new Set(['b', 'a', 'c']), "{'b', 'a', 'c'}"],
    m: [new Map([['x', 1], ['y', -2]]), "{'x': 1, 'y': -2}"],
    fl: [[new Map([[1, 'one'], [2, 'two']]), new Map([[3, 'three']])], "[{1: 'one', 2: 'two'}, {3: 'three'}]"],
    fs: [new Set([[1, 2], [3]]), '{[3], [1, 2]}'],
    fm: [new Map([['p', new Set([Long.fromInt(1), Long.fromInt(2), Long.fromInt(3)])], ['q', new Set([Long.fromInt(-5)])]]),
      "{'p': {3, 1, 2}, 'q': {-5}}"],
    tup: [new types.Tuple(7, 'seven', 7.5), "(7, 'seven', 7.5)"],
    nt: [new types.Tuple(1, ['a', 'b']), "(1, ['a', 'b'])"],
    addr: [{ street: 'Main St', zip: 12345, tags: new Set(['home', 'work']) },
      "{street: 'Main St', zip: 12345, tags: {'work', 'home'}}"],
    addrs: [[{ street: 'A', zip: 1, tags: null }, { street: 'B', zip: 2, tags: new Set(['x']) }],
      "[{street: 'A', zip: 1}, {street: 'B', zip: 2, tags: {'x'}}]"],
    mu: [new Map([[{ street: 'K', zip: 9, tags: null }, 99]]), "{{street: 'K', zip: 9}: 99}"],
  };
}

function edgeValues() {
  return {
    a: ['', "''"], b: [Long.fromString('9223372036854775807'), '9223372036854775807'], bl: [Buffer.alloc(0), '0x'],
    bo: [false, 'false'], d: [types.LocalDate.fromString('1970-01-01'), "'1970-01-01'"],
    de: [types.BigDecimal.fromString('0'), '0'], db: [-Infinity, '-Infinity'], du: [new types.Duration(0, 0, Long.ZERO), '0s'],
    f: [Infinity, 'Infinity'], i4: [types.InetAddress.fromString('0.0.0.0'), "'0.0.0.0'"],
    i6: [types.InetAddress.fromString('::1'), "'::1'"], i: [2147483647, '2147483647'], si: [32767, '32767'],
    t: ['', "''"], tm: [types.LocalTime.fromString('00:00:00'), "'00:00:00'"],
    ts: [new Date(-1), '-1'], tu: [TU, TU.toString()], ti: [127, '127'],
    u: [types.Uuid.fromString('00000000-0000-0000-0000-000000000000'), '00000000-0000-0000-0000-000000000000'],
    vi: [types.Integer.fromString('0'), '0'], l: [[0], '[0]'], s: [new Set(['']), "{''}"],
    m: [new Map([['', 0]]), "{'': 0}"], fl: [[new Map()], '[{}]'], fs: [new Set([[]]), '{[]}'],
    fm: [new Map([['', new Set()]]), "{'': {}}"], tup: [new types.Tuple(null, null, null), '(null, null, null)'],
    nt: [new types.Tuple(0, []), '(0, [])'], addr: [{ street: null, zip: null, tags: null }, '{}'],
    addrs: [[{ street: '', zip: 0, tags: new Set() }], "[{street: '', zip: 0, tags: {}}]"],
    mu: [new Map([[{ street: '', zip: 0, tags: null }, 0]]), "{{street: '', zip: 0}: 0}"],
  };
}

// What the server hands back for a written value: a top-level empty collection is
// no cell at all, so it reads as null (empty frozen collections nested in others stay).
function expected(values, name) {
  const v = values[name] ? values[name][0] : null;
  if (v === null) return null;
  if ((Array.isArray(v) && v.length === 0) || ((v instanceof Map || v instanceof Set) && v.size === 0)) return null;
  return v;
}

function unfrozen(type) {
  let out = type;
  for (;;) {
    const i = out.indexOf('frozen<');
    if (i < 0) return out;
    let depth = 0;
    let j = i + 'frozen<'.length;
    for (; j < out.length; j++) {
      if (out[j] === '<') depth++;
      else if (out[j] === '>') {
        if (depth === 0) break;
        depth--;
      }
    }
    out = out.slice(0, i) + out.slice(i + 'frozen<'.length, j) + out.slice(j + 1);
  }
}

function compareRow(row, values, what) {
  for (const name of NAMES) {
    assert.deepEqual(h.norm(row[name]), h.norm(expected(values, name)), `${what}: column ${name}`);
  }
}

// ---------------------------------------------------------------------------

if (MODE === 'main') {
  describe('node driver: main (3 nodes, protocol v4)', () => {
    let client;
    let tc;  // decodes maps and sets as Map and Set (see before())
    let sim;
    let ids;
    let ctl;
    let target;
    let other;

    before(async () => {
      client = newClient();
      await client.connect();
      // Maps with non-text keys and sets need Map/Set to round-trip; a separate
      // client, because with encoding.map = Map the driver's schema parser reads
      // system_schema.keyspaces.replication as an object and loses the strategy.
      tc = newClient({ encoding: { map: Map, set: Set } });
      await tc.connect();
      ctl = h.hostAddress(client.controlConnection.host);
      sim = new h.Sim(client, hostByAddress(client, ctl));
      ids = await sim.nodeIds();
      const others = [...ids.keys()].filter((a) => a !== ctl).sort();
      target = others[0];
      other = others[1];
    });

    after(async () => {
      if (tc) await tc.shutdown();
      if (client) await client.shutdown();
    });

    it('negotiates protocol v4', async () => {
      assert.equal(client.controlConnection.protocolVersion, 4);
      for (const host of client.hosts.values()) {
        for (const c of host.pool.connections) assert.equal(c.protocolVersion, 4, `connection to ${host.address}`);
      }
    });

    it('metadata: every node up with its datacenter and rack', async () => {
      const rows = await sim.nodes();
      const hosts = client.hosts.values();
      assert.equal(hosts.length, NODES);
      for (const host of hosts) {
        const r = rows.get(h.hostAddress(host));
        assert.ok(r, `sim.nodes row for ${host.address}`);
        assert.ok(host.isUp(), `${host.address} up`);
        assert.equal(host.datacenter, r.datacenter, `datacenter of ${host.address}`);
        assert.equal(host.rack, r.rack, `rack of ${host.address}`);
        assert.ok(host.hostId, `host id of ${host.address}`);
        assert.ok(host.cassandraVersion, `release version of ${host.address}`);
      }
    });

    it('metadata: token ring', async () => {
      const md = client.metadata;
      assert.equal(md.ring.length, NODES * NUM_TOKENS, 'ring tokens');
      const owners = new Map();
      for (const t of md.ringTokensAsStrings) {
        const owner = md.primaryReplicas[t];
        owners.set(h.hostAddress(owner), (owners.get(h.hostAddress(owner)) || 0) + 1);
      }
      assert.deepEqual([...owners.values()], new Array(NODES).fill(NUM_TOKENS), 'vnodes per host');
    });

    it('schema: keyspace, UDT and tables', async () => {
      await client.execute(`DROP KEYSPACE IF EXISTS ${KS}`);
      await client.execute(`CREATE KEYSPACE ${KS} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}`);
      await client.execute(`CREATE TYPE ${KS}.address (street text, zip int, tags frozen<set<text>>)`);
      await client.execute(`CREATE TABLE ${KS}.all_types (k int PRIMARY KEY, ${COLUMNS.map((c) => c.join(' ')).join(', ')})`);
      await client.execute(`CREATE TABLE ${KS}.kv (k text PRIMARY KEY, v int)`);
      await client.execute(`CREATE TABLE ${KS}.cnt (k text PRIMARY KEY, c1 counter, c2 counter)`);
      await client.execute(`CREATE TABLE ${KS}.paged (k int PRIMARY KEY, v text)`);
      await client.execute(`CREATE TABLE ${KS}.wide (p int, c int, v text, PRIMARY KEY (p, c))`);
      await client.execute(`CREATE TABLE ${KS}.vec (k int PRIMARY KEY, v vector<float, 3>)`);
      assert.ok(await client.metadata.checkSchemaAgreement(), 'schema agreement');
    });

    it('metadata: table columns and UDT as created', async () => {
      const t = await client.metadata.getTable(KS, 'all_types');
      assert.ok(t, 'table metadata');
      assert.deepEqual(t.partitionKeys.map((c) => c.name), ['k']);
      const got = {};
      for (const c of t.columns) got[c.name] = h.typeName(c.type);
      const want = { k: 'int' };
      for (const [n, ty] of COLUMNS) want[n] = ty;
      want.tup = 'frozen<tuple<int, text, double>>';  // tuples are always frozen
      assert.deepEqual(got, want);
      const w = await client.metadata.getTable(KS, 'wide');
      assert.deepEqual(w.clusteringKeys.map((c) => c.name), ['c']);
      const udt = await client.metadata.getUdt(KS, 'address');
      assert.deepEqual(udt.fields.map((f) => f.name), ['street', 'zip', 'tags']);
      await client.metadata.refreshKeyspace(KS);
      const ks = client.metadata.keyspaces[KS];
      assert.equal(ks.strategy, 'org.apache.cassandra.locator.SimpleStrategy');
      assert.equal(String(ks.strategyOptions.replication_factor), '3');
    });

    const insertCols = ['k', ...NAMES].join(', ');
    const marks = ['k', ...NAMES].map(() => '?').join(', ');

    async function readRow(k, prepare) {
      const rs = await tc.execute(`SELECT * FROM ${KS}.all_types WHERE k = ?`, [k], { prepare, hints: ['int'] });
      assert.equal(rs.rows.length, 1, `rows for k=${k}`);
      return rs.rows[0];
    }

    async function insertLiterals(k, values) {
      const lits = NAMES.map((n) => (values[n] ? values[n][1] : 'null'));
      await tc.execute(`INSERT INTO ${KS}.all_types (${insertCols}) VALUES (${k}, ${lits.join(', ')})`);
    }

    async function insertPrepared(k, values) {
      await tc.execute(`INSERT INTO ${KS}.all_types (${insertCols}) VALUES (${marks})`,
        [k, ...NAMES.map((n) => (values[n] ? values[n][0] : null))], { prepare: true });
    }

    it('types: CQL literals, read back unprepared and prepared', async () => {
      const v = fullValues();
      await insertLiterals(1, v);
      compareRow(await readRow(1, false), v, 'literal write, unprepared read');
      compareRow(await readRow(1, true), v, 'literal write, prepared read');
    });

    it('types: unprepared QUERY with bound values and type hints', async () => {
      const v = fullValues();
      const cols = NAMES.filter((n) => !UDT_COLUMNS.has(n));
      // The driver's hint parser takes no frozen<>; freezing does not change the encoding.
      const hints = ['int', ...cols.map((n) => unfrozen(COLUMNS.find((c) => c[0] === n)[1]))];
      await tc.execute(`INSERT INTO ${KS}.all_types (k, ${cols.join(', ')}) VALUES (${hints.map(() => '?').join(', ')})`,
        [2, ...cols.map((n) => v[n][0])], { prepare: false, hints });
      const row = await readRow(2, true);
      for (const n of cols) assert.deepEqual(h.norm(row[n]), h.norm(expected(v, n)), `column ${n}`);
    });

    it('types: prepared statement round trip', async () => {
      const v = fullValues();
      await insertPrepared(3, v);
      compareRow(await readRow(3, true), v, 'prepared write, prepared read');
      compareRow(await readRow(3, false), v, 'prepared write, unprepared read');
    });

    it('types: edge values (extremes, empty strings and blobs, infinities)', async () => {
      const v = edgeValues();
      await insertLiterals(4, v);
      compareRow(await readRow(4, true), v, 'edge literals');
      // The driver encodes an empty list/set/map as null, and refuses null inside a
      // collection: nested empty collections can only be written as literals.
      for (const n of ['fl', 'fs', 'fm']) delete v[n];
      v.addrs = [[{ street: '', zip: 0, tags: null }]];
      v.nt = [new types.Tuple(0, null)];
      await insertPrepared(5, v);
      compareRow(await readRow(5, false), v, 'edge prepared');
    });

    it('types: NaN', async () => {
      await tc.execute(`INSERT INTO ${KS}.all_types (k, db, f) VALUES (?, ?, ?)`, [6, NaN, NaN], { prepare: true });
      await tc.execute(`INSERT INTO ${KS}.all_types (k, db, f) VALUES (7, NaN, -Infinity)`);
      const r6 = await readRow(6, true);
      assert.ok(Number.isNaN(r6.db) && Number.isNaN(r6.f), `NaN read back: ${r6.db} ${r6.f}`);
      const r7 = await readRow(7, false);
      assert.ok(Number.isNaN(r7.db));
      assert.equal(r7.f, -Infinity);
    });

    it('types: NULL in every column, literal and prepared', async () => {
      await insertLiterals(10, {});
      compareRow(await readRow(10, true), {}, 'null literals');
      await insertPrepared(11, {});
      compareRow(await readRow(11, false), {}, 'null binds');
    });

    it('types: empty collections read back as null; unset leaves a column untouched', async () => {
      await tc.execute(`INSERT INTO ${KS}.all_types (k, l, s, m, t) VALUES (?, ?, ?, ?, ?)`,
        [12, [], new Set(), new Map(), 'kept'], { prepare: true });
      await tc.execute(`INSERT INTO ${KS}.all_types (k, l, t) VALUES (?, ?, ?)`, [12, [1], types.unset], { prepare: true });
      const r = await readRow(12, true);
      assert.deepEqual([r.s, r.m], [null, null]);
      assert.deepEqual(r.l, [1]);
      assert.equal(r.t, 'kept');
    });

    it('types: SELECT * columns (key first, others alphabetical)', async () => {
      const rs = await client.execute(`SELECT * FROM ${KS}.all_types WHERE k = 1`);
      assert.deepEqual(rs.columns.map((c) => c.name), ['k', ...[...NAMES].sort()]);
    });

    it('types: vector<float, 3>', async () => {
      await client.execute(`INSERT INTO ${KS}.vec (k, v) VALUES (1, [1.5, -2.0, 3.25])`);
      await client.execute(`INSERT INTO ${KS}.vec (k, v) VALUES (?, ?)`,
        [2, new types.Vector(new Float32Array([0.5, 0.25, -8]), 'float')], { prepare: true });
      for (const [k, want] of [[1, [1.5, -2, 3.25]], [2, [0.5, 0.25, -8]]]) {
        for (const prepare of [false, true]) {
          const rs = await client.execute(`SELECT v FROM ${KS}.vec WHERE k = ?`, [k], { prepare, hints: ['int'] });
          const v = rs.rows[0].v;
          assert.deepEqual(Array.from(v), want, `vector k=${k} prepare=${prepare}`);
        }
      }
    });

    it('counter: increments, decrements, prepared; INSERT refused', async () => {
      await client.execute(`UPDATE ${KS}.cnt SET c1 = c1 + 5, c2 = c2 - 3 WHERE k = 'a'`);
      await client.execute(`UPDATE ${KS}.cnt SET c1 = c1 + 5, c2 = c2 - 3 WHERE k = 'a'`);
      const q = `UPDATE ${KS}.cnt SET c1 = c1 + ? WHERE k = ?`;
      await client.execute(q, [Long.fromInt(-12), 'a'], { prepare: true });
      await client.execute(q, [Long.fromInt(7), 'b'], { prepare: true });
      const rs = await client.execute(`SELECT k, c1, c2 FROM ${KS}.cnt`);
      const got = {};
      for (const r of rs.rows) got[r.k] = [h.norm(r.c1), h.norm(r.c2)];
      assert.deepEqual(got, { a: [{ long: '-2' }, { long: '-6' }], b: [{ long: '7' }, null] });
      await rejectsWithCode(() => client.execute(`INSERT INTO ${KS}.cnt (k, c1) VALUES ('z', 1)`), codes.invalid, 'INSERT on counters');
    });

    async function kv(keys) {
      const out = {};
      for (const k of keys) {
        const rs = await client.execute(`SELECT v FROM ${KS}.kv WHERE k = ?`, [k], { prepare: true });
        if (rs.rows.length) out[k] = rs.rows[0].v;
      }
      return out;
    }

    it('batch: LOGGED (prepared and unprepared children)', async () => {
      const ins = `INSERT INTO ${KS}.kv (k, v) VALUES (?, ?)`;
      const qs = [];
      for (let i = 0; i < 5; i++) qs.push({ query: ins, params: [`logged-${i}`, i] });
      qs.push({ query: `DELETE FROM ${KS}.kv WHERE k = ?`, params: ['logged-0'] });
      await client.batch(qs, { prepare: true, logged: true });
      await client.batch([{ query: `INSERT INTO ${KS}.kv (k, v) VALUES ('logged-literal', 99)` }], { logged: true });
      const want = { 'logged-1': 1, 'logged-2': 2, 'logged-3': 3, 'logged-4': 4, 'logged-literal': 99 };
      assert.deepEqual(await kv(['logged-0', ...Object.keys(want)]), want);
    });

    it('batch: UNLOGGED with prepared children', async () => {
      const qs = [];
      const want = {};
      for (let i = 0; i < 20; i++) {
        qs.push({ query: `INSERT INTO ${KS}.kv (k, v) VALUES (?, ?)`, params: [`unlogged-${i}`, i] });
        want[`unlogged-${i}`] = i;
      }
      qs.push({ query: `UPDATE ${KS}.kv SET v = ? WHERE k = ?`, params: [1000, 'unlogged-3'] });
      want['unlogged-3'] = 1000;
      await client.batch(qs, { prepare: true, logged: false, consistency: cl.quorum });
      assert.deepEqual(await kv(Object.keys(want)), want);
    });

    it('batch: COUNTER; a counter update in a LOGGED batch is refused', async () => {
      const q = `UPDATE ${KS}.cnt SET c2 = c2 + ? WHERE k = ?`;
      await client.batch([
        { query: q, params: [Long.fromInt(10), 'batch'] },
        { query: q, params: [Long.fromInt(5), 'batch'] },
        { query: q, params: [Long.fromInt(1), 'batch2'] },
      ], { prepare: true, counter: true });
      const rs = await client.execute(`SELECT k, c2 FROM ${KS}.cnt WHERE k IN ('batch', 'batch2')`);
      const got = {};
      for (const r of rs.rows) got[r.k] = r.c2.toString();
      assert.deepEqual(got, { batch: '15', batch2: '1' });
      await rejectsWithCode(() => client.batch([{ query: q, params: [Long.fromInt(1), 'never'] }],
        { prepare: true, logged: true }), codes.invalid, 'counter in LOGGED batch');
    });

    it('lightweight transaction: INSERT IF NOT EXISTS', async () => {
      const q = `INSERT INTO ${KS}.kv (k, v) VALUES ('lwt', ?) IF NOT EXISTS`;
      let rs = await client.execute(q, [1], { prepare: true });
      assert.equal(rs.wasApplied(), true);
      rs = await client.execute(q, [2], { prepare: true });
      assert.equal(rs.wasApplied(), false);
      assert.equal(rs.rows[0].v, 1);
    });

    it('keyspace: a client with a keyspace (USE)', async () => {
      const c2 = newClient({ keyspace: KS });
      try {
        await c2.connect();
        await c2.execute("INSERT INTO kv (k, v) VALUES ('use', 1)");
        assert.equal((await c2.execute('SELECT v FROM kv WHERE k = ?', ['use'], { prepare: true })).rows[0].v, 1);
      } finally {
        await c2.shutdown();
      }
    });

    it('prepared: named parameters, USING TTL/TIMESTAMP, IN ?, LIMIT ?', async () => {
      await client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES (:k, :v) USING TTL :ttl AND TIMESTAMP :ts`,
        { k: 'markers', v: 7, ttl: 1000, ts: Long.fromNumber(1234567) }, { prepare: true });
      const r = (await client.execute(`SELECT v, TTL(v), WRITETIME(v) FROM ${KS}.kv WHERE k = 'markers'`)).rows[0];
      assert.deepEqual([r.v, r['ttl(v)'], r['writetime(v)'].toString()], [7, 1000, '1234567']);
      for (const [k, v] of [['in-a', 1], ['in-b', 2], ['in-c', 3]]) {
        await client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES (?, ?)`, [k, v], { prepare: true });
      }
      const q = `SELECT k FROM ${KS}.kv WHERE k IN ? LIMIT ?`;
      let rs = await client.execute(q, [['in-a', 'in-c', 'in-x'], 10], { prepare: true });
      assert.deepEqual(rs.rows.map((x) => x.k).sort(), ['in-a', 'in-c']);
      rs = await client.execute(q, [['in-a', 'in-b', 'in-c'], 2], { prepare: true });
      assert.equal(rs.rows.length, 2);
    });

    it('timestamps: the timestamp option (default timestamp flag) becomes WRITETIME', async () => {
      await client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES ('ts', 1)`, [], { timestamp: Long.fromNumber(5000) });
      await client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES (?, ?)`, ['ts', 2], { prepare: true, timestamp: Long.fromNumber(4000) });
      let r = (await client.execute(`SELECT v, WRITETIME(v) AS w FROM ${KS}.kv WHERE k = 'ts'`)).rows[0];
      assert.deepEqual([r.v, r.w.toString()], [1, '5000']);
      await client.batch([{ query: `INSERT INTO ${KS}.kv (k, v) VALUES (?, ?)`, params: ['ts', 3] }],
        { prepare: true, logged: false, timestamp: Long.fromNumber(6000) });
      r = (await client.execute(`SELECT v, WRITETIME(v) AS w FROM ${KS}.kv WHERE k = 'ts'`)).rows[0];
      assert.deepEqual([r.v, r.w.toString()], [3, '6000']);
    });

    it('paging: insert 10,000 rows and 1,000 clustering rows', async () => {
      const ins = `INSERT INTO ${KS}.paged (k, v) VALUES (?, ?)`;
      const params = Array.from({ length: 10000 }, (_, i) => [i, `v${i}`]);
      await cassandra.concurrent.executeConcurrent(client, ins, params, { concurrencyLevel: 100 });
      const w = Array.from({ length: 1000 }, (_, i) => [1, i, `c${i}`]);
      await cassandra.concurrent.executeConcurrent(client, `INSERT INTO ${KS}.wide (p, c, v) VALUES (?, ?, ?)`, w,
        { concurrencyLevel: 100 });
    });

    let pages;
    let states;

    it('paging: 10,000 rows with fetchSize 100 in token order (manual pageState)', async () => {
      pages = [];
      states = [];
      let pageState;
      const q = `SELECT k, token(k) AS t FROM ${KS}.paged`;
      for (;;) {
        const rs = await client.execute(q, [], { fetchSize: 100, pageState, prepare: false });
        pages.push(rs.rows);
        states.push(rs.pageState);
        if (!rs.pageState) break;
        pageState = rs.pageState;
        assert.ok(pages.length <= 102, 'too many pages');
      }
      const sizes = pages.map((p) => p.length);
      if (sizes[sizes.length - 1] === 0) sizes.pop();  // an exactly full last page may be followed by an empty one
      assert.deepEqual(sizes, new Array(100).fill(100), 'page sizes');
      const rows = pages.flat();
      const keys = new Set(rows.map((r) => r.k));
      assert.equal(keys.size, 10000, 'distinct keys');
      for (let i = 0; i < 10000; i++) assert.ok(keys.has(i), `key ${i}`);
      for (let i = 1; i < rows.length; i++) {
        assert.ok(rows[i - 1].t.lessThan(rows[i].t), `token order at row ${i}`);
      }
      const tk = client.metadata.tokenizer;
      for (const r of rows.slice(0, 300)) {
        assert.equal(tk.hash(h.int32(r.k)).getValue().toString(), r.t.toString(), `driver token of k=${r.k}`);
      }
    });

    it('paging: resume from a saved pageState (unprepared and prepared)', async () => {
      const q = `SELECT k, token(k) AS t FROM ${KS}.paged`;
      const rs = await client.execute(q, [], { fetchSize: 100, pageState: states[49] });
      assert.deepEqual(rs.rows.map((r) => r.k), pages[50].map((r) => r.k), 'page 51');
      const pq = `SELECT k FROM ${KS}.paged`;
      const p1 = await client.execute(pq, [], { prepare: true, fetchSize: 100 });
      const p2 = await client.execute(pq, [], { prepare: true, fetchSize: 100, pageState: p1.pageState });
      assert.deepEqual(p2.rows.map((r) => r.k), pages[1].map((r) => r.k), 'prepared page 2');
    });

    it('paging: eachRow with autoPage and stream()', async () => {
      const seen = new Set();
      let n = 0;
      await new Promise((resolve, reject) => {
        client.eachRow(`SELECT k, v FROM ${KS}.paged`, [], { prepare: true, fetchSize: 100, autoPage: true },
          (i, row) => {
            n++;
            seen.add(row.k);
            if (row.v !== `v${row.k}`) reject(new Error(`value of ${row.k}: ${row.v}`));
          },
          (err) => (err ? reject(err) : resolve()));
      });
      assert.deepEqual([n, seen.size], [10000, 10000]);
      let m = 0;
      for await (const row of client.stream(`SELECT k FROM ${KS}.paged`, [], { prepare: true, fetchSize: 333 })) {
        assert.ok(row.k >= 0);
        m++;
      }
      assert.equal(m, 10000, 'rows through stream()');
    });

    it('paging: one partition by clustering, ASC and DESC, and a slice', async () => {
      for (const [order, want] of [['ASC', [...Array(1000).keys()]], ['DESC', [...Array(1000).keys()].reverse()]]) {
        const got = [];
        let pageState;
        let n = 0;
        do {
          const rs = await client.execute(`SELECT c FROM ${KS}.wide WHERE p = 1 ORDER BY c ${order}`, [],
            { prepare: true, fetchSize: 100, pageState });
          got.push(...rs.rows.map((r) => r.c));
          pageState = rs.pageState;
          n++;
        } while (pageState);
        assert.deepEqual(got, want, `order ${order}`);
        assert.ok(n === 10 || n === 11, `pages: ${n}`);
      }
      const got = [];
      await new Promise((resolve, reject) => client.eachRow(`SELECT c FROM ${KS}.wide WHERE p = ? AND c >= ? AND c < ?`,
        [1, 250, 750], { prepare: true, fetchSize: 64, autoPage: true }, (i, r) => got.push(r.c),
        (err) => (err ? reject(err) : resolve())));
      assert.deepEqual(got, Array.from({ length: 500 }, (_, i) => 250 + i));
    });

    it('aggregate: SELECT COUNT(*)', async () => {
      const rs = await client.execute(`SELECT COUNT(*) FROM ${KS}.paged`);
      assert.equal(rs.rows[0].count.toString(), '10000');
    });

    it('heartbeat: idle connections get OPTIONS answered and stay open', async () => {
      const c2 = newClient({ pooling: { heartBeatInterval: 300 } });
      try {
        await c2.connect();
        const before = await sim.counters();
        await new Promise((r) => setTimeout(r, 1500));
        const after = await sim.counters();
        for (const [addr, node] of ids) {
          assert.ok(h.delta(before, after, node, 'requests_OPTIONS') >= 1, `heartbeat OPTIONS to ${addr}`);
          assert.equal(h.delta(before, after, node, 'connections_total'), 0, `new connections to ${addr}`);
        }
        assert.equal((await c2.execute(`SELECT v FROM ${KS}.kv WHERE k = 'logged-1'`)).rows[0].v, 1);
      } finally {
        await c2.shutdown();
      }
    });

    it('error: syntax error (0x2000)', async () => {
      await rejectsWithCode(() => client.execute(`SELEC * FROM ${KS}.kv`), codes.syntaxError, 'syntax');
    });

    it('error: invalid (0x2200): unconfigured table, unknown keyspace, bad value, missing key', async () => {
      let e = await rejectsWithCode(() => client.execute(`SELECT * FROM ${KS}.nope`), codes.invalid, 'unconfigured');
      assert.match(e.message, /unconfigured table nope/);
      e = await rejectsWithCode(() => client.execute(`SELECT * FROM ${KS}.nope WHERE k = ?`, [1], { prepare: true }),
        codes.invalid, 'prepare unconfigured');
      await rejectsWithCode(() => client.execute('SELECT * FROM no_such_ks.t'), codes.invalid, 'keyspace');
      await rejectsWithCode(() => client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES ('bad', 'not an int')`), codes.invalid, 'bad literal');
      // A double bound where an int is expected: 8 bytes for a 4-byte int.
      await rejectsWithCode(() => client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES (?, ?)`, ['bad', 1.5], { prepare: false }),
        codes.invalid, 'bad bound value');
      await rejectsWithCode(() => client.execute(`INSERT INTO ${KS}.all_types (k, tup) VALUES (1, [1, 'a', 2.0])`),
        codes.invalid, 'list literal for a tuple');
      await rejectsWithCode(() => client.execute(`INSERT INTO ${KS}.kv (v) VALUES (1)`), codes.invalid, 'missing key');
    });

    it('error: already exists (0x2400) with keyspace and table', async () => {
      let e = await rejectsWithCode(() => client.execute(`CREATE TABLE ${KS}.kv (k text PRIMARY KEY)`), codes.alreadyExists, 'table');
      assert.equal(e.keyspace, KS);
      assert.equal(e.table, 'kv');
      e = await rejectsWithCode(() => client.execute(`CREATE KEYSPACE ${KS} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}`),
        codes.alreadyExists, 'keyspace');
      assert.equal(e.keyspace, KS);
      assert.ok(!e.table, `table of a keyspace error: ${e.table}`);
    });

    const noRetry = () => ({ host: hostByAddress(client, target), retry: new policies.retry.FallthroughRetryPolicy() });

    async function injected(error, fn, code) {
      const before = await sim.counters();
      await sim.setNode(ids.get(target), { fail_next: 1, fail_error: error });
      const e = await rejectsWithCode(fn, code, error);
      const after = await sim.counters();
      assert.equal(h.delta(before, after, ids.get(target), 'errors_injected'), 1, 'errors_injected');
      return e;
    }

    it('error: injected read timeout (0x1200)', async () => {
      const e = await injected('READ_TIMEOUT', () => client.execute(`SELECT * FROM ${KS}.kv WHERE k = 'x'`, [], noRetry()),
        codes.readTimeout);
      assert.equal(e.consistencies, cl.localOne);
      assert.deepEqual([e.received, e.blockFor, e.isDataPresent], [0, 1, 0]);
    });

    it('error: injected write timeout (0x1100), SIMPLE and BATCH', async () => {
      let e = await injected('WRITE_TIMEOUT', () => client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES ('w', 1)`, [], noRetry()),
        codes.writeTimeout);
      assert.equal(e.writeType, 'SIMPLE');
      e = await injected('WRITE_TIMEOUT', () => client.batch([{ query: `INSERT INTO ${KS}.kv (k, v) VALUES (?, ?)`, params: ['wb', 1] }],
        { prepare: true, ...noRetry() }), codes.writeTimeout);
      assert.equal(e.writeType, 'BATCH');
    });

    it('error: injected unavailable (0x1000)', async () => {
      const e = await injected('UNAVAILABLE', () => client.execute(`SELECT * FROM ${KS}.kv WHERE k = 'x'`, [], noRetry()),
        codes.unavailableException);
      assert.equal(e.consistencies, cl.localOne);
    });

    it('error: injected overloaded (0x1001), is_bootstrapping (0x1002), server error (0x0000)', async () => {
      const q = () => client.execute(`SELECT * FROM ${KS}.kv WHERE k = 'x'`, [], noRetry());
      await injected('OVERLOADED', q, codes.overloaded);
      await injected('IS_BOOTSTRAPPING', q, codes.isBootstrapping);
      await injected('SERVER_ERROR', q, codes.serverError);
    });

    it('error: unavailable with a node down (RF=3, CL=ALL)', async () => {
      await client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES ('avail', 1)`);
      const host = hostByAddress(client, target);
      const via = hostByAddress(client, other);
      await sim.setNode(ids.get(target), { state: 'down' });
      try {
        await h.waitFor(async () => (await sim.nodes()).get(target).state === 'down', 10000, 'sim node down');
        const opts = { host: via, consistency: cl.all, retry: new policies.retry.FallthroughRetryPolicy() };
        const e = await rejectsWithCode(() => client.execute(`INSERT INTO ${KS}.kv (k, v) VALUES ('avail', 2)`, [], opts),
          codes.unavailableException, 'write at ALL');
        assert.equal(e.consistencies, cl.all);
        assert.deepEqual([e.required, e.alive], [3, 2]);
        await rejectsWithCode(() => client.execute(`SELECT v FROM ${KS}.kv WHERE k = 'avail'`, [], opts),
          codes.unavailableException, 'read at ALL');
        const rs = await client.execute(`SELECT v FROM ${KS}.kv WHERE k = 'avail'`, [], { host: via, consistency: cl.quorum });
        assert.equal(rs.rows[0].v, 1, 'QUORUM with a node down');
      } finally {
        await sim.setNode(ids.get(target), { state: 'up' });
      }
      await h.waitFor(() => host.isUp() && host.pool.connections.length > 0, 30000, `driver reconnects to ${target}`);
      const rs = await client.execute(`SELECT v FROM ${KS}.kv WHERE k = 'avail'`, [], { consistency: cl.all });
      assert.equal(rs.rows[0].v, 1);
    });

    it('prepared: re-prepared after a node restart (UNPREPARED)', async () => {
      const c2 = newClient({ rePrepareOnUp: false });
      try {
        await c2.connect();
        // A statement no other client prepared: the main client re-prepares its own
        // statements on the node when it comes back (rePrepareOnUp), and the node's
        // cache is shared by every client.
        const q = `SELECT k, v FROM ${KS}.kv WHERE k = ?`;
        const host = () => hostByAddress(c2, target);
        assert.equal((await c2.execute(q, ['avail'], { prepare: true, host: host() })).rows[0].v, 1);
        await sim.setNode(ids.get(target), { state: 'down' });
        try {
          await h.waitFor(async () => (await sim.nodes()).get(target).state === 'down', 10000, 'sim node down');
          // A request to the stopped node makes the driver notice its closed connections.
          await h.waitFor(async () => {
            await c2.execute('SELECT key FROM system.local', [], { host: host() }).catch(() => {});
            return !host().isUp();
          }, 15000, `driver marks ${target} down`);
        } finally {
          await sim.setNode(ids.get(target), { state: 'up' });
        }
        await h.waitFor(() => host().isUp() && host().pool.connections.length > 0, 30000, `driver reconnects to ${target}`);
        // The main client re-prepares its statements on the node before it calls it up again.
        const mainHost = hostByAddress(client, target);
        await h.waitFor(() => mainHost.isUp() && mainHost.pool.connections.length > 0, 30000, `main client reconnects`);
        const before = await sim.counters();
        assert.equal((await c2.execute(q, ['avail'], { prepare: true, host: host() })).rows[0].v, 1, 're-prepared read');
        const after = await sim.counters();
        const node = ids.get(target);
        assert.equal(h.delta(before, after, node, 'requests_PREPARE'), 1, 'PREPARE sent again to the restarted node');
        assert.equal(h.delta(before, after, node, 'requests_EXECUTE'), 2, 'EXECUTE (UNPREPARED, then again)');
      } finally {
        await c2.shutdown();
      }
    });
  });
}

// ---------------------------------------------------------------------------

if (MODE === 'tokens') {
  describe('node driver: token-aware routing and replicas (4 nodes)', () => {
    let client;
    let sim;
    let ids;
    const keyspaces = [
      ['interop_node_rf1', "{'class': 'SimpleStrategy', 'replication_factor': 1}", 1],
      ['interop_node_rf2', "{'class': 'SimpleStrategy', 'replication_factor': 2}", 2],
      ['interop_node_nts', "{'class': 'NetworkTopologyStrategy', 'datacenter1': 3}", 3],
    ];
    const keys = Array.from({ length: 1000 }, (_, i) => `key-${i}${'x'.repeat(i % 23)}`);
    const ckeys = Array.from({ length: 1000 }, (_, i) => [i * 7919 - 5000, `c${i}`]);

    before(async () => {
      client = newClient();
      await client.connect();
      const ctl = h.hostAddress(client.controlConnection.host);
      sim = new h.Sim(client, hostByAddress(client, ctl));
      ids = await sim.nodeIds();
      assert.equal(ids.size, NODES);
    });

    after(async () => {
      if (client) await client.shutdown();
    });

    it('schema and 1,000 keys per table', async () => {
      for (const [ks, repl] of keyspaces) {
        await client.execute(`DROP KEYSPACE IF EXISTS ${ks}`);
        await client.execute(`CREATE KEYSPACE ${ks} WITH replication = ${repl}`);
        await client.execute(`CREATE TABLE ${ks}.t (k text PRIMARY KEY, v int)`);
        await client.execute(`CREATE TABLE ${ks}.c (a int, b text, v int, PRIMARY KEY ((a, b)))`);
        await cassandra.concurrent.executeConcurrent(client, `INSERT INTO ${ks}.t (k, v) VALUES (?, ?)`,
          keys.map((k, i) => [k, i]), { concurrencyLevel: 64 });
        await cassandra.concurrent.executeConcurrent(client, `INSERT INTO ${ks}.c (a, b, v) VALUES (?, ?, ?)`,
          ckeys.map(([a, b], i) => [a, b, i]), { concurrencyLevel: 64 });
      }
      await client.metadata.refreshKeyspaces();
      for (const [ks] of keyspaces) assert.ok(client.metadata.keyspaces[ks], `keyspace ${ks} in metadata`);
    });

    for (const [ks, , rf] of keyspaces) {
      it(`${ks}: driver token == token(k) for 1,000 text keys and 1,000 composite keys`, async () => {
        const tk = client.metadata.tokenizer;
        const bad = [];
        await h.mapConcurrent(keys, 64, async (k) => {
          const rs = await client.execute(`SELECT token(k) AS t FROM ${ks}.t WHERE k = ?`, [k], { prepare: true });
          const want = tk.hash(Buffer.from(k, 'utf8')).getValue().toString();
          const got = rs.rows.length ? rs.rows[0].t.toString() : null;
          if (got !== want) bad.push([k, want, got]);
        });
        await h.mapConcurrent(ckeys, 64, async ([a, b]) => {
          const rs = await client.execute(`SELECT token(a, b) AS t FROM ${ks}.c WHERE a = ? AND b = ?`, [a, b], { prepare: true });
          const want = tk.hash(h.routingKey([h.int32(a), Buffer.from(b, 'utf8')])).getValue().toString();
          const got = rs.rows.length ? rs.rows[0].t.toString() : null;
          if (got !== want) bad.push([[a, b], want, got]);
        });
        assert.deepEqual(bad.slice(0, 5), [], `${bad.length} keys whose driver token differs (key, driver, sim)`);
      });

      it(`${ks}: token-aware prepared reads and writes never reach a non-replica`, async () => {
        const before = await sim.counters();
        await h.mapConcurrent(keys, 64, (k) => client.execute(`SELECT v FROM ${ks}.t WHERE k = ?`, [k], { prepare: true }));
        await h.mapConcurrent(ckeys, 64, ([a, b], i) => client.execute(`UPDATE ${ks}.c SET v = ? WHERE a = ? AND b = ?`,
          [i, a, b], { prepare: true }));
        const after = await sim.counters();
        const non = {};
        let rep = 0;
        for (const [addr, node] of ids) {
          non[addr] = h.delta(before, after, node, 'non_replica_requests');
          rep += h.delta(before, after, node, 'replica_requests');
        }
        assert.deepEqual(non, Object.fromEntries([...ids.keys()].map((a) => [a, 0])), 'non_replica_requests per node');
        assert.equal(rep, 2000, 'replica_requests (1,000 reads + 1,000 writes)');
      });

      it(`${ks}: getReplicas() == the simulator's replicas for 1,000 keys`, async () => {
        const md = client.metadata;
        const driver = new Map(keys.map((k) => [k, new Set(md.getReplicas(ks, Buffer.from(k, 'utf8')).map(h.hostAddress))]));
        for (const [k, s] of driver) assert.equal(s.size, rf, `replicas of ${k}`);
        const problems = [];
        for (const [addr, node] of ids) {
          const host = hostByAddress(client, addr);
          const mine = keys.filter((k) => driver.get(k).has(addr));
          const others = keys.filter((k) => !driver.get(k).has(addr));
          for (const [group, isReplica] of [[mine, true], [others, false]]) {
            const before = await sim.counters();
            await h.mapConcurrent(group, 64, (k) => client.execute(`SELECT v FROM ${ks}.t WHERE k = ?`, [k],
              { prepare: true, host, consistency: cl.one }));
            const after = await sim.counters();
            const got = [h.delta(before, after, node, 'replica_requests'), h.delta(before, after, node, 'non_replica_requests')];
            const want = isReplica ? [group.length, 0] : [0, group.length];
            if (got[0] !== want[0] || got[1] !== want[1]) {
              problems.push(`${addr}: ${group.length} keys the driver calls ${isReplica ? 'replicas' : 'non-replicas'}: ` +
                `sim counted replica=${got[0]} non_replica=${got[1]}`);
            }
          }
        }
        assert.deepEqual(problems, []);
      });
    }
  });
}

// ---------------------------------------------------------------------------

if (MODE === 'auth') {
  const [user, password] = (process.env.INTEROP_USER || 'cassandra:cassandra').split(/:(.*)/s);

  async function connectFails(authProvider) {
    const c = newClient(authProvider ? { authProvider } : {});
    try {
      await c.connect();
    } catch (e) {
      assert.ok(e instanceof errors.NoHostAvailableError, `NoHostAvailableError, got ${e.name}: ${e.message}`);
      const inner = Object.values(e.innerErrors);
      assert.ok(inner.length > 0 && inner.every((x) => x instanceof errors.AuthenticationError),
        `AuthenticationError per host, got ${inner.map((x) => `${x.name}: ${x.message}`).join('; ')}`);
      return inner[0];
    } finally {
      await c.shutdown();
    }
    assert.fail('connect succeeded');
  }

  describe('node driver: PasswordAuthenticator', () => {
    it('good credentials connect and query', async () => {
      const c = newClient({ authProvider: new cassandra.auth.PlainTextAuthProvider(user, password) });
      try {
        await c.connect();
        const rs = await c.execute('SELECT release_version FROM system.local');
        assert.equal(rs.rows.length, 1);
        for (const host of c.hosts.values()) assert.ok(host.isUp(), `${host.address} up`);
      } finally {
        await c.shutdown();
      }
    });

    it('wrong password -> AuthenticationError', async () => {
      const e = await connectFails(new cassandra.auth.PlainTextAuthProvider(user, `${password}x`));
      assert.match(e.message, new RegExp(`Provided username ${user} and/or password are incorrect`));
    });

    it('unknown user -> AuthenticationError', async () => {
      await connectFails(new cassandra.auth.PlainTextAuthProvider('nobody', password));
    });

    it('no credentials -> AuthenticationError', async () => {
      await connectFails(null);
    });
  });
}

// ---------------------------------------------------------------------------

if (MODE === 'negotiate') {
  describe('node driver: protocol negotiation', () => {
    it('no maxVersion: starts at DSE_V2, steps down to v4', async () => {
      const c = newClient({ protocolOptions: { maxVersion: 0 } });
      try {
        await c.connect();
        assert.equal(c.controlConnection.protocolVersion, 4);
        assert.equal((await c.execute('SELECT cluster_name FROM system.local')).rows.length, 1);
      } finally {
        await c.shutdown();
      }
    });
  });
}

// ---------------------------------------------------------------------------
// What the simulator shows of its clients and requests (docs/sim.md): the
// system_views tables, tracing, warnings and custom payloads. A fresh 3-node
// simulator; the topology mode runs on it afterwards.

const DRIVER_PACKAGE = require('cassandra-driver/package.json');

// "address:port" of each connection this client has to host (the control
// connection included), as the server sees its peer.
function localEnds(client, host) {
  const conns = [...host.pool.connections];
  const cc = client.controlConnection;
  if (cc.host === host && cc.connection) conns.push(cc.connection);
  // The Node driver's control connection is one of its host's pooled connections.
  return [...new Set(conns.map((c) => `${c.netClient.localAddress}:${c.netClient.localPort}`))].sort();
}

// system_views.clients rows of one node whose STARTUP carried this client's id.
async function clientRows(viaClient, host, ofClient) {
  const rs = await viaClient.execute('SELECT * FROM system_views.clients', [], { host });
  const id = ofClient.options.id.toString();
  return rs.rows.filter((r) => r.client_options && r.client_options.CLIENT_ID === id);
}

if (MODE === 'features') {
  const FKS = 'interop_node_features';

  describe('node driver: system_views, tracing, warnings, custom payloads (3 nodes)', { timeout: 60000 }, () => {
    let client;
    let sim;
    let ids;
    let hosts;  // address -> Host, sorted by address

    before(async () => {
      client = newClient({
        applicationName: 'cqlpp-interop', applicationVersion: '1.2.3',
        pooling: { heartBeatInterval: 0 },  // request_count moves only with our requests
      });
      await client.connect();
      const ctl = h.hostAddress(client.controlConnection.host);
      sim = new h.Sim(client, hostByAddress(client, ctl));
      ids = await sim.nodeIds();
      assert.equal(ids.size, NODES);
      hosts = new Map([...ids.keys()].sort().map((a) => [a, hostByAddress(client, a)]));
      await client.execute(`DROP KEYSPACE IF EXISTS ${FKS}`);
      await client.execute(`CREATE KEYSPACE ${FKS} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}`);
      await client.execute(`CREATE TABLE ${FKS}.t (k int PRIMARY KEY, v text)`);
    });

    after(async () => {
      if (client) await client.shutdown();
    });

    it('system_views.clients: this driver\'s connections on every node, with its STARTUP options', async () => {
      assert.equal(DRIVER_PACKAGE.description, 'Apache Cassandra Node.js Driver', 'the DRIVER_NAME 4.x sends');
      for (const [addr, host] of hosts) {
        const rows = await clientRows(client, host, client);
        const want = localEnds(client, host);
        assert.ok(want.length >= 1, `connections to ${addr}`);
        assert.deepEqual(rows.map((r) => `${r.address}:${r.port}`).sort(), want, `clients rows on ${addr} (address:port)`);
        for (const r of rows) {
          const what = `${addr} ${r.address}:${r.port}`;
          assert.equal(r.driver_name, 'Apache Cassandra Node.js Driver', `driver_name ${what}`);
          assert.equal(r.driver_version, DRIVER_PACKAGE.version, `driver_version ${what}`);
          assert.equal(r.protocol_version, 4, `protocol_version ${what}`);
          assert.equal(r.connection_stage, 'ready', `connection_stage ${what}`);
          assert.equal(r.username, 'anonymous', `username ${what}`);
          assert.equal(r.ssl_enabled, false, `ssl_enabled ${what}`);
          assert.equal(r.keyspace_name, null, `keyspace_name ${what}`);
          assert.ok(r.request_count instanceof Long && r.request_count.toNumber() >= 2,
            `request_count ${what}: ${r.request_count}`);
          assert.deepEqual({ ...r.client_options }, {
            CQL_VERSION: '3.0.0',
            DRIVER_NAME: 'Apache Cassandra Node.js Driver',
            DRIVER_VERSION: DRIVER_PACKAGE.version,
            CLIENT_ID: client.options.id.toString(),
            APPLICATION_NAME: 'cqlpp-interop',
            APPLICATION_VERSION: '1.2.3',
          }, `client_options ${what}`);
        }
      }
    });

    it('system_views.clients: request_count counts each request; keyspace_name follows USE', async () => {
      const [addr, host] = [...hosts][1];
      assert.equal(host.pool.connections.length, 1, 'one pooled connection (v4 default)');
      const pooled = `${host.pool.connections[0].netClient.localAddress}:${host.pool.connections[0].netClient.localPort}`;
      const count = async () => {
        const r = (await clientRows(client, host, client)).find((x) => `${x.address}:${x.port}` === pooled);
        assert.ok(r, `row of the pooled connection ${pooled} on ${addr}`);
        return r.request_count.toNumber();
      };
      const c1 = await count();
      await client.execute('SELECT key FROM system.local', [], { host });
      await client.execute('SELECT key FROM system.local', [], { host });
      const c2 = await count();
      assert.equal(c2 - c1, 3, 'two queries and the next SELECT of clients');

      const ksClient = newClient({ keyspace: FKS });
      try {
        await ksClient.connect();
        const kh = hostByAddress(ksClient, addr);
        const rows = await clientRows(client, host, ksClient);
        const pool = new Set(kh.pool.connections.map((c) => `${c.netClient.localAddress}:${c.netClient.localPort}`));
        assert.deepEqual(rows.map((r) => `${r.address}:${r.port}`).sort(), localEnds(ksClient, kh), 'rows of the second client');
        assert.ok(pool.size >= 1);
        for (const r of rows) {
          const end = `${r.address}:${r.port}`;
          assert.equal(r.keyspace_name, pool.has(end) ? FKS : null, `keyspace_name of ${end} (pooled: ${pool.has(end)})`);
        }
      } finally {
        await ksClient.shutdown();
      }
      // Closed connections leave the table.
      await h.waitFor(async () => (await clientRows(client, host, ksClient)).length === 0, 5000, 'closed connections gone');
    });

    it('system_views.settings: the node\'s own port, addresses, tokens and partitioner', async () => {
      for (const [addr, host] of hosts) {
        const rs = await client.execute('SELECT name, value FROM system_views.settings', [], { host });
        const s = Object.fromEntries(rs.rows.map((r) => [r.name, r.value]));
        const local = (await client.execute('SELECT cluster_name, partitioner FROM system.local', [], { host })).rows[0];
        assert.deepEqual([s.native_transport_port, s.rpc_address, s.listen_address, s.num_tokens],
          [String(PORT), addr, addr, String(NUM_TOKENS)], `settings of ${addr}`);
        assert.equal(s.partitioner, 'org.apache.cassandra.dht.Murmur3Partitioner');
        assert.equal(s.partitioner, local.partitioner, 'partitioner as system.local');
        assert.equal(s.cluster_name, local.cluster_name, 'cluster_name as system.local');
        assert.equal(host.tokens.length, Number(s.num_tokens), `driver's token count of ${addr}`);
        const one = await client.execute('SELECT value FROM system_views.settings WHERE name = ?', ['native_transport_port'],
          { host, prepare: true });
        assert.deepEqual(one.rows.map((r) => r.value), [String(PORT)], 'single-row prepared read');
      }
      const rs = await client.execute("SELECT table_name FROM system_virtual_schema.tables WHERE keyspace_name = 'system_views'");
      const names = rs.rows.map((r) => r.table_name);
      for (const t of ['clients', 'settings']) assert.ok(names.includes(t), `system_virtual_schema.tables has ${t}: ${names}`);
    });

    it('tracing: traceQuery gives a traceId; getTrace() reads coordinator, duration and events', async () => {
      const [addr, host] = [...hosts][2];
      const others = [...hosts.keys()].filter((a) => a !== addr);
      const q = `INSERT INTO ${FKS}.t (k, v) VALUES (1, 'traced')`;
      const plain = await client.execute(q, [], { host, consistency: cl.quorum });
      assert.equal(plain.info.traceId, undefined, 'no traceId without traceQuery');

      const rs = await client.execute(q, [], { host, consistency: cl.quorum, traceQuery: true });
      assert.ok(rs.info.traceId instanceof types.Uuid, `traceId: ${rs.info.traceId}`);
      assert.equal(rs.info.queriedHost, host.address);
      const t0 = Date.now();
      const trace = await client.metadata.getTrace(rs.info.traceId);
      assert.equal(trace.coordinator.toString(), addr, 'coordinator');
      assert.equal(typeof trace.duration, 'number');
      assert.ok(trace.duration > 0, `duration ${trace.duration}`);
      assert.equal(trace.requestType, 'Execute CQL3 query');
      assert.equal(trace.parameters.query, q);
      assert.equal(trace.parameters.consistency_level, 'QUORUM');
      assert.ok(Math.abs(trace.startedAt.getTime() - t0) < 60000, `startedAt ${trace.startedAt.toISOString()}`);
      const acts = trace.events.map((e) => e.activity);
      assert.equal(acts[0], `Parsing ${q}`, 'first event');
      assert.ok(acts.includes('Determining replicas for mutation'), acts.join(' | '));
      // RF 3 on 3 nodes: the coordinator writes locally and sends to both others.
      for (const o of others) {
        assert.ok(acts.some((a) => a.startsWith(`Sending MUTATION_REQ message to /${o}:`)), `mutation sent to ${o}: ${acts.join(' | ')}`);
        assert.ok(acts.some((a) => a.startsWith(`MUTATION_RSP message received from /${o}:`)), `response from ${o}`);
      }
      assert.deepEqual(new Set(trace.events.map((e) => e.source.toString())), new Set(hosts.keys()), 'event sources');
      for (const e of trace.events) {
        assert.ok(typeof e.elapsed === 'number' && e.elapsed >= 0, `elapsed ${e.elapsed}`);
        assert.ok(e.id instanceof types.TimeUuid, 'event_id is a timeuuid');
        assert.equal(typeof e.thread, 'string');
      }
      const times = trace.events.map((e) => e.id.getDate().getTime());
      assert.deepEqual(times, [...times].sort((a, b) => a - b), 'events in event_id order');

      // A traced prepared read at ONE on a replica: the coordinator reads locally.
      const rq = `SELECT v FROM ${FKS}.t WHERE k = ?`;
      const rr = await client.execute(rq, [1], { host, prepare: true, consistency: cl.one, traceQuery: true });
      assert.equal(rr.rows[0].v, 'traced');
      const rt = await client.metadata.getTrace(rr.info.traceId);
      assert.equal(rt.requestType, 'Execute CQL3 prepared query');
      assert.equal(rt.parameters.query, rq);
      assert.equal(rt.parameters.consistency_level, 'ONE');
      assert.ok(rt.events.some((e) => e.activity === 'Executing single-partition query on t' && e.source.toString() === addr),
        rt.events.map((e) => e.activity).join(' | '));
      assert.ok(!rt.events.some((e) => /READ_REQ/.test(e.activity)), 'ONE on a replica asks no other node');
      assert.notEqual(rt.events.length, 0);
    });

    it('warnings: aggregation without partition key, and over an IN', async () => {
      const ins = `INSERT INTO ${FKS}.t (k, v) VALUES (?, ?)`;
      for (let k = 100; k < 110; k++) await client.execute(ins, [k, `w${k}`], { prepare: true });
      let rs = await client.execute(`SELECT count(*) FROM ${FKS}.t`);
      assert.deepEqual(rs.info.warnings, ['Aggregation query used without partition key']);
      assert.ok(rs.rows[0].count.toNumber() >= 10);
      rs = await client.execute(`SELECT count(*) FROM ${FKS}.t`, [], { prepare: true });
      assert.deepEqual(rs.info.warnings, ['Aggregation query used without partition key'], 'prepared');
      rs = await client.execute(`SELECT count(*) FROM ${FKS}.t WHERE k IN (100, 101, 102)`);
      assert.deepEqual(rs.info.warnings, ['Aggregation query used on multiple partition keys (IN restriction)']);
      assert.equal(rs.rows[0].count.toNumber(), 3);
      rs = await client.execute(`SELECT count(*) FROM ${FKS}.t WHERE k = 100`);
      assert.equal(rs.info.warnings, undefined, 'single-partition aggregate: no warning');
      assert.equal(rs.rows[0].count.toNumber(), 1);
      rs = await client.execute(`SELECT v FROM ${FKS}.t WHERE k = 100`);
      assert.equal(rs.info.warnings, undefined, 'a plain read: no warning');
    });

    it('warnings: BEGIN UNLOGGED BATCH over 11 partitions, and a batch over 5 KiB', async () => {
      const stmts = (n) => Array.from({ length: n }, (_, i) => `INSERT INTO ${FKS}.t (k, v) VALUES (${200 + i}, 'b${i}');`).join(' ');
      let rs = await client.execute(`BEGIN UNLOGGED BATCH ${stmts(11)} APPLY BATCH`);
      assert.deepEqual(rs.info.warnings, [`Unlogged batch covering 11 partitions detected against table [${FKS}.t]. ` +
        'You should use a logged batch for atomicity, or asynchronous writes for performance.']);
      rs = await client.execute(`BEGIN UNLOGGED BATCH ${stmts(10)} APPLY BATCH`);
      assert.equal(rs.info.warnings, undefined, '10 partitions: no warning');
      assert.equal((await client.execute(`SELECT v FROM ${FKS}.t WHERE k = 210`)).rows[0].v, 'b10');

      // Over batch_size_warn_threshold (5 KiB) across two partitions. The size the
      // simulator counts differs from Cassandra's serialized mutation size, so
      // only the wording and the arithmetic are checked.
      const ins = `INSERT INTO ${FKS}.t (k, v) VALUES (?, ?);`;
      rs = await client.execute(`BEGIN BATCH ${ins} ${ins} APPLY BATCH`, [300, 'x'.repeat(3000), 301, 'y'.repeat(3000)],
        { prepare: true });
      assert.equal(rs.info.warnings && rs.info.warnings.length, 1, `warnings: ${rs.info.warnings}`);
      const m = /^Batch for \[(.+)\] is of size (\d+), exceeding specified threshold of 5120 by (\d+)\.$/.exec(rs.info.warnings[0]);
      assert.ok(m, rs.info.warnings[0]);
      assert.equal(m[1], `${FKS}.t`);
      assert.equal(Number(m[2]) - 5120, Number(m[3]));
      assert.ok(Number(m[2]) >= 6000, `size ${m[2]}`);
    });

    // The protocol BATCH message (opcode 0x0D, what client.batch() sends) gets
    // the same warnings as BEGIN ... APPLY BATCH text.
    it('warnings: client.batch() (protocol BATCH) unlogged over 11 partitions', async () => {
      const ins = `INSERT INTO ${FKS}.t (k, v) VALUES (?, ?)`;
      const qs = Array.from({ length: 11 }, (_, i) => ({ query: ins, params: [400 + i, `b${i}`] }));
      const rs = await client.batch(qs, { prepare: true, logged: false });
      assert.deepEqual(rs.info.warnings, [`Unlogged batch covering 11 partitions detected against table [${FKS}.t]. ` +
        'You should use a logged batch for atomicity, or asynchronous writes for performance.']);
    });

    it('custom payload: echoed by a node with echo_payload = true, on QUERY, EXECUTE and BATCH', async () => {
      const [addr0, host0] = [...hosts][0];
      const [, host1] = [...hosts][1];
      const payload = { 'cqlpp-key': Buffer.from('hello \u00e9', 'utf8'), bin: Buffer.from([0, 255, 1, 254]), empty: Buffer.alloc(0) };
      const asHex = (p) => (p ? Object.fromEntries(Object.entries(p).map(([k, v]) => [k, v.toString('hex')])) : p);
      const q = `SELECT v FROM ${FKS}.t WHERE k = 1`;
      let rs = await client.execute(q, [], { host: host0, customPayload: payload });
      assert.equal(rs.info.customPayload, undefined, 'echo off: no payload back');

      await sim.setNode(ids.get(addr0), { echo_payload: true });
      try {
        assert.equal((await sim.nodes()).get(addr0).echo_payload, true, 'sim.nodes.echo_payload');
        rs = await client.execute(q, [], { host: host0, customPayload: payload });
        assert.deepEqual(asHex(rs.info.customPayload), asHex(payload), 'QUERY');
        assert.equal(rs.rows[0].v, 'traced');
        rs = await client.execute(`SELECT v FROM ${FKS}.t WHERE k = ?`, [1], { host: host0, prepare: true, customPayload: payload });
        assert.deepEqual(asHex(rs.info.customPayload), asHex(payload), 'EXECUTE');
        assert.equal(rs.rows[0].v, 'traced');
        rs = await client.batch([{ query: `INSERT INTO ${FKS}.t (k, v) VALUES (?, ?)`, params: [2, 'payload'] }],
          { host: host0, prepare: true, customPayload: payload });
        assert.deepEqual(asHex(rs.info.customPayload), asHex(payload), 'BATCH');
        rs = await client.execute(q, [], { host: host0 });
        assert.equal(rs.info.customPayload, undefined, 'no payload sent, none back');
        rs = await client.execute(q, [], { host: host1, customPayload: payload });
        assert.equal(rs.info.customPayload, undefined, 'another node does not echo');
        // Tracing id, warnings and payload together, in the spec's order.
        rs = await client.execute(`SELECT count(*) FROM ${FKS}.t`, [], { host: host0, customPayload: payload, traceQuery: true });
        assert.deepEqual(asHex(rs.info.customPayload), asHex(payload), 'payload with tracing and warnings');
        assert.deepEqual(rs.info.warnings, ['Aggregation query used without partition key']);
        assert.ok(rs.info.traceId instanceof types.Uuid);
        assert.equal((await client.metadata.getTrace(rs.info.traceId)).parameters.query, `SELECT count(*) FROM ${FKS}.t`);
      } finally {
        await sim.setNode(ids.get(addr0), { echo_payload: false });
      }
      rs = await client.execute(q, [], { host: host0, customPayload: payload });
      assert.equal(rs.info.customPayload, undefined, 'echo off again');
    });
  });

  // JSON, aggregates, native functions, secondary indexes and vector search
  // (issue 17), asserted the way Cassandra 5.0.2 answers them: the result
  // metadata's column names and types, the values, the JSON text. The same
  // observations as tests/sim/test_engine_{json,functions,index,vector}.cpp and
  // the Python suite's aggregates, functions, insert_json, indexes and
  // vector_search; the warnings of aggregates without a partition key are
  // checked in the describe above, not here.
  describe('node driver: JSON, aggregates, functions, indexes, vector search (3 nodes)', { timeout: 30000 }, () => {
    let client;
    const T = (name) => `${FKS}.${name}`;
    // [name, CQL type] per result column (text comes as varchar, its protocol name).
    const columnsOf = (rs) => rs.columns.map((c) => [c.name, h.typeName(c.type).replace(/^varchar$/, 'text')]);
    const cqlString = (s) => `'${s.replace(/'/g, "''")}'`;
    const rowsOf = (rs) => rs.rows.map((r) => h.norm(r.values()));
    const L = (n) => Long.fromNumber(n);
    const FILTERING = 'Cannot execute this query as it might involve data filtering and thus may have unpredictable ' +
      'performance. If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING';

    before(async () => {
      client = newClient();
      await client.connect();
      await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${FKS} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}`);
      for (const t of ['js', 'agg', 'fn', 'ix', 'vec']) await client.execute(`DROP TABLE IF EXISTS ${T(t)}`);
      await client.execute(`DROP TYPE IF EXISTS ${T('addr')}`);
      await client.execute(`CREATE TYPE ${T('addr')} (street text, zip int)`);
      await client.execute(`CREATE TABLE ${T('js')} (k int PRIMARY KEY, ts timestamp, tags set<text>, m map<int, text>, ` +
        'l list<int>, home frozen<addr>, d double, n int, t text)');
      await client.execute(`CREATE TABLE ${T('agg')} (p int, c int, s int, v int, b bigint, d double, PRIMARY KEY (p, c, s))`);
      await client.execute(`CREATE TABLE ${T('fn')} (k int PRIMARY KEY, v int, d double, t text, ts timestamp, dt date, ` +
        'home frozen<addr>, u addr)');
      await client.execute(`CREATE TABLE ${T('ix')} (k int PRIMARY KEY, v int, t text)`);
      await client.execute(`CREATE TABLE ${T('vec')} (k int PRIMARY KEY, v vector<float, 3>)`);

      // Partition 1: five rows in three clustering groups (c), one v null; partitions 2 and 3 smaller.
      const agg = [[1, 1, 1, 10, 100, 0.5], [1, 1, 2, -3, 200, 1.0], [1, 2, 1, 8, 300, 2.0], [1, 2, 2, 0, null, null],
        [1, 3, 1, null, null, null], [2, 1, 1, 5, null, null], [2, 1, 2, 6, null, null], [3, 1, 1, 7, null, null]];
      for (const [p, c, s, v, b, d] of agg) {
        await client.execute(`INSERT INTO ${T('agg')} (p, c, s, v, b, d) VALUES (?, ?, ?, ?, ?, ?)`,
          [p, c, s, v, b === null ? null : L(b), d], { prepare: true });
      }
      await client.execute(`INSERT INTO ${T('fn')} (k, v, d, t, ts, dt, home, u) VALUES (1, 7, 1.5, 'hi', ` +
        "'2025-03-01 00:00:03+0000', '2025-03-02', {street: 'Elm', zip: 10001}, {street: 'Oak', zip: 5}) " +
        'USING TTL 1000 AND TIMESTAMP 1234567');
      await client.execute(`INSERT INTO ${T('fn')} (k, v) VALUES (2, 8)`);
      for (const [k, v, t] of [[1, 10, 'a'], [2, 20, 'b'], [3, 10, 'c']]) {
        await client.execute(`INSERT INTO ${T('ix')} (k, v, t) VALUES (${k}, ${v}, '${t}')`);
      }
      // The rows of the observed vector session: [i, 0.5, -1.0] for i = 0..5.
      for (let i = 0; i < 6; i++) await client.execute(`INSERT INTO ${T('vec')} (k, v) VALUES (${i}, [${i}, 0.5, -1.0])`);
    });

    after(async () => {
      if (client) await client.shutdown();
    });

    it('json: INSERT JSON with a timestamp, collections, a UDT and escapes; SELECT JSON answers one [json] text column', async () => {
      const doc = '{"k": 1, "ts": "2025-03-01 00:00:01.000Z", "tags": ["b", "a"], "m": {"2": "two", "1": "one"}, ' +
        '"l": [3, 1, 3], "home": {"street": "Elm 1", "zip": 10001}, "d": 1.5, "n": 7, "t": "it\'s \\"q\\" \\u00e9\\t\\\\"}';
      await client.execute(`INSERT INTO ${T('js')} JSON ${cqlString(doc)}`);
      let rs = await client.execute(`SELECT k, ts, tags, m, l, home, d, n, t FROM ${T('js')} WHERE k = 1`);
      assert.deepEqual(rowsOf(rs), [h.norm([1, new Date(Date.UTC(2025, 2, 1, 0, 0, 1)), ['a', 'b'], { 1: 'one', 2: 'two' },
        [3, 1, 3], { street: 'Elm 1', zip: 10001 }, 1.5, 7, 'it\'s "q" \u00e9\t\\'])], 'the row INSERT JSON wrote');

      rs = await client.execute(`SELECT JSON * FROM ${T('js')} WHERE k = 1`);
      assert.deepEqual(columnsOf(rs), [['[json]', 'text']]);
      assert.equal(rs.rows.length, 1);
      // The key, then the other columns in alphabetical order (as SELECT *); map keys
      // as strings, sets sorted, timestamps in UTC with milliseconds, Jackson's escaping.
      assert.equal(rs.rows[0]['[json]'], '{"k": 1, "d": 1.5, "home": {"street": "Elm 1", "zip": 10001}, "l": [3, 1, 3], ' +
        '"m": {"1": "one", "2": "two"}, "n": 7, "t": "it\'s \\"q\\" \u00e9\\t\\\\", "tags": ["a", "b"], ' +
        '"ts": "2025-03-01 00:00:01.000Z"}');
      rs = await client.execute(`SELECT JSON k, ts, tags, home FROM ${T('js')} WHERE k = ?`, [1], { prepare: true });
      assert.deepEqual(columnsOf(rs), [['[json]', 'text']], 'prepared SELECT JSON');
      assert.equal(rs.rows[0]['[json]'],
        '{"k": 1, "ts": "2025-03-01 00:00:01.000Z", "tags": ["a", "b"], "home": {"street": "Elm 1", "zip": 10001}}');

      // JSON ? binds the document as text: a number is a timestamp in milliseconds,
      // a UDT field left out is null, an empty list no cell at all.
      await client.execute(`INSERT INTO ${T('js')} JSON ?`, ['{"k": 2, "ts": 1000, "home": {"zip": 3}, "l": []}'], { prepare: true });
      rs = await client.execute(`SELECT JSON * FROM ${T('js')} WHERE k = 2`);
      assert.equal(rs.rows[0]['[json]'], '{"k": 2, "d": null, "home": {"street": null, "zip": 3}, "l": null, "m": null, ' +
        '"n": null, "t": null, "tags": null, "ts": "1970-01-01 00:00:01.000Z"}');
    });

    it('json: toJson(col) names and text; fromJson() in INSERT VALUES (literal and marker); DEFAULT UNSET vs DEFAULT NULL', async () => {
      await client.execute(`INSERT INTO ${T('js')} (k, ts, tags, m, home, d) VALUES (10, '2025-03-01 00:00:01+0000', ` +
        "{'b', 'a'}, {2: 'two', 1: 'one'}, {street: 'Elm 1', zip: 10001}, 1.5)");
      let rs = await client.execute(`SELECT toJson(tags), toJson(m), toJson(home), toJson(ts), toJson(d), toJson(n) FROM ${T('js')} WHERE k = 10`);
      assert.deepEqual(columnsOf(rs), ['tags', 'm', 'home', 'ts', 'd', 'n'].map((c) => [`system.tojson(${c})`, 'text']));
      assert.deepEqual(rs.rows[0].values(), ['["a", "b"]', '{"1": "one", "2": "two"}', '{"street": "Elm 1", "zip": 10001}',
        '"2025-03-01 00:00:01.000Z"', '1.5', 'null'], 'toJson of a null column is the text null');

      await client.execute(`INSERT INTO ${T('js')} (k, tags, m, home, ts) VALUES (11, fromJson('["y", "x"]'), ` +
        `fromJson('{"7": "seven"}'), fromJson('{"zip": 5}'), fromJson('"2024-01-02 03:04:05.678Z"'))`);
      rs = await client.execute(`SELECT tags, m, home, ts FROM ${T('js')} WHERE k = 11`);
      assert.deepEqual(rowsOf(rs), [h.norm([['x', 'y'], { 7: 'seven' }, { street: null, zip: 5 },
        new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 678))])], 'fromJson() literals');
      await client.execute(`INSERT INTO ${T('js')} (k, l, ts) VALUES (?, fromJson(?), fromJson(?))`, [12, '[5, 6]', '1000'], { prepare: true });
      rs = await client.execute(`SELECT l, ts FROM ${T('js')} WHERE k = 12`);
      assert.deepEqual(rowsOf(rs), [h.norm([[5, 6], new Date(1000)])], 'fromJson(?) markers bound as text');

      const insertJson = (doc, tail = '') => client.execute(`INSERT INTO ${T('js')} JSON ${cqlString(doc)}${tail}`);
      const read = async () => rowsOf(await client.execute(`SELECT n, d, tags FROM ${T('js')} WHERE k = 13`))[0];
      await insertJson('{"k": 13, "n": 1, "d": 2.5, "tags": ["z"]}');
      assert.deepEqual(await read(), [1, 2.5, ['z']]);
      await insertJson('{"k": 13, "n": 2}', ' DEFAULT UNSET');
      assert.deepEqual(await read(), [2, 2.5, ['z']], 'DEFAULT UNSET leaves the columns the document omits');
      await insertJson('{"k": 13, "n": 3, "tags": ["w"]}', ' DEFAULT NULL');
      assert.deepEqual(await read(), [3, null, ['w']], 'DEFAULT NULL clears them');
      await insertJson('{"k": 13, "d": 4.5}');
      assert.deepEqual(await read(), [null, 4.5, null], 'no DEFAULT clause: NULL');
    });

    it('aggregates: min, max, sum, avg, count over one partition: column names, types, values', async () => {
      for (const prepare of [false, true]) {
        const what = prepare ? 'prepared' : 'unprepared';
        const rs = await client.execute(`SELECT min(v), max(v), sum(v), avg(v), count(v), count(*) FROM ${T('agg')} WHERE p = ?`,
          [1], { prepare, hints: ['int'] });
        assert.deepEqual(columnsOf(rs), [['system.min(v)', 'int'], ['system.max(v)', 'int'], ['system.sum(v)', 'int'],
          ['system.avg(v)', 'int'], ['system.count(v)', 'bigint'], ['count', 'bigint']], `${what}: names and types`);
        assert.equal(rs.rows.length, 1, `${what}: one row`);
        const values = rs.rows[0].values();
        // avg of an int is an int: 15 / 4 non-null values, truncated; count(v) skips the null.
        assert.deepEqual(values.slice(0, 4), [-3, 10, 15, 3], `${what}: min, max, sum, avg`);
        assert.ok(values[4] instanceof Long && values[5] instanceof Long, `${what}: counts decode as Long`);
        assert.deepEqual(values.slice(4).map(String), ['4', '5'], `${what}: count(v), count(*)`);
        assert.equal(rs.info.warnings, undefined, `${what}: no warning with the partition key`);
      }

      let rs = await client.execute(`SELECT sum(b), avg(b), sum(d), avg(d), max(d) AS top FROM ${T('agg')} WHERE p = 1`);
      assert.deepEqual(columnsOf(rs), [['system.sum(b)', 'bigint'], ['system.avg(b)', 'bigint'], ['system.sum(d)', 'double'],
        ['system.avg(d)', 'double'], ['top', 'double']], 'bigint and double keep their type; AS renames');
      assert.deepEqual(rowsOf(rs), [h.norm([L(600), L(200), 3.5, 3.5 / 3, 2])]);

      rs = await client.execute(`SELECT count(*), sum(v), avg(v), max(v) FROM ${T('agg')} WHERE p = 9`);
      assert.deepEqual(rowsOf(rs), [h.norm([L(0), 0, 0, null])], 'no rows: one row, count and sum 0, avg 0, max null');
    });

    it('aggregates: GROUP BY the partition key and a clustering column', async () => {
      // The whole table (it warns, see above): one row per partition, in token order.
      let rs = await client.execute(`SELECT p, token(p), count(*), sum(v), max(v) FROM ${T('agg')} GROUP BY p`);
      assert.deepEqual(columnsOf(rs), [['p', 'int'], ['system.token(p)', 'bigint'], ['count', 'bigint'], ['system.sum(v)', 'int'],
        ['system.max(v)', 'int']]);
      assert.deepEqual(Object.fromEntries(rowsOf(rs).map(([p, , ...rest]) => [p, rest])),
        { 1: h.norm([L(5), 15, 10]), 2: h.norm([L(2), 11, 6]), 3: h.norm([L(1), 7, 7]) }, 'groups by p');
      const tokens = rs.rows.map((r) => r['system.token(p)']);
      for (let i = 1; i < tokens.length; i++) assert.ok(tokens[i - 1].lessThan(tokens[i]), `token order: ${tokens.join(', ')}`);

      // A plain column (s) shows the group's first row; a group of nulls sums to 0 and has no max.
      rs = await client.execute(`SELECT p, c, s, count(*), sum(v), max(v) FROM ${T('agg')} WHERE p = 1 GROUP BY p, c`);
      assert.deepEqual(columnsOf(rs).map((c) => c[0]), ['p', 'c', 's', 'count', 'system.sum(v)', 'system.max(v)']);
      assert.deepEqual(rowsOf(rs), h.norm([[1, 1, 1, L(2), 7, 10], [1, 2, 1, L(2), 8, 8], [1, 3, 1, L(1), 0, null]]));
      assert.equal(rs.info.warnings, undefined, 'no warning with the partition key');
      // p restricted by = may be left out; LIMIT counts groups.
      rs = await client.execute(`SELECT c, count(*) FROM ${T('agg')} WHERE p = 1 GROUP BY c`);
      assert.deepEqual(rowsOf(rs), h.norm([[1, L(2)], [2, L(2)], [3, L(1)]]), 'GROUP BY c with p = 1');
      rs = await client.execute(`SELECT c, count(*) FROM ${T('agg')} WHERE p = 1 GROUP BY p, c LIMIT 2`);
      assert.deepEqual(rowsOf(rs), h.norm([[1, L(2)], [2, L(2)]]), 'LIMIT 2 groups');
      // With GROUP BY, PER PARTITION LIMIT counts groups too (Cassandra's DataLimits.groupByLimits).
      rs = await client.execute(`SELECT c, count(*) FROM ${T('agg')} WHERE p = 1 GROUP BY p, c PER PARTITION LIMIT 2`);
      assert.deepEqual(rowsOf(rs), h.norm([[1, L(2)], [2, L(2)]]), 'PER PARTITION LIMIT 2 groups');
      const e = await rejectsWithCode(() => client.execute(`SELECT count(*) FROM ${T('agg')} WHERE p = 1 GROUP BY p, s`),
        codes.invalid, 'GROUP BY skipping c');
      assert.equal(e.message, 'Group by currently only support groups of columns following their declared order in the PRIMARY KEY');
    });

    it('functions: now() and uuid() give a new value per row and per query', async () => {
      const q = `SELECT now(), uuid(), toTimestamp(now()) FROM ${T('agg')} WHERE p = 1`;
      const t0 = Date.now();
      const a = await client.execute(q);
      const b = await client.execute(q);
      assert.deepEqual(columnsOf(a), [['system.now()', 'timeuuid'], ['system.uuid()', 'uuid'],
        ['system.totimestamp(system.now())', 'timestamp']]);
      const rows = [...a.rows, ...b.rows];
      assert.equal(rows.length, 10);
      const nows = rows.map((r) => r['system.now()']);
      const uuids = rows.map((r) => r['system.uuid()']);
      assert.ok(nows.every((u) => u instanceof types.TimeUuid && u.toString()[14] === '1'), `version 1: ${nows.join(', ')}`);
      assert.ok(uuids.every((u) => !(u instanceof types.TimeUuid) && u instanceof types.Uuid && u.toString()[14] === '4'),
        `version 4: ${uuids.join(', ')}`);
      assert.equal(new Set(nows.map(String)).size, 10, 'now() distinct');
      assert.equal(new Set(uuids.map(String)).size, 10, 'uuid() distinct');
      for (const r of rows) {
        const ms = r['system.totimestamp(system.now())'].getTime();
        assert.ok(Math.abs(ms - t0) < 60000, `toTimestamp(now()) ${ms} near ${t0}`);
        assert.ok(Math.abs(r['system.now()'].getDate().getTime() - t0) < 60000, 'the time in now()');
      }
    });

    it('functions: toDate, toTimestamp, CAST, blob conversions, writetime and ttl; UDT field selection', async () => {
      let rs = await client.execute('SELECT toDate(ts), toTimestamp(dt), toUnixTimestamp(ts), CAST(v AS text), CAST(d AS text), ' +
        `CAST(d AS int), CAST(v AS bigint) FROM ${T('fn')} WHERE k = 1`);
      assert.deepEqual(columnsOf(rs), [['system.todate(ts)', 'date'], ['system.totimestamp(dt)', 'timestamp'],
        ['system.tounixtimestamp(ts)', 'bigint'], ['cast(v as text)', 'text'], ['cast(d as text)', 'text'],
        ['cast(d as int)', 'int'], ['cast(v as bigint)', 'bigint']]);
      assert.deepEqual(rowsOf(rs), [h.norm([types.LocalDate.fromString('2025-03-01'), new Date(Date.UTC(2025, 2, 2)),
        Long.fromString('1740787203000'), '7', '1.5', 1, L(7)])]);

      rs = await client.execute("SELECT blobAsText(textAsBlob('x')), blobAsText(textAsBlob(t)), textAsBlob(t), intAsBlob(v), " +
        `blobAsInt(intAsBlob(v)) FROM ${T('fn')} WHERE k = 1`);
      assert.deepEqual(columnsOf(rs), [["system.blobastext(system.textasblob('x'))", 'text'],
        ['system.blobastext(system.textasblob(t))', 'text'], ['system.textasblob(t)', 'blob'], ['system.intasblob(v)', 'blob'],
        ['system.blobasint(system.intasblob(v))', 'int']]);
      assert.deepEqual(rowsOf(rs), [h.norm(['x', 'hi', Buffer.from('hi'), Buffer.from('00000007', 'hex'), 7])]);

      rs = await client.execute(`SELECT writetime(v), ttl(v) FROM ${T('fn')} WHERE k = 1`);
      assert.deepEqual(columnsOf(rs), [['writetime(v)', 'bigint'], ['ttl(v)', 'int']]);
      const [wt, ttl] = rs.rows[0].values();
      assert.equal(String(wt), '1234567', 'USING TIMESTAMP');
      assert.ok(ttl > 990 && ttl <= 1000, `ttl(v) ${ttl} of USING TTL 1000`);
      rs = await client.execute(`SELECT writetime(v), ttl(v) FROM ${T('fn')} WHERE k = 2`);
      const [wt2, ttl2] = rs.rows[0].values();
      assert.ok(wt2 instanceof Long && Math.abs(wt2.toNumber() / 1000 - Date.now()) < 60000, `writetime(v) ${wt2} is now in microseconds`);
      assert.equal(ttl2, null, 'no TTL');

      rs = await client.execute(`SELECT home.zip, home.street, u.zip, u.street FROM ${T('fn')} WHERE k = 1`);
      assert.deepEqual(columnsOf(rs), [['home.zip', 'int'], ['home.street', 'text'], ['u.zip', 'int'], ['u.street', 'text']],
        'fields of a frozen and a non-frozen UDT');
      assert.deepEqual(rs.rows[0].values(), [10001, 'Elm', 5, 'Oak']);
    });

    it('index: CREATE INDEX on a regular column serves = without ALLOW FILTERING', async () => {
      const q = `SELECT k, t FROM ${T('ix')} WHERE v = 10`;
      let e = await rejectsWithCode(() => client.execute(q), codes.invalid, 'before CREATE INDEX');
      assert.equal(e.message, FILTERING);
      await client.execute(`CREATE INDEX ix_v ON ${T('ix')} (v)`);
      let rs = await client.execute(q);
      assert.deepEqual(rs.rows.map((r) => [r.k, r.t]).sort(), [[1, 'a'], [3, 'c']]);
      rs = await client.execute(`SELECT k FROM ${T('ix')} WHERE v = ?`, [20], { prepare: true });
      assert.deepEqual(rs.rows.map((r) => r.k), [2], 'prepared');
      assert.equal((await client.execute(`SELECT k FROM ${T('ix')} WHERE v = 99`)).rows.length, 0, 'no match');
      // The driver's schema metadata reads it from system_schema.indexes.
      const table = await client.metadata.getTable(FKS, 'ix');
      assert.deepEqual(table.indexes.map((i) => [i.name, i.target, i.isCompositesKind(), { ...i.options }]),
        [['ix_v', 'v', true, { target: 'v' }]]);
      await client.execute(`DROP INDEX ${FKS}.ix_v`);
      e = await rejectsWithCode(() => client.execute(q), codes.invalid, 'after DROP INDEX');
      assert.equal(e.message, FILTERING);
    });

    it('vector: SAI index on vector<float, 3>; ORDER BY v ANN OF [...] LIMIT n, nearest first, with similarity_cosine', async () => {
      const score = 'system.similarity_cosine(v, [3.0, 0.5, -1.0])';
      const ann = `SELECT k, similarity_cosine(v, [3.0, 0.5, -1.0]) FROM ${T('vec')} ORDER BY v ANN OF [3.0, 0.5, -1.0] LIMIT 3`;
      let e = await rejectsWithCode(() => client.execute(ann), codes.invalid, 'ANN without an index');
      assert.equal(e.message, 'ANN ordering by vector requires the column to be indexed');
      const created = await client.execute(`CREATE INDEX vec_v ON ${T('vec')} (v) USING 'sai'`);
      assert.deepEqual(created.info.warnings, [
        'SAI ANN indexes on vector columns are experimental and are not recommended for production use.\n' +
        "They don't yet support SELECT queries with:\n * Consistency level higher than ONE/LOCAL_ONE.\n * Paging.\n" +
        ' * No LIMIT clauses.\n * PER PARTITION LIMIT clauses.\n * GROUP BY clauses.\n * Aggregation functions.\n' +
        ' * Filters on columns without a SAI index.']);
      const table = await client.metadata.getTable(FKS, 'vec');
      assert.deepEqual(table.indexes.map((i) => [i.name, i.isCustomKind(), { ...i.options }]),
        [['vec_v', true, { class_name: 'org.apache.cassandra.index.sai.StorageAttachedIndex', target: 'v' }]]);

      let rs = await client.execute(ann);
      assert.deepEqual(columnsOf(rs), [['k', 'int'], [score, 'float']]);
      assert.deepEqual(rs.rows.map((r) => r.k), [3, 4, 5], 'nearest first');
      // Cassandra's cosine similarity is (1 + cos) / 2, a float: 1 and 0.99822944 as
      // Cassandra 5.0.2 answered for the first two; the third by the formula.
      const got = rs.rows.map((r) => r[score]);
      assert.equal(got[0], 1);
      assert.equal(got[1], Math.fround(0.99822944));
      const cos = (x, y) => x.reduce((s, xi, i) => s + xi * y[i], 0) / Math.hypot(...x) / Math.hypot(...y);
      const third = (1 + cos([5, 0.5, -1], [3, 0.5, -1])) / 2;
      assert.ok(Math.abs(got[2] - third) < 1e-6, `similarity_cosine of k=5: ${got[2]}, want ${third}`);

      rs = await client.execute(`SELECT k FROM ${T('vec')} ORDER BY v ANN OF ? LIMIT 2`,
        [new types.Vector(new Float32Array([0, 0.5, -1]), 'float')], { prepare: true });
      assert.deepEqual(rs.rows.map((r) => r.k), [0, 1], 'a bound vector');
      e = await rejectsWithCode(() => client.execute(`SELECT k FROM ${T('vec')} ORDER BY v ANN OF [3.0, 0.5, -1.0]`),
        codes.invalid, 'ANN without LIMIT');
      assert.equal(e.message, 'Use of ANN OF in an ORDER BY clause requires a LIMIT that is not greater than 1000. LIMIT was NONE');
    });
  });

  // Canned answers through CQL, as a Node.js test suite would set them up
  // (docs/sim_fixture.md), and the activity log read back per node.
  describe('node driver: priming through sim.primes, the activity log (3 nodes)', { timeout: 60000 }, () => {
    let client;
    let ids;    // address -> node id
    let hosts;  // address -> Host, sorted by address

    before(async () => {
      client = newClient();
      await client.connect();
      ids = await new h.Sim(client, client.controlConnection.host).nodeIds();
      hosts = new Map([...ids.keys()].sort().map((a) => [a, hostByAddress(client, a)]));
      await client.execute(`CREATE KEYSPACE IF NOT EXISTS ${FKS} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}`);
      await client.execute(`CREATE TABLE IF NOT EXISTS ${FKS}.t (k int PRIMARY KEY, v text)`);
    });

    after(async () => {
      if (client) await client.shutdown();
    });

    it('priming: rows and an error through sim.primes reach the driver as primed; sim.activity shows what each node got', async () => {
      const [addr, host] = [...hosts][1];
      const [otherAddr, other] = [...hosts][2];
      const node = ids.get(addr);
      const q = `SELECT name, qty FROM ${FKS}.primed WHERE id = 1`;  // no such table: only the prime answers
      const qErr = `SELECT name FROM ${FKS}.primed WHERE id = 2`;
      const qRaw = `SELECT name FROM ${FKS}.primed WHERE id = ?`;  // bound value, no schema: kept raw
      const qIns = `INSERT INTO ${FKS}.t (k, v) VALUES (?, ?)`;    // a real table: the values typed
      const run = (query, params, opts) => client.execute(query, params, { host, ...opts });
      try {
        await client.execute("UPDATE sim.settings SET value = 100 WHERE name = 'activity_log'");
        await client.execute('INSERT INTO sim.primes (query, columns, rows) VALUES (?, ?, ?)',
          [q, ['name text', 'qty int'], [["'apple'", '3'], ["'pear'", 'null']]]);
        await client.execute('INSERT INTO sim.primes (query, node, error, received, block_for, data_present, error_consistency, times) ' +
          "VALUES (?, ?, 'READ_TIMEOUT', 1, 2, false, 'QUORUM', 1)", [qErr, node], { hints: ['text', 'int'] });
        await client.execute('INSERT INTO sim.primes (query, params, columns, rows) VALUES (?, ?, ?, ?)',
          [qRaw, ['id int'], ['name text'], [["'raw'"]]]);
        const primes = (await client.execute('SELECT id, query, node, then, times, left FROM sim.primes')).rows
          .sort((x, y) => x.id.compare(y.id));  // rows come in token order of id
        assert.deepEqual(primes.map((r) => [r.query, r.node, r.then, r.times, r.left]),
          [[q, null, 'rows', 0, 0], [qErr, node, 'error', 1, 1], [qRaw, null, 'rows', 0, 0]], 'sim.primes');

        const rs = await run(q, [], { consistency: cl.localQuorum });
        assert.equal(rs.info.queriedHost, host.address);
        assert.deepEqual(rs.columns.map((c) => [c.name, h.typeName(c.type)]), [['name', 'varchar'], ['qty', 'int']]);  // text is varchar on the wire
        assert.deepEqual(rs.rows.map((r) => [r.name, r.qty]), [['apple', 3], ['pear', null]], 'primed rows');

        const e = await rejectsWithCode(() => run(qErr, [], { retry: new policies.retry.FallthroughRetryPolicy() }),
          codes.readTimeout, 'primed READ_TIMEOUT');
        assert.deepEqual([e.consistencies, e.received, e.blockFor, !!e.isDataPresent], [cl.quorum, 1, 2, false], 'its fields');
        // Used up (times 1), and it was for that node only: now the engine answers (no such table).
        await rejectsWithCode(() => run(qErr), codes.invalid, 'after the one primed answer');
        await rejectsWithCode(() => client.execute(qErr, [], { host: other }), codes.invalid, `${otherAddr}: not primed`);
        assert.equal((await client.execute('SELECT id FROM sim.primes')).rows.length, 2, 'the one-shot rule is gone');

        assert.deepEqual((await run(qRaw, [7], { hints: ['int'] })).rows.map((r) => r.name), ['raw']);
        await run(qIns, [5, 'five'], { hints: ['int', 'text'] });
        await client.batch([{ query: qIns, params: [6, "it's"] }, { query: qIns, params: [7, null] }],
          { host, prepare: true, consistency: cl.two });

        const log = (await client.execute('SELECT * FROM sim.activity WHERE node = ?', [node], { hints: ['int'] })).rows;
        const of = (query) => log.filter((r) => r.query === query);
        assert.deepEqual(of(q).map((r) => [r.node, r.op, r.consistency, r.primed]), [[node, 'QUERY', 'LOCAL_QUORUM', true]],
          'the primed query, once, on that node');
        assert.deepEqual(of(qErr).map((r) => r.primed), [true, false], 'the primed error, then the engine');
        assert.deepEqual(of(qRaw).map((r) => [r.values, r.values_typed, r.primed]), [[['0x00000007'], false, true]],
          'a value of no known type: its bytes');
        assert.deepEqual(of(qIns).filter((r) => r.op === 'QUERY').map((r) => [r.values, r.values_typed]),
          [[['5', "'five'"], true]], 'values typed by the table\'s columns');
        const batches = log.filter((r) => r.op === 'BATCH');
        assert.equal(batches.length, 1, 'one BATCH');
        const b = batches[0];
        assert.deepEqual([b.batch_type, b.consistency, b.batch], ['LOGGED', 'TWO', [qIns, qIns]]);
        assert.deepEqual(b.batch_values, [['6', "'it''s'"], ['7', 'null']], 'each statement\'s values');
        assert.deepEqual(b.batch_values_typed, [true, true]);
        const prepared = of(qIns).find((r) => r.op === 'PREPARE');
        assert.ok(prepared, 'the driver prepared the batch\'s statement on that node');
        assert.ok(b.batch_prepared_ids.every((id) => id.length === 16), 'prepared ids');
        for (const r of log) assert.equal(r.node, node);
        const elsewhere = (await client.execute('SELECT query, primed FROM sim.activity WHERE node = ?', [ids.get(otherAddr)],
          { hints: ['int'] })).rows;
        assert.deepEqual(elsewhere.filter((r) => r.query === qErr).map((r) => r.primed), [false], `${otherAddr}'s log`);
      } finally {
        await client.execute('TRUNCATE sim.primes');
        await client.execute('TRUNCATE sim.activity');
        await client.execute("UPDATE sim.settings SET value = 0 WHERE name = 'activity_log'");
      }
    });
  });
}

// ---------------------------------------------------------------------------
// Nodes joining and leaving at run time (docs/sim.md), on a 3-node simulator:
// INSERT INTO sim.nodes adds node 3 (127.0.0.4), DELETE FROM sim.nodes removes node 1.

if (MODE === 'topology') {
  const TKS = 'interop_node_topology';
  const ROWS = 200;

  describe('node driver: nodes join and leave (3 nodes, then 4, then 3)', { timeout: 60000 }, () => {
    let client;
    let sim;
    let ctlHost;
    const added = [];
    const removed = [];
    const newAddr = `127.0.0.${NODES + 1}`;
    const newEnd = `${newAddr}:${PORT}`;
    const goneAddr = '127.0.0.2';  // node 1
    const goneEnd = `${goneAddr}:${PORT}`;

    before(async () => {
      client = newClient();
      client.on('hostAdd', (host) => added.push(host.address));
      client.on('hostRemove', (host) => removed.push(host.address));
      await client.connect();
      ctlHost = client.controlConnection.host;
      assert.equal(h.hostAddress(ctlHost), '127.0.0.1', 'control connection on node 0');
      sim = new h.Sim(client, ctlHost);
      await client.execute(`DROP KEYSPACE IF EXISTS ${TKS}`);
      await client.execute(`CREATE KEYSPACE ${TKS} WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 3}`);
      await client.execute(`CREATE TABLE ${TKS}.t (k int PRIMARY KEY, v text)`);
      await cassandra.concurrent.executeConcurrent(client, `INSERT INTO ${TKS}.t (k, v) VALUES (?, ?)`,
        Array.from({ length: ROWS }, (_, k) => [k, `v${k}`]), { concurrencyLevel: 32, consistency: cl.quorum });
    });

    after(async () => {
      if (client) await client.shutdown();
    });

    async function readAll(c, consistency, extra = {}) {
      const got = await h.mapConcurrent(Array.from({ length: ROWS }, (_, k) => k), 32, async (k) => {
        const rs = await c.execute(`SELECT v FROM ${TKS}.t WHERE k = ?`, [k], { prepare: true, consistency, ...extra });
        return rs.rows.length ? rs.rows[0].v : null;
      });
      const bad = got.map((v, k) => [k, v]).filter(([k, v]) => v !== `v${k}`);
      assert.deepEqual(bad.slice(0, 5), [], `${bad.length} of ${ROWS} rows unreadable or wrong at ${consistency}`);
    }

    // Token-aware prepared reads from a client that connected after the change
    // (the Node driver builds its token map only when it connects): none may
    // reach a non-replica, so its ring from system.local/peers is the one the
    // simulator places data by. Returns replica_requests per node id.
    async function freshClientRouting(expectHosts) {
      const c2 = newClient();
      try {
        await c2.connect();
        assert.deepEqual(c2.hosts.values().map((x) => x.address).sort(), expectHosts, 'hosts of a new client');
        assert.equal(c2.metadata.ring.length, expectHosts.length * NUM_TOKENS, 'ring tokens of a new client');
        const before = await sim.counters();
        await readAll(c2, cl.quorum);
        const after = await sim.counters();
        const ids = await sim.nodeIds();
        const non = {};
        const rep = {};
        for (const [addr, node] of ids) {
          non[addr] = h.delta(before, after, node, 'non_replica_requests');
          rep[addr] = h.delta(before, after, node, 'replica_requests');
        }
        assert.deepEqual(non, Object.fromEntries([...ids.keys()].map((a) => [a, 0])), 'non_replica_requests per node');
        assert.equal(Object.values(rep).reduce((a, b) => a + b, 0), ROWS, 'replica_requests');
        return rep;
      } finally {
        await c2.shutdown();
      }
    }

    it('starts with 3 hosts', async () => {
      assert.deepEqual(client.hosts.values().map((x) => x.address).sort(),
        Array.from({ length: NODES }, (_, i) => `127.0.0.${i + 1}:${PORT}`));
      assert.equal((await sim.nodes()).size, NODES);
    });

    it('INSERT INTO sim.nodes: NEW_NODE reaches the driver, which adds the host and uses it', async () => {
      await client.execute(`INSERT INTO sim.nodes (node) VALUES (${NODES})`, [], { host: ctlHost });
      const t0 = Date.now();
      await h.waitFor(() => added.includes(newEnd), 10000, `hostAdd ${newEnd}`);
      assert.deepEqual(added, [newEnd], 'hostAdd events');
      assert.equal(client.hosts.length, NODES + 1, 'client.hosts');
      const host = client.hosts.get(newEnd);
      assert.ok(host, `host ${newEnd}`);
      assert.deepEqual([host.datacenter, host.rack, host.tokens.length], ['datacenter1', 'rack1', NUM_TOKENS]);
      await h.waitFor(() => host.isUp(), 10000, `${newEnd} up`);
      const upAfter = Date.now() - t0;

      // system.peers_v2 and system.peers of node 0 list it with the tokens the driver took.
      const v2 = await client.execute('SELECT peer, native_address, native_port, data_center, rack, tokens FROM system.peers_v2',
        [], { host: ctlHost });
      const row = v2.rows.find((r) => r.peer.toString() === newAddr);
      assert.ok(row, `peers_v2 has ${newAddr}: ${v2.rows.map((r) => r.peer).join(', ')}`);
      assert.equal(v2.rows.length, NODES, 'peers_v2 rows on node 0');
      assert.deepEqual([row.native_address.toString(), row.native_port, row.data_center, row.rack],
        [newAddr, PORT, 'datacenter1', 'rack1']);
      assert.deepEqual([...row.tokens].sort(), [...host.tokens].sort(), 'peers_v2 tokens == driver host tokens');
      const peers = await client.execute('SELECT peer FROM system.peers', [], { host: ctlHost });
      assert.ok(peers.rows.some((r) => r.peer.toString() === newAddr), 'system.peers');
      const ids = await sim.nodeIds();
      assert.equal(ids.get(newAddr), NODES, 'sim.nodes id of the new node');

      // Queries pinned to the new host run there; its system.local describes it.
      const local = await client.execute('SELECT broadcast_address, rpc_address, tokens FROM system.local', [], { host });
      assert.equal(local.info.queriedHost, newEnd);
      assert.equal(local.rows[0].broadcast_address.toString(), newAddr);
      assert.deepEqual([...local.rows[0].tokens].sort(), [...host.tokens].sort());
      // Round robin over the grown plan: unrouted queries reach all four hosts.
      const seen = new Set();
      for (let i = 0; i < 4 * (NODES + 1); i++) {
        seen.add((await client.execute('SELECT release_version FROM system.local')).info.queriedHost);
      }
      assert.deepEqual([...seen].sort(), client.hosts.keys().sort(), 'queried hosts');
      // Every row written before the join is readable through the new node at QUORUM and ALL.
      await readAll(client, cl.quorum, { host });
      await readAll(client, cl.all, { host });
      assert.ok(upAfter < 10000);
    });

    it('after the join: a new client\'s token-aware reads reach only replicas, node 3 among them', async () => {
      const rep = await freshClientRouting(Array.from({ length: NODES + 1 }, (_, i) => `127.0.0.${i + 1}:${PORT}`));
      assert.ok(rep[newAddr] > 0, `replica_requests on the new node: ${JSON.stringify(rep)}`);
    });

    it('DELETE FROM sim.nodes: REMOVED_NODE reaches the driver, which drops the host; no row is lost', async () => {
      const gone = client.hosts.get(goneEnd);
      assert.ok(gone, goneEnd);
      await client.execute('DELETE FROM sim.nodes WHERE node = 1', [], { host: ctlHost });
      await h.waitFor(() => removed.includes(goneEnd), 10000, `hostRemove ${goneEnd}`);
      assert.deepEqual(removed, [goneEnd], 'hostRemove events');
      assert.equal(client.hosts.length, NODES, 'client.hosts');
      assert.equal(client.hosts.get(goneEnd), undefined);
      assert.deepEqual(client.hosts.keys().sort(), ['127.0.0.1', '127.0.0.3', newAddr].map((a) => `${a}:${PORT}`));

      const ids = await sim.nodeIds();
      assert.deepEqual([...ids.values()].sort(), [0, 2, 3], 'sim.nodes ids');
      const v2 = await client.execute('SELECT peer FROM system.peers_v2', [], { host: ctlHost });
      assert.deepEqual(v2.rows.map((r) => r.peer.toString()).sort(), ['127.0.0.3', newAddr], 'peers_v2 on node 0');
      // The removed node's address no longer accepts connections.
      const refused = await new Promise((resolve) => {
        const s = require('node:net').connect({ host: goneAddr, port: PORT });
        s.setTimeout(3000, () => { s.destroy(); resolve('timeout'); });
        s.on('connect', () => { s.destroy(); resolve('connected'); });
        s.on('error', (e) => resolve(e.code));
      });
      assert.equal(refused, 'ECONNREFUSED', `connecting to ${goneAddr}:${PORT}`);

      // RF 3 on three members: every row written before both changes, at QUORUM and ALL.
      await readAll(client, cl.quorum);
      await readAll(client, cl.all);
      for (const host of client.hosts.values()) await readAll(client, cl.all, { host });
      // And the cluster keeps taking writes at ALL.
      await client.execute(`INSERT INTO ${TKS}.t (k, v) VALUES (?, ?)`, [ROWS, 'after'], { prepare: true, consistency: cl.all });
      assert.equal((await client.execute(`SELECT v FROM ${TKS}.t WHERE k = ?`, [ROWS], { prepare: true, consistency: cl.all }))
        .rows[0].v, 'after');
    });

    it('after the removal: a new client\'s token-aware reads reach only replicas', async () => {
      const rep = await freshClientRouting(['127.0.0.1', '127.0.0.3', newAddr].map((a) => `${a}:${PORT}`));
      assert.equal(rep[goneAddr], undefined, 'the removed node is not in sim.nodes');
    });

    it('sim.nodes refuses an id that is not the next one, and a removed node', async () => {
      let e = await rejectsWithCode(() => client.execute('INSERT INTO sim.nodes (node) VALUES (9)', [], { host: ctlHost }),
        codes.invalid, 'id that is not the next');
      assert.match(e.message, new RegExp(`Cannot add node 9: the next node is ${NODES + 1}`));
      e = await rejectsWithCode(() => client.execute('DELETE FROM sim.nodes WHERE node = 1', [], { host: ctlHost }),
        codes.invalid, 'removed node');
      assert.match(e.message, /No node 1 in the ring/);
      assert.equal(client.hosts.length, NODES, 'no topology change');
      assert.deepEqual(added, [newEnd]);
      assert.deepEqual(removed, [goneEnd]);
    });
  });
}
