// Opcode dispatch for request/response bodies, and the human-readable dump.
#include "cqlpp/protocol/messages.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/value.hpp"

#include <cstdio>

namespace cqlpp::protocol {

namespace {

constexpr opcode request_opcodes[] = {opcode::startup, opcode::options,   opcode::query,    opcode::prepare,
                                      opcode::execute, opcode::batch,     opcode::register_, opcode::auth_response};
constexpr opcode response_opcodes[] = {opcode::error,  opcode::ready, opcode::authenticate,   opcode::supported,
                                       opcode::result, opcode::event, opcode::auth_challenge, opcode::auth_success};
static_assert(std::size(request_opcodes) == std::variant_size_v<request>);
static_assert(std::size(response_opcodes) == std::variant_size_v<response>);

// Decodes into the alternative T of `out`, reusing it if it is already there
// (a RESULT Rows then keeps its cell vector's capacity).
template <class T, class Variant>
errc decode_as(bytes_view body, protocol_version v, Variant& out) {
    auto* m = std::get_if<T>(&out);
    if (!m) m = &out.template emplace<T>();
    return T::decode(body, v, *m);
}

}  // namespace

opcode opcode_of(const request& r) noexcept { return request_opcodes[r.index()]; }
opcode opcode_of(const response& r) noexcept { return response_opcodes[r.index()]; }

errc decode_request(opcode op, bytes_view body, protocol_version v, request& out) {
    switch (op) {
        case opcode::startup: return decode_as<startup_request>(body, v, out);
        case opcode::options: return decode_as<options_request>(body, v, out);
        case opcode::query: return decode_as<query_request>(body, v, out);
        case opcode::prepare: return decode_as<prepare_request>(body, v, out);
        case opcode::execute: return decode_as<execute_request>(body, v, out);
        case opcode::batch: return decode_as<batch_request>(body, v, out);
        case opcode::register_: return decode_as<register_request>(body, v, out);
        case opcode::auth_response: return decode_as<auth_response_request>(body, v, out);
        case opcode::error:
        case opcode::ready:
        case opcode::authenticate:
        case opcode::supported:
        case opcode::result:
        case opcode::event:
        case opcode::auth_challenge:
        case opcode::auth_success: return errc::unexpected_opcode;
    }
    return errc::unknown_opcode;
}

errc decode_response(opcode op, bytes_view body, protocol_version v, response& out) {
    switch (op) {
        case opcode::error: return decode_as<error_response>(body, v, out);
        case opcode::ready: return decode_as<ready_response>(body, v, out);
        case opcode::authenticate: return decode_as<authenticate_response>(body, v, out);
        case opcode::supported: return decode_as<supported_response>(body, v, out);
        case opcode::result: return decode_as<result_response>(body, v, out);
        case opcode::event: return decode_as<event_response>(body, v, out);
        case opcode::auth_challenge: return decode_as<auth_challenge_response>(body, v, out);
        case opcode::auth_success: return decode_as<auth_success_response>(body, v, out);
        case opcode::startup:
        case opcode::options:
        case opcode::query:
        case opcode::prepare:
        case opcode::execute:
        case opcode::batch:
        case opcode::register_:
        case opcode::auth_response: return errc::unexpected_opcode;
    }
    return errc::unknown_opcode;
}

void encode(const request& r, byte_writer& w, protocol_version v) {
    std::visit([&](const auto& m) { m.encode(w, v); }, r);
}
void encode(const response& r, byte_writer& w, protocol_version v) {
    std::visit([&](const auto& m) { m.encode(w, v); }, r);
}

// ---- describe -------------------------------------------------------------------

namespace {

// Hex dumps are cut here so a multi-megabyte blob does not flood the terminal.
constexpr std::size_t max_hex_bytes = 64;
constexpr std::size_t max_rows_shown = 100;

class dumper {
public:
    explicit dumper(std::string_view title) : out_(title) {}

    void line(int indent, std::string_view text) {
        out_ += '\n';
        out_.append(static_cast<std::size_t>(indent) * 2, ' ');
        out_ += text;
    }
    void field(int indent, std::string_view name, std::string_view value) {
        std::string s(name);
        s += ": ";
        s += value;
        line(indent, s);
    }
    std::string take() { return std::move(out_); }

private:
    std::string out_;
};

// Concatenation by appends: GCC 12 at -O3 reports a false -Wrestrict on
// `"literal" + std::string` chains.
template <class... Parts>
std::string cat(const Parts&... parts) {
    std::string s;
    (s.append(std::string_view(parts)), ...);
    return s;
}

template <class List, class F>
std::string join(const List& l, F&& text) {
    std::string s;
    for (const auto& x : l) {
        if (!s.empty()) s += ", ";
        s += text(x);
    }
    return s;
}

std::string hex_of(bytes_view b) {
    std::string s = cat("0x", to_hex(b.first(std::min(b.size(), max_hex_bytes))));
    if (b.size() > max_hex_bytes) s += cat("... (", std::to_string(b.size()), " bytes)");
    return s;
}

std::string value_text(const value_view& val) {
    if (val.is_null()) return "null";
    if (val.is_unset()) return "unset";
    return hex_of(val.bytes);
}

std::string quoted(std::string_view s) {
    std::string q = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\') q += '\\';
        q += c;
    }
    return q + '"';
}

std::string hex_number(std::uint32_t v, int digits) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "0x%0*X", digits, v);
    return buf;
}

