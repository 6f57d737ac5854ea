// Checks an Iceberg table written by cqlpp with readers we did not write:
// the metadata JSON against the v2 spec's required fields, the manifest list
// and manifests with avsc (required fields, field ids in their Avro schemas),
// every data file of the current snapshot exists, and DuckDB reads them all
// (field ids in the Parquet schema match the Iceberg schema). Prints
// "rows N" (DuckDB's count over the current snapshot's files) and
// "snapshots N", "schemas N", "ids NAME=ID ..." for the shell test.
import avro from 'avsc';
import { DuckDBInstance } from '@duckdb/node-api';
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects } from 'hyparquet';
import { readFileSync, existsSync } from 'node:fs';

const table = process.argv[2];
const fail = (m) => { console.error(`FAIL: ${m}`); process.exitCode = 1; };
const need = (obj, keys, what) => { for (const k of keys) if (!(k in obj)) fail(`${what}: missing ${k}`); };

const hint = readFileSync(`${table}/metadata/version-hint.text`, 'utf8').trim();
// Snapshot ids are 63-bit: keep them as strings (JSON.parse would round them).
const mdText = readFileSync(`${table}/metadata/v${hint}.metadata.json`, 'utf8')
  .replace(/("(?:snapshot-id|parent-snapshot-id|current-snapshot-id)":\s*)(-?\d+)/g, '$1"$2"');
const md = JSON.parse(mdText);
need(md, ['format-version', 'table-uuid', 'location', 'last-sequence-number', 'last-updated-ms', 'last-column-id',
  'schemas', 'current-schema-id', 'partition-specs', 'default-spec-id', 'last-partition-id', 'sort-orders',
  'default-sort-order-id'], 'metadata');
if (md['format-version'] !== 2) fail(`format-version ${md['format-version']}`);
if (!/^[0-9a-f-]{36}$/.test(md['table-uuid'])) fail(`table-uuid ${md['table-uuid']}`);
const schema = md.schemas.find((s) => s['schema-id'] === md['current-schema-id']);
if (!schema) fail('no current schema');
const allIds = [];
const walk = (t) => {
  if (typeof t !== 'object') return;
  if (t.type === 'struct') for (const f of t.fields) { need(f, ['id', 'name', 'required', 'type'], 'field'); allIds.push(f.id); walk(f.type); }
  if (t.type === 'list') { allIds.push(t['element-id']); walk(t.element); }
  if (t.type === 'map') { allIds.push(t['key-id'], t['value-id']); walk(t.key); walk(t.value); }
};
walk(schema);
if (new Set(allIds).size !== allIds.length) fail(`duplicate field ids ${allIds}`);
if (Math.max(...allIds) > md['last-column-id']) fail('a field id above last-column-id');
let lastSeq = 0, lastTs = 0;
for (const s of md.snapshots) {
  need(s, ['snapshot-id', 'sequence-number', 'timestamp-ms', 'manifest-list', 'summary', 'schema-id'], 'snapshot');
  if (!['append', 'overwrite', 'replace', 'delete'].includes(s.summary.operation)) fail(`operation ${s.summary.operation}`);
  if (s['sequence-number'] <= lastSeq || s['timestamp-ms'] <= lastTs) fail('snapshots not in sequence/time order');
  lastSeq = s['sequence-number']; lastTs = s['timestamp-ms'];
}
if (lastSeq !== md['last-sequence-number']) fail('last-sequence-number is not the last snapshot\'s');
if (md['snapshot-log'].length !== md.snapshots.length) fail('snapshot-log length');
if (md['metadata-log'].length !== Number(hint) - 1) fail(`metadata-log has ${md['metadata-log'].length} entries for v${hint}`);
const cur = md.snapshots.find((s) => s['snapshot-id'] === md['current-snapshot-id']);
if (!cur) fail('no current snapshot');

