// Message bodies: golden vectors, round trips for every message and error
// code in v4 and v5, and malformed input (truncation, trailing bytes,
// negative lengths, forged counts).
#include "cqlpp/protocol/messages.hpp"
#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <functional>
#include <map>
#include <string>

using namespace cqlpp::protocol;
using cqlpp::test::hex;
using cqlpp::test::unhex;

namespace {

constexpr protocol_version both_versions[] = {protocol_version::v4, protocol_version::v5};

std::string str(bytes_view b) { return std::string(as_chars(b)); }
std::string str(const value_view& v) { return std::string(as_chars(v.bytes)); }

byte_buffer encode_body(const request& r, protocol_version v) {
    byte_buffer buf;
    byte_writer w(buf);
    encode(r, w, v);
    return buf;
}
byte_buffer encode_body(const response& r, protocol_version v) {
    byte_buffer buf;
    byte_writer w(buf);
    encode(r, w, v);
    return buf;
}

// Every strict prefix of `body` must fail, and one extra byte must be trailing_bytes.
template <class Decode>
void check_malformed(const byte_buffer& body, Decode decode) {
    for (std::size_t n = 0; n < body.size(); ++n) {
        INFO("prefix of " << n << " bytes of " << hex(body));
        CHECK(decode(bytes_view(body.data(), n)) != errc::ok);
    }
    byte_buffer longer = body;
    longer.push_back(0x00);
    CHECK(decode(bytes_view(longer)) == errc::trailing_bytes);
}

// encode -> decode -> equal -> re-encode to the same bytes -> malformed variants fail.
void check_request(const request& r, protocol_version v) {
    INFO("v" << int(v) << " " << describe(r));
    const byte_buffer body = encode_body(r, v);
    const opcode op = opcode_of(r);
    request out;
    REQUIRE(decode_request(op, body, v, out) == errc::ok);
    REQUIRE(out.index() == r.index());
    CHECK(out == r);
    CHECK(hex(encode_body(out, v)) == hex(body));
    check_malformed(body, [&](bytes_view b) {
        request tmp;
        return decode_request(op, b, v, tmp);
    });
}

void check_response(const response& r, protocol_version v, bool prefixes_fail = true) {
    INFO("v" << int(v) << " " << describe(r));
    const byte_buffer body = encode_body(r, v);
    const opcode op = opcode_of(r);
    response out;
    REQUIRE(decode_response(op, body, v, out) == errc::ok);
    REQUIRE(out.index() == r.index());
    CHECK(out == r);
    CHECK(hex(encode_body(out, v)) == hex(body));
    if (prefixes_fail) {
        check_malformed(body, [&](bytes_view b) {
            response tmp;
            return decode_response(op, b, v, tmp);
        });
    }
}

inet_address ipv4(std::uint8_t a, std::uint8_t b, std::uint8_t c, std::uint8_t d) {
    inet_address x;
    x.size = 4;
    x.addr[0] = a;
    x.addr[1] = b;
    x.addr[2] = c;
    x.addr[3] = d;
    return x;
}
inet_address ipv6_loopback() {
    inet_address x;
    x.size = 16;
    x.addr[15] = 1;
    return x;
}

column_spec col(std::string ks, std::string table, std::string name, cql_type t) {
    return {std::move(ks), std::move(table), std::move(name), std::move(t)};
}

// The type name describe() prints (to_cql_name may still be a placeholder).
std::string shown_type(type_kind k) {
    auto s = to_cql_name(cql_type(k));
    if (!s.empty()) return s;
    char buf[16];
    std::snprintf(buf, sizeof buf, "option 0x%04X", static_cast<unsigned>(k));
    return buf;
}

opcode parse_vector_opcode(const std::string& s) {
    // "QUERY(0x07)", "RESULT(0x08) Rows"
    auto p = s.find("(0x");
    REQUIRE(p != std::string::npos);
    return static_cast<opcode>(std::stoi(s.substr(p + 3, 2), nullptr, 16));
}

const rows_result& rows_of(const response& r) {
    REQUIRE(std::holds_alternative<result_response>(r));
    const auto& res = std::get<result_response>(r);
    REQUIRE(std::holds_alternative<rows_result>(res.value));
    return std::get<rows_result>(res.value);
}

// The two rows shared by the Rows vectors: (1, "hello"), (2, "world").
void check_hello_world_rows(const rows_result& rows) {
    REQUIRE(rows.row_count == 2);
    REQUIRE(rows.column_count() == 2);
    REQUIRE(rows.cells.size() == 4);
    CHECK(hex(rows.cell(0, 0).bytes) == "00000001");
    CHECK(str(rows.cell(0, 1)) == "hello");
    CHECK(hex(rows.cell(1, 0).bytes) == "00000002");
    CHECK(str(rows.cell(1, 1)) == "world");
    CHECK(rows.row(1).size() == 2);
    CHECK(str(rows.row(1)[1]) == "world");
    const auto& cols = rows.metadata.columns;
    REQUIRE(cols.size() == 2);
    CHECK(cols[0].name == "col1");
    CHECK(cols[0].type == cql_type(type_kind::int_));
    CHECK(cols[1].name == "col2");
    CHECK(cols[1].type == cql_type(type_kind::text));  // "varchar" on the wire
    CHECK(cols[0].keyspace == "ks1");
    CHECK(cols[0].table == "table1");
}

using vector_check = std::function<void(const request*, const response*)>;

// Field assertions for each golden message, keyed by its description.
std::map<std::string, vector_check> vector_checks() {
    std::map<std::string, vector_check> m;
    m["query with keyspace and now-in-seconds (flags int 0x00000180 / 0x00000181)"] = [](const request* r,
                                                                                          const response*) {
        const auto& q = std::get<query_request>(*r);
        CHECK(q.query == "SELECT");
        CHECK(q.params.cl == consistency::any);
        CHECK(q.params.values.empty());
        CHECK(q.params.keyspace == std::optional<std::string_view>("ks1"));
        CHECK(q.params.now_in_seconds == 123);
        CHECK(q.params.flags(protocol_version::v5) == 0x180);
    };
    m["prepare simple"] = [](const request* r, const response*) {
        const auto& p = std::get<prepare_request>(*r);
        CHECK(p.query == "SELECT");
        CHECK_FALSE(p.keyspace);
    };
    m["prepare with keyspace"] = [](const request* r, const response*) {
        const auto& p = std::get<prepare_request>(*r);
        CHECK(p.query == "SELECT");
        CHECK(p.keyspace == std::optional<std::string_view>("ks"));
    };
    m["batch with 2 children"] = [](const request* r, const response*) {
        const auto& b = std::get<batch_request>(*r);
        CHECK(b.type == batch_type::logged);
        REQUIRE(b.statements.size() == 2);
        CHECK_FALSE(b.statements[0].prepared);
        CHECK(b.statements[0].query == "INSERT");
        REQUIRE(b.statements[0].values.size() == 1);
        CHECK(hex(b.statements[0].values[0].bytes) == "01020304");
        CHECK(b.statements[1].prepared);
        CHECK(hex(b.statements[1].id) == "cafebabe");
        REQUIRE(b.statements[1].values.size() == 1);
        CHECK(hex(b.statements[1].values[0].bytes) == "05060708");
        CHECK(b.cl == consistency::any);
        CHECK_FALSE(b.serial_consistency);
        CHECK_FALSE(b.default_timestamp);
        CHECK_FALSE(b.keyspace);
        CHECK_FALSE(b.now_in_seconds);
    };
    m["batch with custom options"] = [](const request* r, const response*) {
        const auto& b = std::get<batch_request>(*r);
        CHECK(b.type == batch_type::unlogged);
        REQUIRE(b.statements.size() == 1);
        CHECK(b.statements[0].query == "INSERT");
        REQUIRE(b.statements[0].values.size() == 1);
        CHECK(hex(b.statements[0].values[0].bytes) == "01020304");
        CHECK(b.cl == consistency::local_quorum);
        CHECK(b.serial_consistency == consistency::local_serial);
        CHECK(b.default_timestamp == 123);
        CHECK(b.keyspace == std::optional<std::string_view>("ks1"));
        CHECK(b.now_in_seconds == 234);
        CHECK(b.flags(protocol_version::v5) == 0x1B0);
    };
    m["rows result with column metadata"] = [](const request*, const response* r) {
        const auto& rows = rows_of(*r);
        REQUIRE(rows.metadata.global_table);
        CHECK(rows.metadata.global_table->keyspace == "ks1");
        CHECK(rows.metadata.global_table->table == "table1");
        REQUIRE(rows.metadata.paging_state);
        CHECK(hex(*rows.metadata.paging_state) == "cafebabe");
        CHECK_FALSE(rows.metadata.new_metadata_id);
        check_hello_world_rows(rows);
        CHECK(rows.metadata.columns[1].table == "table1");
    };
    m["rows result with column metadata no global table spec last page"] = [](const request*, const response* r) {
        const auto& rows = rows_of(*r);
        CHECK_FALSE(rows.metadata.global_table);
        CHECK_FALSE(rows.metadata.paging_state);
        check_hello_world_rows(rows);
        CHECK(rows.metadata.columns[1].keyspace == "ks1");
        CHECK(rows.metadata.columns[1].table == "table2");
    };
    m["rows result with column metadata and new result metadata id"] = [](const request*, const response* r) {
        const auto& rows = rows_of(*r);
        REQUIRE(rows.metadata.paging_state);
        CHECK(hex(*rows.metadata.paging_state) == "cafebabe");
        REQUIRE(rows.metadata.new_metadata_id);
        CHECK(hex(*rows.metadata.new_metadata_id) == "01020304");
        CHECK(rows.metadata.flags(protocol_version::v5) == 0x0B);
        check_hello_world_rows(rows);
    };
    m["prepared result with bound variables + partition key indices and no result metadata"] =
        [](const request*, const response* r) {
            const auto& res = std::get<result_response>(*r);
            REQUIRE(res.kind() == result_kind::prepared);
            const auto& p = std::get<prepared_result>(res.value);
            CHECK(hex(p.id) == "01020304");
            CHECK(hex(p.result_metadata_id) == "05060708");
            REQUIRE(p.variables.global_table);
            CHECK(p.variables.global_table->keyspace == "ks1");
            CHECK(p.variables.global_table->table == "table1");
            CHECK(p.variables.pk_indices == std::vector<std::uint16_t>{0});
            REQUIRE(p.variables.columns.size() == 1);
            CHECK(p.variables.columns[0].name == "col1");
            CHECK(p.variables.columns[0].type == cql_type(type_kind::int_));
            CHECK(p.result.no_metadata);
            CHECK(p.result.column_count == 0);
            CHECK(p.result.columns.empty());
        };
    m["read failure (v5 <reasonmap>)"] = [](const request*, const response* r) {
        const auto& e = std::get<error_response>(*r);
        CHECK(e.code == server_errc::read_failure);
        CHECK(e.message == "BOOM");
        const auto& i = std::get<read_failure_info>(e.details);
        CHECK(i.cl == consistency::local_quorum);
        CHECK(i.received == 0);
        CHECK(i.block_for == 2);
        REQUIRE(i.reasons.size() == 1);
        CHECK(i.reasons[0].endpoint == ipv4(192, 168, 1, 1));
        CHECK(i.reasons[0].code == 1);
        CHECK(i.num_failures == 1);
        CHECK_FALSE(i.data_present);
    };
    m["write failure (v5 <reasonmap>)"] = [](const request*, const response* r) {
        const auto& e = std::get<error_response>(*r);
        CHECK(e.code == server_errc::write_failure);
        CHECK(e.message == "BOOM");
        const auto& i = std::get<write_failure_info>(e.details);
        CHECK(i.cl == consistency::local_quorum);
        CHECK(i.received == 0);
        CHECK(i.block_for == 2);
        REQUIRE(i.reasons.size() == 1);
        CHECK(i.reasons[0].endpoint == ipv4(192, 168, 1, 1));
        CHECK(i.reasons[0].code == 1);
        CHECK(i.write_type == "BATCH_LOG");
    };
    m["write timeout CAS with contentions"] = [](const request*, const response* r) {
        const auto& e = std::get<error_response>(*r);
        CHECK(e.code == server_errc::write_timeout);
        CHECK(e.message == "BOOM");
        const auto& i = std::get<write_timeout_info>(e.details);
        CHECK(i.cl == consistency::local_quorum);
        CHECK(i.received == 1);
        CHECK(i.block_for == 2);
        CHECK(i.write_type == "CAS");
        CHECK(i.contentions == std::optional<std::uint16_t>(5));
    };
    m["write timeout not CAS"] = [](const request*, const response* r) {
        const auto& e = std::get<error_response>(*r);
        CHECK(e.code == server_errc::write_timeout);
        const auto& i = std::get<write_timeout_info>(e.details);
        CHECK(i.cl == consistency::local_quorum);
        CHECK(i.received == 1);
        CHECK(i.block_for == 2);
        CHECK(i.write_type == "BATCH_LOG");
        CHECK_FALSE(i.contentions);
    };
    m["PrepareMessage('a') v5 (flags [int] 0)"] = [](const request* r, const response*) {
        const auto& p = std::get<prepare_request>(*r);
        CHECK(p.query == "a");
        CHECK_FALSE(p.keyspace);
    };
    m["ExecuteMessage(query_id='1', result_metadata_id='foo', CL=QUORUM, no values) v5 (flags 0x01 VALUES with count "
      "0)"] = [](const request* r, const response*) {
        const auto& e = std::get<execute_request>(*r);
        CHECK(str(e.id) == "1");
        CHECK(str(e.result_metadata_id) == "foo");
        CHECK(e.params.cl == consistency::quorum);
        CHECK(e.params.values_flag);
        CHECK(e.params.values.empty());
        CHECK(e.params.flags(protocol_version::v5) == 0x01);
    };
    return m;
}

}  // namespace