std::string type_name(const cql_type& t) {
    auto s = to_cql_name(t);
    if (s.empty()) s = cat("option ", hex_number(static_cast<std::uint32_t>(t.kind), 4));
    return s;
}

std::string address_text(const inet_address& a) {
    std::string s;
    if (a.size == 4) {
        for (std::size_t i = 0; i < 4; ++i) s += cat(i ? "." : "", std::to_string(a.addr[i]));
        return s;
    }
    char buf[8];
    for (std::size_t i = 0; i < 16; i += 2) {
        std::snprintf(buf, sizeof buf, "%s%x", i ? ":" : "", (a.addr[i] << 8) | a.addr[i + 1]);
        s += buf;
    }
    return s;
}

std::string endpoint_text(const inet_endpoint& e) {
    if (e.address.size == 16) return cat("[", address_text(e.address), "]:", std::to_string(e.port));
    return cat(address_text(e.address), ":", std::to_string(e.port));
}

template <class T>
std::string optional_text(const std::optional<T>& o) {
    if (!o) return {};
    if constexpr (std::is_same_v<T, consistency>) return std::string(to_string(*o));
    else return std::to_string(*o);
}

void describe_values(dumper& d, int indent, const view_list<value_view>& values,
                     const view_list<std::string_view>& names) {
    d.line(indent, cat("values (", std::to_string(values.size()), "):"));
    for (std::size_t i = 0; i < values.size(); ++i) {
        std::string s = cat("[", std::to_string(i), "] ");
        if (i < names.size()) s += cat(names[i], " = ");
        d.line(indent + 1, cat(s, value_text(values[i])));
    }
}

void describe_params(dumper& d, const query_parameters& p) {
    d.field(1, "consistency", to_string(p.cl));
    if (!p.values.empty() || p.values_flag) describe_values(d, 1, p.values, p.names);
    if (p.skip_metadata) d.field(1, "skip_metadata", "true");
    if (p.page_size) d.field(1, "page_size", std::to_string(*p.page_size));
    if (p.paging_state) d.field(1, "paging_state", hex_of(*p.paging_state));
    if (p.serial_consistency) d.field(1, "serial_consistency", to_string(*p.serial_consistency));
    if (p.default_timestamp) d.field(1, "default_timestamp", std::to_string(*p.default_timestamp));
    if (p.keyspace) d.field(1, "keyspace", *p.keyspace);
    if (p.now_in_seconds) d.field(1, "now_in_seconds", std::to_string(*p.now_in_seconds));
}

void describe_columns(dumper& d, int indent, const std::optional<table_spec>& global,
                      const std::vector<column_spec>& cols) {
    if (global) d.field(indent, "table", cat(global->keyspace, ".", global->table));
    d.line(indent, cat("columns (", std::to_string(cols.size()), "):"));
    for (std::size_t i = 0; i < cols.size(); ++i) {
        const auto& c = cols[i];
        std::string s = cat("[", std::to_string(i), "] ");
        if (!global) s += cat(c.keyspace, ".", c.table, ".");
        d.line(indent + 1, cat(s, c.name, " ", type_name(c.type)));
    }
}

void describe_metadata(dumper& d, int indent, const result_metadata& m) {
    if (m.paging_state) d.field(indent, "paging_state", hex_of(*m.paging_state));
    if (m.new_metadata_id) d.field(indent, "new_metadata_id", hex_of(*m.new_metadata_id));
    if (m.no_metadata) d.field(indent, "no_metadata", cat("true (", std::to_string(m.column_count), " columns)"));
    else describe_columns(d, indent, m.global_table, m.columns);
}

