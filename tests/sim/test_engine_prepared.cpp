// Engine tests: PREPARE / EXECUTE / BATCH.
#include "test_engine_util.hpp"

using namespace engine_test;

TEST_CASE("engine: prepared metadata, ids and pk indices", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (a int, b text, c int, v int, PRIMARY KEY ((b, a), c))");
    auto p = f.prepared("SELECT v FROM t WHERE a = ? AND b = ? AND c > ? LIMIT ?");
    CHECK(p.id.size() == 16);
    CHECK(p.result_metadata_id.size() == 16);
    REQUIRE(p.variables.columns.size() == 4);
    CHECK(p.variables.columns[0].name == "a");
    CHECK(p.variables.columns[1].name == "b");
    CHECK(p.variables.columns[1].type.kind == proto::type_kind::text);
    CHECK(p.variables.columns[3].name == "[limit]");
    CHECK(p.variables.pk_indices == std::vector<std::uint16_t>{1, 0});
    REQUIRE(p.result.columns.size() == 1);
    CHECK(p.result.columns[0].name == "v");
    CHECK(p.result.columns[0].keyspace == "ks");
    CHECK(p.result.columns[0].table == "t");
    // Stable id: preparing again (or elsewhere) gives the same id.
    CHECK(f.prepared("SELECT v FROM t WHERE a = ? AND b = ? AND c > ? LIMIT ?", 1).id == p.id);
    auto ins = f.prepared("INSERT INTO t (a, b, c, v) VALUES (?, ?, ?, ?)");
    CHECK(ins.variables.pk_indices == std::vector<std::uint16_t>{1, 0});
    CHECK(ins.result.no_metadata);
    auto in = f.prepared("SELECT * FROM t WHERE a IN ? AND b = ?");
    CHECK(in.variables.columns[0].name == "in(a)");
    CHECK(in.variables.columns[0].type.kind == proto::type_kind::list);
    auto named = f.prepared("SELECT * FROM t WHERE a = :x AND b = :y");
    CHECK(named.variables.columns[0].name == "x");

    REQUIRE(f.execute(ins, values().i(1).txt("b").i(2).i(3)).ok());
    auto r = f.execute(p, values().i(1).txt("b").i(0).i(10));
    REQUIRE(r.ok());
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, "v") == "3");
    options skip;
    skip.skip_metadata = true;
    r = f.execute(p, values().i(1).txt("b").i(0).i(10), skip);
    CHECK(r.rows().metadata.no_metadata);
    CHECK(r.rows().metadata.column_count == 1);
    CHECK(r.row_count() == 1);
    // Wrong value count / size.
    CHECK(f.execute(p, values().i(1)).message() == "There were 4 markers(?) in CQL but 1 bound variables");
    CHECK(f.execute(p, values().i(1).txt("b").raw({1}).i(10)).message() == "Expected 4 or 0 byte int (1)");
    CHECK(f.prepare("SELECT nope FROM t").message() == "Undefined column name nope");
    CHECK(f.prepare("SELEC").code() == proto::server_errc::syntax_error);
}

TEST_CASE("engine: UNPREPARED on another node and after forget_prepared", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    auto p = f.prepared("SELECT v FROM t WHERE k = ?", 0);
    CHECK(f.execute(p, values().i(1), {}, 0).ok());
    auto r = f.execute(p, values().i(1), {}, 1);
    CHECK(r.code() == proto::server_errc::unprepared);
    CHECK(std::get<proto::unprepared_info>(r.error().details).id == p.id);
    f.prepared("SELECT v FROM t WHERE k = ?", 1);
    CHECK(f.execute(p, values().i(1), {}, 1).ok());
    f.db->forget_prepared(0);
    CHECK(f.execute(p, values().i(1), {}, 0).code() == proto::server_errc::unprepared);
    CHECK(f.execute(p, values().i(1), {}, 1).ok());
    // Unknown ids of any size.
    proto::prepared_result bogus = p;
    bogus.id = {1, 2, 3};
    CHECK(f.execute(bogus, values().i(1), {}, 1).code() == proto::server_errc::unprepared);
    // Dropping the table forgets its statements.
    f.ok("DROP TABLE t");
    CHECK(f.execute(p, values().i(1), {}, 1).code() == proto::server_errc::unprepared);
    CHECK(f.prepare("SELECT v FROM t WHERE k = ?").message() == "unconfigured table t");
}

