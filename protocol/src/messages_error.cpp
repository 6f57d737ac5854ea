// ERROR bodies (spec v5 §8, v4 §9).
#include "cqlpp/protocol/detail/message_codec.hpp"
#include "cqlpp/protocol/error_response.hpp"

namespace cqlpp::protocol {

using detail::check_count;
using detail::finish;
using detail::read_consistency;
using detail::read_int_count;
using detail::write_consistency;

bool is_known_server_errc(std::int32_t code) noexcept {
    for (auto e : all_server_errcs)
        if (static_cast<std::int32_t>(e) == code) return true;
    return false;
}

std::string_view to_string(server_errc e) noexcept {
    switch (e) {
        case server_errc::server_error: return "SERVER_ERROR";
        case server_errc::protocol_error: return "PROTOCOL_ERROR";
        case server_errc::auth_error: return "AUTH_ERROR";
        case server_errc::unavailable: return "UNAVAILABLE";
        case server_errc::overloaded: return "OVERLOADED";
        case server_errc::is_bootstrapping: return "IS_BOOTSTRAPPING";
        case server_errc::truncate_error: return "TRUNCATE_ERROR";
        case server_errc::write_timeout: return "WRITE_TIMEOUT";
        case server_errc::read_timeout: return "READ_TIMEOUT";
        case server_errc::read_failure: return "READ_FAILURE";
        case server_errc::function_failure: return "FUNCTION_FAILURE";
        case server_errc::write_failure: return "WRITE_FAILURE";
        case server_errc::cdc_write_failure: return "CDC_WRITE_FAILURE";
        case server_errc::cas_write_unknown: return "CAS_WRITE_UNKNOWN";
        case server_errc::syntax_error: return "SYNTAX_ERROR";
        case server_errc::unauthorized: return "UNAUTHORIZED";
        case server_errc::invalid: return "INVALID";
        case server_errc::config_error: return "CONFIG_ERROR";
        case server_errc::already_exists: return "ALREADY_EXISTS";
        case server_errc::unprepared: return "UNPREPARED";
    }
    return "UNKNOWN";
}

namespace {

class server_category_impl final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.server"; }
    std::string message(int ev) const override {
        const int code = ev & ~server_code_bit;
        auto s = to_string(static_cast<server_errc>(code));
        if (s == "UNKNOWN") return "unknown server error code " + std::to_string(code);
        return std::string(s);
    }
};

void write_reasons(byte_writer& w, const std::vector<failure_reason>& reasons) {
    w.i32(static_cast<std::int32_t>(reasons.size()));
    for (const auto& f : reasons) {
        w.inet_addr(f.endpoint);
        w.u16(f.code);
    }
}

void read_reasons(byte_reader& r, std::vector<failure_reason>& out) {
    const std::int32_t n = read_int_count(r);
    // Smallest entry: 1-byte size + 4-byte IPv4 address + [short] code.
    if (!check_count(r, static_cast<std::uint64_t>(n), 7)) return;
    out.reserve(static_cast<std::size_t>(n));
    for (std::int32_t i = 0; i < n && r.ok(); ++i) {
        failure_reason f;
        f.endpoint = r.inet_addr();
        f.code = r.u16();
        out.push_back(f);
    }
}

// <numfailures> (v4) or <reasonmap> (v5).
template <class Info>
void write_failures(byte_writer& w, protocol_version v, const Info& i) {
    if (v == protocol_version::v4)
        w.i32(i.reasons.empty() ? i.num_failures : static_cast<std::int32_t>(i.reasons.size()));
    else
        write_reasons(w, i.reasons);
}
template <class Info>
void read_failures(byte_reader& r, protocol_version v, Info& i) {
    if (v == protocol_version::v4) {
        i.num_failures = r.i32();
    } else {
        read_reasons(r, i.reasons);
        i.num_failures = static_cast<std::int32_t>(i.reasons.size());
    }
}

bool is_cas(std::string_view write_type) noexcept { return write_type == "CAS"; }

// The fields for `code`, or defaults if `details` holds another alternative,
// so any error_response encodes to a well-formed body.
template <class T>
T get_or_default(const error_details& d) {
    if (auto* p = std::get_if<T>(&d)) return *p;
    return T{};
}

}  // namespace

const std::error_category& server_category() noexcept {
    static const server_category_impl cat;
    return cat;
}

