// Engine tests: hostile input never crashes and always gets an ERROR or a RESULT.
#include "test_engine_util.hpp"

#include <random>

using namespace engine_test;

TEST_CASE("engine: odd statements and values never crash", "[sim][engine]") {
    fixture f;
    f.schema();
    f.ok("CREATE TYPE u (a int, b text)");
    f.ok("CREATE TABLE t (k int, c text, v list<int>, m map<text, frozen<u>>, s set<bigint>, d decimal, x varint, "
         "tu tuple<int, text>, vec vector<float, 2>, PRIMARY KEY (k, c))");
    const char* statements[] = {
        "SELECT * FROM t WHERE k = ? AND c = ?",
        "SELECT * FROM t WHERE k IN ? AND c IN ?",
        "SELECT * FROM t WHERE k = ? AND (c) > (?)",
        "SELECT * FROM t WHERE token(k) > ? AND token(k) < ?",
        "SELECT * FROM t WHERE k = ? LIMIT ?",
        "SELECT * FROM t WHERE k = ? PER PARTITION LIMIT ?",
        "SELECT * FROM t WHERE v CONTAINS ? ALLOW FILTERING",
        "SELECT * FROM t WHERE m CONTAINS KEY ? ALLOW FILTERING",
        "INSERT INTO t (k, c, v, m, s, d, x, tu, vec) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        "INSERT INTO t (k, c) VALUES (?, ?) USING TTL ? AND TIMESTAMP ?",
        "UPDATE t SET v = v + ?, s = s - ?, m[?] = ? WHERE k = ? AND c = ?",
        "UPDATE t SET v[?] = ? WHERE k = ? AND c = ?",
        "UPDATE t SET v = [?, ?], tu = (?, ?) WHERE k = ? AND c = ?",
        "DELETE v[?], m[?] FROM t WHERE k = ? AND c = ?",
        "DELETE FROM t WHERE k = ? AND c > ?",
        "INSERT INTO t (k, c) VALUES (?, ?) IF NOT EXISTS",
        "UPDATE t SET d = ? WHERE k = ? AND c = ? IF x = ?",
    };
    std::mt19937 rng(7);
    auto random_value = [&](values& v) {
        switch (rng() % 6) {
            case 0: v.null(); break;
            case 1: v.unset(); break;
            case 2: v.i(static_cast<std::int32_t>(rng() % 5)); break;
            case 3: v.big(static_cast<std::int64_t>(rng())); break;
            case 4: v.txt("abc"); break;
            default: {
                proto::byte_buffer b(rng() % 24);
                for (auto& x : b) x = static_cast<std::uint8_t>(rng());
                v.raw(std::move(b));
            }
        }
    };
    for (const char* s : statements) {
        auto p = f.prepare(s);
        INFO(s << ": " << p.message());
        REQUIRE(p.ok());
        const auto& prep = std::get<proto::prepared_result>(p.result().value);
        for (int round = 0; round < 300; ++round) {
            values v;
            for (std::size_t i = 0; i < prep.variables.columns.size(); ++i) random_value(v);
            options o;
            if (round % 3 == 0) o.page_size = 1 + static_cast<std::int32_t>(rng() % 4);
            if (round % 7 == 0) {
                proto::byte_buffer st(rng() % 40);
                for (auto& x : st) x = static_cast<std::uint8_t>(rng());
                if (!st.empty()) st[0] = 0xC5;
                o.paging_state = st;
            }
            auto r = f.execute(prep, v, o);
            if (!r.ok()) CHECK(r.code() != proto::server_errc::server_error);
        }
    }
    // Garbage query texts.
    std::string alphabet = "SELECT*FROMWHERE=?(),'\"{}[]<>;:.0123456789 abcINSERTVALUESk";
    for (int i = 0; i < 2000; ++i) {
        std::string q;
        auto n = rng() % 60;
        for (std::size_t j = 0; j < n; ++j) q += alphabet[rng() % alphabet.size()];
        auto r = f.q(q);
        if (!r.ok()) CHECK(r.code() != proto::server_errc::server_error);
    }
    // Values for statements without markers, names that do not exist.
    CHECK(f.q("SELECT * FROM t", values().i(1)).code() == proto::server_errc::invalid);
    options o;
    o.names = {"nope"};
    CHECK(f.q("SELECT * FROM t WHERE k = :k AND c = 'a'", values().i(1), o).code() == proto::server_errc::invalid);
}