TEST_CASE("engine: METADATA_CHANGED after ALTER TABLE ADD (v5)", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    f.ok("INSERT INTO t (k, v) VALUES (1, 1)");
    auto p = f.prepared("SELECT * FROM t WHERE k = ?");
    options skip;
    skip.skip_metadata = true;
    auto r = f.execute(p, values().i(1), skip);
    CHECK(r.rows().metadata.no_metadata);
    CHECK_FALSE(r.rows().metadata.new_metadata_id);
    f.ok("ALTER TABLE t ADD w text");
    r = f.execute(p, values().i(1), skip);
    REQUIRE(r.ok());
    REQUIRE(r.rows().metadata.new_metadata_id);
    CHECK(*r.rows().metadata.new_metadata_id != p.result_metadata_id);
    CHECK_FALSE(r.rows().metadata.no_metadata);
    REQUIRE(r.rows().metadata.columns.size() == 3);
    CHECK(r.rows().metadata.columns[2].name == "w");
    CHECK(r.row_count() == 1);
    // With the new id: no change reported.
    r = f.execute(p, values().i(1), skip, 0, *r.rows().metadata.new_metadata_id);
    CHECK(r.rows().metadata.no_metadata);
    CHECK_FALSE(r.rows().metadata.new_metadata_id);
    // Re-preparing returns the new id.
    auto p2 = f.prepared("SELECT * FROM t WHERE k = ?");
    CHECK(p2.id == p.id);
    CHECK(p2.result_metadata_id != p.result_metadata_id);
    CHECK(p2.result.columns.size() == 3);
}

TEST_CASE("engine: v4 EXECUTE has no metadata id", "[sim][engine]") {
    fixture f;
    f.session.version = proto::protocol_version::v4;
    f.schema();
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int)");
    auto p = f.prepared("SELECT * FROM t WHERE k = ?");
    f.ok("ALTER TABLE t ADD w text");
    auto r = f.execute(p, values().i(1));
    REQUIRE(r.ok());
    CHECK_FALSE(r.rows().metadata.new_metadata_id);
    CHECK(r.rows().metadata.columns.size() == 3);
    auto local = f.ok("SELECT native_protocol_version FROM system.local");
    CHECK(local.text(0, 0) == "'4'");
}

