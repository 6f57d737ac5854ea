// RESULT bodies (spec §4.2.5).
#include "cqlpp/protocol/detail/message_codec.hpp"
#include "cqlpp/protocol/result.hpp"

#include <array>

namespace cqlpp::protocol {

using detail::check_count;
using detail::finish;
using detail::read_int_count;

std::string_view to_string(result_kind k) noexcept {
    switch (k) {
        case result_kind::void_: return "Void";
        case result_kind::rows: return "Rows";
        case result_kind::set_keyspace: return "Set_keyspace";
        case result_kind::prepared: return "Prepared";
        case result_kind::schema_change: return "Schema_change";
    }
    return "Unknown";
}

namespace {

// <col_spec_i>...: per-column keyspace/table only without a global spec.
void write_column_specs(byte_writer& w, const std::optional<table_spec>& global, const std::vector<column_spec>& cols) {
    if (global) {
        w.string(global->keyspace);
        w.string(global->table);
    }
    for (const auto& c : cols) {
        if (!global) {
            w.string(c.keyspace);
            w.string(c.table);
        }
        w.string(c.name);
        write_option(w, c.type);
    }
}

void read_column_specs(byte_reader& r, bool global_flag, std::int32_t count, std::optional<table_spec>& global,
                       std::vector<column_spec>& cols) {
    cols.clear();
    if (global_flag) {
        table_spec t;
        t.keyspace = std::string(r.string());
        t.table = std::string(r.string());
        global = std::move(t);
    }
    // Smallest spec: empty name + 2-byte option id (+ two empty strings without a global spec).
    if (!check_count(r, static_cast<std::uint64_t>(count), global_flag ? 4 : 8)) return;
    cols.reserve(static_cast<std::size_t>(count));
    for (std::int32_t i = 0; i < count && r.ok(); ++i) {
        column_spec c;
        if (global_flag) {
            c.keyspace = global->keyspace;
            c.table = global->table;
        } else {
            c.keyspace = std::string(r.string());
            c.table = std::string(r.string());
        }
        c.name = std::string(r.string());
        c.type = read_option(r);
        cols.push_back(std::move(c));
    }
}

bool same_columns(bool global, const std::vector<column_spec>& a, const std::vector<column_spec>& b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        if (a[i].name != b[i].name || !(a[i].type == b[i].type)) return false;
        if (!global && (a[i].keyspace != b[i].keyspace || a[i].table != b[i].table)) return false;
    }
    return true;
}

void write_cell(byte_writer& w, const value_view& c) {
    // Rows cells are [bytes]: no "unset" on this side of the protocol.
    if (c.is_set()) w.bytes(c.bytes);
    else w.null_bytes();
}

}  // namespace

// ---- result_metadata -------------------------------------------------------------

std::int32_t result_metadata::flags(protocol_version v) const noexcept {
    std::int32_t f = 0;
    if (global_table) f |= metadata_flags::global_tables_spec;
    if (paging_state) f |= metadata_flags::has_more_pages;
    if (no_metadata) f |= metadata_flags::no_metadata;
    if (new_metadata_id && v != protocol_version::v4) f |= metadata_flags::metadata_changed;
    return f;
}

void result_metadata::encode(byte_writer& w, protocol_version v) const {
    const std::int32_t f = flags(v);
    w.i32(f);
    w.i32(no_metadata ? column_count : static_cast<std::int32_t>(columns.size()));
    if (paging_state) w.bytes(bytes_view(*paging_state));
    if (f & metadata_flags::metadata_changed) w.short_bytes(*new_metadata_id);
    if (!no_metadata) write_column_specs(w, global_table, columns);
}

errc result_metadata::decode(byte_reader& r, protocol_version v, result_metadata& out) {
    const std::int32_t f = r.i32();
    const std::int32_t count = read_int_count(r);
    out.global_table.reset();
    out.paging_state.reset();
    out.new_metadata_id.reset();
    out.no_metadata = (f & metadata_flags::no_metadata) != 0;
    out.column_count = count;
    out.columns.clear();
    if (!r.ok()) return r.error();
    if (f & metadata_flags::has_more_pages) {
        // A null paging state would mean "more pages, but no way to ask": treat as the last page.
        if (auto ps = r.bytes()) out.paging_state = detail::to_buffer(*ps);
    }
    if (v != protocol_version::v4 && (f & metadata_flags::metadata_changed))
        out.new_metadata_id = detail::to_buffer(r.short_bytes());
    if (out.no_metadata) {
        // The flag may still be set; no spec follows, so keep it empty.
        if (f & metadata_flags::global_tables_spec) out.global_table = table_spec{};
        return r.error();
    }
    read_column_specs(r, (f & metadata_flags::global_tables_spec) != 0, count, out.global_table, out.columns);
    return r.error();
}

