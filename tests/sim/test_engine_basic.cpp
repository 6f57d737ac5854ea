// Engine tests: DDL, DML, SELECT forms and results.
#include "test_engine_util.hpp"

using namespace engine_test;

TEST_CASE("engine: create, insert, select", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int, c int, v text, PRIMARY KEY (k, c))");
    f.ok("INSERT INTO t (k, c, v) VALUES (1, 2, 'a')");
    f.ok("INSERT INTO t (k, c, v) VALUES (1, 1, 'b')");
    auto r = f.ok("SELECT * FROM t WHERE k = 1");
    REQUIRE(r.row_count() == 2);
    CHECK(r.text(0, "c") == "1");
    CHECK(r.text(0, "v") == "'b'");
    CHECK(r.text(1, "c") == "2");
    CHECK(r.rows().metadata.columns.size() == 3);
    CHECK(r.rows().metadata.columns[0].name == "k");
    CHECK(r.info.routing_token.has_value());
    CHECK(*r.info.routing_token == proto::murmur3_token(proto::bytes_view(std::vector<std::uint8_t>{0, 0, 0, 1})));
}

TEST_CASE("engine: keyspaces and USE", "[sim][engine]") {
    fixture f;
    auto r = f.ok("CREATE KEYSPACE k1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    const auto& sc = std::get<proto::schema_change>(r.result().value);
    CHECK(sc.change == proto::schema_change_type::created);
    CHECK(sc.target == proto::schema_change_target::keyspace);
    CHECK(sc.keyspace == "k1");
    REQUIRE(r.info.events.size() == 1);
    CHECK(r.info.events[0].change == sc);

    auto dup = f.q("CREATE KEYSPACE k1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    CHECK(dup.code() == proto::server_errc::already_exists);
    CHECK(dup.message() == "Cannot add existing keyspace \"k1\"");
    CHECK(std::get<proto::already_exists_info>(dup.error().details).keyspace == "k1");
    CHECK(std::get<proto::already_exists_info>(dup.error().details).table.empty());
    auto again = f.ok("CREATE KEYSPACE IF NOT EXISTS k1 WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 1}");
    CHECK(again.result().kind() == proto::result_kind::void_);
    CHECK(again.info.events.empty());

    CHECK(f.q("CREATE KEYSPACE k2 WITH replication = {'class': 'NetworkTopologyStrategy', 'nodc': 1}").code() ==
          proto::server_errc::config_error);
    f.ok("CREATE KEYSPACE k2 WITH replication = {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}");
    CHECK(f.q("CREATE KEYSPACE k3 WITH replication = {'class': 'Bogus'}").code() == proto::server_errc::config_error);

    auto use = f.ok("USE k1");
    CHECK(std::get<proto::set_keyspace_result>(use.result().value).keyspace == "k1");
    CHECK(f.session.keyspace == "k1");
    auto bad = f.q("USE nope");
    CHECK(bad.code() == proto::server_errc::invalid);
    CHECK(bad.message() == "Keyspace 'nope' does not exist");

    auto drop = f.ok("DROP KEYSPACE k2");
    CHECK(std::get<proto::schema_change>(drop.result().value).change == proto::schema_change_type::dropped);
    CHECK(f.q("DROP KEYSPACE k2").code() == proto::server_errc::config_error);
    f.ok("DROP KEYSPACE IF EXISTS k2");
    CHECK(f.q("DROP KEYSPACE system").code() == proto::server_errc::unauthorized);
}

TEST_CASE("engine: tables, types, ALTER, TRUNCATE, DROP", "[sim][engine]") {
    fixture f;
    f.schema();
    auto r = f.ok("CREATE TABLE t (k int PRIMARY KEY, v text)");
    const auto& sc = std::get<proto::schema_change>(r.result().value);
    CHECK(sc.target == proto::schema_change_target::table);
    CHECK(sc.keyspace == "ks");
    CHECK(sc.name == "t");
    auto dup = f.q("CREATE TABLE t (k int PRIMARY KEY)");
    CHECK(dup.code() == proto::server_errc::already_exists);
    CHECK(dup.message() == "Cannot add already existing table \"t\" to keyspace \"ks\"");
    CHECK(std::get<proto::already_exists_info>(dup.error().details).table == "t");
    f.ok("CREATE TABLE IF NOT EXISTS t (k int PRIMARY KEY)");

    CHECK_FALSE(f.q("CREATE TABLE bad (k int, v int)").ok());
    CHECK(f.q("CREATE TABLE bad (k int PRIMARY KEY, c counter, v int)").message() ==
          "Cannot mix counter and non counter columns in the same table");
    CHECK(f.q("CREATE TABLE bad (k int PRIMARY KEY, s int static)").code() == proto::server_errc::invalid);
    CHECK(f.q("CREATE TABLE bad (k list<int> PRIMARY KEY)").code() == proto::server_errc::invalid);
    CHECK(f.q("CREATE TABLE bad (k int PRIMARY KEY, l list<list<int>>)").code() == proto::server_errc::invalid);
    CHECK(f.q("CREATE TABLE bad (k int PRIMARY KEY, u nosuchtype)").code() == proto::server_errc::invalid);
    CHECK(f.q("CREATE TABLE nokeyspace.t (k int PRIMARY KEY)").message() == "Keyspace 'nokeyspace' does not exist");

    // Every type, composite partition key, DESC clustering.
    f.ok("CREATE TYPE addr (street text, num int)");
    CHECK(f.q("CREATE TYPE addr (x int)").code() == proto::server_errc::already_exists);
    f.ok("CREATE TABLE alltypes (a int, b text, c1 timestamp, c2 uuid, "
         "asc_ ascii, bi bigint, bl blob, bo boolean, da date, de decimal, do double, du duration, fl float, "
         "ip inet, sm smallint, ti time, tu timeuuid, tiny tinyint, vi varint, "
         "li list<int>, se set<text>, ma map<text, int>, fli frozen<list<int>>, tup tuple<int, text>, "
         "ad frozen<addr>, vec vector<float, 3>, st text static, "
         "PRIMARY KEY ((a, b), c1, c2)) WITH CLUSTERING ORDER BY (c1 DESC, c2 ASC) AND comment = 'hello'");
    f.ok("INSERT INTO alltypes (a, b, c1, c2, asc_, bi, bl, bo, da, de, do, du, fl, ip, sm, ti, tu, tiny, vi, li, se, ma, fli, tup, ad, vec, st) "
         "VALUES (1, 'x', '2020-01-01 00:00:00+0000', 550e8400-e29b-41d4-a716-446655440000, 'asc', 12345678901, 0xcafe, true, "
         "'2020-02-03', 1.25, 2.5, 1h30m, 1.5, '10.0.0.1', 7, '12:34:56', now(), 3, 123456789012345678901234567890, "
         "[1, 2, 3], {'b', 'a'}, {'z': 1, 'y': 2}, [4, 5], (1, 'one'), {street: 'main', num: 5}, [1.0, 2.0, 3.0], 'stat')");
    auto row = f.ok("SELECT * FROM alltypes WHERE a = 1 AND b = 'x'");
    REQUIRE(row.row_count() == 1);
    CHECK(row.text(0, "se") == "{'a', 'b'}");
    CHECK(row.text(0, "ma") == "{'y': 2, 'z': 1}");
    CHECK(row.text(0, "ad") == "{street: 'main', num: 5}");
    CHECK(row.text(0, "tup") == "(1, 'one')");
    CHECK(row.text(0, "vec") == "[1, 2, 3]");
    CHECK(row.text(0, "vi") == "123456789012345678901234567890");
    CHECK(row.text(0, "st") == "'stat'");
    // SELECT * order: partition key, clustering, then static and regular columns by name.
    const auto& cols = row.rows().metadata.columns;
    REQUIRE(cols.size() == 27);
    CHECK(cols[0].name == "a");
    CHECK(cols[1].name == "b");
    CHECK(cols[2].name == "c1");
    CHECK(cols[3].name == "c2");
    CHECK(cols[4].name == "st");
    CHECK(cols[5].name == "ad");
    CHECK(cols[5].type.kind == proto::type_kind::udt);
    CHECK(cols[5].type.field_names == std::vector<std::string>{"street", "num"});

    CHECK(f.q("DROP TYPE addr").code() == proto::server_errc::invalid);  // still used

    // ALTER TABLE ADD / DROP
    auto alt = f.ok("ALTER TABLE t ADD w int");
    CHECK(std::get<proto::schema_change>(alt.result().value).change == proto::schema_change_type::updated);
    f.ok("INSERT INTO t (k, v, w) VALUES (1, 'a', 2)");
    auto sel = f.ok("SELECT * FROM t");
    CHECK(sel.rows().metadata.columns.size() == 3);
    CHECK(sel.text(0, "w") == "2");
    CHECK(f.q("ALTER TABLE t ADD w int").code() == proto::server_errc::invalid);
    f.ok("ALTER TABLE t DROP w");
    CHECK(f.q("SELECT w FROM t").message() == "Undefined column name w");
    f.ok("ALTER TABLE t WITH comment = 'x' AND default_time_to_live = 100");

    f.ok("TRUNCATE t");
    CHECK(f.ok("SELECT * FROM t").row_count() == 0);
    CHECK(f.q("TRUNCATE nope").message() == "unconfigured table nope");
    auto dr = f.ok("DROP TABLE t");
    CHECK(std::get<proto::schema_change>(dr.result().value).change == proto::schema_change_type::dropped);
    CHECK(f.q("SELECT * FROM t").message() == "unconfigured table t");
    f.ok("DROP TABLE IF EXISTS t");
    f.ok("DROP TABLE alltypes");
    auto dt = f.ok("DROP TYPE addr");
    CHECK(std::get<proto::schema_change>(dt.result().value).target == proto::schema_change_target::type);
}

TEST_CASE("engine: clustering order, slices, IN, ORDER BY, LIMIT", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int, c int, d text, v int, PRIMARY KEY (k, c, d)) WITH CLUSTERING ORDER BY (c DESC, d ASC)");
    for (int k = 0; k < 3; ++k)
        for (int c = -3; c <= 3; ++c)
            for (const char* d : {"a", "b"})
                f.ok("INSERT INTO t (k, c, d, v) VALUES (?, ?, ?, ?)", values().i(k).i(c).txt(d).i(c * 10));
    auto r = f.ok("SELECT c, d FROM t WHERE k = 1");
    REQUIRE(r.row_count() == 14);
    CHECK(r.text(0, "c") == "3");  // DESC
    CHECK(r.text(0, "d") == "'a'");
    CHECK(r.text(1, "d") == "'b'");
    CHECK(r.text(13, "c") == "-3");

    r = f.ok("SELECT c, d FROM t WHERE k = 1 AND c > -1 AND c <= 2");
    REQUIRE(r.row_count() == 6);
    CHECK(r.text(0, "c") == "2");
    CHECK(r.text(5, "c") == "0");

    r = f.ok("SELECT c, d FROM t WHERE k = 1 AND c = 2 AND d > 'a'");
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, "d") == "'b'");

    r = f.ok("SELECT c, d FROM t WHERE k = 1 AND c IN (1, -2, 3)");
    REQUIRE(r.row_count() == 6);
    CHECK(r.text(0, "c") == "3");
    CHECK(r.text(5, "c") == "-2");

    r = f.ok("SELECT c, d FROM t WHERE k = 1 AND (c, d) > (2, 'a') ");
    CHECK(r.row_count() == 3);  // (2,b), (3,a), (3,b)

    r = f.ok("SELECT c, d FROM t WHERE k = 1 ORDER BY c ASC, d DESC");
    REQUIRE(r.row_count() == 14);
    CHECK(r.text(0, "c") == "-3");
    CHECK(r.text(0, "d") == "'b'");

    r = f.ok("SELECT c FROM t WHERE k = 1 ORDER BY c DESC LIMIT 3");
    REQUIRE(r.row_count() == 3);
    CHECK(r.text(0, "c") == "3");

    r = f.ok("SELECT k, c FROM t WHERE k IN (2, 0) AND c = 0");
    REQUIRE(r.row_count() == 4);
    // IN with ORDER BY merges partitions by clustering (unpaged); paged it is refused as in Cassandra.
    r = f.ok("SELECT k, c FROM t WHERE k IN (2, 0) AND c IN (1, 2) ORDER BY c ASC");
    REQUIRE(r.row_count() == 8);
    CHECK(r.text(0, "c") == "1");
    CHECK(r.text(3, "c") == "1");
    CHECK(r.text(4, "c") == "2");
    options paged;
    paged.page_size = 100;
    CHECK(f.q("SELECT k, c FROM t WHERE k IN (2, 0) ORDER BY c ASC", {}, paged).code() == proto::server_errc::invalid);

    r = f.ok("SELECT k FROM t PER PARTITION LIMIT 2");
    CHECK(r.row_count() == 6);
    r = f.ok("SELECT k FROM t PER PARTITION LIMIT 2 LIMIT 3");
    CHECK(r.row_count() == 3);
    r = f.ok("SELECT DISTINCT k FROM t");
    CHECK(r.row_count() == 3);
    r = f.ok("SELECT COUNT(*) FROM t");
    CHECK(r.rows().metadata.columns[0].name == "count");
    CHECK(r.rows().metadata.columns[0].type.kind == proto::type_kind::bigint);
    CHECK(r.text(0, 0) == "42");
    r = f.ok("SELECT count(*) AS n FROM t WHERE k = 1 AND c > 0");
    CHECK(r.text(0, "n") == "6");

    // Filtering
    auto nf = f.q("SELECT * FROM t WHERE v = 10");
    CHECK(nf.code() == proto::server_errc::invalid);
    CHECK(nf.message() ==
          "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. "
          "If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING");
    r = f.ok("SELECT k, c FROM t WHERE v = 10 ALLOW FILTERING");
    CHECK(r.row_count() == 6);
    r = f.ok("SELECT k, c FROM t WHERE k = 2 AND v >= 20 ALLOW FILTERING");
    CHECK(r.row_count() == 4);
    CHECK(f.q("SELECT * FROM t WHERE c = 1").code() == proto::server_errc::invalid);
    CHECK(f.ok("SELECT * FROM t WHERE c = 1 ALLOW FILTERING").row_count() == 6);
    CHECK(f.q("SELECT * FROM t WHERE k = 1 AND d = 'a'").code() == proto::server_errc::invalid);
    CHECK(f.ok("SELECT * FROM t WHERE k = 1 AND d = 'a' ALLOW FILTERING").row_count() == 7);
    CHECK(f.q("SELECT * FROM t ORDER BY c").message() ==
          "ORDER BY is only supported when the partition key is restricted by an EQ or an IN.");
    CHECK(f.q("SELECT * FROM t LIMIT 0").message() == "LIMIT must be strictly positive");
}

