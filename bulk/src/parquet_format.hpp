// Parquet format constants (parquet-format's parquet.thrift) and the small
// helpers the writer and reader share. Private to bulk/.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace cqlpp::bulk::pq {

enum physical : int { p_boolean = 0, p_int32 = 1, p_int64 = 2, p_int96 = 3, p_float = 4, p_double = 5,
                      p_byte_array = 6, p_flba = 7 };
enum repetition : int { required = 0, optional = 1, repeated = 2 };
enum converted : int { c_none = -1, c_utf8 = 0, c_map = 1, c_map_key_value = 2, c_list = 3, c_enum = 4,
                       c_decimal = 5, c_date = 6, c_time_millis = 7, c_time_micros = 8, c_timestamp_millis = 9,
                       c_timestamp_micros = 10, c_uint8 = 11, c_uint16 = 12, c_uint32 = 13, c_uint64 = 14,
                       c_int8 = 15, c_int16 = 16, c_int32 = 17, c_int64 = 18, c_json = 19, c_bson = 20,
                       c_interval = 21 };
// LogicalType union member ids.
enum logical_kind : int { l_none = 0, l_string = 1, l_map = 2, l_list = 3, l_enum = 4, l_decimal = 5, l_date = 6,
                          l_time = 7, l_timestamp = 8, l_integer = 10, l_unknown = 11, l_json = 12, l_bson = 13,
                          l_uuid = 14, l_float16 = 15 };
enum time_unit : int { u_millis = 1, u_micros = 2, u_nanos = 3 };
enum encoding : int { e_plain = 0, e_plain_dictionary = 2, e_rle = 3, e_bit_packed = 4, e_delta_binary_packed = 5,
                      e_delta_length_byte_array = 6, e_delta_byte_array = 7, e_rle_dictionary = 8,
                      e_byte_stream_split = 9 };
enum codec : int { k_uncompressed = 0, k_snappy = 1, k_gzip = 2, k_lzo = 3, k_brotli = 4, k_lz4 = 5, k_zstd = 6,
                   k_lz4_raw = 7 };
enum page_type : int { page_data = 0, page_index = 1, page_dictionary = 2, page_data_v2 = 3 };

struct logical {
    int kind = l_none;
    int a = 0;       // decimal scale; integer bit width; time/timestamp unit
    int b = 0;       // decimal precision; integer signed; time/timestamp adjusted to UTC
};

inline int bit_width(std::uint64_t max_value) {
    int w = 0;
    while (max_value) {
        ++w;
        max_value >>= 1;
    }
    return w;
}

inline void put_le32(std::string& out, std::uint32_t v) {
    char b[4] = {static_cast<char>(v), static_cast<char>(v >> 8), static_cast<char>(v >> 16),
                 static_cast<char>(v >> 24)};
    out.append(b, 4);
}
inline void put_le64(std::string& out, std::uint64_t v) {
    put_le32(out, static_cast<std::uint32_t>(v));
    put_le32(out, static_cast<std::uint32_t>(v >> 32));
}
inline std::uint32_t get_le32(const char* p) {
    const auto* u = reinterpret_cast<const unsigned char*>(p);
    return std::uint32_t(u[0]) | std::uint32_t(u[1]) << 8 | std::uint32_t(u[2]) << 16 | std::uint32_t(u[3]) << 24;
}
inline std::uint64_t get_le64(const char* p) {
    return std::uint64_t(get_le32(p)) | std::uint64_t(get_le32(p + 4)) << 32;
}

// RLE / bit-packed hybrid (parquet-format Encodings.md), no length prefix.
void rle_encode(std::string& out, const std::uint32_t* values, std::size_t n, int width);
void rle_encode16(std::string& out, const std::uint16_t* values, std::size_t n, int width);
// One RLE run of `count` copies of `value` (count >= 8 for what rle_encode would write).
void rle_run(std::string& out, std::uint64_t count, std::uint32_t value, int width);

}  // namespace cqlpp::bulk::pq