TEST_CASE("engine: BATCH", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int, c int, v int, PRIMARY KEY (k, c))");
    f.ok("CREATE TABLE cnt (k int PRIMARY KEY, n counter)");
    auto ins = f.prepared("INSERT INTO t (k, c, v) VALUES (?, ?, ?)");
    values v1, v2;
    v1.i(1).i(1).i(1);
    v2.i(2);
    std::vector<proto::batch_statement> stmts;
    stmts.push_back(proto::batch_statement::with_id(ins.id, std::span<const proto::value_view>(v1.views)));
    stmts.push_back(proto::batch_statement::simple("INSERT INTO t (k, c, v) VALUES (?, 2, 2)", std::span<const proto::value_view>(v2.views)));
    stmts.push_back(proto::batch_statement::simple("UPDATE t SET v = 3 WHERE k = 3 AND c = 3"));
    proto::batch_request b;
    b.type = proto::batch_type::logged;
    b.statements = std::span<const proto::batch_statement>(stmts);
    auto r = f.run(b);
    INFO(r.message());
    REQUIRE(r.ok());
    CHECK(r.result().kind() == proto::result_kind::void_);
    CHECK(f.ok("SELECT * FROM t").row_count() == 3);

    // UNPREPARED child.
    f.db->forget_prepared(0);
    r = f.run(b);
    CHECK(r.code() == proto::server_errc::unprepared);

    // Counter batches.
    std::vector<proto::batch_statement> cs;
    cs.push_back(proto::batch_statement::simple("UPDATE cnt SET n = n + 1 WHERE k = 1"));
    cs.push_back(proto::batch_statement::simple("UPDATE cnt SET n = n + 2 WHERE k = 1"));
    proto::batch_request cb;
    cb.type = proto::batch_type::counter;
    cb.statements = std::span<const proto::batch_statement>(cs);
    REQUIRE(f.run(cb).ok());
    CHECK(f.ok("SELECT n FROM cnt WHERE k = 1").text(0, 0) == "3");
    cb.type = proto::batch_type::logged;
    CHECK(f.run(cb).code() == proto::server_errc::invalid);
    std::vector<proto::batch_statement> sel;
    sel.push_back(proto::batch_statement::simple("SELECT * FROM t"));
    proto::batch_request sb;
    sb.statements = std::span<const proto::batch_statement>(sel);
    CHECK(f.run(sb).message() == "Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.");

    // BATCH as a QUERY string, with markers numbered across statements.
    f.ok("BEGIN UNLOGGED BATCH INSERT INTO t (k, c, v) VALUES (?, 1, 1); DELETE FROM t WHERE k = ? APPLY BATCH",
         values().i(7).i(1));
    CHECK(f.ok("SELECT * FROM t WHERE k = 7").row_count() == 1);
    CHECK(f.ok("SELECT * FROM t WHERE k = 1").row_count() == 0);
}

TEST_CASE("engine: a protocol BATCH gets the batch warnings and size error of a text batch", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE kv (k int PRIMARY KEY, v text)");
    auto ins = f.prepared("INSERT INTO kv (k, v) VALUES (?, ?)");
    // Each statement keeps its own values alive while the batch runs.
    auto run = [&](proto::batch_type type, int n, std::size_t len) {
        std::vector<values> vals(static_cast<std::size_t>(n));
        std::vector<proto::batch_statement> stmts;
        for (int i = 0; i < n; ++i) {
            vals[static_cast<std::size_t>(i)].i(i).txt(std::string(len, 'x'));
            stmts.push_back(proto::batch_statement::with_id(
                ins.id, std::span<const proto::value_view>(vals[static_cast<std::size_t>(i)].views)));
        }
        proto::batch_request b;
        b.type = type;
        b.statements = std::span<const proto::batch_statement>(stmts);
        return f.run(b);
    };
    auto quiet = run(proto::batch_type::unlogged, 10, 1);
    REQUIRE(quiet.ok());
    CHECK(quiet.info.warnings.empty());
    auto r = run(proto::batch_type::unlogged, 11, 1);
    REQUIRE(r.ok());
    REQUIRE(r.info.warnings.size() == 1);
    CHECK(r.info.warnings[0] == "Unlogged batch covering 11 partitions detected against table [ks.kv]. You should use a "
                                "logged batch for atomicity, or asynchronous writes for performance.");
    CHECK(run(proto::batch_type::logged, 11, 1).info.warnings.empty());
    // Same arithmetic as the text batch: 2 x (4 key bytes + 3000 value bytes).
    auto big = run(proto::batch_type::logged, 2, 3000);
    REQUIRE(big.ok());
    REQUIRE(big.info.warnings.size() == 1);
    CHECK(big.info.warnings[0] == "Batch for [ks.kv] is of size 6008, exceeding specified threshold of 5120 by 888.");
    auto huge = run(proto::batch_type::logged, 2, 30000);
    CHECK(huge.code() == proto::server_errc::invalid);
    CHECK(huge.message() == "Batch too large");
    // Refused whole: nothing of the too-large batch was written.
    CHECK(f.ok("SELECT v FROM kv WHERE k = 0").text(0, 0) == "'" + std::string(3000, 'x') + "'");
}
