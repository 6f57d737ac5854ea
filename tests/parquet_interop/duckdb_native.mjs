// Parquet files DuckDB writes from its own types (not rewritten from ours), for
// `cqlpp bulk load --format parquet` (tests/cli/test_parquet_duckdb.sh).
// usage: duckdb_native.mjs OUT
// Writes OUT/spec.json (each column: DuckDB type, the CQL type it loads into,
// how its value is compared), OUT/<variant>/x.parquet for every compression
// with DuckDB's default (V1) and PARQUET_VERSION V2 writer, OUT/expected.jsonl
// (every value as DuckDB reads it back from its table, reduced to text by
// DuckDB), and prints the encodings each variant's column chunks use
// (parquet_metadata), one line per variant: "encodings VARIANT: E1 E2 ...".
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdirSync, writeFileSync } from 'node:fs';

const out = process.argv[2];
if (!out) { console.error('usage: duckdb_native.mjs OUT'); process.exit(2); }
const N = 160;

// [name, DuckDB type, CQL type, canonical form, values(i) -> SQL literal]
// Rows 0 and 1 hold each type's extremes, row 2 is all nulls, rows 3-7 the
// special floats; the other rows repeat values so DuckDB picks dictionaries.
const sp = (i, lo, hi, reg) => (i === 0 ? lo : i === 1 ? hi : i === 2 ? 'NULL' : reg);
const cols = [
  ['k', 'INTEGER', 'int', 'int', (i) => `${i}`],
  ['ti', 'TINYINT', 'tinyint', 'int', (i) => sp(i, '-128', '127', `${(i % 50) - 25}`)],
  ['si', 'SMALLINT', 'smallint', 'int', (i) => sp(i, '-32768', '32767', `${i * 7 - 300}`)],
  ['i', 'INTEGER', 'int', 'int', (i) => sp(i, '-2147483648', '2147483647', `${(i % 9) * 100003 - 400000}`)],
  ['bi', 'BIGINT', 'bigint', 'int', (i) => sp(i, '-9223372036854775808', '9223372036854775807', `${i * 123456789012345 - 9000000000000000}`)],
  ['ui', 'UINTEGER', 'bigint', 'int', (i) => sp(i, '0', '4294967295', `${i * 26000000}`)],
  ['ub', 'UBIGINT', 'varint', 'int', (i) => sp(i, '0', '18446744073709551615', `${BigInt(i % 4) * 4611686018427387904n + BigInt(i)}`)],
  ['f', 'FLOAT', 'float', 'float', (i) => sp(i, "'-3.4028235e38'", "'3.4028235e38'",
    ["'nan'", "'-inf'", "'inf'", "'-0.0'", "'1e-45'"][i - 3] ?? `${(i % 13) + 0.25}`)],
  ['d', 'DOUBLE', 'double', 'float', (i) => sp(i, "'-1.7976931348623157e308'", "'1.7976931348623157e308'",
    ["'nan'", "'-inf'", "'inf'", "'-0.0'", "'5e-324'"][i - 3] ?? `${i * 1.1}`)],
  ['b', 'BOOLEAN', 'boolean', 'bool', (i) => sp(i, 'false', 'true', i % 3 === 0 ? 'true' : 'false')],
  ['t', 'VARCHAR', 'text', 'text', (i) => sp(i, "''", "'ñ€𝄞 \"q\" '' \\ " + 'x'.repeat(300) + "'", `'text ${i % 10}'`)],
  ['tx', 'VARCHAR', 'ascii', 'text', (i) => sp(i, "''", "'~'", `'${'p'.repeat(i % 40)}${i}'`)],
  ['bl', 'BLOB', 'blob', 'hex', (i) => sp(i, "from_hex('')", `from_hex('00ff${'ab'.repeat(100)}')`, `from_hex('0a0b${(i % 6).toString(16).padStart(2, '0')}')`)],
  ['u', 'UUID', 'uuid', 'text', (i) => sp(i, "'00000000-0000-0000-0000-000000000000'", "'ffffffff-ffff-ffff-ffff-ffffffffffff'",
    `'123e4567-e89b-12d3-a456-4266141${String(i % 20).padStart(5, '0')}'`)],
  ['dt', 'DATE', 'date', 'int', (i) => sp(i, "'5877642-06-25 (BC)'", "'5881580-07-10'", `'19${50 + (i % 40)}-0${1 + (i % 9)}-1${i % 10}'`)],
  ['tm', 'TIME', 'time', 'time_us', (i) => sp(i, "'00:00:00'", "'23:59:59.999999'", `'${String(i % 24).padStart(2, '0')}:0${i % 10}:00.${i}'`)],
  ['ts', 'TIMESTAMP', 'timestamp', 'ts_us', (i) => sp(i, "'-290307-12-31'", "'294247-01-01'",
    i === 3 ? "'1969-12-31 23:59:59.9995'" : `'20${10 + (i % 20)}-01-01 00:00:01.${i}'`)],
  ['ts_ms', 'TIMESTAMP_MS', 'timestamp', 'ts_ms', (i) => sp(i, "'-290307-12-31'", "'294247-01-01'", `'1960-01-01 00:00:00.${String(i % 7).padStart(3, '0')}'`)],
  ['ts_ns', 'TIMESTAMP_NS', 'timestamp', 'ts_ns', (i) => sp(i, "'1677-09-22 00:12:44'", "'2262-04-11 23:47:16.854775'",
    i === 3 ? "'1969-12-31 23:59:59.999999999'" : `'2020-01-01 00:00:00.123456${String(i).padStart(3, '0')}'`)],
  ['ts_s', 'TIMESTAMP_S', 'timestamp', 'ts_ms', (i) => sp(i, "'-290307-12-31'", "'294247-01-01'", `'2001-02-03 04:05:${String(i % 60).padStart(2, '0')}'`)],
  ['tz', 'TIMESTAMPTZ', 'timestamp', 'ts_us', (i) => sp(i, "'1677-09-22 00:00:00+00'", "'2262-04-11 23:47:16+00'", `'2020-06-01 12:00:00.${i}+0${i % 10}'`)],
  ['d4', 'DECIMAL(4,1)', 'decimal', 'dec', (i) => sp(i, "'-999.9'", "'999.9'", `'${(i % 100) / 10 - 5}'`)],
  ['d9', 'DECIMAL(9,2)', 'decimal', 'dec', (i) => sp(i, "'-9999999.99'", "'9999999.99'", `'${i}.0${i % 10}'`)],
  ['d18', 'DECIMAL(18,4)', 'decimal', 'dec', (i) => sp(i, "'-99999999999999.9999'", "'99999999999999.9999'", `'-${i}${i}${i}.${i % 10}'`)],
  ['d38', 'DECIMAL(38,10)', 'decimal', 'dec', (i) => sp(i, `'-${'9'.repeat(28)}.${'9'.repeat(10)}'`, `'${'9'.repeat(28)}.${'9'.repeat(10)}'`,
    `'${i}${'0'.repeat(20)}.000000000${i % 10}'`)],
  ['vi', 'DECIMAL(38,0)', 'varint', 'int', (i) => sp(i, `'-${'9'.repeat(38)}'`, `'${'9'.repeat(38)}'`, `'${i}${'7'.repeat(i % 30)}'`)],
  ['iv', 'INTERVAL', 'duration', 'interval', (i) => sp(i, "INTERVAL '0 seconds'",
    "to_months(2147483647) + to_days(2147483647) + INTERVAL '23:59:59.999'", `INTERVAL '${i % 5} months ${i} days ${i % 3}.${i % 7} seconds'`)],
  ['l', 'INTEGER[]', 'list<int>', 'list', (i) => sp(i, '[-2147483648, 2147483647]', '[]', `[${i}, ${i + 1}, ${i % 3}]`)],
  ['st', 'VARCHAR[]', 'set<text>', 'set', (i) => sp(i, "['b', 'a', 'b']", "['']", `['x', 'y${i % 5}']`)],
  ['m', 'MAP(VARCHAR, INTEGER)', 'map<text, int>', 'map', (i) => sp(i, 'MAP {}', "MAP {'z': 2147483647, 'a': -2147483648}", `MAP {'a': ${i}, 'b': -1}`)],
  ['tup', 'STRUCT(a INTEGER, b VARCHAR)', 'frozen<tuple<int, text>>', 'tuple', (i) => sp(i, "{'a': NULL, 'b': 'x'}", "{'a': 2147483647, 'b': NULL}", `{'a': ${i}, 'b': 's${i % 4}'}`)],
  ['ud', 'STRUCT(y VARCHAR, x DOUBLE)', 'frozen<pt>', 'udt', (i) => sp(i, "{'y': '', 'x': NULL}", "{'y': 'yy', 'x': 1e300}", `{'y': 'v${i % 3}', 'x': ${i}.5}`)],
  ['nl', 'INTEGER[][]', 'list<frozen<list<int>>>', 'list', (i) => sp(i, '[[-1], [2, 3]]', '[[7]]', `[[${i}], [${i % 5}, 1]]`)],
];

