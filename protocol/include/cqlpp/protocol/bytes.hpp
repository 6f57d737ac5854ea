// Primitive notations of the native protocol (spec §3): big-endian integers,
// [string], [long string], [bytes], [value], [short bytes], [inet], [vint], ...
//
// byte_writer appends to a byte_buffer. byte_reader reads from a span and has a
// sticky error: after the first failure every read returns a zero value and
// ok() is false, so a decoder can read a whole structure and check once.
// Nothing here throws or reads out of bounds.
#pragma once

#include "cqlpp/protocol/error.hpp"

#include <array>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::protocol {

using byte_buffer = std::vector<std::uint8_t>;
using bytes_view = std::span<const std::uint8_t>;

inline bytes_view as_bytes(std::string_view s) noexcept {
    return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
inline std::string_view as_chars(bytes_view b) noexcept {
    return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// A [value] / [bytes] as found on the wire: set (with bytes), null (-1) or unset (-2).
struct value_view {
    enum class state : std::uint8_t { set, null, unset };
    bytes_view bytes{};
    state st = state::null;

    static value_view null() noexcept { return {{}, state::null}; }
    static value_view unset() noexcept { return {{}, state::unset}; }
    static value_view of(bytes_view b) noexcept { return {b, state::set}; }
    bool is_null() const noexcept { return st == state::null; }
    bool is_unset() const noexcept { return st == state::unset; }
    bool is_set() const noexcept { return st == state::set; }
};

// [inet]: address bytes (4 or 16) and port.
struct inet_address {
    std::uint8_t size = 4;  // 4 or 16
    std::array<std::uint8_t, 16> addr{};
    bool operator==(const inet_address&) const = default;
    bytes_view bytes() const noexcept { return {addr.data(), size}; }
};
struct inet_endpoint {
    inet_address address;
    std::int32_t port = 0;
    bool operator==(const inet_endpoint&) const = default;
};

using uuid_bytes = std::array<std::uint8_t, 16>;

namespace detail {
inline std::uint16_t load_be16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}
inline std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) |
           std::uint32_t(p[3]);
}
inline std::uint64_t load_be64(const std::uint8_t* p) noexcept {
    return (std::uint64_t(load_be32(p)) << 32) | load_be32(p + 4);
}
inline void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = std::uint8_t(v >> 8);
    p[1] = std::uint8_t(v);
}
inline void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = std::uint8_t(v >> 24);
    p[1] = std::uint8_t(v >> 16);
    p[2] = std::uint8_t(v >> 8);
    p[3] = std::uint8_t(v);
}
inline void store_be64(std::uint8_t* p, std::uint64_t v) noexcept {
    store_be32(p, std::uint32_t(v >> 32));
    store_be32(p + 4, std::uint32_t(v));
}
}  // namespace detail

// ---------------------------------------------------------------------------
// vint (spec §3): the number of leading 1 bits of the first byte gives the
// number of extra bytes; [vint] is zig-zag encoded on top of [unsigned vint].