// ---------------------------------------------------------------------------
// Golden vectors

TEST_CASE("messages: every golden vector decodes, matches its description and re-encodes", "[messages]") {
    const auto& msgs = cqlpp::test::vectors().at("messages");
    const auto checks = vector_checks();
    std::size_t checked = 0;
    for (const auto& m : msgs) {
        const std::string desc = m.at("description");
        INFO(desc);
        const auto body = unhex(m.at("body_hex").get<std::string>());
        REQUIRE(body.size() == m.at("body_length").get<std::size_t>());
        const auto v = static_cast<protocol_version>(m.at("protocol_version").get<int>());
        const opcode op = parse_vector_opcode(m.at("opcode"));
        const bool is_request = m.at("direction") == "request";
        auto it = checks.find(desc);
        REQUIRE(it != checks.end());

        byte_buffer again;
        byte_writer w(again);
        if (is_request) {
            request r;
            REQUIRE(decode_request(op, body, v, r) == errc::ok);
            CHECK(opcode_of(r) == op);
            it->second(&r, nullptr);
            encode(r, w, v);
            CHECK_FALSE(describe(r).empty());
            check_malformed(body, [&](bytes_view b) {
                request tmp;
                return decode_request(op, b, v, tmp);
            });
        } else {
            response r;
            REQUIRE(decode_response(op, body, v, r) == errc::ok);
            CHECK(opcode_of(r) == op);
            it->second(nullptr, &r);
            encode(r, w, v);
            CHECK_FALSE(describe(r).empty());
            check_malformed(body, [&](bytes_view b) {
                response tmp;
                return decode_response(op, b, v, tmp);
            });
        }
        CHECK(hex(again) == hex(body));
        ++checked;
    }
    REQUIRE(checked == msgs.size());
    REQUIRE(checked == cqlpp::test::vectors().at("counts").at("messages").get<std::size_t>());
    REQUIRE(checked == checks.size());
}