const db = await DuckDBInstance.create(':memory:');
const con = await db.connect();
await con.run(`SET TimeZone = 'UTC'`);
await con.run(`CREATE TABLE x (${cols.map(([n, t]) => `"${n}" ${t}`).join(', ')})`);
const rows = [];
for (let i = 0; i < N; i++) rows.push(`(${cols.map(([n, t, , , v]) => (n === 'k' ? v(i) : `CAST(${v(i)} AS ${t})`)).join(', ')})`);
await con.run(`INSERT INTO x VALUES ${rows.join(',\n')}`);

const variants = [];
for (const version of ['V1', 'V2']) {
  for (const comp of ['zstd', 'snappy', 'uncompressed']) {
    const name = `${version.toLowerCase()}_${comp}`;
    mkdirSync(`${out}/${name}`, { recursive: true });
    // Small row groups: several per file, each with its own dictionaries.
    await con.run(`COPY x TO '${out}/${name}/x.parquet' (FORMAT parquet, COMPRESSION ${comp}, PARQUET_VERSION ${version}, ROW_GROUP_SIZE 64)`);
    variants.push(name);
  }
}
for (const v of variants) {
  const r = await (await con.runAndReadAll(
    `SELECT DISTINCT unnest(string_split(encodings, ', ')) e FROM parquet_metadata('${out}/${v}/x.parquet') WHERE encodings <> '' ORDER BY e`)).getRowObjects();
  console.log(`encodings ${v}: ${r.map((x) => x.e).join(' ')}`);
}