TEST_CASE("engine: UPDATE, DELETE, collections, counters, TTL, timestamps", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int, c int, v int, w text, l list<int>, s set<text>, m map<text, int>, PRIMARY KEY (k, c))");
    f.ok("UPDATE t SET v = 1, w = 'x' WHERE k = 1 AND c = 1");
    auto r = f.ok("SELECT v, w FROM t WHERE k = 1 AND c = 1");
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, "v") == "1");
    f.ok("UPDATE t SET l = [1, 2], s = {'a'}, m = {'a': 1} WHERE k = 1 AND c = 1");
    f.ok("UPDATE t SET l = l + [3], l = [0] + l WHERE k = 1 AND c = 1");
    f.ok("UPDATE t SET s = s + {'c', 'b'}, m = m + {'b': 2}, m['c'] = 3 WHERE k = 1 AND c = 1");
    r = f.ok("SELECT l, s, m FROM t WHERE k = 1 AND c = 1");
    CHECK(r.text(0, "l") == "[0, 1, 2, 3]");
    CHECK(r.text(0, "s") == "{'a', 'b', 'c'}");
    CHECK(r.text(0, "m") == "{'a': 1, 'b': 2, 'c': 3}");
    f.ok("UPDATE t SET l = l - [1], s = s - {'a'}, m = m - {'a'}, l[0] = 9 WHERE k = 1 AND c = 1");
    r = f.ok("SELECT l, s, m FROM t WHERE k = 1 AND c = 1");
    CHECK(r.text(0, "l") == "[9, 2, 3]");
    CHECK(r.text(0, "s") == "{'b', 'c'}");
    CHECK(r.text(0, "m") == "{'b': 2, 'c': 3}");
    f.ok("DELETE m['b'], s FROM t WHERE k = 1 AND c = 1");
    r = f.ok("SELECT s, m FROM t WHERE k = 1 AND c = 1");
    CHECK(r.text(0, "s") == "null");
    CHECK(r.text(0, "m") == "{'c': 3}");
    CHECK(f.q("UPDATE t SET l[7] = 1 WHERE k = 1 AND c = 1").message() == "List index 7 out of bound, list has size 3");

    // Unset leaves columns untouched; null deletes.
    f.ok("UPDATE t SET v = ?, w = ? WHERE k = 1 AND c = 1", values().unset().null());
    r = f.ok("SELECT v, w FROM t WHERE k = 1 AND c = 1");
    CHECK(r.text(0, "v") == "1");
    CHECK(r.text(0, "w") == "null");

    // Deletes: row, range, partition.
    for (int c = 0; c < 6; ++c) f.ok("INSERT INTO t (k, c, v) VALUES (2, ?, ?)", values().i(c).i(c));
    f.ok("DELETE FROM t WHERE k = 2 AND c = 0");
    CHECK(f.ok("SELECT * FROM t WHERE k = 2").row_count() == 5);
    f.ok("DELETE FROM t WHERE k = 2 AND c >= 4");
    CHECK(f.ok("SELECT * FROM t WHERE k = 2").row_count() == 3);
    f.ok("DELETE v FROM t WHERE k = 2 AND c = 1");
    r = f.ok("SELECT v FROM t WHERE k = 2 AND c = 1");
    REQUIRE(r.row_count() == 1);  // the row marker keeps it alive
    CHECK(r.text(0, "v") == "null");
    f.ok("DELETE FROM t WHERE k = 2");
    CHECK(f.ok("SELECT * FROM t WHERE k = 2").row_count() == 0);

    // Timestamps: last write wins, older writes lose.
    f.ok("INSERT INTO t (k, c, v) VALUES (3, 1, 1) USING TIMESTAMP 1000");
    f.ok("INSERT INTO t (k, c, v) VALUES (3, 1, 2) USING TIMESTAMP 500");
    r = f.ok("SELECT v, writetime(v) FROM t WHERE k = 3 AND c = 1");
    CHECK(r.text(0, "v") == "1");
    CHECK(r.text(0, "writetime(v)") == "1000");
    options o;
    o.timestamp = 2000;
    f.ok("UPDATE t SET v = 3 WHERE k = 3 AND c = 1", {}, o);
    CHECK(f.ok("SELECT v FROM t WHERE k = 3 AND c = 1").text(0, "v") == "3");
    f.ok("DELETE FROM t USING TIMESTAMP 1500 WHERE k = 3 AND c = 1");
    CHECK(f.ok("SELECT v FROM t WHERE k = 3 AND c = 1").text(0, "v") == "3");  // newer than the delete

    // TTL
    f.ok("INSERT INTO t (k, c, v) VALUES (4, 1, 1) USING TTL 100");
    r = f.ok("SELECT ttl(v) FROM t WHERE k = 4 AND c = 1");
    auto ttl = std::stoi(r.text(0, 0));
    CHECK(ttl > 95);
    CHECK(ttl <= 100);
    CHECK(f.q("INSERT INTO t (k, c, v) VALUES (4, 1, 1) USING TTL -1").message() ==
          "A TTL must be greater or equal to 0, but was -1");
    CHECK(f.q("SELECT ttl(k) FROM t").code() == proto::server_errc::invalid);

    // Counters
    f.ok("CREATE TABLE cnt (k int PRIMARY KEY, n counter)");
    f.ok("UPDATE cnt SET n = n + 5 WHERE k = 1");
    f.ok("UPDATE cnt SET n = n - 2 WHERE k = 1");
    CHECK(f.ok("SELECT n FROM cnt WHERE k = 1").text(0, "n") == "3");
    CHECK(f.q("INSERT INTO cnt (k, n) VALUES (1, 1)").message() ==
          "INSERT statements are not allowed on counter tables, use UPDATE instead");
    CHECK(f.q("UPDATE cnt SET n = 1 WHERE k = 1").code() == proto::server_errc::invalid);
    CHECK(f.q("UPDATE t SET v = v + 1 WHERE k = 1 AND c = 1").code() == proto::server_errc::invalid);
}