TEST_CASE("messages: bodies of the derived frames", "[messages]") {
    const auto& frames = cqlpp::test::vectors().at("derived_frames");
    std::vector<byte_buffer> envelopes;
    for (const auto& f : frames) {
        if (f.contains("envelope_hex")) {
            envelopes.push_back(unhex(f.at("envelope_hex").get<std::string>()));
        } else if (f.contains("segment_hex")) {
            // Self-contained uncompressed segment: 6-byte header, payload, 4-byte CRC32.
            auto seg = unhex(f.at("segment_hex").get<std::string>());
            REQUIRE(seg.size() > 10);
            byte_buffer payload(seg.begin() + 6, seg.end() - 4);
            std::size_t pos = 0;
            while (pos < payload.size()) {
                REQUIRE(payload.size() - pos >= 9);
                auto len = detail::load_be32(payload.data() + pos + 5);
                REQUIRE(payload.size() - pos - 9 >= len);
                envelopes.emplace_back(payload.begin() + static_cast<std::ptrdiff_t>(pos),
                                       payload.begin() + static_cast<std::ptrdiff_t>(pos + 9 + len));
                pos += 9 + len;
            }
        }
    }
    // OPTIONS, STARTUP, READY, QUERY, RESULT, and the two QUERYs of the shared segment.
    REQUIRE(envelopes.size() == 7);

    std::size_t startups = 0, queries = 0, rows = 0, others = 0;
    for (const auto& env : envelopes) {
        INFO(hex(env));
        const auto v = static_cast<protocol_version>(env[0] & 0x7F);
        const bool is_response = (env[0] & 0x80) != 0;
        const auto op = static_cast<opcode>(env[4]);
        const bytes_view body(env.data() + 9, env.size() - 9);
        REQUIRE(detail::load_be32(env.data() + 5) == body.size());
        byte_buffer again;
        byte_writer w(again);
        if (is_response) {
            response r;
            REQUIRE(decode_response(op, body, v, r) == errc::ok);
            if (op == opcode::result) {
                check_hello_world_rows(rows_of(r));
                ++rows;
            } else {
                CHECK(std::holds_alternative<ready_response>(r));
                ++others;
            }
            encode(r, w, v);
        } else {
            request r;
            REQUIRE(decode_request(op, body, v, r) == errc::ok);
            if (op == opcode::startup) {
                const auto& s = std::get<startup_request>(r);
                REQUIRE(s.options.size() == 1);
                CHECK(s.find(startup_keys::cql_version) == std::optional<std::string_view>("3.0.0"));
                ++startups;
            } else if (op == opcode::query) {
                const auto& q = std::get<query_request>(r);
                CHECK(q.query == "SELECT");
                CHECK(q.params.keyspace == std::optional<std::string_view>("ks1"));
                CHECK(q.params.now_in_seconds == 123);
                if (!q.params.values.empty()) {
                    REQUIRE(q.params.values.size() == 3);
                    CHECK(str(q.params.values[0]) == "hello");
                    CHECK(q.params.values[1].is_null());
                    CHECK(q.params.values[2].is_unset());
                }
                ++queries;
            } else {
                CHECK(std::holds_alternative<options_request>(r));
                ++others;
            }
            encode(r, w, v);
        }
        CHECK(hex(again) == hex(body));
    }
    CHECK(startups == 1);
    CHECK(queries == 3);
    CHECK(rows == 1);
    CHECK(others == 2);
}

// ---------------------------------------------------------------------------
// Requests

