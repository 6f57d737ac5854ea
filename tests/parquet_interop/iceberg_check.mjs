// Checks an Iceberg table written by cqlpp with readers we did not write:
// the metadata JSON against the v2 spec's required fields, the manifest list
// and manifests with avsc (required fields, field ids in their Avro schemas),
// every data file of the current snapshot exists, and DuckDB reads them all
// (field ids in the Parquet schema match the Iceberg schema). Prints
// "rows N" (DuckDB's count over the current snapshot's files) and
// "snapshots N", "schemas N", "ids NAME=ID ..." for the shell test.
import avro from 'avsc';
import { DuckDBInstance } from '@duckdb/node-api';
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
    rows += Number(e.data_file.record_count);
  }
  if (rows !== Number(m.added_rows_count) + Number(m.existing_rows_count)) fail(`manifest rows ${rows} != list's`);
}
const summaryRecords = Number(cur.summary['total-records']);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
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
console.log(`rows ${total}`);
console.log(`snapshots ${md.snapshots.length}`);
console.log(`schemas ${md.schemas.length}`);
console.log(`ids ${md.schemas.map((s) => s.fields.map((f) => `${f.name}=${f.id}`).join(',')).join(' | ')}`);
