// Prints every row of the Parquet files FILES... (globs allowed) as DuckDB reads
// them, one JSON object per line, each column reduced by DuckDB itself to text:
// integers, booleans, strings, dates, uuids and decimals as DuckDB casts them to
// VARCHAR; float and double as the double's shortest text; timestamps as
// microseconds since the epoch; blobs as hex; lists, maps and structs as
// DuckDB's to_json. compare_values.py holds these against what the Python
// driver reads from the table.
import { DuckDBInstance } from '@duckdb/node-api';

const files = process.argv.slice(2);
if (!files.length) { console.error('usage: duckdb_values.mjs FILE_OR_GLOB...'); process.exit(2); }
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const src = `read_parquet([${files.map((f) => `'${f}'`).join(', ')}])`;
const desc = await (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects();
const exprs = desc.map(({ column_name: name, column_type: type }) => {
  const c = `"${name}"`;
  let e;
  if (/^(STRUCT|MAP)\(|\[\d*\]$/.test(type)) e = `to_json(${c})::VARCHAR`;
  else if (type === 'FLOAT' || type === 'DOUBLE') e = `${c}::DOUBLE`;
  else if (type.startsWith('TIMESTAMP')) e = `epoch_us(${c})::VARCHAR`;
  else if (type === 'BLOB') e = `lower(hex(${c}))`;
  else e = `${c}::VARCHAR`;
  return `${e} AS "${name}"`;
});
const reader = await con.runAndReadAll(`SELECT ${exprs.join(', ')} FROM ${src}`);
const out = [];
for (const row of reader.getRowObjects()) {
  const o = {};
  for (const [k, v] of Object.entries(row)) o[k] = v === null ? null : typeof v === 'number' ? String(v) : String(v);
  out.push(JSON.stringify(o));
}
process.stdout.write(out.join('\n') + '\n');
console.error(`types ${desc.map((d) => `${d.column_name}:${d.column_type}`).join(' ')}`);
