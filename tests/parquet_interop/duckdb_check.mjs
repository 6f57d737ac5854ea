// Reads every cqlpp-written Parquet file of DIR with DuckDB (every column),
// prints "rows N", and rewrites them with DuckDB's own writer per compression
// into OUT/<compression>/x.parquet.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync } from 'node:fs';
const [dir, out] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const src = `read_parquet('${dir}/*.parquet')`;
const rows = await (await con.runAndReadAll(`SELECT * FROM ${src}`)).getRowObjects();
console.log(`rows ${rows.length}`);
const desc = await (await con.runAndReadAll(`DESCRIBE SELECT * FROM ${src}`)).getRowObjects();
for (const d of desc) console.log(`${d.column_name} ${d.column_type}`);
for (const comp of ['zstd', 'snappy', 'uncompressed']) {
  mkdirSync(`${out}/${comp}`, { recursive: true });
  await con.run(`COPY (SELECT * FROM ${src}) TO '${out}/${comp}/x.parquet' (FORMAT parquet, COMPRESSION ${comp})`);
}