// Avro longs as BigInt (snapshot ids do not fit a double).
const longType = avro.types.LongType.__with({
  fromBuffer: (buf) => buf.readBigInt64LE(),
  toBuffer: (n) => { const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(n)); return b; },
  fromJSON: BigInt, toJSON: Number,
  isValid: (n) => typeof n === 'bigint',
  compare: (a, b) => (a < b ? -1 : a > b ? 1 : 0),
});
const readAvro = (path) => new Promise((resolve, reject) => {
  const recs = []; let header;
  avro.createFileDecoder(path, { parseHook: (schema) => avro.Type.forSchema(schema, { registry: { long: longType } }) })
    .on('metadata', (type, codec, h) => { header = h; })
    .on('data', (r) => recs.push(r)).on('end', () => resolve({ recs, header })).on('error', reject);
});
const fieldIds = (schemaText) => JSON.stringify(JSON.parse(schemaText)).match(/"field-id":\d+/g).length;

const list = await readAvro(cur['manifest-list']);
if (fieldIds(list.header.meta['avro.schema'].toString()) < 13) fail('manifest list schema lacks field ids');
const files = [];
const entries = [];
// A partition value as the spec's single-value serialization (Appendix D) orders it.
const specOf = new Map(md['partition-specs'].map((s) => [s['spec-id'], s]));
const resultType = (pf) => {
  if (pf.transform !== 'identity' && !pf.transform.startsWith('truncate[')) return 'int';
  const f = schema.fields.find((x) => x.id === pf['source-id']);
  return f ? f.type : '?';
};
const boundOf = (type, b) => {
  if (type === 'int' || type === 'date') return BigInt(b.readInt32LE(0));
  if (type === 'long' || type === 'time' || type === 'timestamptz') return b.readBigInt64LE(0);
  if (type === 'boolean') return BigInt(b[0]);
  return b.toString('hex');  // string, binary: unsigned byte order is hex order
};
const valueOf = (type, v) => (type === 'string' ? Buffer.from(v, 'utf8').toString('hex')
  : type === 'binary' ? Buffer.from(v).toString('hex') : type === 'boolean' ? BigInt(v ? 1 : 0) : BigInt(v));
let summariesChecked = 0;
for (const m of list.recs) {
  need(m, ['manifest_path', 'manifest_length', 'partition_spec_id', 'content', 'sequence_number', 'min_sequence_number',
    'added_snapshot_id', 'added_files_count', 'existing_files_count', 'deleted_files_count', 'added_rows_count',
    'existing_rows_count', 'deleted_rows_count'], 'manifest_file');
  const man = await readAvro(m.manifest_path);
  for (const k of ['schema', 'partition-spec', 'format-version', 'content'])
    if (!man.header.meta[k]) fail(`manifest metadata lacks ${k}`);
  let rows = 0;
  for (const e of man.recs) {
    need(e, ['status', 'snapshot_id', 'data_file'], 'manifest_entry');
    if (String(e.snapshot_id) !== String(m.added_snapshot_id)) fail(`entry snapshot ${e.snapshot_id} != manifest's ${m.added_snapshot_id}`);
    need(e.data_file, ['content', 'file_path', 'file_format', 'partition', 'record_count', 'file_size_in_bytes'], 'data_file');
    if (e.data_file.file_format !== 'PARQUET') fail(`file_format ${e.data_file.file_format}`);
    if (!existsSync(e.data_file.file_path)) fail(`missing data file ${e.data_file.file_path}`);
    files.push(e.data_file.file_path);
    entries.push({ df: e.data_file, specId: m.partition_spec_id });
    rows += Number(e.data_file.record_count);
  }
  if (rows !== Number(m.added_rows_count) + Number(m.existing_rows_count)) fail(`manifest rows ${rows} != list's`);
  // The list's partition summaries (field 507) against the manifest's own entries.
  const spec = specOf.get(m.partition_spec_id);
  if (m.partitions === null) fail(`${m.manifest_path}: no partition summaries`);
  else if (spec && m.partitions.length !== spec.fields.length) fail(`${m.manifest_path}: ${m.partitions.length} summaries for ${spec.fields.length} fields`);
  else if (spec) {
    spec.fields.forEach((pf, i) => {
      const sum = m.partitions[i], type = resultType(pf);
      const vals = man.recs.map((e) => e.data_file.partition[pf.name]);
      const present = vals.filter((v) => v !== null).map((v) => valueOf(type, v));
      if (sum.contains_null !== vals.some((v) => v === null)) fail(`${pf.name}: contains_null ${sum.contains_null}`);
      if (sum.contains_nan === true) fail(`${pf.name}: contains_nan for a ${type} field`);
      if (type === 'uuid') return;
      const lt = (a, b) => (a < b ? -1 : a > b ? 1 : 0);
      present.sort(lt);
      const want = present.length ? [present[0], present[present.length - 1]] : [null, null];
      const got = [sum.lower_bound, sum.upper_bound].map((b) => (b === null ? null : boundOf(type, b)));
      if (String(got) !== String(want)) fail(`${pf.name}: summary bounds ${got}, entries ${want}`);
      summariesChecked++;
    });
  }
}
const summaryRecords = Number(cur.summary['total-records']);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
// year()/month() of a TIMESTAMPTZ follow the session's zone (the machine's by default); Iceberg's are UTC.
await con.run(`SET TimeZone = 'UTC'`);
let total = 0;
if (files.length) {
  const src = `read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`;
  const r = await (await con.runAndReadAll(`SELECT count(*)::INTEGER AS n FROM ${src}`)).getRowObjects();
  total = Number(r[0].n);
  // The Parquet field ids are the Iceberg schema's.
  const ps = await (await con.runAndReadAll(`SELECT name, field_id FROM parquet_schema('${files[0]}') WHERE field_id IS NOT NULL`)).getRowObjects();
  for (const f of schema.fields) {
    const p = ps.find((x) => x.name === f.name);
    if (p && Number(p.field_id) !== f.id) fail(`parquet field_id of ${f.name}: ${p.field_id}, schema ${f.id}`);
  }
  if (!ps.length) fail('no field ids in the Parquet schema');
}
if (total !== summaryRecords) fail(`DuckDB counts ${total}, summary total-records ${summaryRecords}`);