// Every value as DuckDB holds it, as text.
const canon = (n, t, kind) => {
  const c = `"${n}"`;
  switch (kind) {
    case 'float': return `${c}::DOUBLE::VARCHAR`;
    case 'hex': return `lower(hex(${c}))`;
    case 'time_us': return `epoch_us(${c})::VARCHAR`;
    case 'ts_us': return `epoch_us(${c})::VARCHAR`;
    case 'ts_ms': return `epoch_ms(${c})::VARCHAR`;
    case 'ts_ns': return `epoch_ns(${c})::VARCHAR`;
    case 'interval': return `json_array(datepart('year', ${c}) * 12 + datepart('month', ${c}), datepart('day', ${c}),
      datepart('hour', ${c}) * 3600000000 + datepart('minute', ${c}) * 60000000 + datepart('microseconds', ${c}))::VARCHAR`;
    case 'list': case 'set': case 'map': case 'tuple': case 'udt': return `to_json(${c})::VARCHAR`;
    default: return t === 'DATE' ? `(${c} - DATE '1970-01-01')::VARCHAR` : `${c}::VARCHAR`;
  }
};
const sel = cols.map(([n, t, , kind]) => `${canon(n, t, kind)} AS "${n}"`).join(', ');
const got = await (await con.runAndReadAll(`SELECT ${sel} FROM x ORDER BY k`)).getRowObjects();
writeFileSync(`${out}/expected.jsonl`, got.map((r) => JSON.stringify(r)).join('\n') + '\n');
writeFileSync(`${out}/spec.json`, JSON.stringify(cols.map(([name, duck, cql, kind]) => ({ name, duck, cql, kind }))));
console.log(`rows ${got.length} columns ${cols.length} variants ${variants.length}`);
