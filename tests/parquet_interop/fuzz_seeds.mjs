// Writes the DuckDB-made seeds of the Parquet fuzz target (tests/fuzz/seeds/parquet,
// committed; tests/fuzz/make_seeds.py copies them into the corpus): small files
// of DuckDB's PARQUET_VERSION V2 writer, whose encodings our writer never makes
// (DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, BYTE_STREAM_SPLIT, RLE_DICTIONARY,
// data pages v2), with column names and types of the target's all-types table so
// the reader gets past the schema. Run once (node fuzz_seeds.mjs OUT_DIR); it
// prints each file's size and encodings.
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, statSync } from 'node:fs';

const out = process.argv[2];
if (!out) { console.error('usage: fuzz_seeds.mjs OUT_DIR'); process.exit(2); }
mkdirSync(out, { recursive: true });
const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET TimeZone = 'UTC'`);
const N = '(SELECT r.i::INTEGER AS i FROM range(48) r(i))';
// [file, compression, SELECT list over i]; every 7th row nulls (but k): definition levels.
const nul = (e) => `CASE WHEN i % 7 = 3 THEN NULL ELSE ${e} END`;
const files = [
  ['v2_ints', 'uncompressed', `i::INTEGER AS k, ${nul('(i % 5 - 2)::TINYINT')} AS ti, ${nul('(i * 300 - 7000)::SMALLINT')} AS si,
    ${nul('(i::BIGINT * i * 1000003 - 5)')} AS bi, ${nul("DATE '2020-01-01' + i")} AS dt,
    ${nul("TIMESTAMP '2021-03-04 05:06:07' + to_microseconds(i::BIGINT * 1234567)")} AS ts, ${nul("TIME '01:02:03' + to_seconds(i % 4)")} AS tm`],
  ['v2_floats', 'snappy', `i::INTEGER AS k, ${nul('(i * 1.37 - 20)::FLOAT')} AS f, ${nul("CASE WHEN i = 5 THEN 'nan'::DOUBLE ELSE i / 3.0 END")} AS d,
    ${nul('i % 3 = 0')} AS b`],
  ['v2_text', 'zstd', `i::INTEGER AS k, ${nul("'row ' || i || repeat('x', i % 5)")} AS t, ${nul("['p', 'q', 'r'][i % 3 + 1]")} AS a,
    ${nul("from_hex(printf('%02x%02x', i, i * 3))")} AS bl, ${nul('(i * 1.125)::DECIMAL(18,3)')} AS dec,
    ${nul("('123e4567-e89b-12d3-a456-4266141' || (10000 + i))::UUID")} AS u`],
  ['v2_nested', 'uncompressed', `i::INTEGER AS k, ${nul('[i, i + 1, NULL][1:i % 4]')} AS l, ${nul("['a' || (i % 3), 'b']")} AS s,
    ${nul("MAP {'x': i::BIGINT, 'y' || (i % 2): -1::BIGINT}")} AS m, ${nul('[[i], [], [i % 3, 7]][1:i % 4]')} AS ll,
    ${nul("{'a': i, 'b': 's' || (i % 4)}")} AS tup`],
];
for (const [name, comp, sel] of files) {
  const path = `${out}/duckdb_${name}.parquet`;
  await con.run(`COPY (SELECT ${sel} FROM ${N}) TO '${path}' (FORMAT parquet, COMPRESSION ${comp}, PARQUET_VERSION V2, ROW_GROUP_SIZE 32)`);
  const r = await (await con.runAndReadAll(
    `SELECT DISTINCT unnest(string_split(encodings, ', ')) e FROM parquet_metadata('${path}') WHERE encodings <> '' ORDER BY e`)).getRowObjects();
  console.log(`${name}: ${statSync(path).size} bytes, ${r.map((x) => x.e).join(' ')}`);
}