inline std::size_t unsigned_vint_size(std::uint64_t v) noexcept {
    // 7 bits per byte for the first 8 bytes, the 9th byte carries 8 full bits.
    int bits = v == 0 ? 1 : 64 - __builtin_clzll(v);
    if (bits > 56) return 9;
    return static_cast<std::size_t>((bits + 6) / 7);
}
inline std::uint64_t zigzag_encode(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
inline std::int64_t zigzag_decode(std::uint64_t v) noexcept {
    return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

// ---------------------------------------------------------------------------

class byte_writer {
public:
    explicit byte_writer(byte_buffer& out) noexcept : out_(&out) {}

    byte_buffer& buffer() noexcept { return *out_; }
    std::size_t size() const noexcept { return out_->size(); }

    void u8(std::uint8_t v) { out_->push_back(v); }
    void u16(std::uint16_t v) {
        auto* p = grow(2);
        detail::store_be16(p, v);
    }
    void i16(std::int16_t v) { u16(static_cast<std::uint16_t>(v)); }
    void i32(std::int32_t v) {
        auto* p = grow(4);
        detail::store_be32(p, static_cast<std::uint32_t>(v));
    }
    void u32(std::uint32_t v) { i32(static_cast<std::int32_t>(v)); }
    void i64(std::int64_t v) {
        auto* p = grow(8);
        detail::store_be64(p, static_cast<std::uint64_t>(v));
    }
    void raw(bytes_view b) {
        if (!b.empty()) out_->insert(out_->end(), b.begin(), b.end());
    }
    void raw(std::string_view s) { raw(as_bytes(s)); }

    // [string]: [short] n + n bytes.
    void string(std::string_view s) {
        u16(static_cast<std::uint16_t>(s.size()));
        raw(s);
    }
    // [long string]: [int] n + n bytes.
    void long_string(std::string_view s) {
        i32(static_cast<std::int32_t>(s.size()));
        raw(s);
    }
    // [bytes]: [int] n + n bytes; null = -1.
    void bytes(bytes_view b) {
        i32(static_cast<std::int32_t>(b.size()));
        raw(b);
    }
    void bytes(std::optional<bytes_view> b) {
        if (b) bytes(*b);
        else i32(-1);
    }
    void null_bytes() { i32(-1); }
    // [value]: like [bytes] plus unset = -2.
    void value(const value_view& v) {
        switch (v.st) {
            case value_view::state::set: bytes(v.bytes); break;
            case value_view::state::null: i32(-1); break;
            case value_view::state::unset: i32(-2); break;
        }
    }
    // [short bytes]: [short] n + n bytes.
    void short_bytes(bytes_view b) {
        u16(static_cast<std::uint16_t>(b.size()));
        raw(b);
    }
    void uuid(const uuid_bytes& u) { raw(bytes_view(u.data(), u.size())); }
    void inet_addr(const inet_address& a) {
        u8(a.size);
        raw(a.bytes());
    }
    // [inet]: [byte] n + address + [int] port.
    void inet(const inet_endpoint& e) {
        inet_addr(e.address);
        i32(e.port);
    }
    void string_list(std::span<const std::string> l) {
        u16(static_cast<std::uint16_t>(l.size()));
        for (const auto& s : l) string(s);
    }
    void unsigned_vint(std::uint64_t v) {
        std::size_t n = unsigned_vint_size(v);
        auto* p = grow(n);
        if (n == 9) {
            p[0] = 0xFF;
            detail::store_be64(p + 1, v);
            return;
        }
        std::size_t extra = n - 1;
        for (std::size_t i = n; i-- > 1;) {
            p[i] = std::uint8_t(v);
            v >>= 8;
        }
        std::uint8_t mask = static_cast<std::uint8_t>(0xFF00u >> extra);  // `extra` leading 1s
        p[0] = static_cast<std::uint8_t>(mask | std::uint8_t(v));
    }
    void vint(std::int64_t v) { unsigned_vint(zigzag_encode(v)); }

    // Reserve 4 bytes to patch later with a length (e.g. an envelope body size).
    std::size_t reserve_i32() {
        std::size_t pos = out_->size();
        grow(4);
        return pos;
    }
    void patch_i32(std::size_t pos, std::int32_t v) noexcept {
        detail::store_be32(out_->data() + pos, static_cast<std::uint32_t>(v));
    }

    // Appends n bytes for the caller to fill; valid until the next write.
    std::uint8_t* grow(std::size_t n) {
        std::size_t old = out_->size();
        out_->resize(old + n);
        return out_->data() + old;
    }

private:
    byte_buffer* out_;
};

// ---------------------------------------------------------------------------

class byte_reader {
public:
    byte_reader() noexcept = default;
    explicit byte_reader(bytes_view b) noexcept : cur_(b.data()), end_(b.data() + b.size()) {}

    bool ok() const noexcept { return err_ == errc::ok; }
    errc error() const noexcept { return err_; }
    std::size_t remaining() const noexcept { return static_cast<std::size_t>(end_ - cur_); }
    bool empty() const noexcept { return cur_ == end_; }
    const std::uint8_t* position() const noexcept { return cur_; }
    bytes_view rest() const noexcept { return {cur_, remaining()}; }

    // Record an error (the first one wins) and stop reading.
    void fail(errc e) noexcept {
        if (err_ == errc::ok) err_ = e;
        cur_ = end_;
    }
    // Fail with trailing_bytes if anything is left; returns ok().
    bool expect_end() noexcept {
        if (ok() && cur_ != end_) fail(errc::trailing_bytes);
        return ok();
    }

    std::uint8_t u8() noexcept {
        if (!need(1)) return 0;
        return *cur_++;
    }
    std::int8_t i8() noexcept { return static_cast<std::int8_t>(u8()); }
    std::uint16_t u16() noexcept {
        if (!need(2)) return 0;
        auto v = detail::load_be16(cur_);
        cur_ += 2;
        return v;
    }
    std::int16_t i16() noexcept { return static_cast<std::int16_t>(u16()); }
    std::int32_t i32() noexcept {
        if (!need(4)) return 0;
        auto v = detail::load_be32(cur_);
        cur_ += 4;
        return static_cast<std::int32_t>(v);
    }
    std::uint32_t u32() noexcept { return static_cast<std::uint32_t>(i32()); }
    std::int64_t i64() noexcept {
        if (!need(8)) return 0;
        auto v = detail::load_be64(cur_);
        cur_ += 8;
        return static_cast<std::int64_t>(v);
    }
    bytes_view raw(std::size_t n) noexcept {
        if (!need(n)) return {};
        bytes_view v(cur_, n);
        cur_ += n;
        return v;
    }
    void skip(std::size_t n) noexcept { raw(n); }

    std::string_view string() noexcept { return as_chars(raw(u16())); }
    std::string_view long_string() noexcept {
        auto n = i32();
        if (n < 0) {
            fail(errc::negative_length);
            return {};
        }
        return as_chars(raw(static_cast<std::size_t>(n)));
    }
    // [bytes]: nullopt for null (any negative length, as Cassandra reads it).
    std::optional<bytes_view> bytes() noexcept {
        auto n = i32();
        if (!ok()) return std::nullopt;
        if (n < 0) return std::nullopt;
        return raw(static_cast<std::size_t>(n));
    }
    // [value]: -1 null, -2 unset, other negatives are an error.
    value_view value() noexcept {
        auto n = i32();
        if (!ok()) return value_view::null();
        if (n == -1) return value_view::null();
        if (n == -2) return value_view::unset();
        if (n < 0) {
            fail(errc::negative_length);
            return value_view::null();
        }
        return value_view::of(raw(static_cast<std::size_t>(n)));
    }
    bytes_view short_bytes() noexcept { return raw(u16()); }
    uuid_bytes uuid() noexcept {
        uuid_bytes u{};
        auto b = raw(16);
        if (ok()) std::memcpy(u.data(), b.data(), 16);
        return u;
    }
    inet_address inet_addr() noexcept {
        inet_address a;
        auto n = u8();
        if (!ok()) return a;
        if (n != 4 && n != 16) {
            fail(errc::bad_inet);
            return a;
        }
        auto b = raw(n);
        if (!ok()) return a;
        a.size = n;
        std::memcpy(a.addr.data(), b.data(), n);
        return a;
    }
    inet_endpoint inet() noexcept {
        inet_endpoint e;
        e.address = inet_addr();
        e.port = i32();
        return e;
    }
    std::uint64_t unsigned_vint() noexcept {
        if (!need(1)) return 0;
        std::uint8_t first = *cur_;
        int extra = __builtin_clz(static_cast<unsigned>(static_cast<std::uint8_t>(~first)) << 24 | 0x00FFFFFFu);
        if (first == 0xFF) extra = 8;
        if (!need(static_cast<std::size_t>(extra) + 1)) return 0;
        ++cur_;
        std::uint64_t v = extra == 8 ? 0 : (first & (0xFFu >> extra));
        for (int i = 0; i < extra; ++i) v = (v << 8) | *cur_++;
        return v;
    }
    std::int64_t vint() noexcept { return zigzag_decode(unsigned_vint()); }

private:
    bool need(std::size_t n) noexcept {
        if (static_cast<std::size_t>(end_ - cur_) < n) {
            fail(errc::truncated);
            return false;
        }
        return true;
    }

    const std::uint8_t* cur_ = nullptr;
    const std::uint8_t* end_ = nullptr;
    errc err_ = errc::ok;
};

// Lowercase hex helpers, for tools and tests.
std::string to_hex(bytes_view b);
// Parses hex (whitespace and an optional 0x prefix allowed); false on bad input.
bool from_hex(std::string_view hex, byte_buffer& out);

}  // namespace cqlpp::protocol