void describe_rows(dumper& d, const rows_result& rows) {
    describe_metadata(d, 1, rows.metadata);
    d.line(1, cat("rows (", std::to_string(rows.row_count), "):"));
    const std::size_t width = rows.column_count();
    const std::size_t shown = std::min<std::size_t>(rows.size(), max_rows_shown);
    for (std::size_t i = 0; i < shown && width > 0; ++i) {
        std::string s = cat("[", std::to_string(i), "]");
        for (std::size_t j = 0; j < width; ++j) {
            s += j ? ", " : " ";
            if (rows.metadata.no_metadata) {
                s += value_text(rows.cell(i, j));
                continue;
            }
            const auto& col = rows.metadata.columns[j];
            s += cat(col.name, "=");
            // With the column's type known, show the value as a CQL literal.
            const auto& cell = rows.cell(i, j);
            cql_value v;
            if (cell.is_set() && decode_value(col.type, cell.bytes, v) == errc::ok) s += format_literal(col.type, v);
            else s += value_text(cell);
        }
        d.line(2, s);
    }
    if (width > 0 && rows.size() > shown) d.line(2, cat("... (", std::to_string(rows.size() - shown), " more rows)"));
}

void describe_schema_change(dumper& d, const schema_change& s) {
    d.field(1, "change", to_string(s.change));
    d.field(1, "target", to_string(s.target));
    d.field(1, "keyspace", s.keyspace);
    if (s.target != schema_change_target::keyspace) d.field(1, "name", s.name);
    if (s.target == schema_change_target::function || s.target == schema_change_target::aggregate) {
        d.field(1, "argument_types", cat("(", join(s.argument_types, [](const std::string& a) { return a; }), ")"));
    }
}

template <class Info>
void describe_replicas(dumper& d, const Info& i) {
    d.field(1, "consistency", to_string(i.cl));
    d.field(1, "received", std::to_string(i.received));
    d.field(1, "block_for", std::to_string(i.block_for));
}

template <class Info>
void describe_failures(dumper& d, const Info& i) {
    d.field(1, "num_failures", std::to_string(i.num_failures));
    if (i.reasons.empty()) return;
    d.line(1, cat("reasons (", std::to_string(i.reasons.size()), "):"));
    for (const auto& r : i.reasons) d.line(2, cat(address_text(r.endpoint), ": ", hex_number(r.code, 4)));
}

std::string token_text(const std::optional<byte_buffer>& t) {
    return t ? cat(hex_of(*t), " (", std::to_string(t->size()), " bytes)") : std::string("null");
}

struct request_describer {
    std::string operator()(const startup_request& m) const {
        dumper d("STARTUP");
        for (const auto& p : m.options) d.field(1, p.key, p.value);
        return d.take();
    }
    std::string operator()(const options_request&) const { return "OPTIONS"; }
    std::string operator()(const query_request& m) const {
        dumper d("QUERY");
        d.field(1, "query", quoted(m.query));
        describe_params(d, m.params);
        return d.take();
    }
    std::string operator()(const prepare_request& m) const {
        dumper d("PREPARE");
        d.field(1, "query", quoted(m.query));
        if (m.keyspace) d.field(1, "keyspace", *m.keyspace);
        return d.take();
    }
    std::string operator()(const execute_request& m) const {
        dumper d("EXECUTE");
        d.field(1, "id", hex_of(m.id));
        if (!m.result_metadata_id.empty()) d.field(1, "result_metadata_id", hex_of(m.result_metadata_id));
        describe_params(d, m.params);
        return d.take();
    }
    std::string operator()(const batch_request& m) const {
        dumper d("BATCH");
        d.field(1, "type", to_string(m.type));
        d.line(1, cat("statements (", std::to_string(m.statements.size()), "):"));
        for (std::size_t i = 0; i < m.statements.size(); ++i) {
            const auto& s = m.statements[i];
            d.line(2, cat("[", std::to_string(i), "] ", s.prepared ? cat("id ", hex_of(s.id)) : cat("query ", quoted(s.query))));
            describe_values(d, 3, s.values, {});
        }
        d.field(1, "consistency", to_string(m.cl));
        if (m.serial_consistency) d.field(1, "serial_consistency", optional_text(m.serial_consistency));
        if (m.default_timestamp) d.field(1, "default_timestamp", optional_text(m.default_timestamp));
        if (m.keyspace) d.field(1, "keyspace", *m.keyspace);
        if (m.now_in_seconds) d.field(1, "now_in_seconds", optional_text(m.now_in_seconds));
        return d.take();
    }
    std::string operator()(const register_request& m) const {
        dumper d("REGISTER");
        for (auto e : m.events) d.line(1, to_string(e));
        return d.take();
    }
    std::string operator()(const auth_response_request& m) const {
        dumper d("AUTH_RESPONSE");
        // Tokens carry credentials (PLAIN: "\0user\0password"): show the size only.
        d.field(1, "token", m.token ? cat(std::to_string(m.token->size()), " bytes (not shown)") : std::string("null"));
        return d.take();
    }
};

