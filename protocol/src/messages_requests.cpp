// Request bodies (spec §4.1).
#include "cqlpp/protocol/detail/message_codec.hpp"
#include "cqlpp/protocol/requests.hpp"

#include <array>
#include <cassert>
#include <cstring>

namespace cqlpp::protocol {

using detail::check_count;
using detail::finish;
using detail::read_consistency;
using detail::write_consistency;

namespace {

constexpr std::uint32_t query_flags_v4_mask = 0x7F;
constexpr std::uint32_t query_flags_v5_mask = 0x1FF;
constexpr std::int32_t prepare_with_keyspace = 0x01;

bool same_optional_bytes(const std::optional<bytes_view>& a, const std::optional<bytes_view>& b) noexcept {
    if (a.has_value() != b.has_value()) return false;
    return !a || same_bytes(*a, *b);
}

}  // namespace

// ---- query_parameters ----------------------------------------------------------

std::uint32_t query_parameters::flags(protocol_version v) const noexcept {
    std::uint32_t f = 0;
    if (values_flag || !values.empty()) f |= query_flags::values;
    if ((f & query_flags::values) && !names.empty()) f |= query_flags::with_names_for_values;
    if (skip_metadata) f |= query_flags::skip_metadata;
    if (page_size) f |= query_flags::page_size;
    if (paging_state) f |= query_flags::with_paging_state;
    if (serial_consistency) f |= query_flags::with_serial_consistency;
    if (default_timestamp) f |= query_flags::with_default_timestamp;
    if (v != protocol_version::v4) {
        if (keyspace) f |= query_flags::with_keyspace;
        if (now_in_seconds) f |= query_flags::with_now_in_seconds;
    }
    return f;
}

// The per-request encoding (EXECUTE, QUERY) sizes its bytes first and then
// writes them through a plain pointer: one resize of the buffer instead of a
// capacity check and value-initialisation per field.
namespace {

struct unchecked_out {
    std::uint8_t* p;
    void u8(std::uint8_t v) noexcept { *p++ = v; }
    void u16(std::uint16_t v) noexcept {
        detail::store_be16(p, v);
        p += 2;
    }
    void i32(std::int32_t v) noexcept {
        detail::store_be32(p, static_cast<std::uint32_t>(v));
        p += 4;
    }
    void i64(std::int64_t v) noexcept {
        detail::store_be64(p, static_cast<std::uint64_t>(v));
        p += 8;
    }
    void raw(const void* d, std::size_t n) noexcept {
        if (n != 0) std::memcpy(p, d, n);
        p += n;
    }
    void string(std::string_view s) noexcept {
        u16(static_cast<std::uint16_t>(s.size()));
        raw(s.data(), s.size());
    }
    void short_bytes(bytes_view b) noexcept {
        u16(static_cast<std::uint16_t>(b.size()));
        raw(b.data(), b.size());
    }
    void value(const value_view& v) noexcept {
        switch (v.st) {
            case value_view::state::set:
                i32(static_cast<std::int32_t>(v.bytes.size()));
                raw(v.bytes.data(), v.bytes.size());
                break;
            case value_view::state::null: i32(-1); break;
            case value_view::state::unset: i32(-2); break;
        }
    }
};

}  // namespace

std::size_t query_parameters::encoded_size(protocol_version v, std::uint32_t f) const noexcept {
    std::size_t n = 2 + (v == protocol_version::v4 ? 1 : 4);
    if (f & query_flags::values) {
        n += 2;
        const bool named = (f & query_flags::with_names_for_values) != 0;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (named) n += 2 + (i < names.size() ? names[i].size() : 0);
            n += 4 + (values[i].st == value_view::state::set ? values[i].bytes.size() : 0);
        }
    }
    if (page_size) n += 4;
    if (paging_state) n += 4 + paging_state->size();
    if (serial_consistency) n += 2;
    if (default_timestamp) n += 8;
    if (f & query_flags::with_keyspace) n += 2 + keyspace->size();
    if (f & query_flags::with_now_in_seconds) n += 4;
    return n;
}