TEST_CASE("messages: request round trips in v4 and v5", "[messages]") {
    const byte_buffer int_val = unhex("0000002a");
    const byte_buffer blob = unhex("00112233445566778899");
    const value_view values[] = {value_view::of(int_val), value_view::of(blob), value_view::null(), value_view::unset(),
                                 value_view::of(bytes_view{})};
    const std::string_view names[] = {"a", "bb", "c", "", "e"};
    const byte_buffer id = unhex("0123456789abcdef0123456789abcdef");
    const byte_buffer md_id = unhex("cafebabecafebabe");
    const byte_buffer paging = unhex("deadbeef");
    const string_pair opts[] = {{"CQL_VERSION", "3.0.0"}, {"COMPRESSION", "lz4"}, {"DRIVER_NAME", "cqlpp"}};
    const event_type events[] = {event_type::topology_change, event_type::status_change, event_type::schema_change};

    for (auto v : both_versions) {
        const bool v5 = v == protocol_version::v5;
        INFO("protocol v" << int(v));

        check_request(startup_request{opts}, v);
        check_request(startup_request{}, v);
        check_request(options_request{}, v);

        {
            query_parameters p;
            check_request(query_request{"SELECT * FROM t", p}, v);
            p.values_flag = true;  // flag 0x01 with a count of 0
            check_request(query_request{"", p}, v);

            query_parameters full;
            full.cl = consistency::local_quorum;
            full.values = values;
            full.skip_metadata = true;
            full.page_size = 5000;
            full.paging_state = bytes_view(paging);
            full.serial_consistency = consistency::local_serial;
            full.default_timestamp = -1234567890123;
            if (v5) {
                full.keyspace = "ks1";
                full.now_in_seconds = 1700000000;
            }
            check_request(query_request{"INSERT INTO t (a, b, c, d, e) VALUES (?, ?, ?, ?, ?)", full}, v);
            full.names = names;
            check_request(query_request{"INSERT INTO t (a) VALUES (:a)", full}, v);
            check_request(execute_request{id, v5 ? bytes_view(md_id) : bytes_view{}, full}, v);

            query_parameters empty_paging;
            empty_paging.paging_state = bytes_view{};
            empty_paging.page_size = 0;
            check_request(execute_request{bytes_view{}, bytes_view{}, empty_paging}, v);
        }

        check_request(prepare_request{"SELECT * FROM t WHERE k = ?", std::nullopt}, v);
        if (v5) check_request(prepare_request{"SELECT 1", "other_ks"}, v);

        {
            const batch_statement stmts[] = {
                batch_statement::simple("INSERT INTO t (k, v) VALUES (?, ?)", std::span(values, 2)),
                batch_statement::with_id(id, values),
                batch_statement::simple("DELETE FROM t WHERE k = 1"),
                batch_statement::with_id(bytes_view{}),
            };
            batch_request b;
            b.statements = stmts;
            check_request(b, v);
            b.type = batch_type::unlogged;
            b.cl = consistency::each_quorum;
            b.serial_consistency = consistency::serial;
            b.default_timestamp = 42;
            if (v5) {
                b.keyspace = "ks";
                b.now_in_seconds = -1;
            }
            check_request(b, v);
            batch_request counter;
            counter.type = batch_type::counter;
            check_request(counter, v);
        }

        check_request(register_request{events}, v);
        check_request(register_request{}, v);

        check_request(auth_response_request{as_bytes(std::string_view("\0user\0pass", 10))}, v);
        check_request(auth_response_request{std::nullopt}, v);
        check_request(auth_response_request{bytes_view{}}, v);
    }
}

TEST_CASE("messages: v4 and v5 request layouts differ where the spec says", "[messages]") {
    const byte_buffer id = unhex("abcd");
    const byte_buffer md = unhex("ef");
    const byte_buffer ival = unhex("00000001");
    const value_view vals[] = {value_view::of(ival)};
    query_parameters p;
    p.cl = consistency::one;
    p.values = vals;
    p.page_size = 100;

    auto body = [](auto&& m, protocol_version v) {
        byte_buffer b;
        byte_writer w(b);
        m.encode(w, v);
        return hex(b);
    };
    // QUERY: [byte] flags in v4, [int] in v5.
    CHECK(body(query_request{"SELECT", p}, protocol_version::v4) ==
          "0000000653454c454354" "0001" "05" "0001" "0000000400000001" "00000064");
    CHECK(body(query_request{"SELECT", p}, protocol_version::v5) ==
          "0000000653454c454354" "0001" "00000005" "0001" "0000000400000001" "00000064");
    // EXECUTE: v5 adds the result metadata id.
    CHECK(body(execute_request{id, md, p}, protocol_version::v4) == "0002abcd" "0001" "05" "0001" "0000000400000001" "00000064");
    CHECK(body(execute_request{id, md, p}, protocol_version::v5) ==
          "0002abcd" "0001ef" "0001" "00000005" "0001" "0000000400000001" "00000064");
    // PREPARE: v4 is the query alone; v5 adds [int] flags (+ keyspace).
    CHECK(body(prepare_request{"a", "ks"}, protocol_version::v4) == "0000000161");
    CHECK(body(prepare_request{"a", "ks"}, protocol_version::v5) == "0000000161" "00000001" "00026b73");
    // BATCH: [byte] flags in v4.
    batch_request b;
    b.cl = consistency::quorum;
    b.default_timestamp = 1;
    CHECK(body(b, protocol_version::v4) == "00" "0000" "0004" "20" "0000000000000001");
    CHECK(body(b, protocol_version::v5) == "00" "0000" "0004" "00000020" "0000000000000001");

    // v5-only fields are dropped for v4 (needs_v5() tells the caller).
    p.keyspace = "ks";
    p.now_in_seconds = 5;
    CHECK(p.needs_v5());
    CHECK(p.flags(protocol_version::v4) == 0x05);
    CHECK(p.flags(protocol_version::v5) == 0x185);
    CHECK(body(query_request{"SELECT", p}, protocol_version::v4) ==
          "0000000653454c454354" "0001" "05" "0001" "0000000400000001" "00000064");
}

