// Engine tests: CREATE INDEX (legacy 2i and SAI), DROP INDEX, system_schema.indexes
// and indexed queries without ALLOW FILTERING, as Cassandra 5.0 answers them.
#include "test_engine_util.hpp"

using namespace engine_test;

namespace {

const char* filtering =
    "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. "
    "If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

void index_schema(fixture& f) {
    f.schema();
    f.ok("CREATE TABLE m (sensor text, at int, val double, note text, tags set<text>, PRIMARY KEY (sensor, at))");
    for (int i = 0; i < 6; ++i)
        f.ok("INSERT INTO m (sensor, at, val, note) VALUES ('s" + std::to_string(i % 2) + "', " + std::to_string(i) + ", " +
             std::to_string(1.5 * i) + ", 'n" + std::to_string(i % 3) + "')");
}

}  // namespace

TEST_CASE("index: legacy CREATE INDEX serves = without ALLOW FILTERING", "[sim][engine][index]") {
    fixture f;
    index_schema(f);
    CHECK(f.q("SELECT sensor, val FROM m WHERE val = 3.0").message() == filtering);
    f.ok("CREATE INDEX m_val ON m (val)");
    auto r = f.ok("SELECT sensor, val FROM m WHERE val = 3.0");
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, 0) == "'s0'");
    CHECK(r.text(0, 1) == "3");
    // A legacy index answers = only, and one restriction at most.
    CHECK(f.q("SELECT * FROM m WHERE val > 3.0").message() == filtering);
    f.ok("CREATE INDEX ON m (note)");
    CHECK(f.q("SELECT * FROM m WHERE val = 3.0 AND note = 'n2'").message() == filtering);
    CHECK(f.ok("SELECT * FROM m WHERE val = 3.0 AND note = 'n2' ALLOW FILTERING").row_count() == 1);

    auto ix = f.ok("SELECT index_name, kind, options FROM system_schema.indexes WHERE keyspace_name = 'ks' AND table_name = 'm'");
    REQUIRE(ix.row_count() == 2);
    CHECK(ix.text(0, 0) == "'m_note_idx'");  // the default name
    CHECK(ix.text(0, 1) == "'COMPOSITES'");
    CHECK(ix.text(0, 2) == "{'target': 'note'}");
    CHECK(ix.text(1, 0) == "'m_val'");

    CHECK(f.q("CREATE INDEX m_val ON m (note)").message() == "Index 'm_val' already exists");
    f.ok("CREATE INDEX IF NOT EXISTS m_val ON m (note)");
    CHECK(f.q("CREATE INDEX other ON m (val)").message() == "Index other is a duplicate of existing index m_val");
    f.ok("CREATE INDEX ON m (tags)");
    CHECK(f.ok("SELECT options FROM system_schema.indexes WHERE keyspace_name = 'ks' AND table_name = 'm' AND index_name = 'm_tags_idx'")
              .text(0, 0) == "{'target': 'values(tags)'}");
    f.ok("CREATE TABLE one (k int PRIMARY KEY, v int)");
    CHECK(f.q("CREATE INDEX ON one (k)").message() == "Cannot create secondary index on the only partition key column k");

    CHECK(f.q("ALTER TABLE m DROP val").message() == "Cannot drop column val because it has dependent secondary indexes (m_val)");
    f.ok("DROP INDEX m_val");
    CHECK(f.q("SELECT sensor, val FROM m WHERE val = 3.0").message() == filtering);
    CHECK(f.q("DROP INDEX ks.m_val").message() == "Index 'ks.m_val' doesn't exist'");
    f.ok("DROP INDEX IF EXISTS ks.m_val");
    // Dropping the table drops its indexes (and frees their names).
    f.ok("DROP TABLE m");
    CHECK(f.ok("SELECT index_name FROM system_schema.indexes WHERE keyspace_name = 'ks'").row_count() == 0);
}

TEST_CASE("index: SAI serves = and ranges; CUSTOM and USING forms", "[sim][engine][index]") {
    fixture f;
    index_schema(f);
    auto c = f.ok("CREATE CUSTOM INDEX m_val_sai ON m (val) USING 'StorageAttachedIndex'");
    CHECK(c.info.warnings.empty());
    auto r = f.ok("SELECT at FROM m WHERE val > 3.0 AND val <= 6.0");
    REQUIRE(r.row_count() == 2);
    CHECK(f.ok("SELECT at FROM m WHERE val = 4.5").text(0, 0) == "3");
    // A restriction on a column without an index still needs ALLOW FILTERING.
    CHECK(f.q("SELECT at FROM m WHERE val > 3.0 AND note = 'n1'").message() == filtering);
    f.ok("CREATE INDEX ON m (note) USING 'sai'");
    CHECK(f.ok("SELECT at FROM m WHERE val > 3.0 AND note = 'n1'").row_count() == 1);
    auto ix = f.ok("SELECT index_name, kind, options FROM system_schema.indexes WHERE keyspace_name = 'ks' AND table_name = 'm'");
    REQUIRE(ix.row_count() == 2);
    CHECK(ix.text(0, 0) == "'m_note_idx'");
    CHECK(ix.text(0, 1) == "'CUSTOM'");
    CHECK(ix.text(0, 2) == "{'class_name': 'org.apache.cassandra.index.sai.StorageAttachedIndex', 'target': 'note'}");
    CHECK(f.q("CREATE CUSTOM INDEX ON m (val) USING 'org.example.Nope'").message() ==
          "Unable to find custom indexer class 'org.example.Nope'");
    // PREPARE follows the same rule.
    f.ok("CREATE TABLE p (k int PRIMARY KEY, v int)");
    CHECK(f.prepare("SELECT k FROM p WHERE v = ?").message() == filtering);
    f.ok("CREATE INDEX ON p (v) USING 'sai'");
    CHECK(f.prepare("SELECT k FROM p WHERE v = ?").ok());
}