std::uint8_t* query_parameters::write(std::uint8_t* out, protocol_version v, std::uint32_t f) const noexcept {
    unchecked_out w{out};
    w.u16(static_cast<std::uint16_t>(cl));
    if (v == protocol_version::v4) w.u8(static_cast<std::uint8_t>(f));
    else w.i32(static_cast<std::int32_t>(f));
    if (f & query_flags::values) {
        w.u16(static_cast<std::uint16_t>(values.size()));
        const bool named = (f & query_flags::with_names_for_values) != 0;
        for (std::size_t i = 0; i < values.size(); ++i) {
            if (named) w.string(i < names.size() ? names[i] : std::string_view());
            w.value(values[i]);
        }
    }
    if (page_size) w.i32(*page_size);
    if (paging_state) {
        w.i32(static_cast<std::int32_t>(paging_state->size()));
        w.raw(paging_state->data(), paging_state->size());
    }
    if (serial_consistency) w.u16(static_cast<std::uint16_t>(*serial_consistency));
    if (default_timestamp) w.i64(*default_timestamp);
    if (f & query_flags::with_keyspace) w.string(*keyspace);
    if (f & query_flags::with_now_in_seconds) w.i32(*now_in_seconds);
    return w.p;
}

void query_parameters::encode(byte_writer& w, protocol_version v) const {
    const std::uint32_t f = flags(v);
    const std::size_t n = encoded_size(v, f);
    [[maybe_unused]] std::uint8_t* end = write(w.grow(n), v, f);
    assert(end == w.buffer().data() + w.size());
}

errc query_parameters::decode(byte_reader& r, protocol_version v, query_parameters& out) {
    out = query_parameters{};
    out.cl = read_consistency(r);
    const std::uint32_t f = detail::read_query_flags(r, v);
    if (!r.ok()) return r.error();
    const std::uint32_t known = v == protocol_version::v4 ? query_flags_v4_mask : query_flags_v5_mask;
    if (f & ~known) {
        r.fail(errc::bad_message);
        return r.error();
    }
    if (f & query_flags::values) {
        out.values_flag = true;
        const bool named = (f & query_flags::with_names_for_values) != 0;
        const std::uint16_t n = r.u16();
        if (!check_count(r, n, named ? 6 : 4)) return r.error();
        std::vector<value_view> vals;
        std::vector<std::string_view> nms;
        vals.reserve(n);
        if (named) nms.reserve(n);
        for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
            if (named) nms.push_back(r.string());
            vals.push_back(r.value());
        }
        if (!r.ok()) return r.error();
        out.values = view_list<value_view>::owning(std::move(vals));
        if (named) out.names = view_list<std::string_view>::owning(std::move(nms));
    }
    out.skip_metadata = (f & query_flags::skip_metadata) != 0;
    if (f & query_flags::page_size) out.page_size = r.i32();
    if (f & query_flags::with_paging_state) out.paging_state = r.bytes();
    if (f & query_flags::with_serial_consistency) out.serial_consistency = read_consistency(r);
    if (f & query_flags::with_default_timestamp) out.default_timestamp = r.i64();
    if (f & query_flags::with_keyspace) out.keyspace = r.string();
    if (f & query_flags::with_now_in_seconds) out.now_in_seconds = r.i32();
    return r.error();
}

bool operator==(const query_parameters& a, const query_parameters& b) noexcept {
    // Compare what reaches the wire: values_flag only matters with no values.
    const bool a_flag = a.values_flag || !a.values.empty();
    const bool b_flag = b.values_flag || !b.values.empty();
    return a.cl == b.cl && a.values == b.values && a.names == b.names && a_flag == b_flag &&
           a.skip_metadata == b.skip_metadata && a.page_size == b.page_size &&
           same_optional_bytes(a.paging_state, b.paging_state) && a.serial_consistency == b.serial_consistency &&
           a.default_timestamp == b.default_timestamp && a.keyspace == b.keyspace &&
           a.now_in_seconds == b.now_in_seconds;
}

// ---- STARTUP -----------------------------------------------------------------

std::optional<std::string_view> startup_request::find(std::string_view key) const noexcept {
    for (const auto& p : options)
        if (p.key == key) return p.value;
    return std::nullopt;
}

void startup_request::encode(byte_writer& w, protocol_version) const {
    w.u16(static_cast<std::uint16_t>(options.size()));
    for (const auto& p : options) {
        w.string(p.key);
        w.string(p.value);
    }
}

errc startup_request::decode(bytes_view body, protocol_version, startup_request& out) {
    out = startup_request{};
    byte_reader r(body);
    const std::uint16_t n = r.u16();
    if (!check_count(r, n, 4)) return r.error();
    std::vector<string_pair> opts;
    opts.reserve(n);
    for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
        auto k = r.string();
        auto val = r.string();
        opts.push_back({k, val});
    }
    if (r.ok()) out.options = view_list<string_pair>::owning(std::move(opts));
    return finish(r);
}

// ---- OPTIONS -----------------------------------------------------------------

