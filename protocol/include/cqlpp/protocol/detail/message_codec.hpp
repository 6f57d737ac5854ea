// Helpers shared by the message codecs (protocol/src/messages_*.cpp). Not API.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace cqlpp::protocol::detail {

// [consistency], failing with bad_consistency on values the spec does not define.
inline consistency read_consistency(byte_reader& r) noexcept {
    auto v = r.u16();
    if (r.ok() && !is_valid_consistency(v)) r.fail(errc::bad_consistency);
    return static_cast<consistency>(r.ok() ? v : 0);
}
inline void write_consistency(byte_writer& w, consistency c) { w.u16(static_cast<std::uint16_t>(c)); }

// Before reserving room for `n` elements of at least `min_size` wire bytes
// each: fail (truncated) if the rest of the body cannot hold them. This keeps
// a forged count from turning into a huge allocation.
inline bool check_count(byte_reader& r, std::uint64_t n, std::size_t min_size) noexcept {
    if (!r.ok()) return false;
    // n < 2^32 and min_size is small, so the product cannot overflow.
    if (n * min_size > r.remaining()) {
        r.fail(errc::truncated);
        return false;
    }
    return true;
}

// An [int] count: negative is an error.
inline std::int32_t read_int_count(byte_reader& r) noexcept {
    auto n = r.i32();
    if (r.ok() && n < 0) {
        r.fail(errc::negative_length);
        return 0;
    }
    return n;
}

// QUERY/EXECUTE/BATCH <flags>: [byte] in v4, [int] in v5.
inline std::uint32_t read_query_flags(byte_reader& r, protocol_version v) noexcept {
    return v == protocol_version::v4 ? r.u8() : r.u32();
}
inline void write_query_flags(byte_writer& w, protocol_version v, std::uint32_t flags) {
    if (v == protocol_version::v4) w.u8(static_cast<std::uint8_t>(flags));
    else w.u32(flags);
}

inline void read_string_list(byte_reader& r, std::vector<std::string>& out) {
    out.clear();
    auto n = r.u16();
    if (!check_count(r, n, 2)) return;
    out.reserve(n);
    for (std::uint16_t i = 0; i < n && r.ok(); ++i) out.emplace_back(r.string());
}

inline byte_buffer to_buffer(bytes_view b) { return byte_buffer(b.begin(), b.end()); }

// Ends a whole-body decode: trailing bytes are an error.
inline errc finish(byte_reader& r) noexcept {
    r.expect_end();
    return r.error();
}

}  // namespace cqlpp::protocol::detail