struct error_details_describer {
    dumper& d;
    void operator()(const std::monostate&) const {}
    void operator()(const unavailable_info& i) const {
        d.field(1, "consistency", to_string(i.cl));
        d.field(1, "required", std::to_string(i.required));
        d.field(1, "alive", std::to_string(i.alive));
    }
    void operator()(const write_timeout_info& i) const {
        describe_replicas(d, i);
        d.field(1, "write_type", i.write_type);
        if (i.contentions) d.field(1, "contentions", std::to_string(*i.contentions));
    }
    void operator()(const read_timeout_info& i) const {
        describe_replicas(d, i);
        d.field(1, "data_present", i.data_present ? "true" : "false");
    }
    void operator()(const read_failure_info& i) const {
        describe_replicas(d, i);
        describe_failures(d, i);
        d.field(1, "data_present", i.data_present ? "true" : "false");
    }
    void operator()(const write_failure_info& i) const {
        describe_replicas(d, i);
        describe_failures(d, i);
        d.field(1, "write_type", i.write_type);
    }
    void operator()(const function_failure_info& i) const {
        d.field(1, "keyspace", i.keyspace);
        d.field(1, "function", i.function);
        d.field(1, "arg_types", cat("(", join(i.arg_types, [](const std::string& a) { return a; }), ")"));
    }
    void operator()(const already_exists_info& i) const {
        d.field(1, "keyspace", i.keyspace);
        d.field(1, "table", i.table);
    }
    void operator()(const unprepared_info& i) const { d.field(1, "id", hex_of(i.id)); }
    void operator()(const cas_write_unknown_info& i) const { describe_replicas(d, i); }
};

struct response_describer {
    std::string operator()(const error_response& m) const {
        dumper d("ERROR");
        d.field(1, "code", cat(hex_number(static_cast<std::uint32_t>(m.code), 4), " ", to_string(m.code)));
        d.field(1, "message", quoted(m.message));
        std::visit(error_details_describer{d}, m.details);
        if (!m.unknown_extra.empty()) d.field(1, "extra", hex_of(m.unknown_extra));
        return d.take();
    }
    std::string operator()(const ready_response&) const { return "READY"; }
    std::string operator()(const authenticate_response& m) const {
        dumper d("AUTHENTICATE");
        d.field(1, "authenticator", m.authenticator);
        return d.take();
    }
    std::string operator()(const supported_response& m) const {
        dumper d("SUPPORTED");
        for (const auto& [k, vals] : m.options) {
            d.field(1, k, cat("[", join(vals, [](const std::string& v) { return v; }), "]"));
        }
        return d.take();
    }
    std::string operator()(const result_response& m) const {
        dumper d(cat("RESULT ", to_string(m.kind())));
        if (auto* rows = std::get_if<rows_result>(&m.value)) {
            describe_rows(d, *rows);
        } else if (auto* ks = std::get_if<set_keyspace_result>(&m.value)) {
            d.field(1, "keyspace", ks->keyspace);
        } else if (auto* p = std::get_if<prepared_result>(&m.value)) {
            d.field(1, "id", hex_of(p->id));
            if (!p->result_metadata_id.empty()) d.field(1, "result_metadata_id", hex_of(p->result_metadata_id));
            d.line(1, "variables:");
            auto pk = join(p->variables.pk_indices, [](std::uint16_t i) { return std::to_string(i); });
            d.field(2, "pk_indices", cat("[", pk, "]"));
            describe_columns(d, 2, p->variables.global_table, p->variables.columns);
            d.line(1, "result:");
            describe_metadata(d, 2, p->result);
        } else if (auto* s = std::get_if<schema_change>(&m.value)) {
            describe_schema_change(d, *s);
        }
        return d.take();
    }
    std::string operator()(const event_response& m) const {
        dumper d(cat("EVENT ", to_string(m.type())));
        if (auto* t = std::get_if<topology_change_event>(&m.value)) {
            d.field(1, "change", to_string(t->change));
            d.field(1, "node", endpoint_text(t->node));
        } else if (auto* s = std::get_if<status_change_event>(&m.value)) {
            d.field(1, "change", to_string(s->change));
            d.field(1, "node", endpoint_text(s->node));
        } else {
            describe_schema_change(d, std::get<schema_change>(m.value));
        }
        return d.take();
    }
    std::string operator()(const auth_challenge_response& m) const {
        dumper d("AUTH_CHALLENGE");
        d.field(1, "token", token_text(m.token));
        return d.take();
    }
    std::string operator()(const auth_success_response& m) const {
        dumper d("AUTH_SUCCESS");
        d.field(1, "token", token_text(m.token));
        return d.take();
    }
};

}  // namespace

std::string describe(const request& r) { return std::visit(request_describer{}, r); }
std::string describe(const response& r) { return std::visit(response_describer{}, r); }

}  // namespace cqlpp::protocol