TEST_CASE("messages: EXECUTE encoding appends to the buffer and nothing else", "[messages]") {
    const byte_buffer id = unhex("000102030405060708090a0b0c0d0e0f");
    const byte_buffer md = unhex("1011121314151617");
    const byte_buffer ival = unhex("0000002a");
    byte_buffer blob(100, 0xAB);
    const value_view vals[] = {value_view::of(ival), value_view::of(blob)};
    query_parameters p;
    p.cl = consistency::local_quorum;
    p.values = vals;
    p.skip_metadata = true;

    byte_buffer out;
    out.reserve(1024);
    const auto* data = out.data();
    for (int i = 0; i < 3; ++i) {
        out.clear();
        byte_writer w(out);
        encode_execute(w, protocol_version::v5, id, md, p);
        CHECK(out.data() == data);  // no reallocation: the buffer was big enough
    }
    CHECK(out.size() == 2 + 16 + 2 + 8 + 2 + 4 + 2 + 4 + 4 + 4 + 100);
    CHECK(hex(bytes_view(out).first(36)) ==
          "0010000102030405060708090a0b0c0d0e0f" "00081011121314151617" "0006" "00000003" "0002");
    // The blob's bytes appear once, right after their length.
    CHECK(hex(bytes_view(out).subspan(out.size() - 104, 4)) == "00000064");
    CHECK(bytes_view(out).subspan(out.size() - 100)[99] == 0xAB);
}

TEST_CASE("messages: decoded requests borrow the body; copies stay valid", "[messages]") {
    const auto body = unhex("0000000653454c45435400000000018100030000000568656c6c6ffffffffffffffffe00036b73310000007b");
    request r;
    REQUIRE(decode_request(opcode::query, body, protocol_version::v5, r) == errc::ok);
    std::optional<query_request> copy;
    {
        request temp = r;  // copy of an owning view_list re-points at its own vector
        copy = std::get<query_request>(temp);
    }
    const auto& q = *copy;
    REQUIRE(q.params.values.size() == 3);
    CHECK(q.params.values.is_owning());
    CHECK(q.params.values.span().data() != std::get<query_request>(r).params.values.span().data());
    CHECK(str(q.params.values[0]) == "hello");
    // The value bytes themselves point into the body (zero copy).
    CHECK(q.params.values[0].bytes.data() >= body.data());
    CHECK(q.params.values[0].bytes.data() < body.data() + body.size());
    CHECK(q.query.data() == reinterpret_cast<const char*>(body.data()) + 4);
    CHECK(*copy == std::get<query_request>(r));

    // Moving hands the vector over; the source is left empty, not aliased.
    auto moved = std::move(copy->params.values);
    CHECK(moved.size() == 3);
    CHECK(copy->params.values.empty());
    CHECK(str(moved[0]) == "hello");
    auto& alias = moved;
    moved = std::move(alias);  // self-move keeps the data
    CHECK(moved.size() == 3);
}

// ---------------------------------------------------------------------------
// Responses

TEST_CASE("messages: response round trips in v4 and v5", "[messages]") {
    const byte_buffer c1 = unhex("00000001");
    const byte_buffer c2 = unhex("68656c6c6f");
    const byte_buffer c3 = unhex("");
    const byte_buffer big(300, 0x5A);

    for (auto v : both_versions) {
        const bool v5 = v == protocol_version::v5;
        INFO("protocol v" << int(v));

        check_response(ready_response{}, v);
        check_response(authenticate_response{"org.apache.cassandra.auth.PasswordAuthenticator"}, v);
        check_response(supported_response{{{"COMPRESSION", {"lz4", "snappy"}},
                                           {"CQL_VERSION", {"3.4.7"}},
                                           {"PROTOCOL_VERSIONS", {"3/v3", "4/v4", "5/v5"}},
                                           {"EMPTY", {}}}},
                       v);
        check_response(supported_response{}, v);
        check_response(auth_challenge_response{byte_buffer{1, 2, 3}}, v);
        check_response(auth_challenge_response{std::nullopt}, v);
        check_response(auth_success_response{std::nullopt}, v);
        check_response(auth_success_response{byte_buffer{}}, v);

        check_response(result_response{void_result{}}, v);
        check_response(result_response{set_keyspace_result{"my_ks"}}, v);

        // Rows with a global table spec, a paging state and every kind of cell.
        {
            rows_result rows;
            rows.metadata.global_table = table_spec{"ks", "t"};
            rows.metadata.paging_state = byte_buffer{0xca, 0xfe};
            if (v5) rows.metadata.new_metadata_id = byte_buffer{9, 9};
            rows.metadata.columns = {
                col("ks", "t", "id", cql_type(type_kind::int_)),
                col("ks", "t", "name", cql_type(type_kind::text)),
                col("ks", "t", "tags", cql_type::map_of(cql_type(type_kind::text), cql_type::list_of(cql_type(type_kind::int_)))),
                col("ks", "t", "point", cql_type::tuple_of({cql_type(type_kind::double_), cql_type(type_kind::double_)})),
                col("ks", "t", "addr",
                    cql_type::udt_of("ks", "address", {"street", "zip"},
                                     {cql_type(type_kind::text), cql_type(type_kind::int_)})),
                col("ks", "t", "s", cql_type::set_of(cql_type(type_kind::uuid))),
                col("ks", "t", "raw", cql_type::custom_of("org.example.MyType")),
            };
            rows.row_count = 2;
            rows.cells = {value_view::of(c1), value_view::of(c2), value_view::null(), value_view::of(c3),
                          value_view::of(big), value_view::null(), value_view::null(),
                          value_view::of(c1), value_view::null(), value_view::of(c3), value_view::of(c3),
                          value_view::of(c2), value_view::of(big), value_view::of(c1)};
            check_response(result_response{rows}, v);

            // No global spec: per-column keyspace/table.
            rows.metadata.global_table.reset();
            rows.metadata.columns[1].table = "other";
            rows.metadata.paging_state.reset();
            check_response(result_response{rows}, v);

            // No_metadata: only the column count.
            rows_result bare;
            bare.metadata.no_metadata = true;
            bare.metadata.column_count = 2;
            bare.metadata.paging_state = byte_buffer{};
            bare.row_count = 1;
            bare.cells = {value_view::of(c1), value_view::null()};
            check_response(result_response{bare}, v);

            // Zero rows and zero columns.
            check_response(result_response{rows_result{}}, v);
        }

        // Prepared (v5 carries the result metadata id).
        {
            prepared_result p;
            p.id = unhex("0123456789abcdef0123456789abcdef");
            if (v5) p.result_metadata_id = unhex("aabbccdd");
            p.variables.global_table = table_spec{"ks", "t"};
            p.variables.pk_indices = {1, 0};
            p.variables.columns = {col("ks", "t", "k1", cql_type(type_kind::bigint)),
                                   col("ks", "t", "k2", cql_type(type_kind::text))};
            p.result.global_table = table_spec{"ks", "t"};
            p.result.columns = {col("ks", "t", "v", cql_type(type_kind::blob))};
            check_response(result_response{p}, v);
            p.variables.global_table.reset();
            p.variables.pk_indices.clear();
            p.result = result_metadata{};
            p.result.no_metadata = true;
            check_response(result_response{p}, v);
        }

        // Schema change: every target.
        const schema_change changes[] = {
            {schema_change_type::created, schema_change_target::keyspace, "ks", "", {}},
            {schema_change_type::updated, schema_change_target::table, "ks", "t", {}},
            {schema_change_type::dropped, schema_change_target::type, "ks", "address", {}},
            {schema_change_type::created, schema_change_target::function, "ks", "fn", {"int", "map<text, int>"}},
            {schema_change_type::dropped, schema_change_target::aggregate, "ks", "agg", {}},
        };
        for (const auto& c : changes) {
            check_response(result_response{c}, v);
            check_response(event_response{c}, v);
        }

        check_response(event_response{topology_change_event{topology_change_type::new_node, {ipv4(10, 0, 0, 1), 9042}}},
                       v);
        check_response(event_response{topology_change_event{topology_change_type::removed_node, {ipv6_loopback(), 19042}}},
                       v);
        check_response(event_response{topology_change_event{topology_change_type::moved_node, {ipv4(1, 2, 3, 4), 0}}}, v);
        check_response(event_response{status_change_event{status_change_type::up, {ipv4(127, 0, 0, 1), 9042}}}, v);
        check_response(event_response{status_change_event{status_change_type::down, {ipv6_loopback(), 9042}}}, v);
    }
}