bool operator==(const result_metadata& a, const result_metadata& b) noexcept {
    if (a.no_metadata != b.no_metadata || a.paging_state != b.paging_state || a.new_metadata_id != b.new_metadata_id ||
        a.global_table.has_value() != b.global_table.has_value())
        return false;
    if (a.no_metadata) return a.column_count == b.column_count;
    return a.global_table == b.global_table && same_columns(a.global_table.has_value(), a.columns, b.columns);
}

// ---- prepared_metadata -----------------------------------------------------------

void prepared_metadata::encode(byte_writer& w, protocol_version) const {
    w.i32(global_table ? metadata_flags::global_tables_spec : 0);
    w.i32(static_cast<std::int32_t>(columns.size()));
    w.i32(static_cast<std::int32_t>(pk_indices.size()));
    for (auto i : pk_indices) w.u16(i);
    write_column_specs(w, global_table, columns);
}

errc prepared_metadata::decode(byte_reader& r, protocol_version, prepared_metadata& out) {
    out = prepared_metadata{};
    const std::int32_t f = r.i32();
    const std::int32_t count = read_int_count(r);
    const std::int32_t pk_count = read_int_count(r);
    if (!check_count(r, static_cast<std::uint64_t>(pk_count), 2)) return r.error();
    out.pk_indices.reserve(static_cast<std::size_t>(pk_count));
    for (std::int32_t i = 0; i < pk_count; ++i) out.pk_indices.push_back(r.u16());
    read_column_specs(r, (f & metadata_flags::global_tables_spec) != 0, count, out.global_table, out.columns);
    return r.error();
}

bool operator==(const prepared_metadata& a, const prepared_metadata& b) noexcept {
    return a.global_table == b.global_table && a.pk_indices == b.pk_indices &&
           same_columns(a.global_table.has_value(), a.columns, b.columns);
}

// ---- rows ------------------------------------------------------------------------

void rows_result::encode(byte_writer& w, protocol_version v) const {
    metadata.encode(w, v);
    w.i32(row_count);
    for (const auto& c : cells) write_cell(w, c);
}

void encode_rows(byte_writer& w, protocol_version v, const result_metadata& m, std::span<const value_view> cells) {
    w.i32(static_cast<std::int32_t>(result_kind::rows));
    m.encode(w, v);
    const std::size_t width = m.width();
    w.i32(width == 0 ? 0 : static_cast<std::int32_t>(cells.size() / width));
    for (const auto& c : cells) write_cell(w, c);
}

errc rows_result::decode(byte_reader& r, protocol_version v, rows_result& out) {
    if (auto e = result_metadata::decode(r, v, out.metadata); e != errc::ok) return e;
    out.row_count = read_int_count(r);
    if (!r.ok()) return r.error();
    const std::uint64_t total = static_cast<std::uint64_t>(out.row_count) * out.metadata.width();
    // Every cell is at least its 4-byte length: reject forged counts before allocating.
    if (total > r.remaining() / 4) {
        r.fail(errc::truncated);
        return r.error();
    }
    out.cells.resize(static_cast<std::size_t>(total));
    const std::uint8_t* const begin = r.position();
    const std::uint8_t* p = begin;
    const std::uint8_t* const end = begin + r.remaining();
    for (auto& cell : out.cells) {
        if (end - p < 4) {
            r.fail(errc::truncated);
            return r.error();
        }
        const auto len = static_cast<std::int32_t>(detail::load_be32(p));
        p += 4;
        if (len < 0) {  // [bytes]: any negative length is null
            cell = value_view::null();
            continue;
        }
        if (end - p < len) {
            r.fail(errc::truncated);
            return r.error();
        }
        cell = value_view::of(bytes_view(p, static_cast<std::size_t>(len)));
        p += len;
    }
    r.skip(static_cast<std::size_t>(p - begin));
    return r.error();
}

bool operator==(const rows_result& a, const rows_result& b) noexcept {
    if (!(a.metadata == b.metadata) || a.row_count != b.row_count || a.cells.size() != b.cells.size()) return false;
    for (std::size_t i = 0; i < a.cells.size(); ++i)
        if (!same_value(a.cells[i], b.cells[i])) return false;
    return true;
}

// ---- schema_change -----------------------------------------------------------------

