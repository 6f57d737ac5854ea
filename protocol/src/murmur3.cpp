#include "cqlpp/protocol/murmur3.hpp"

#include <cstring>

namespace cqlpp::protocol {

namespace {

inline std::uint64_t rotl(std::uint64_t x, int r) noexcept { return (x << r) | (x >> (64 - r)); }

inline std::uint64_t fmix(std::uint64_t k) noexcept {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

inline std::uint64_t load_le64(const std::uint8_t* p) noexcept {
    std::uint64_t v;
    std::memcpy(&v, p, 8);
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

// Tail bytes are widened as Java's signed byte: 0xFE becomes 0xFFFF...FE.
inline std::uint64_t tail_byte(const std::uint8_t* p, int i) noexcept {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int8_t>(p[i])));
}

}  // namespace

std::int64_t murmur3_h1(bytes_view key) noexcept {
    constexpr std::uint64_t c1 = 0x87c37b91114253d5ULL;
    constexpr std::uint64_t c2 = 0x4cf5ad432745937fULL;
    const std::uint8_t* data = key.data();
    const std::size_t len = key.size();
    const std::size_t nblocks = len / 16;
    std::uint64_t h1 = 0, h2 = 0;

    for (std::size_t i = 0; i < nblocks; ++i) {
        std::uint64_t k1 = load_le64(data + 16 * i);
        std::uint64_t k2 = load_le64(data + 16 * i + 8);
        k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
        h1 = rotl(h1, 27); h1 += h2; h1 = h1 * 5 + 0x52dce729;
        k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
        h2 = rotl(h2, 31); h2 += h1; h2 = h2 * 5 + 0x38495ab5;
    }

    const std::uint8_t* tail = data + nblocks * 16;
    std::uint64_t k1 = 0, k2 = 0;
    switch (len & 15) {
        case 15: k2 ^= tail_byte(tail, 14) << 48; [[fallthrough]];
        case 14: k2 ^= tail_byte(tail, 13) << 40; [[fallthrough]];
        case 13: k2 ^= tail_byte(tail, 12) << 32; [[fallthrough]];
        case 12: k2 ^= tail_byte(tail, 11) << 24; [[fallthrough]];
        case 11: k2 ^= tail_byte(tail, 10) << 16; [[fallthrough]];
        case 10: k2 ^= tail_byte(tail, 9) << 8; [[fallthrough]];
        case 9:
            k2 ^= tail_byte(tail, 8);
            k2 *= c2; k2 = rotl(k2, 33); k2 *= c1; h2 ^= k2;
            [[fallthrough]];
        case 8: k1 ^= tail_byte(tail, 7) << 56; [[fallthrough]];
        case 7: k1 ^= tail_byte(tail, 6) << 48; [[fallthrough]];
        case 6: k1 ^= tail_byte(tail, 5) << 40; [[fallthrough]];
        case 5: k1 ^= tail_byte(tail, 4) << 32; [[fallthrough]];
        case 4: k1 ^= tail_byte(tail, 3) << 24; [[fallthrough]];
        case 3: k1 ^= tail_byte(tail, 2) << 16; [[fallthrough]];
        case 2: k1 ^= tail_byte(tail, 1) << 8; [[fallthrough]];
        case 1:
            k1 ^= tail_byte(tail, 0);
            k1 *= c1; k1 = rotl(k1, 31); k1 *= c2; h1 ^= k1;
            break;
        default: break;
    }

    h1 ^= len; h2 ^= len;
    h1 += h2; h2 += h1;
    h1 = fmix(h1); h2 = fmix(h2);
    h1 += h2;
    return static_cast<std::int64_t>(h1);
}

std::int64_t murmur3_token(bytes_view key) noexcept {
    if (key.empty()) return min_token;
    auto h = murmur3_h1(key);
    return h == min_token ? max_token : h;
}

void composite_key(std::span<const bytes_view> components, byte_buffer& out) {
    byte_writer w(out);
    for (auto c : components) {
        w.short_bytes(c);
        w.u8(0);
    }
}

}  // namespace cqlpp::protocol
