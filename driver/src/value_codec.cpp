#include "cqlpp/driver/value_codec.hpp"

#include <limits>

namespace cqlpp::driver {

namespace {

class conversion_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.driver.conversion"; }
    std::string message(int ev) const override { return std::string(to_string(static_cast<conversion_errc>(ev))); }
};

// ASCII case-insensitive equality (CQL folds unquoted identifiers to lower case).
bool iequals(std::string_view a, std::string_view b) noexcept {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; };
        if (lower(a[i]) != lower(b[i])) return false;
    }
    return true;
}

conversion_errc from_protocol(protocol::errc e, bool encoding) noexcept {
    switch (e) {
        case protocol::errc::ok: return conversion_errc::ok;
        case protocol::errc::type_mismatch: return conversion_errc::type_mismatch;
        case protocol::errc::value_out_of_range: return conversion_errc::out_of_range;
        case protocol::errc::null_not_allowed: return encoding ? conversion_errc::unexpected_null : conversion_errc::bad_bytes;
        default: return encoding ? conversion_errc::invalid_value : conversion_errc::bad_bytes;
    }
}

}  // namespace

const std::error_category& conversion_category() noexcept {
    static const conversion_category_impl instance;
    return instance;
}

std::string_view to_string(conversion_errc e) noexcept {
    switch (e) {
        case conversion_errc::ok: return "ok";
        case conversion_errc::type_mismatch: return "type_mismatch";
        case conversion_errc::unexpected_null: return "unexpected_null";
        case conversion_errc::out_of_range: return "out_of_range";
        case conversion_errc::bad_bytes: return "bad_bytes";
        case conversion_errc::invalid_value: return "invalid_value";
        case conversion_errc::no_such_column: return "no_such_column";
        case conversion_errc::missing_metadata: return "missing_metadata";
        case conversion_errc::not_a_rows_result: return "not_a_rows_result";
    }
    return "unknown";
}

// ---- duration ----------------------------------------------------------------

conversion_errc value_codec<duration>::decode(const protocol::cql_type&, protocol::bytes_view b, duration& out) noexcept {
    protocol::byte_reader r(b);
    const std::int64_t months = r.vint(), days = r.vint(), nanos = r.vint();
    if (!r.ok() || !r.empty()) return conversion_errc::bad_bytes;
    constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min(), hi = std::numeric_limits<std::int32_t>::max();
    if (months < lo || months > hi || days < lo || days > hi) return conversion_errc::bad_bytes;
    const bool neg = months < 0 || days < 0 || nanos < 0, pos = months > 0 || days > 0 || nanos > 0;
    if (neg && pos) return conversion_errc::bad_bytes;
    out = duration{static_cast<std::int32_t>(months), static_cast<std::int32_t>(days), nanos};
    return conversion_errc::ok;
}

conversion_errc value_codec<duration>::encode(const duration& v, const protocol::cql_type&, protocol::byte_buffer& out) {
    // Cassandra requires one sign for all three fields.
    const bool neg = v.months < 0 || v.days < 0 || v.nanos < 0, pos = v.months > 0 || v.days > 0 || v.nanos > 0;
    if (neg && pos) return conversion_errc::invalid_value;
    protocol::byte_writer w(out);
    w.vint(v.months);
    w.vint(v.days);
    w.vint(v.nanos);
    return conversion_errc::ok;
}

// ---- generic cql_value -------------------------------------------------------

conversion_errc value_codec<protocol::cql_value>::decode(const protocol::cql_type& t, protocol::bytes_view b,
                                                         protocol::cql_value& out) {
    return from_protocol(protocol::decode_value(t, b, out), false);
}

conversion_errc value_codec<protocol::cql_value>::encode(const protocol::cql_value& v, const protocol::cql_type& t,
                                                         protocol::byte_buffer& out) {
    if (v.is_null()) return conversion_errc::unexpected_null;
    return from_protocol(protocol::encode_value(t, v, out), true);
}

// ---- UDT ---------------------------------------------------------------------

std::optional<std::size_t> udt_view::field_index(std::string_view name) const noexcept {
    if (!type_) return std::nullopt;
    const auto& names = type_->field_names;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (names[i] == name) return i;
    for (std::size_t i = 0; i < names.size(); ++i)
        if (iequals(names[i], name)) return i;
    return std::nullopt;
}

protocol::value_view udt_view::field(std::size_t i) const noexcept {
    protocol::byte_reader r(bytes_);
    for (std::size_t k = 0; !r.empty(); ++k) {
        protocol::value_view v = r.value();
        if (!r.ok()) break;
        if (k == i) return v.is_unset() ? protocol::value_view::null() : v;
    }
    return protocol::value_view::null();  // the value stopped early: trailing fields are null
}

void udt_view::throw_error(conversion_errc e, std::size_t i, std::string_view unknown) const {
    std::string msg = "UDT field ";
    if (!unknown.empty() || i >= size()) {
        msg += '"';
        msg += unknown;
        msg += '"';
    } else {
        msg += '"';
        msg += field_name(i);
        msg += "\" (";
        msg += protocol::to_cql_name(type_->params[i]);
        msg += ')';
    }
    if (type_) {
        msg += " of ";
        msg += protocol::to_cql_name(*type_);
    }
    throw conversion_error(make_error_code(e), msg);
}

conversion_errc value_codec<udt_view>::decode(const protocol::cql_type& t, protocol::bytes_view b, udt_view& out) noexcept {
    protocol::byte_reader r(b);
    for (std::size_t k = 0; !r.empty(); ++k) {
        if (k >= t.params.size()) return conversion_errc::bad_bytes;  // more fields than the type has
        protocol::bytes_view eb;
        bool is_null = false;
        if (auto e = detail::next_element(r, eb, is_null, true); e != conversion_errc::ok) return e;
    }
    out = udt_view(t, b);
    return conversion_errc::ok;
}

conversion_errc value_codec<udt_view>::encode(const udt_view& v, const protocol::cql_type& t, protocol::byte_buffer& out) {
    if (!(v.type() == t)) return conversion_errc::type_mismatch;
    protocol::byte_writer(out).raw(v.bytes());
    return conversion_errc::ok;
}

void udt_value::put(std::string name, writer w) {
    for (auto& f : fields_) {
        if (f.first == name) {
            f.second = std::move(w);
            return;
        }
    }
    fields_.emplace_back(std::move(name), std::move(w));
}

udt_value& udt_value::set_null(std::string name) {
    put(std::move(name), writer{});
    return *this;
}

conversion_errc udt_value::encode(const protocol::cql_type& t, protocol::byte_buffer& out) const {
    if (t.kind != protocol::type_kind::udt || t.field_names.size() != t.params.size()) return conversion_errc::type_mismatch;
    // Every field we were given must exist in the marker's UDT (exact name).
    for (const auto& f : fields_) {
        bool found = false;
        for (const auto& n : t.field_names) found = found || n == f.first;
        if (!found) return conversion_errc::type_mismatch;
    }
    const std::size_t before = out.size();
    for (std::size_t i = 0; i < t.params.size(); ++i) {
        const writer* w = nullptr;
        for (const auto& f : fields_)
            if (f.first == t.field_names[i]) w = &f.second;
        if (!w || !*w) {
            protocol::byte_writer(out).i32(-1);
            continue;
        }
        if (auto e = (*w)(t.params[i], out); e != conversion_errc::ok) {
            out.resize(before);
            return e;
        }
    }
    return conversion_errc::ok;
}

}  // namespace cqlpp::driver
