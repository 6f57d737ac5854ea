#include "crc32.hpp"

#include <zlib.h>

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__))
#include <immintrin.h>
#define CQLPP_CRC32_CLMUL 1
#endif

namespace cqlpp::protocol::detail {

std::uint32_t crc32_update_portable(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
    uLong c = crc;
    while (n > 0) {  // zlib takes a uInt length
        uInt chunk = n > (1u << 30) ? (1u << 30) : static_cast<uInt>(n);
        c = ::crc32(c, data, chunk);
        data += chunk;
        n -= chunk;
    }
    return static_cast<std::uint32_t>(c);
}

#ifdef CQLPP_CRC32_CLMUL
namespace {

// Folding constants for the bit-reflected polynomial 0x104C11DB7 (Gopal et al.,
// "Fast CRC Computation for Generic Polynomials Using PCLMULQDQ", Intel 2009):
// x^(4*128+32) and x^(4*128-32) mod P for the 4-lane loop, x^(128+32) and
// x^(128-32) mod P for one lane, x^64 mod P, then P and floor(x^64 / P) for
// the Barrett reduction, all bit-reflected and shifted left by one.
constexpr long long fold4_lo = 0x154442bd4LL, fold4_hi = 0x1c6e41596LL;
constexpr long long fold1_lo = 0x1751997d0LL, fold1_hi = 0x0ccaa009eLL;
constexpr long long fold64 = 0x163cd6124LL;
constexpr long long poly = 0x1db710641LL, barrett_mu = 0x1f7011641LL;

__attribute__((target("pclmul,sse2"))) inline __m128i fold(__m128i acc, __m128i k, __m128i next) noexcept {
    return _mm_xor_si128(_mm_xor_si128(_mm_clmulepi64_si128(acc, k, 0x00), _mm_clmulepi64_si128(acc, k, 0x11)), next);
}

__attribute__((target("pclmul,sse2"))) inline __m128i load(const std::uint8_t* p) noexcept {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
}

// Requires n >= 64; consumes a multiple of 16 bytes and returns how many.
// `state` is the inverted (running) CRC, as zlib keeps it internally.
__attribute__((target("pclmul,sse2"))) std::size_t fold_blocks(std::uint32_t& state, const std::uint8_t* p,
                                                                 std::size_t n) noexcept {
    const std::uint8_t* const start = p;
    __m128i x0 = _mm_xor_si128(load(p), _mm_cvtsi32_si128(static_cast<int>(state)));
    __m128i x1 = load(p + 16), x2 = load(p + 32), x3 = load(p + 48);
    p += 64;
    n -= 64;
    const __m128i k4 = _mm_set_epi64x(fold4_hi, fold4_lo);
    while (n >= 64) {
        x0 = fold(x0, k4, load(p));
        x1 = fold(x1, k4, load(p + 16));
        x2 = fold(x2, k4, load(p + 32));
        x3 = fold(x3, k4, load(p + 48));
        p += 64;
        n -= 64;
    }
    const __m128i k1 = _mm_set_epi64x(fold1_hi, fold1_lo);
    __m128i x = fold(x0, k1, x1);
    x = fold(x, k1, x2);
    x = fold(x, k1, x3);
    while (n >= 16) {
        x = fold(x, k1, load(p));
        p += 16;
        n -= 16;
    }
    // 128 -> 64 bits: the low half times x^(128-32) mod P, added to the high half.
    const __m128i low32 = _mm_set_epi32(0, -1, 0, -1);
    x = _mm_xor_si128(_mm_srli_si128(x, 8), _mm_clmulepi64_si128(x, k1, 0x10));
    // 64 -> 32 bits (plus 32 carried): the low 32 bits times x^64 mod P.
    __m128i hi = _mm_srli_si128(x, 4);
    x = _mm_xor_si128(_mm_clmulepi64_si128(_mm_and_si128(x, low32), _mm_set_epi64x(0, fold64), 0x00), hi);
    // Barrett reduction to the 32-bit remainder.
    const __m128i pm = _mm_set_epi64x(barrett_mu, poly);
    __m128i t = _mm_clmulepi64_si128(_mm_and_si128(x, low32), pm, 0x10);
    t = _mm_clmulepi64_si128(_mm_and_si128(t, low32), pm, 0x00);
    x = _mm_xor_si128(x, t);
    state = static_cast<std::uint32_t>(_mm_cvtsi128_si32(_mm_srli_si128(x, 4)));
    return static_cast<std::size_t>(p - start);
}

const bool have_clmul = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("pclmul") && __builtin_cpu_supports("sse2");
}();

}  // namespace
#endif

std::uint32_t crc32_update(std::uint32_t crc, const std::uint8_t* data, std::size_t n) noexcept {
#ifdef CQLPP_CRC32_CLMUL
    // Below 64 bytes the folding set-up costs more than zlib's tables.
    if (n >= 64 && have_clmul) {
        std::uint32_t state = ~crc;
        std::size_t done = fold_blocks(state, data, n);
        return crc32_update_portable(~state, data + done, n - done);
    }
#endif
    return crc32_update_portable(crc, data, n);
}

}  // namespace cqlpp::protocol::detail