TEST_CASE("engine: lightweight transactions", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int PRIMARY KEY, v int, w text)");
    auto r = f.ok("INSERT INTO t (k, v, w) VALUES (1, 1, 'a') IF NOT EXISTS");
    REQUIRE(r.row_count() == 1);
    CHECK(r.rows().metadata.columns[0].name == "[applied]");
    CHECK(r.text(0, 0) == "true");
    r = f.ok("INSERT INTO t (k, v, w) VALUES (1, 2, 'b') IF NOT EXISTS");
    CHECK(r.text(0, "[applied]") == "false");
    CHECK(r.text(0, "v") == "1");
    CHECK(r.text(0, "w") == "'a'");
    r = f.ok("UPDATE t SET v = 5 WHERE k = 1 IF v = 2");
    CHECK(r.text(0, "[applied]") == "false");
    CHECK(r.text(0, "v") == "1");
    r = f.ok("UPDATE t SET v = 5 WHERE k = 1 IF v = 1");
    CHECK(r.text(0, "[applied]") == "true");
    r = f.ok("UPDATE t SET v = 6 WHERE k = 2 IF EXISTS");
    CHECK(r.text(0, "[applied]") == "false");
    r = f.ok("DELETE FROM t WHERE k = 1 IF EXISTS");
    CHECK(r.text(0, "[applied]") == "true");
    CHECK(f.ok("SELECT * FROM t").row_count() == 0);
}