TEST_CASE("index: CONTAINS / CONTAINS KEY through values(), keys() and full() indexes", "[sim][engine][index]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE c (k int PRIMARY KEY, tags set<text>, l list<int>, m map<text, int>, fl frozen<list<int>>, n int)");
    f.ok("INSERT INTO c (k, tags, l, m, fl, n) VALUES (1, {'a', 'b'}, [1, 2], {'x': 1}, [1, 2], 1)");
    f.ok("INSERT INTO c (k, tags, l, m, fl, n) VALUES (2, {'b'}, [3], {'y': 2, 'z': 1}, [3], 2)");
    f.ok("INSERT INTO c (k, tags, l, m, fl, n) VALUES (3, {'c'}, [2], {'x': 3}, [2], 3)");
    for (const char* q : {"SELECT k FROM c WHERE tags CONTAINS 'b'", "SELECT k FROM c WHERE l CONTAINS 2",
                          "SELECT k FROM c WHERE m CONTAINS 1", "SELECT k FROM c WHERE m CONTAINS KEY 'x'",
                          "SELECT k FROM c WHERE fl = [3]"})
        CHECK(f.q(q).message() == filtering);

    f.ok("CREATE INDEX ON c (tags)");         // values(tags), the default on a collection
    f.ok("CREATE INDEX ON c (values(l))");
    f.ok("CREATE INDEX ON c (keys(m))");
    f.ok("CREATE INDEX ON c (full(fl))");
    CHECK(f.ok("SELECT k FROM c WHERE tags CONTAINS 'b'").row_count() == 2);
    CHECK(f.ok("SELECT k FROM c WHERE l CONTAINS 2").row_count() == 2);
    CHECK(f.ok("SELECT k FROM c WHERE m CONTAINS KEY 'x'").row_count() == 2);
    CHECK(f.ok("SELECT k FROM c WHERE m CONTAINS KEY 'y'").text(0, 0) == "2");
    CHECK(f.ok("SELECT k FROM c WHERE fl = [3]").text(0, 0) == "2");
    // keys(m) does not answer CONTAINS (values), nor values(l) a CONTAINS KEY.
    CHECK(f.q("SELECT k FROM c WHERE m CONTAINS 1").message() == filtering);
    f.ok("CREATE INDEX m_vals ON c (values(m))");
    CHECK(f.ok("SELECT k FROM c WHERE m CONTAINS 1").row_count() == 2);
    // One legacy index per query: a second indexed restriction is a filter.
    CHECK(f.q("SELECT k FROM c WHERE tags CONTAINS 'b' AND l CONTAINS 2").message() == filtering);
    CHECK(f.ok("SELECT k FROM c WHERE tags CONTAINS 'b' AND l CONTAINS 2 ALLOW FILTERING").text(0, 0) == "1");
    // SAI serves CONTAINS too.
    f.ok("CREATE TABLE s (k int PRIMARY KEY, tags set<text>)");
    f.ok("INSERT INTO s (k, tags) VALUES (1, {'a'})");
    f.ok("CREATE INDEX ON s (tags) USING 'sai'");
    CHECK(f.ok("SELECT k FROM s WHERE tags CONTAINS 'a'").row_count() == 1);

    // Targets that do not fit the column, as Cassandra words them.
    CHECK(f.q("CREATE INDEX ON c (keys(l))").message() == "Cannot create index on keys of column l with non-map type");
    CHECK(f.q("CREATE INDEX ON c (entries(tags))").message() == "Cannot create index on entries of column tags with non-map type");
    CHECK(f.q("CREATE INDEX ON c (full(l))").message() == "full() indexes can only be created on frozen collections");
    CHECK(f.q("CREATE INDEX ON c (values(fl))").message() ==
          "Cannot create values() index on frozen column fl. Frozen collections are immutable and must be fully indexed by "
          "using the 'full(fl)' modifier");
    CHECK(f.q("CREATE INDEX ON c (keys(n))").message() == "Cannot create keys() index on n. Non-collection columns only support simple indexes");
}
