// Engine tests: vector search (ORDER BY v ANN OF [...] LIMIT n) over a SAI index,
// against what a real Cassandra 5.0.2 answered (CASSANDRA_5_OBSERVED.md).
#include "test_engine_util.hpp"

using namespace engine_test;

namespace {

void vector_schema(fixture& f) {
    f.schema();
    f.ok("CREATE TABLE m (sensor text, day date, at timestamp, val double, emb vector<float, 3>, "
         "PRIMARY KEY ((sensor, day), at)) WITH CLUSTERING ORDER BY (at DESC)");
    const char* days[] = {"2025-03-01", "2025-03-02", "2025-03-03", "2025-03-01", "2025-03-02", "2025-03-03"};
    for (int i = 0; i < 6; ++i) {
        std::string q = "INSERT INTO m (sensor, day, at, val, emb) VALUES ('s";
        q += std::to_string(i % 2);
        q += "', '";
        q += days[i];
        q += "', '2025-03-01 00:00:0";
        q += std::to_string(i);
        q += "+0000', 1, [";
        q += std::to_string(i);
        q += ", 0.5, -1.0])";
        f.ok(q);
    }
}

}  // namespace

TEST_CASE("vector: ANN OF ranks rows by the index's similarity", "[sim][engine][vector]") {
    fixture f;
    vector_schema(f);
    const std::string ann = "SELECT sensor, at FROM m ORDER BY emb ANN OF [3.0, 0.5, -1.0] LIMIT 3";
    CHECK(f.q(ann).message() == "ANN ordering by vector requires the column to be indexed");
    CHECK(f.q("CREATE INDEX ON m (emb)").message() == "Cannot create secondary index on vector column emb");

    auto c = f.ok("CREATE INDEX m_emb ON m (emb) USING 'sai'");
    REQUIRE(c.info.warnings.size() == 1);
    CHECK(c.info.warnings[0] ==
          "SAI ANN indexes on vector columns are experimental and are not recommended for production use.\n"
          "They don't yet support SELECT queries with:\n * Consistency level higher than ONE/LOCAL_ONE.\n * Paging.\n"
          " * No LIMIT clauses.\n * PER PARTITION LIMIT clauses.\n * GROUP BY clauses.\n * Aggregation functions.\n"
          " * Filters on columns without a SAI index.");

    // The observed answer: columns, rows and scores.
    auto r = f.ok("SELECT sensor, at, similarity_cosine(emb, [3.0, 0.5, -1.0]) FROM m ORDER BY emb ANN OF [3.0, 0.5, -1.0] LIMIT 3");
    REQUIRE(r.row_count() == 3);
    CHECK(r.rows().metadata.columns[2].name == "system.similarity_cosine(emb, [3.0, 0.5, -1.0])");
    CHECK(r.text(0, 0) == "'s1'");
    CHECK(r.text(0, 1) == "'2025-03-01 00:00:03.000000+0000'");
    CHECK(r.text(0, 2) == "1");
    CHECK(r.text(1, 0) == "'s0'");
    CHECK(r.text(1, 1) == "'2025-03-01 00:00:04.000000+0000'");
    CHECK(r.text(1, 2) == "0.99822944");
    CHECK(r.text(2, 0) == "'s1'");
    CHECK(r.text(2, 1) == "'2025-03-01 00:00:05.000000+0000'");

    // The marker form, and a smaller page size does not cut the ranked answer.
    auto p = f.prepared("SELECT at FROM m ORDER BY emb ANN OF ? LIMIT 2");
    values v;
    v.add(proto::cql_type::vector_of(proto::cql_type(proto::type_kind::float_), 3), "[0.0, 0.5, -1.0]");
    options o;
    o.page_size = 1;
    auto pr = f.execute(p, v, o);
    REQUIRE(pr.row_count() == 2);
    CHECK(pr.text(0, 0) == "'2025-03-01 00:00:00.000000+0000'");
    CHECK(pr.text(1, 0) == "'2025-03-01 00:00:01.000000+0000'");

    CHECK(f.q("SELECT at FROM m ORDER BY emb ANN OF [3.0, 0.5, -1.0]").message() ==
          "Use of ANN OF in an ORDER BY clause requires a LIMIT that is not greater than 1000. LIMIT was NONE");
    CHECK(f.q("SELECT at FROM m ORDER BY emb ANN OF [3.0, 0.5, -1.0] LIMIT 5000").message() ==
          "Use of ANN OF in an ORDER BY clause requires a LIMIT that is not greater than 1000. LIMIT was 5000");
    CHECK(f.q("SELECT at FROM m ORDER BY emb ANN OF [3.0, 0.5] LIMIT 3").message() ==
          "Invalid vector literal for emb of type vector<float, 3>; expected 3 elements, but given 2");
}

TEST_CASE("vector: similarity_function euclidean and dot_product", "[sim][engine][vector]") {
    fixture f;
    vector_schema(f);
    f.ok("CREATE CUSTOM INDEX ON m (emb) USING 'StorageAttachedIndex' WITH OPTIONS = {'similarity_function': 'euclidean'}");
    auto ix = f.ok("SELECT options FROM system_schema.indexes WHERE keyspace_name = 'ks' AND table_name = 'm'");
    CHECK(ix.text(0, 0) == "{'class_name': 'org.apache.cassandra.index.sai.StorageAttachedIndex', 'similarity_function': "
                           "'euclidean', 'target': 'emb'}");
    // Euclidean: the nearest point is i = 2 for [2.2, 0.5, -1.0]; cosine would rank i = 5 first.
    auto r = f.ok("SELECT at FROM m ORDER BY emb ANN OF [2.2, 0.5, -1.0] LIMIT 2");
    REQUIRE(r.row_count() == 2);
    CHECK(r.text(0, 0) == "'2025-03-01 00:00:02.000000+0000'");
    CHECK(r.text(1, 0) == "'2025-03-01 00:00:03.000000+0000'");
    f.ok("DROP INDEX m_emb_idx");
    f.ok("CREATE INDEX ON m (emb) USING 'sai' WITH OPTIONS = {'similarity_function': 'DOT_PRODUCT'}");
    CHECK(f.ok("SELECT at FROM m ORDER BY emb ANN OF [1.0, 0.0, 0.0] LIMIT 1").text(0, 0) == "'2025-03-01 00:00:05.000000+0000'");
    CHECK(f.q("CREATE INDEX x ON m (emb) USING 'sai' WITH OPTIONS = {'similarity_function': 'manhattan'}").message() ==
          "Similarity function manhattan was not recognized for emb. Valid values are: COSINE, EUCLIDEAN, DOT_PRODUCT");
}