TEST_CASE("engine: static columns and functions", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TABLE t (k int, c int, s text static, v int, u timeuuid, ts timestamp, PRIMARY KEY (k, c))");
    f.ok("INSERT INTO t (k, s) VALUES (1, 'static')");
    auto r = f.ok("SELECT * FROM t WHERE k = 1");
    REQUIRE(r.row_count() == 1);
    CHECK(r.text(0, "s") == "'static'");
    CHECK(r.text(0, "c") == "null");
    f.ok("INSERT INTO t (k, c, v, u, ts) VALUES (1, 1, 1, now(), toTimestamp(now()))");
    f.ok("INSERT INTO t (k, c, v) VALUES (1, 2, 2)");
    r = f.ok("SELECT c, s, u, ts FROM t WHERE k = 1");
    REQUIRE(r.row_count() == 2);
    CHECK(r.text(1, "s") == "'static'");
    CHECK(r.text(0, "u") != "null");
    CHECK(r.text(0, "ts") != "null");
    r = f.ok("SELECT DISTINCT k, s FROM t");
    REQUIRE(r.row_count() == 1);
    r = f.ok("SELECT token(k) FROM t WHERE k = 1 LIMIT 1");
    CHECK(r.rows().metadata.columns[0].type.kind == proto::type_kind::bigint);
}

