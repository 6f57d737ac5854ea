// Runs one DuckDB SQL query (e.g. over parquet_metadata() or read_parquet())
// and prints each result row as its columns' text joined by tabs, NULL as
// "NULL": shell tests read footers and types with a reader we did not write.
import { DuckDBInstance } from '@duckdb/node-api';

const [sql] = process.argv.slice(2);
if (!sql) { console.error('usage: duckdb_query.mjs SQL'); process.exit(2); }
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
const reader = await con.runAndReadAll(sql);
for (const row of reader.getRowsJS()) console.log(row.map((v) => (v === null ? 'NULL' : String(v))).join('\t'));