errc options_request::decode(bytes_view body, protocol_version, options_request& out) {
    out = {};
    return body.empty() ? errc::ok : errc::trailing_bytes;
}

// ---- QUERY -------------------------------------------------------------------

void encode_query(byte_writer& w, protocol_version v, std::string_view query, const query_parameters& p) {
    w.long_string(query);
    p.encode(w, v);
}

void query_request::encode(byte_writer& w, protocol_version v) const { encode_query(w, v, query, params); }

errc query_request::decode(bytes_view body, protocol_version v, query_request& out) {
    out = query_request{};
    byte_reader r(body);
    out.query = r.long_string();
    if (!r.ok()) return r.error();
    if (auto e = query_parameters::decode(r, v, out.params); e != errc::ok) return e;
    return finish(r);
}

// ---- PREPARE -----------------------------------------------------------------

void prepare_request::encode(byte_writer& w, protocol_version v) const {
    w.long_string(query);
    if (v == protocol_version::v4) return;
    w.i32(keyspace ? prepare_with_keyspace : 0);
    if (keyspace) w.string(*keyspace);
}

errc prepare_request::decode(bytes_view body, protocol_version v, prepare_request& out) {
    out = prepare_request{};
    byte_reader r(body);
    out.query = r.long_string();
    if (v != protocol_version::v4) {
        const std::int32_t f = r.i32();
        if (r.ok() && (f & ~prepare_with_keyspace)) r.fail(errc::bad_message);
        if (f & prepare_with_keyspace) out.keyspace = r.string();
    }
    return finish(r);
}

// ---- EXECUTE -----------------------------------------------------------------

void encode_execute(byte_writer& w, protocol_version v, bytes_view id, bytes_view result_metadata_id,
                    const query_parameters& p) {
    const bool with_metadata_id = v != protocol_version::v4;
    const std::uint32_t f = p.flags(v);
    const std::size_t n = 2 + id.size() + (with_metadata_id ? 2 + result_metadata_id.size() : 0) + p.encoded_size(v, f);
    unchecked_out o{w.grow(n)};
    o.short_bytes(id);
    if (with_metadata_id) o.short_bytes(result_metadata_id);
    [[maybe_unused]] std::uint8_t* end = p.write(o.p, v, f);
    assert(end == w.buffer().data() + w.size());
}

void execute_request::encode(byte_writer& w, protocol_version v) const {
    encode_execute(w, v, id, result_metadata_id, params);
}

errc execute_request::decode(bytes_view body, protocol_version v, execute_request& out) {
    out = execute_request{};
    byte_reader r(body);
    out.id = r.short_bytes();
    if (v != protocol_version::v4) out.result_metadata_id = r.short_bytes();
    if (!r.ok()) return r.error();
    if (auto e = query_parameters::decode(r, v, out.params); e != errc::ok) return e;
    return finish(r);
}

bool operator==(const execute_request& a, const execute_request& b) noexcept {
    return same_bytes(a.id, b.id) && same_bytes(a.result_metadata_id, b.result_metadata_id) && a.params == b.params;
}

// ---- BATCH -------------------------------------------------------------------

std::string_view to_string(batch_type t) noexcept {
    switch (t) {
        case batch_type::logged: return "LOGGED";
        case batch_type::unlogged: return "UNLOGGED";
        case batch_type::counter: return "COUNTER";
    }
    return "UNKNOWN";
}

bool operator==(const batch_statement& a, const batch_statement& b) noexcept {
    if (a.prepared != b.prepared || a.values != b.values) return false;
    return a.prepared ? same_bytes(a.id, b.id) : a.query == b.query;
}

std::uint32_t batch_request::flags(protocol_version v) const noexcept {
    std::uint32_t f = 0;
    if (serial_consistency) f |= query_flags::with_serial_consistency;
    if (default_timestamp) f |= query_flags::with_default_timestamp;
    if (v != protocol_version::v4) {
        if (keyspace) f |= query_flags::with_keyspace;
        if (now_in_seconds) f |= query_flags::with_now_in_seconds;
    }
    return f;
}

void batch_request::encode(byte_writer& w, protocol_version v) const {
    w.u8(static_cast<std::uint8_t>(type));
    w.u16(static_cast<std::uint16_t>(statements.size()));
    for (const auto& s : statements) {
        w.u8(s.prepared ? 1 : 0);
        if (s.prepared) w.short_bytes(s.id);
        else w.long_string(s.query);
        w.u16(static_cast<std::uint16_t>(s.values.size()));
        for (const auto& val : s.values) w.value(val);
    }
    write_consistency(w, cl);
    const std::uint32_t f = flags(v);
    detail::write_query_flags(w, v, f);
    if (serial_consistency) write_consistency(w, *serial_consistency);
    if (default_timestamp) w.i64(*default_timestamp);
    if (f & query_flags::with_keyspace) w.string(*keyspace);
    if (f & query_flags::with_now_in_seconds) w.i32(*now_in_seconds);
}