TEST_CASE("messages: encode_rows builds what the server sends", "[messages]") {
    result_metadata m;
    m.global_table = table_spec{"ks1", "table1"};
    m.columns = {col("ks1", "table1", "col1", cql_type(type_kind::int_)),
                 col("ks1", "table1", "col2", cql_type(type_kind::text))};
    m.paging_state = unhex("cafebabe");
    const byte_buffer a = unhex("00000001"), b = unhex("00000002");
    const value_view cells[] = {value_view::of(a), value_view::of(as_bytes("hello")), value_view::of(b),
                                value_view::of(as_bytes("world"))};
    byte_buffer body;
    byte_writer w(body);
    encode_rows(w, protocol_version::v5, m, cells);
    // Identical to the golden "rows result with column metadata" body.
    CHECK(hex(body) ==
          "00000002000000030000000200000004cafebabe00036b733100067461626c65310004636f6c3100090004636f6c32000d00000002"
          "00000004000000010000000568656c6c6f000000040000000200000005776f726c64");
    response r;
    REQUIRE(decode_response(opcode::result, body, protocol_version::v5, r) == errc::ok);
    check_hello_world_rows(rows_of(r));
}

TEST_CASE("messages: RESULT Rows is zero-copy and reuses its cell vector", "[messages]") {
    const auto body = unhex(
        "00000002000000030000000200000004cafebabe00036b733100067461626c65310004636f6c3100090004636f6c32000d00000002"
        "00000004000000010000000568656c6c6f000000040000000200000005776f726c64");
    response r;
    REQUIRE(decode_response(opcode::result, body, protocol_version::v5, r) == errc::ok);
    const auto& rows = rows_of(r);
    for (const auto& c : rows.cells) {
        CHECK(c.bytes.data() >= body.data());
        CHECK(c.bytes.data() + c.bytes.size() <= body.data() + body.size());
    }
    CHECK(rows.cell(0, 1).bytes.data() == body.data() + 65);
    const auto* cells = rows.cells.data();
    REQUIRE(decode_response(opcode::result, body, protocol_version::v5, r) == errc::ok);
    CHECK(rows_of(r).cells.data() == cells);  // same allocation reused for the next page
}

TEST_CASE("messages: every error code round-trips in v4 and v5", "[messages]") {
    for (auto v : both_versions) {
        const bool v5 = v == protocol_version::v5;
        INFO("protocol v" << int(v));
        std::size_t codes = 0;
        for (auto code : all_server_errcs) {
            INFO(to_string(code));
            error_details d;
            switch (code) {
                case server_errc::unavailable: d = unavailable_info{consistency::local_quorum, 3, 1}; break;
                case server_errc::write_timeout: d = write_timeout_info{consistency::quorum, 1, 2, "SIMPLE", {}}; break;
                case server_errc::read_timeout: d = read_timeout_info{consistency::one, 0, 1, true}; break;
                case server_errc::read_failure: {
                    read_failure_info i{consistency::all, 1, 3, 2, {}, true};
                    if (v5) i.reasons = {{ipv4(10, 0, 0, 2), 1}, {ipv6_loopback(), 0x0102}};
                    d = i;
                    break;
                }
                case server_errc::write_failure: {
                    write_failure_info i{consistency::two, 0, 2, 1, {}, "BATCH"};
                    if (v5) i.reasons = {{ipv4(10, 0, 0, 3), 4}};
                    d = i;
                    break;
                }
                case server_errc::function_failure: d = function_failure_info{"ks", "fn", {"int", "text"}}; break;
                case server_errc::already_exists: d = already_exists_info{"ks", "t"}; break;
                case server_errc::unprepared: d = unprepared_info{unhex("0123456789abcdef")}; break;
                case server_errc::cas_write_unknown: d = cas_write_unknown_info{consistency::serial, 1, 2}; break;
                default: break;
            }
            check_response(error_response::make(code, "message for " + std::string(to_string(code)), d), v);
            ++codes;
        }
        CHECK(codes == 20);

        // CAS write timeouts carry <contentions> in v5 only.
        auto cas = error_response::make(server_errc::write_timeout, "cas",
                                        write_timeout_info{consistency::serial, 0, 1, "CAS", v5 ? std::optional<std::uint16_t>(7) : std::nullopt});
        check_response(cas, v);
        CHECK(encode_body(response{cas}, v).size() == 4 + 5 + 2 + 4 + 4 + 5 + (v5 ? 2u : 0u));
        check_response(error_response::make(server_errc::already_exists, "ks exists", already_exists_info{"ks", ""}), v);
        check_response(error_response::make(server_errc::function_failure, "", function_failure_info{}), v);

        // Unknown codes keep their message and whatever follows, verbatim.
        error_response unknown;
        unknown.code = static_cast<server_errc>(0x7777);
        unknown.message = "from the future";
        unknown.unknown_extra = unhex("0102030405");
        check_response(unknown, v, /*prefixes_fail=*/false);
        CHECK(describe(response{unknown}).find("0x0102030405") != std::string::npos);
    }
}

