// Avro object container files (Avro 1.11 specification), as much as Iceberg
// manifests and manifest lists need. Writing: the caller encodes records with
// the avro_* encoders and avro_container() wraps them in one block with the
// null codec. Reading: any container (null or deflate codec) is decoded with
// the schema it carries into json_value records (record -> object, map ->
// object, array -> array, union -> the chosen branch's value, bytes/fixed/
// string -> string of the raw bytes, int/long -> number). File data never
// crashes the reader: every length is checked and errors are returned.
#pragma once

#include "cqlpp/bulk/detail/json.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cqlpp::bulk::detail {

// int and long: zig-zag varint.
void avro_long(std::string& out, std::int64_t v);
// string and bytes: long length, then the bytes.
void avro_bytes(std::string& out, std::string_view s);
void avro_bool(std::string& out, bool v);
// A union branch: its index, then (unless null) the value.
inline void avro_branch(std::string& out, std::int64_t index) { avro_long(out, index); }

using avro_metadata = std::vector<std::pair<std::string, std::string>>;

// A whole container file: header (magic, metadata with avro.schema and
// avro.codec = null, and `extra`), then `count` records already encoded in
// `records` as one block (none when count is 0).
std::string avro_container(std::string_view schema_json, const avro_metadata& extra, std::uint64_t count,
                           std::string_view records);

struct avro_file {
    avro_metadata metadata;  // including avro.schema and avro.codec
    json_value records;      // an array
    const std::string* meta(std::string_view key) const noexcept;
};

// Decodes a container file. False with `error` set for a malformed file, an
// unknown codec or a schema it cannot follow.
bool avro_read(std::string_view file, avro_file& out, std::string& error);

}  // namespace cqlpp::bulk::detail
