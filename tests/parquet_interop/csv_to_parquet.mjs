// The two-step path a user has without a direct Parquet unload: DuckDB (node
// @duckdb/node-api) converts CSV files to one zstd Parquet file. Used by
// bench/bulk/run.sh. Usage: node csv_to_parquet.mjs 'DIR/*.csv' OUT.parquet
import { DuckDBInstance } from '@duckdb/node-api';

const [glob, out] = process.argv.slice(2);
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const t0 = performance.now();
await con.run(`COPY (SELECT * FROM read_csv('${glob}', header = true)) TO '${out}' (FORMAT parquet, COMPRESSION zstd)`);
const r = await (await con.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet('${out}')`)).getRowObjects();
console.log(JSON.stringify({ rows: Number(r[0].n), seconds: (performance.now() - t0) / 1000 }));