errc batch_request::decode(bytes_view body, protocol_version v, batch_request& out) {
    out = batch_request{};
    byte_reader r(body);
    const std::uint8_t type = r.u8();
    if (r.ok() && type > 2) r.fail(errc::bad_message);
    out.type = static_cast<batch_type>(type);
    const std::uint16_t n = r.u16();
    // Smallest statement: kind + empty [short bytes] id + value count.
    if (!check_count(r, n, 5)) return r.error();
    std::vector<batch_statement> stmts;
    stmts.reserve(n);
    for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
        batch_statement s;
        const std::uint8_t kind = r.u8();
        if (kind == 0) {
            s.query = r.long_string();
        } else if (kind == 1) {
            s.prepared = true;
            s.id = r.short_bytes();
        } else {
            r.fail(errc::bad_message);
            break;
        }
        const std::uint16_t nv = r.u16();
        if (!check_count(r, nv, 4)) break;
        std::vector<value_view> vals;
        vals.reserve(nv);
        for (std::uint16_t j = 0; j < nv && r.ok(); ++j) vals.push_back(r.value());
        s.values = view_list<value_view>::owning(std::move(vals));
        stmts.push_back(std::move(s));
    }
    if (!r.ok()) return r.error();
    out.statements = view_list<batch_statement>::owning(std::move(stmts));
    out.cl = read_consistency(r);
    const std::uint32_t f = detail::read_query_flags(r, v);
    if (!r.ok()) return r.error();
    // The low 4 bits have no meaning for BATCH; names for values (0x40) are unusable by design.
    const std::uint32_t known = v == protocol_version::v4 ? 0x30u : 0x1B0u;
    if (f & ~known) {
        r.fail(errc::bad_message);
        return r.error();
    }
    if (f & query_flags::with_serial_consistency) out.serial_consistency = read_consistency(r);
    if (f & query_flags::with_default_timestamp) out.default_timestamp = r.i64();
    if (f & query_flags::with_keyspace) out.keyspace = r.string();
    if (f & query_flags::with_now_in_seconds) out.now_in_seconds = r.i32();
    return finish(r);
}

// ---- REGISTER ----------------------------------------------------------------

namespace {
constexpr std::array<std::string_view, 3> event_type_names = {"TOPOLOGY_CHANGE", "STATUS_CHANGE", "SCHEMA_CHANGE"};
}

std::string_view to_string(event_type t) noexcept {
    auto i = static_cast<std::size_t>(t);
    return i < event_type_names.size() ? event_type_names[i] : std::string_view("UNKNOWN");
}

std::optional<event_type> parse_event_type(std::string_view s) noexcept {
    for (std::size_t i = 0; i < event_type_names.size(); ++i)
        if (event_type_names[i] == s) return static_cast<event_type>(i);
    return std::nullopt;
}

void register_request::encode(byte_writer& w, protocol_version) const {
    w.u16(static_cast<std::uint16_t>(events.size()));
    for (auto e : events) w.string(to_string(e));
}

errc register_request::decode(bytes_view body, protocol_version, register_request& out) {
    out = register_request{};
    byte_reader r(body);
    const std::uint16_t n = r.u16();
    if (!check_count(r, n, 2)) return r.error();
    std::vector<event_type> evs;
    evs.reserve(n);
    for (std::uint16_t i = 0; i < n && r.ok(); ++i) {
        auto name = r.string();
        if (!r.ok()) break;
        auto e = parse_event_type(name);
        if (!e) {
            r.fail(errc::bad_event);
            break;
        }
        evs.push_back(*e);
    }
    if (r.ok()) out.events = view_list<event_type>::owning(std::move(evs));
    return finish(r);
}

// ---- AUTH_RESPONSE -----------------------------------------------------------

void auth_response_request::encode(byte_writer& w, protocol_version) const { w.bytes(token); }

errc auth_response_request::decode(bytes_view body, protocol_version, auth_response_request& out) {
    out = auth_response_request{};
    byte_reader r(body);
    out.token = r.bytes();
    return finish(r);
}

bool operator==(const auth_response_request& a, const auth_response_request& b) noexcept {
    return same_optional_bytes(a.token, b.token);
}

}  // namespace cqlpp::protocol