TEST_CASE("messages: v4 read/write failures carry numfailures, v5 a reasonmap", "[messages]") {
    read_failure_info i{consistency::one, 1, 2, 0, {{ipv4(1, 1, 1, 1), 3}, {ipv4(2, 2, 2, 2), 4}}, false};
    auto e = error_response::make(server_errc::read_failure, "x", i);
    auto v4 = encode_body(response{e}, protocol_version::v4);
    CHECK(hex(v4) == "00001300" "000178" "0001" "00000001" "00000002" "00000002" "00");
    response r;
    REQUIRE(decode_response(opcode::error, v4, protocol_version::v4, r) == errc::ok);
    const auto& d = std::get<read_failure_info>(std::get<error_response>(r).details);
    CHECK(d.num_failures == 2);
    CHECK(d.reasons.empty());
    auto v5 = encode_body(response{e}, protocol_version::v5);
    CHECK(hex(v5) == "00001300" "000178" "0001" "00000001" "00000002" "00000002" "040101010100030402020202000400");
}

TEST_CASE("messages: server_errc is a std::error_code enum", "[messages]") {
    std::error_code ec = server_errc::unavailable;
    CHECK(ec.category().name() == std::string("cqlpp.server"));
    CHECK(ec.message() == "UNAVAILABLE");
    CHECK(std::error_code(static_cast<server_errc>(0x4242)).message().find("unknown") != std::string::npos);
    CHECK(is_known_server_errc(0x2500));
    CHECK_FALSE(is_known_server_errc(0x2600));
}

TEST_CASE("messages: every server code, SERVER_ERROR (wire 0) included, is an error", "[messages]") {
    for (auto code : all_server_errcs) {
        std::error_code ec = make_error_code(code);
        INFO(to_string(code));
        CHECK(static_cast<bool>(ec));
        CHECK(ec == code);
        CHECK(ec.message() == to_string(code));
        REQUIRE(server_errc_of(ec).has_value());
        CHECK(*server_errc_of(ec) == code);
    }
    for (std::int32_t raw : {0, 0x7777, -1, 0x0fffffff}) {
        std::error_code ec = make_error_code(static_cast<server_errc>(raw));
        CHECK(static_cast<bool>(ec));
    }
    CHECK(std::error_code(server_errc::server_error) != std::error_code(server_errc::protocol_error));
    CHECK_FALSE(server_errc_of(std::make_error_code(std::errc::timed_out)).has_value());
}

// ---------------------------------------------------------------------------
// Malformed input

namespace {

errc decode_resp(opcode op, std::string_view hx, protocol_version v = protocol_version::v5) {
    const auto body = unhex(hx);
    response r;
    return decode_response(op, body, v, r);
}
errc decode_req(opcode op, std::string_view hx, protocol_version v = protocol_version::v5) {
    const auto body = unhex(hx);
    request r;
    return decode_request(op, body, v, r);
}

}  // namespace

TEST_CASE("messages: forged counts fail before allocating", "[messages]") {
    // rows_count 0x7fffffff (no_metadata, 1 column) with 10 bytes of rows content.
    {
        const auto body = unhex("00000002" "00000004" "00000001" "7fffffff" "00000002ffff" "ffffffff");
        response r;
        CHECK(decode_response(opcode::result, body, protocol_version::v5, r) == errc::truncated);
        if (auto* res = std::get_if<result_response>(&r))
            if (auto* rows = std::get_if<rows_result>(&res->value)) CHECK(rows->cells.capacity() < 16);
    }
    // 0x7fffffff rows of 0x7fffffff columns: the product must not overflow into something small.
    CHECK(decode_resp(opcode::result, "00000002" "00000004" "7fffffff" "7fffffff" "00000000") == errc::truncated);
    // columns_count 0x7fffffff with metadata.
    CHECK(decode_resp(opcode::result, "00000002" "00000001" "7fffffff" "0000" "0000" "00000000") == errc::truncated);
    CHECK(decode_resp(opcode::result, "00000002" "00000000" "7fffffff" "0001610009") == errc::truncated);
    // Zero columns: any row count is harmless (no cells).
    CHECK(decode_resp(opcode::result, "00000002" "00000004" "00000000" "7fffffff") == errc::ok);
    // pk_count, reasonmap, string map / multimap / list, values, statements.
    CHECK(decode_resp(opcode::result, "00000004" "0000" "0000" "00000000" "00000000" "7fffffff" "0000") ==
          errc::truncated);
    CHECK(decode_resp(opcode::error, "00001300" "0000" "0001" "00000000" "00000001" "7fffffff" "00") ==
          errc::truncated);
    CHECK(decode_resp(opcode::supported, "ffff" "0000") == errc::truncated);
    CHECK(decode_resp(opcode::error, "00001400" "0000" "0000" "0000" "ffff") == errc::truncated);
    CHECK(decode_req(opcode::startup, "ffff" "00000000") == errc::truncated);
    CHECK(decode_req(opcode::query, "00000000" "0001" "00000001" "ffff" "00000000") == errc::truncated);
    CHECK(decode_req(opcode::batch, "00" "ffff" "00" "00000000" "0000") == errc::truncated);
    CHECK(decode_req(opcode::batch, "00" "0001" "00" "00000000" "ffff" "0000" "00000000") == errc::truncated);
    CHECK(decode_req(opcode::register_, "ffff" "0000") == errc::truncated);
}

TEST_CASE("messages: negative lengths and counts", "[messages]") {
    CHECK(decode_req(opcode::query, "ffffffff" "0001" "00000000") == errc::negative_length);
    CHECK(decode_req(opcode::query, "00000000" "0001" "00000001" "0001" "fffffffd") == errc::negative_length);
    CHECK(decode_req(opcode::prepare, "80000000" "00000000") == errc::negative_length);
    CHECK(decode_resp(opcode::result, "00000002" "00000004" "ffffffff" "00000000") == errc::negative_length);
    CHECK(decode_resp(opcode::result, "00000002" "00000004" "00000001" "ffffffff") == errc::negative_length);
    CHECK(decode_resp(opcode::result, "00000004" "0000" "0000" "00000000" "00000000" "ffffffff" "00000004" "00000000") ==
          errc::negative_length);
    CHECK(decode_resp(opcode::error, "00001500" "0000" "0001" "00000000" "00000001" "ffffffff" "0000") ==
          errc::negative_length);
    // A Rows cell is [bytes]: every negative length is null.
    response r;
    const auto body = unhex("00000002" "00000004" "00000002" "00000001" "ffffffff" "fffffffe");
    REQUIRE(decode_response(opcode::result, body, protocol_version::v5, r) == errc::ok);
    CHECK(rows_of(r).cell(0, 0).is_null());
    CHECK(rows_of(r).cell(0, 1).is_null());
    // A cell longer than the body.
    CHECK(decode_resp(opcode::result, "00000002" "00000004" "00000001" "00000001" "00000005" "01020304") ==
          errc::truncated);
}