void error_response::encode(byte_writer& w, protocol_version v) const {
    w.i32(static_cast<std::int32_t>(code));
    w.string(message);
    switch (code) {
        case server_errc::unavailable: {
            auto i = get_or_default<unavailable_info>(details);
            write_consistency(w, i.cl);
            w.i32(i.required);
            w.i32(i.alive);
            break;
        }
        case server_errc::write_timeout: {
            auto i = get_or_default<write_timeout_info>(details);
            write_consistency(w, i.cl);
            w.i32(i.received);
            w.i32(i.block_for);
            w.string(i.write_type);
            if (v != protocol_version::v4 && is_cas(i.write_type)) w.u16(i.contentions.value_or(0));
            break;
        }
        case server_errc::read_timeout: {
            auto i = get_or_default<read_timeout_info>(details);
            write_consistency(w, i.cl);
            w.i32(i.received);
            w.i32(i.block_for);
            w.u8(i.data_present ? 1 : 0);
            break;
        }
        case server_errc::read_failure: {
            auto i = get_or_default<read_failure_info>(details);
            write_consistency(w, i.cl);
            w.i32(i.received);
            w.i32(i.block_for);
            write_failures(w, v, i);
            w.u8(i.data_present ? 1 : 0);
            break;
        }
        case server_errc::write_failure: {
            auto i = get_or_default<write_failure_info>(details);
            write_consistency(w, i.cl);
            w.i32(i.received);
            w.i32(i.block_for);
            write_failures(w, v, i);
            w.string(i.write_type);
            break;
        }
        case server_errc::function_failure: {
            auto i = get_or_default<function_failure_info>(details);
            w.string(i.keyspace);
            w.string(i.function);
            w.string_list(i.arg_types);
            break;
        }
        case server_errc::already_exists: {
            auto i = get_or_default<already_exists_info>(details);
            w.string(i.keyspace);
            w.string(i.table);
            break;
        }
        case server_errc::unprepared: {
            auto i = get_or_default<unprepared_info>(details);
            w.short_bytes(i.id);
            break;
        }
        case server_errc::cas_write_unknown: {
            auto i = get_or_default<cas_write_unknown_info>(details);
            write_consistency(w, i.cl);
            w.i32(i.received);
            w.i32(i.block_for);
            break;
        }
        default:
            if (!is_known_server_errc(static_cast<std::int32_t>(code))) w.raw(unknown_extra);
            break;
    }
}

errc error_response::decode(bytes_view body, protocol_version v, error_response& out) {
    out = error_response{};
    byte_reader r(body);
    out.code = static_cast<server_errc>(r.i32());
    out.message = std::string(r.string());
    if (!r.ok()) return r.error();
    switch (out.code) {
        case server_errc::unavailable: {
            auto& i = out.details.emplace<unavailable_info>();
            i.cl = read_consistency(r);
            i.required = r.i32();
            i.alive = r.i32();
            break;
        }
        case server_errc::write_timeout: {
            auto& i = out.details.emplace<write_timeout_info>();
            i.cl = read_consistency(r);
            i.received = r.i32();
            i.block_for = r.i32();
            i.write_type = std::string(r.string());
            if (r.ok() && v != protocol_version::v4 && is_cas(i.write_type)) i.contentions = r.u16();
            break;
        }
        case server_errc::read_timeout: {
            auto& i = out.details.emplace<read_timeout_info>();
            i.cl = read_consistency(r);
            i.received = r.i32();
            i.block_for = r.i32();
            i.data_present = r.u8() != 0;
            break;
        }
        case server_errc::read_failure: {
            auto& i = out.details.emplace<read_failure_info>();
            i.cl = read_consistency(r);
            i.received = r.i32();
            i.block_for = r.i32();
            read_failures(r, v, i);
            i.data_present = r.u8() != 0;
            break;
        }
        case server_errc::write_failure: {
            auto& i = out.details.emplace<write_failure_info>();
            i.cl = read_consistency(r);
            i.received = r.i32();
            i.block_for = r.i32();
            read_failures(r, v, i);
            i.write_type = std::string(r.string());
            break;
        }
        case server_errc::function_failure: {
            auto& i = out.details.emplace<function_failure_info>();
            i.keyspace = std::string(r.string());
            i.function = std::string(r.string());
            detail::read_string_list(r, i.arg_types);
            break;
        }
        case server_errc::already_exists: {
            auto& i = out.details.emplace<already_exists_info>();
            i.keyspace = std::string(r.string());
            i.table = std::string(r.string());
            break;
        }
        case server_errc::unprepared: {
            auto& i = out.details.emplace<unprepared_info>();
            i.id = detail::to_buffer(r.short_bytes());
            break;
        }
        case server_errc::cas_write_unknown: {
            auto& i = out.details.emplace<cas_write_unknown_info>();
            i.cl = read_consistency(r);
            i.received = r.i32();
            i.block_for = r.i32();
            break;
        }
        default:
            // Unknown code: its layout is unknown too, so keep the rest verbatim.
            if (!is_known_server_errc(static_cast<std::int32_t>(out.code))) {
                out.unknown_extra = detail::to_buffer(r.rest());
                r.skip(r.remaining());
            }
            break;
    }
    return finish(r);
}

}  // namespace cqlpp::protocol