// Partition values and column metrics of every entry against what DuckDB reads from its file.
// murmur3_x86_32 (seed 0), written here from the algorithm's description, for bucket[N].
const murmur3 = (buf) => {
  let h = 0;
  const c1 = 0xcc9e2d51, c2 = 0x1b873593, n = buf.length, blocks = n >> 2;
  const mixk = (k) => Math.imul(((k = Math.imul(k, c1)) << 15) | (k >>> 17), c2);
  for (let i = 0; i < blocks; i++) {
    h ^= mixk(buf.readInt32LE(4 * i));
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  let k = 0;
  const t = blocks * 4;
  if ((n & 3) >= 3) k ^= buf[t + 2] << 16;
  if ((n & 3) >= 2) k ^= buf[t + 1] << 8;
  if ((n & 3) >= 1) { k ^= buf[t]; h ^= mixk(k); }
  h ^= n;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) | 0;
};
if (murmur3(Buffer.from('iceberg')) !== 1210000089) fail('test murmur3 disagrees with the spec');
const specs = new Map(md['partition-specs'].map((s) => [s['spec-id'], s]));
const fieldById = new Map(schema.fields.map((f) => [f.id, f]));
const q = async (sql) => (await con.runAndReadAll(sql)).getRowObjects();
const mapOf = (arr) => new Map((arr || []).map((x) => [x.key, x.value]));
let partitioned = 0, metricsChecked = 0, nansChecked = 0;
// At most 30 files (spread over the table) keep the check to seconds; MAX_FILES=0: all.
const maxFiles = Number(process.env.MAX_FILES ?? 30) || entries.length;
const step = Math.max(1, Math.ceil(entries.length / maxFiles));
const sample = entries.filter((_, i) => i % step === 0);
for (const { df, specId } of sample) {
  const spec = specs.get(specId);
  if (!spec) { fail(`no partition spec ${specId}`); continue; }
  const file = `read_parquet('${df.file_path}')`;
  for (const pf of spec.fields) {
    const col = `"${fieldById.get(pf['source-id']).name}"`;
    const want = df.partition[pf.name];
    let got;
    // floor(e / n) in exact integer arithmetic (DuckDB's // truncates towards zero).
    const floorDiv = (e, n) => `(((${e}) - (((${e}) % ${n}) + ${n}) % ${n}) // ${n})`;
    if (pf.transform === 'day') got = await q(`SELECT DISTINCT ${floorDiv(`epoch_us(${col})`, 86400000000)}::BIGINT AS v FROM ${file}`);
    else if (pf.transform === 'hour') got = await q(`SELECT DISTINCT ${floorDiv(`epoch_us(${col})`, 3600000000)}::BIGINT AS v FROM ${file}`);
    else if (pf.transform.startsWith('truncate[')) {
      // The spec's truncate[W]: v - (((v % W) + W) % W) for ints; the first W code points of a string
      // (DuckDB's substring counts code points).
      const w = Number(pf.transform.slice(9, -1));
      const type = fieldById.get(pf['source-id']).type;
      if (type === 'string') got = await q(`SELECT DISTINCT substring(${col}, 1, ${w}) AS v FROM ${file}`);
      else if (type === 'int' || type === 'long') got = await q(`SELECT DISTINCT (${col}::HUGEINT - ((${col}::HUGEINT % ${w}) + ${w}) % ${w})::BIGINT AS v FROM ${file}`);
      else { fail(`${pf.name}: truncate of ${type} is not checked here`); continue; }
    }
    else if (pf.transform === 'month') got = await q(`SELECT DISTINCT ((year(${col}) - 1970) * 12 + month(${col}) - 1)::BIGINT AS v FROM ${file}`);
    else if (pf.transform === 'year') got = await q(`SELECT DISTINCT (year(${col}) - 1970)::BIGINT AS v FROM ${file}`);
    else if (pf.transform.startsWith('bucket[')) {
      const n = Number(pf.transform.slice(7, -1));
      const vals = await q(`SELECT DISTINCT ${col}::BIGINT AS v FROM ${file}`);
      const bs = new Set(vals.map((r) => {
        if (r.v === null) return null;
        const b = Buffer.alloc(8); b.writeBigInt64LE(BigInt(r.v));
        return (murmur3(b) & 0x7fffffff) % n;
      }));
      got = [...bs].map((v) => ({ v }));
    } else got = await q(`SELECT DISTINCT ${col} AS v FROM ${file}`);
    const vs = got.map((r) => (r.v === null ? null : typeof r.v === 'bigint' ? String(r.v) : r.v));
    if (vs.length !== 1 || String(vs[0]) !== String(want === null ? null : want))
      fail(`${df.file_path}: partition ${pf.name}=${want}, DuckDB reads ${JSON.stringify(vs)}`);
    else partitioned++;
  }
  if (process.env.PRINT_PARTITIONS && spec.fields.length)
    console.log(`partition ${spec.fields.map((pf) => `${pf.name}=${df.partition[pf.name]}`).join(',')}`);
  // Metrics of top-level primitive columns.
  const vc = mapOf(df.value_counts), nc = mapOf(df.null_value_counts), nan = mapOf(df.nan_value_counts);
  const lo = mapOf(df.lower_bounds), hi = mapOf(df.upper_bounds);
  for (const [id, count] of vc) {
    const f = fieldById.get(id);
    if (!f || typeof f.type !== 'string') { fail(`value_counts for field ${id}, not a top-level primitive`); continue; }
    const col = `"${f.name}"`;
    const [r] = await q(`SELECT count(*)::BIGINT AS n, count(${col})::BIGINT AS nn FROM ${file}`);
    // nan_value_counts: exactly the float and double columns, with DuckDB's count of NaNs.
    if (f.type === 'float' || f.type === 'double') {
      const [x] = await q(`SELECT count(*) FILTER (WHERE isnan(${col}))::BIGINT AS n FROM ${file}`);
      if (!nan.has(id) || BigInt(nan.get(id)) !== BigInt(x.n)) fail(`${f.name}: nan_value_counts ${nan.get(id)}, DuckDB ${x.n}`);
      else if (x.n > 0n) nansChecked++;
    } else if (nan.has(id)) fail(`${f.name}: nan_value_counts for a ${f.type} column`);
    if (BigInt(count) !== BigInt(r.n) || BigInt(nc.get(id)) !== BigInt(r.n) - BigInt(r.nn))
      fail(`${f.name}: value/null counts ${count}/${nc.get(id)}, DuckDB ${r.n}/${BigInt(r.n) - BigInt(r.nn)}`);
    const decode = (b) => {
      switch (f.type) {
        case 'int': return String(b.readInt32LE(0));
        case 'date': return String(b.readInt32LE(0));
        case 'long': case 'timestamptz': case 'time': return String(b.readBigInt64LE(0));
        case 'double': return String(b.readDoubleLE(0));
        case 'float': return String(b.readFloatLE(0));
        case 'boolean': return String(b[0] !== 0);
        case 'string': return b.toString('utf8');
        default: return b.toString('hex');
      }
    };
    const expr = { date: (x) => `(${x} - DATE '1970-01-01')::BIGINT`, timestamptz: (x) => `epoch_us(${x})::BIGINT`,
      time: (x) => `(epoch_us(${x}))::BIGINT`, float: (x) => `${x}::DOUBLE`, boolean: (x) => `${x}::VARCHAR`,
      binary: (x) => `hex(${x})` }[f.type] || ((x) => x);
    if (lo.has(id) || hi.has(id)) {
      // Bounds leave NaN out (DuckDB orders it above every number).
      const agg = (fn) => (f.type === 'float' || f.type === 'double' ? `${fn}(${col}) FILTER (WHERE NOT isnan(${col}))` : `${fn}(${col})`);
      const [b] = await q(`SELECT ${expr(agg('min'))} AS lo, ${expr(agg('max'))} AS hi FROM ${file}`);
      const norm = (v) => (f.type === 'binary' ? String(v).toLowerCase() : f.type === 'float' ? String(Math.fround(Number(v))) : String(v));
      if (lo.has(id)) {
        const l = decode(lo.get(id));
        // Strings may be truncated: a lower bound is a prefix of the minimum.
        if (f.type === 'string' ? !String(b.lo).startsWith(l) : l !== norm(b.lo)) fail(`${f.name}: lower bound ${l}, DuckDB min ${b.lo}`);
      }
      if (hi.has(id) && decode(hi.get(id)) !== norm(b.hi)) fail(`${f.name}: upper bound ${decode(hi.get(id))}, DuckDB max ${b.hi}`);
      if (f.type === 'float' && lo.has(id) && !(Math.fround(Number(b.lo)) === Number(decode(lo.get(id))))) fail(`${f.name}: float bound`);
    }
    metricsChecked++;
  }
  let sizes = 0n;
  for (const { key, value } of df.column_sizes || []) {
    if (!allIds.includes(key)) fail(`column_sizes for unknown field ${key}`);
    sizes += BigInt(value);
  }
  if (sizes > BigInt(df.file_size_in_bytes)) fail('column_sizes exceed the file size');
}
// hyparquet (a second reader we did not write; it has no zstd without an extra
// package): every snappy/uncompressed data file's rows and field ids.
let hyp = 0;
for (const { df } of sample) {
  const file = await asyncBufferFromFile(df.file_path);
  const meta = await parquetMetadataAsync(file);
  const codecs = new Set(meta.row_groups.flatMap((g) => g.columns.map((c) => c.meta_data.codec)));
  if ([...codecs].some((c) => c !== 'SNAPPY' && c !== 'UNCOMPRESSED')) continue;
  const rowsRead = await parquetReadObjects({ file });
  if (rowsRead.length !== Number(df.record_count)) fail(`hyparquet reads ${rowsRead.length} rows of ${df.file_path}, manifest ${df.record_count}`);
  for (const f of schema.fields) {
    const el = meta.schema.find((x) => x.name === f.name);
    if (!el || el.field_id !== f.id) fail(`hyparquet: field_id of ${f.name} is ${el && el.field_id}, schema ${f.id}`);
  }
  hyp++;
}
console.log(`hyparquet files ${hyp}`);
console.log(`partition values checked ${partitioned}`);
console.log(`metrics checked ${metricsChecked}`);
console.log(`nan counts checked ${nansChecked}`);
console.log(`partition summaries checked ${summariesChecked}`);
console.log(`specs ${md['partition-specs'].map((s) => `${s['spec-id']}:${s.fields.map((f) => `${f.name}=${f.transform}@${f['field-id']}`).join(',')}`).join(' ')}`);
console.log(`rows ${total}`);
console.log(`snapshots ${md.snapshots.length}`);
console.log(`schemas ${md.schemas.length}`);
console.log(`ids ${md.schemas.map((s) => s.fields.map((f) => `${f.name}=${f.id}`).join(',')).join(' | ')}`);