TEST_CASE("messages: invalid enumerations and flags", "[messages]") {
    // Consistency.
    CHECK(decode_req(opcode::query, "00000000" "0042" "00000000") == errc::bad_consistency);
    CHECK(decode_resp(opcode::error, "00001000" "0000" "000b" "00000001" "00000000") == errc::bad_consistency);
    // RESULT kind.
    CHECK(decode_resp(opcode::result, "00000006") == errc::bad_result_kind);
    CHECK(decode_resp(opcode::result, "00000000") == errc::bad_result_kind);
    // Events.
    CHECK(decode_resp(opcode::event, "0005" "48454c4c4f") == errc::bad_event);
    CHECK(decode_resp(opcode::event, "000d" "5354415455535f4348414e4745" "0004" "48414c46" "047f00000100002352") ==
          errc::bad_event);
    CHECK(decode_resp(opcode::event, "000d" "5354415455535f4348414e4745" "0002" "5550" "057f0000010000002352") ==
          errc::bad_inet);
    CHECK(decode_resp(opcode::result, "00000005" "0007" "43524541544544" "0005" "494e444558" "0002" "6b73") ==
          errc::bad_event);
    CHECK(decode_req(opcode::register_, "0001" "0003" "464f4f") == errc::bad_event);
    // QUERY flags unknown to the version.
    CHECK(decode_req(opcode::query, "00000000" "0001" "00000200") == errc::bad_message);
    CHECK(decode_req(opcode::query, "00000000" "0001" "80" "0002" "6b73", protocol_version::v4) == errc::bad_message);
    // PREPARE flags.
    CHECK(decode_req(opcode::prepare, "00000000" "00000002") == errc::bad_message);
    // BATCH: type, kind, names flag, the low 4 bits.
    CHECK(decode_req(opcode::batch, "03" "0000" "0001" "00000000") == errc::bad_message);
    CHECK(decode_req(opcode::batch, "00" "0001" "02" "0000" "0000" "0001" "00000000") == errc::bad_message);
    CHECK(decode_req(opcode::batch, "00" "0000" "0001" "00000040") == errc::bad_message);
    CHECK(decode_req(opcode::batch, "00" "0000" "0001" "00000001") == errc::bad_message);
    CHECK(decode_req(opcode::batch, "00" "0000" "0001" "00000100", protocol_version::v5) == errc::truncated);
    CHECK(decode_req(opcode::batch, "00" "0000" "0001" "80", protocol_version::v4) == errc::bad_message);
    // Types.
    CHECK(decode_resp(opcode::result, "00000002" "00000001" "00000001" "0000" "0000" "0001" "61" "0099" "00000000") ==
          errc::unknown_type_option);
    // Opcodes in the wrong direction, and non-opcodes.
    CHECK(decode_req(opcode::result, "00000001") == errc::unexpected_opcode);
    CHECK(decode_resp(opcode::query, "") == errc::unexpected_opcode);
    CHECK(decode_req(static_cast<opcode>(0x04), "") == errc::unknown_opcode);
    CHECK(decode_resp(static_cast<opcode>(0x11), "") == errc::unknown_opcode);
    // Empty bodies where something is required.
    CHECK(decode_resp(opcode::result, "") == errc::truncated);
    CHECK(decode_resp(opcode::error, "") == errc::truncated);
    CHECK(decode_req(opcode::auth_response, "") == errc::truncated);
    CHECK(decode_resp(opcode::ready, "00") == errc::trailing_bytes);
    CHECK(decode_req(opcode::options, "00") == errc::trailing_bytes);
}

// ---------------------------------------------------------------------------
// describe()

TEST_CASE("messages: describe() shows names, types and values", "[messages]") {
    const auto body = unhex(
        "00000002000000030000000200000004cafebabe00036b733100067461626c65310004636f6c3100090004636f6c32000d00000002"
        "00000004000000010000000568656c6c6f000000040000000200000005776f726c64");
    response r;
    REQUIRE(decode_response(opcode::result, body, protocol_version::v5, r) == errc::ok);
    const auto text = describe(r);
    INFO(text);
    CHECK(text.rfind("RESULT Rows", 0) == 0);
    CHECK(text.find("ks1.table1") != std::string::npos);
    CHECK(text.find("col1 " + shown_type(type_kind::int_)) != std::string::npos);
    CHECK(text.find("col2 " + shown_type(type_kind::text)) != std::string::npos);
    CHECK(text.find("paging_state: 0xcafebabe") != std::string::npos);
    CHECK(text.find("col1=1, col2='hello'") != std::string::npos);
    CHECK(text.find("col2='world'") != std::string::npos);

    const auto err = unhex("000013000004424f4f4d000600000000000000020000000104c0a80101000100");
    REQUIRE(decode_response(opcode::error, err, protocol_version::v5, r) == errc::ok);
    const auto etext = describe(r);
    INFO(etext);
    CHECK(etext.find("READ_FAILURE") != std::string::npos);
    CHECK(etext.find("\"BOOM\"") != std::string::npos);
    CHECK(etext.find("LOCAL_QUORUM") != std::string::npos);
    CHECK(etext.find("192.168.1.1: 0x0001") != std::string::npos);

    // Credentials are not dumped.
    const std::string secret("\0alice\0s3cret", 13);
    const auto atext = describe(request{auth_response_request{as_bytes(secret)}});
    CHECK(atext.find("13 bytes") != std::string::npos);
    CHECK(atext.find(hex(as_bytes("s3cret"))) == std::string::npos);

    const auto ev = describe(response{event_response{status_change_event{status_change_type::down, {ipv6_loopback(), 9042}}}});
    CHECK(ev.find("EVENT STATUS_CHANGE") != std::string::npos);
    CHECK(ev.find("[0:0:0:0:0:0:0:1]:9042") != std::string::npos);

    // Large pages are cut.
    rows_result many;
    many.metadata.no_metadata = true;
    many.metadata.column_count = 1;
    many.row_count = 150;
    many.cells.assign(150, value_view::null());
    const auto mtext = describe(response{result_response{many}});
    CHECK(mtext.find("... (50 more rows)") != std::string::npos);
}
