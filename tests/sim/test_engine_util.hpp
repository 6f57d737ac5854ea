// Helpers for the engine tests: run requests through engine::execute and
// decode the response bodies with the protocol layer.
#pragma once

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/messages.hpp"
#include "cqlpp/protocol/murmur3.hpp"
#include "cqlpp/protocol/value.hpp"
#include "cqlpp/sim/engine.hpp"
#include "cqlpp/sim/topology.hpp"

#include <catch2/catch.hpp>

#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace engine_test {

namespace proto = cqlpp::protocol;
using cqlpp::sim::engine;
using cqlpp::sim::execution_info;
using cqlpp::sim::session_state;
using cqlpp::sim::topology;
using cqlpp::sim::topology_config;

// A decoded response; owns the body the rows borrow.
struct reply {
    proto::opcode op = proto::opcode::error;
    std::shared_ptr<proto::byte_buffer> body = std::make_shared<proto::byte_buffer>();
    proto::response resp;
    execution_info info;

    bool ok() const { return op == proto::opcode::result; }
    const proto::error_response& error() const { return std::get<proto::error_response>(resp); }
    const proto::result_response& result() const { return std::get<proto::result_response>(resp); }
    const proto::rows_result& rows() const { return std::get<proto::rows_result>(result().value); }
    std::size_t row_count() const { return rows().size(); }
    // Column index by name.
    std::size_t col(const std::string& name) const {
        const auto& m = rows().metadata;
        for (std::size_t i = 0; i < m.columns.size(); ++i)
            if (m.columns[i].name == name) return i;
        FAIL("no column " << name);
        return 0;
    }
    // Cell as a CQL literal (null -> "null").
    std::string text(std::size_t row, std::size_t c) const {
        const auto& cell = rows().cell(row, c);
        if (cell.is_null()) return "null";
        proto::cql_value v;
        const auto& type = rows().metadata.columns.at(c).type;
        REQUIRE(proto::decode_value(type, cell.bytes, v) == proto::errc::ok);
        return proto::format_literal(type, v);
    }
    std::string text(std::size_t row, const std::string& name) const { return text(row, col(name)); }
    std::string message() const { return ok() ? std::string("(ok)") : error().message; }
    proto::server_errc code() const { return ok() ? proto::server_errc::server_error : error().code; }
};

// Encoded bound values with stable storage.
struct values {
    std::deque<proto::byte_buffer> storage;
    std::vector<proto::value_view> views;
    values& add(const proto::cql_type& t, std::string_view literal) {
        proto::cql_value v;
        REQUIRE(proto::parse_literal(t, literal, v) == proto::errc::ok);
        auto& b = storage.emplace_back();
        if (v.is_null()) {
            views.push_back(proto::value_view::null());
            return *this;
        }
        REQUIRE(proto::encode_value(t, v, b) == proto::errc::ok);
        views.push_back(proto::value_view::of(b));
        return *this;
    }
    values& i(std::int32_t x) { return add(proto::cql_type(proto::type_kind::int_), std::to_string(x)); }
    values& big(std::int64_t x) { return add(proto::cql_type(proto::type_kind::bigint), std::to_string(x)); }
    values& txt(std::string_view s) {
        auto& b = storage.emplace_back(s.begin(), s.end());
        views.push_back(proto::value_view::of(b));
        return *this;
    }
    values& raw(proto::byte_buffer b) {
        auto& s = storage.emplace_back(std::move(b));
        views.push_back(proto::value_view::of(s));
        return *this;
    }
    values& null() {
        views.push_back(proto::value_view::null());
        return *this;
    }
    values& unset() {
        views.push_back(proto::value_view::unset());
        return *this;
    }
};

struct options {
    proto::consistency cl = proto::consistency::one;
    std::optional<std::int32_t> page_size;
    std::optional<proto::byte_buffer> paging_state;
    std::optional<std::int64_t> timestamp;
    bool skip_metadata = false;
    std::vector<std::string> names;
    std::optional<proto::consistency> serial;
};

struct fixture {
    std::unique_ptr<topology> topo;
    std::unique_ptr<engine> db;
    session_state session;

    explicit fixture(topology_config cfg = default_config()) {
        topo = std::make_unique<topology>(cfg);
        db = std::make_unique<engine>(*topo);
    }
    static topology_config default_config() {
        topology_config c;
        c.nodes = 3;
        c.num_tokens = 8;
        return c;
    }

    reply run(const proto::request& req, int node = 0) {
        reply r;
        proto::byte_writer w(*r.body);
        r.op = db->execute(node, session, req, w, r.info);
        auto e = proto::decode_response(r.op, *r.body, session.version, r.resp);
        REQUIRE(e == proto::errc::ok);
        return r;
    }

    proto::query_parameters params(const values* v, const options& o, std::vector<std::string_view>& names) {
        proto::query_parameters p;
        p.cl = o.cl;
        if (v) p.values = std::span<const proto::value_view>(v->views);
        p.page_size = o.page_size;
        if (o.paging_state) p.paging_state = proto::bytes_view(*o.paging_state);
        p.default_timestamp = o.timestamp;
        p.skip_metadata = o.skip_metadata;
        p.serial_consistency = o.serial;
        for (const auto& n : o.names) names.push_back(n);
        if (!names.empty()) p.names = std::span<const std::string_view>(names);
        return p;
    }

    reply q(std::string_view cql, const values& v = {}, options o = {}, int node = 0) {
        proto::query_request req;
        req.query = cql;
        std::vector<std::string_view> names;
        req.params = params(&v, o, names);
        return run(req, node);
    }
    // Runs and requires success.
    reply ok(std::string_view cql, const values& v = {}, options o = {}, int node = 0) {
        auto r = q(cql, v, o, node);
        INFO(cql);
        INFO(r.message());
        REQUIRE(r.ok());
        return r;
    }

    reply prepare(std::string_view cql, int node = 0) {
        proto::prepare_request req;
        req.query = cql;
        return run(req, node);
    }
    proto::prepared_result prepared(std::string_view cql, int node = 0) {
        auto r = prepare(cql, node);
        INFO(cql << ": " << r.message());
        REQUIRE(r.ok());
        return std::get<proto::prepared_result>(r.result().value);
    }
    reply execute(const proto::prepared_result& p, const values& v = {}, options o = {}, int node = 0,
                  std::optional<proto::byte_buffer> metadata_id = std::nullopt) {
        proto::execute_request req;
        req.id = p.id;
        auto& mid = metadata_id ? *metadata_id : p.result_metadata_id;
        req.result_metadata_id = mid;
        std::vector<std::string_view> names;
        req.params = params(&v, o, names);
        return run(req, node);
    }

    void schema() {
        ok("CREATE KEYSPACE ks WITH replication = {'class': 'SimpleStrategy', 'replication_factor': 2}");
        session.keyspace = "ks";
    }
};

inline proto::cql_type int_t() { return proto::cql_type(proto::type_kind::int_); }
inline proto::cql_type text_t() { return proto::cql_type(proto::type_kind::text); }

}  // namespace engine_test