namespace {
constexpr std::array<std::string_view, 3> change_type_names = {"CREATED", "UPDATED", "DROPPED"};
constexpr std::array<std::string_view, 5> target_names = {"KEYSPACE", "TABLE", "TYPE", "FUNCTION", "AGGREGATE"};

template <class E, std::size_t N>
bool parse_name(const std::array<std::string_view, N>& names, std::string_view s, E& out) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
        if (names[i] == s) {
            out = static_cast<E>(i);
            return true;
        }
    }
    return false;
}
}  // namespace

std::string_view to_string(schema_change_type t) noexcept {
    auto i = static_cast<std::size_t>(t);
    return i < change_type_names.size() ? change_type_names[i] : std::string_view("UNKNOWN");
}
std::string_view to_string(schema_change_target t) noexcept {
    auto i = static_cast<std::size_t>(t);
    return i < target_names.size() ? target_names[i] : std::string_view("UNKNOWN");
}

void schema_change::encode(byte_writer& w) const {
    w.string(to_string(change));
    w.string(to_string(target));
    w.string(keyspace);
    switch (target) {
        case schema_change_target::keyspace: break;
        case schema_change_target::table:
        case schema_change_target::type: w.string(name); break;
        case schema_change_target::function:
        case schema_change_target::aggregate:
            w.string(name);
            w.string_list(argument_types);
            break;
    }
}

errc schema_change::decode(byte_reader& r, schema_change& out) {
    out = schema_change{};
    auto change = r.string();
    auto target = r.string();
    if (!r.ok()) return r.error();
    if (!parse_name(change_type_names, change, out.change) || !parse_name(target_names, target, out.target)) {
        r.fail(errc::bad_event);
        return r.error();
    }
    out.keyspace = std::string(r.string());
    switch (out.target) {
        case schema_change_target::keyspace: break;
        case schema_change_target::table:
        case schema_change_target::type: out.name = std::string(r.string()); break;
        case schema_change_target::function:
        case schema_change_target::aggregate:
            out.name = std::string(r.string());
            detail::read_string_list(r, out.argument_types);
            break;
    }
    return r.error();
}

// ---- RESULT ------------------------------------------------------------------------

result_kind result_response::kind() const noexcept {
    switch (value.index()) {
        case 0: return result_kind::void_;
        case 1: return result_kind::rows;
        case 2: return result_kind::set_keyspace;
        case 3: return result_kind::prepared;
        default: return result_kind::schema_change;
    }
}

void result_response::encode(byte_writer& w, protocol_version v) const {
    w.i32(static_cast<std::int32_t>(kind()));
    switch (value.index()) {
        case 1: std::get<rows_result>(value).encode(w, v); break;
        case 2: w.string(std::get<set_keyspace_result>(value).keyspace); break;
        case 3: {
            const auto& p = std::get<prepared_result>(value);
            w.short_bytes(p.id);
            if (v != protocol_version::v4) w.short_bytes(p.result_metadata_id);
            p.variables.encode(w, v);
            p.result.encode(w, v);
            break;
        }
        case 4: std::get<schema_change>(value).encode(w); break;
        default: break;
    }
}

errc result_response::decode(bytes_view body, protocol_version v, result_response& out) {
    byte_reader r(body);
    const std::int32_t kind = r.i32();
    if (!r.ok()) return r.error();
    switch (static_cast<result_kind>(kind)) {
        case result_kind::void_: out.value.emplace<void_result>(); break;
        case result_kind::rows: {
            auto* rows = std::get_if<rows_result>(&out.value);
            if (!rows) rows = &out.value.emplace<rows_result>();
            if (auto e = rows_result::decode(r, v, *rows); e != errc::ok) return e;
            break;
        }
        case result_kind::set_keyspace:
            out.value.emplace<set_keyspace_result>().keyspace = std::string(r.string());
            break;
        case result_kind::prepared: {
            auto& p = out.value.emplace<prepared_result>();
            p.id = detail::to_buffer(r.short_bytes());
            if (v != protocol_version::v4) p.result_metadata_id = detail::to_buffer(r.short_bytes());
            if (!r.ok()) return r.error();
            if (auto e = prepared_metadata::decode(r, v, p.variables); e != errc::ok) return e;
            if (auto e = result_metadata::decode(r, v, p.result); e != errc::ok) return e;
            break;
        }
        case result_kind::schema_change: {
            if (auto e = schema_change::decode(r, out.value.emplace<schema_change>()); e != errc::ok) return e;
            break;
        }
        default: return errc::bad_result_kind;
    }
    return finish(r);
}

}  // namespace cqlpp::protocol