TEST_CASE("engine: errors", "[sim][engine]") {
    fixture f;
    auto r = f.q("SELECT * FROM t");
    CHECK(r.code() == proto::server_errc::invalid);
    CHECK(r.message() == "No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename");
    r = f.q("SELECT * FROM nope.t");
    CHECK(r.message() == "Keyspace 'nope' does not exist");
    r = f.q("SELEC * FROM t");
    CHECK(r.code() == proto::server_errc::syntax_error);
    f.schema();
    f.ok("CREATE TABLE t (k int, k2 int, c int, v int, PRIMARY KEY ((k, k2), c))");
    CHECK(f.q("SELECT * FROM x").message() == "unconfigured table x");
    CHECK(f.q("SELECT y FROM t").message() == "Undefined column name y");
    CHECK(f.q("INSERT INTO t (k, k2, c, y) VALUES (1, 1, 1, 1)").message() == "Undefined column name y");
    CHECK(f.q("INSERT INTO t (k, k2, c, v) VALUES ('abc', 1, 1, 1)").message() ==
          "Invalid STRING constant (abc) for \"k\" of type int");
    CHECK_FALSE(f.q("SELECT * FROM t WHERE k = abc").ok());
    CHECK(f.q("INSERT INTO t (k, k2, c, v) VALUES (1.5, 1, 1, 1)").message() ==
          "Invalid FLOAT constant (1.5) for \"k\" of type int");
    CHECK(f.q("INSERT INTO t (k, c, v) VALUES (1, 1, 1)").message() == "Some partition key parts are missing: k2");
    CHECK(f.q("INSERT INTO t (k, k2, v) VALUES (1, 1, 1)").message() == "Some clustering keys are missing: c");
    CHECK(f.q("UPDATE t SET v = 1 WHERE k = 1 AND c = 1").message() == "Some partition key parts are missing: k2");
    CHECK(f.q("UPDATE t SET k = 1 WHERE k = 1 AND k2 = 1 AND c = 1").code() == proto::server_errc::invalid);
    CHECK(f.q("SELECT * FROM t WHERE k = 1").message() == "Partition key parts: k2 must be restricted as other parts are");
    CHECK(f.q("SELECT * FROM t WHERE k = ? AND k2 = 1", values()).message() == "There were 1 markers(?) in CQL but 0 bound variables");
    CHECK(f.q("SELECT * FROM t WHERE k = ? AND k2 = ?", values().raw({1, 2, 3}).i(1)).message() == "Expected 4 or 0 byte int (3)");
    CHECK(f.q("SELECT * FROM t WHERE k = ? AND k2 = ?", values().unset().i(1)).code() == proto::server_errc::invalid);
    CHECK(f.q("INSERT INTO t (k, k2, c, v) VALUES (?, 1, 1, 1)", values().null()).code() == proto::server_errc::invalid);
    CHECK(f.q("INSERT INTO system.local (key) VALUES ('x')").code() == proto::server_errc::invalid);
    CHECK(f.q("CREATE INDEX ON t (nope)").message() == "Column 'nope' doesn't exist");
    CHECK(f.q("SELECT * FROM t WHERE token(k) > 0").code() == proto::server_errc::invalid);
    // Names bound by marker name.
    options o;
    o.names = {"b", "a"};
    f.ok("INSERT INTO t (k, k2, c, v) VALUES (:a, :b, 1, 1)", values().i(2).i(1), o);
    CHECK(f.ok("SELECT * FROM t WHERE k = 1 AND k2 = 2").row_count() == 1);
}
