// Request message bodies (spec §4.1): STARTUP, OPTIONS, QUERY, PREPARE,
// EXECUTE, BATCH, REGISTER, AUTH_RESPONSE, for protocol v4 and v5.
//
// Bodies only: no envelope header, no tracing/warnings/custom payload prefix.
//
// Requests are views. Encoding reads the caller's strings, ids and values
// (value bytes are copied once, into the output buffer); decoding (what a
// server does) produces views that BORROW the body buffer passed to decode():
// keep that buffer alive and unchanged while the decoded request is used.
//
// Every decode() reads the whole body, never throws, never reads out of
// bounds, and fails with errc::trailing_bytes if bytes are left over.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/common.hpp"
#include "cqlpp/protocol/error.hpp"
#include "cqlpp/protocol/view_list.hpp"

#include <cstdint>
#include <optional>
#include <string_view>
#include <utility>

namespace cqlpp::protocol {

// <flags> bits of QUERY/EXECUTE (§4.1.4) and BATCH (§4.1.7). [byte] in v4, [int] in v5.
namespace query_flags {
inline constexpr std::uint32_t values = 0x0001;
inline constexpr std::uint32_t skip_metadata = 0x0002;
inline constexpr std::uint32_t page_size = 0x0004;
inline constexpr std::uint32_t with_paging_state = 0x0008;
inline constexpr std::uint32_t with_serial_consistency = 0x0010;
inline constexpr std::uint32_t with_default_timestamp = 0x0020;
inline constexpr std::uint32_t with_names_for_values = 0x0040;
inline constexpr std::uint32_t with_keyspace = 0x0080;        // v5
inline constexpr std::uint32_t with_now_in_seconds = 0x0100;  // v5
}  // namespace query_flags

// The <query_parameters> shared by QUERY and EXECUTE.
//
// Flags are derived from the fields, except `values_flag` (some drivers send
// flag 0x01 with a count of 0; keeping it makes decode+encode byte-exact).
// `keyspace` and `now_in_seconds` exist only in v5: encoding for v4 ignores
// them, so check needs_v5() first if that matters.
struct query_parameters {
    consistency cl = consistency::one;
    view_list<value_view> values;
    // Empty, or one name per value (flag 0x40: bind by marker name).
    view_list<std::string_view> names;
    bool values_flag = false;  // send flag 0x01 even when `values` is empty
    bool skip_metadata = false;
    std::optional<std::int32_t> page_size;
    std::optional<bytes_view> paging_state;  // a null paging state on the wire decodes as absent
    std::optional<consistency> serial_consistency;
    std::optional<std::int64_t> default_timestamp;  // microseconds
    std::optional<std::string_view> keyspace;       // v5
    std::optional<std::int32_t> now_in_seconds;     // v5

    bool needs_v5() const noexcept { return keyspace.has_value() || now_in_seconds.has_value(); }
    // The <flags> this struct encodes to (before narrowing to a [byte] in v4).
    std::uint32_t flags(protocol_version v) const noexcept;

    void encode(byte_writer& w, protocol_version v) const;
    // The bytes encode() writes, and writing them unchecked at `out` (which
    // must have encoded_size() bytes); returns the end.
    std::size_t encoded_size(protocol_version v) const noexcept { return encoded_size(v, flags(v)); }
    std::uint8_t* write(std::uint8_t* out, protocol_version v) const noexcept { return write(out, v, flags(v)); }
    // The same with flags(v) computed once by the caller for both.
    std::size_t encoded_size(protocol_version v, std::uint32_t flags) const noexcept;
    std::uint8_t* write(std::uint8_t* out, protocol_version v, std::uint32_t flags) const noexcept;
    // Reads <query_parameters> from the reader's position (not to the end).
    static errc decode(byte_reader& r, protocol_version v, query_parameters& out);

    friend bool operator==(const query_parameters& a, const query_parameters& b) noexcept;
};

// ---- STARTUP (0x01) ----------------------------------------------------------

struct string_pair {
    std::string_view key;
    std::string_view value;
    bool operator==(const string_pair&) const = default;
};

namespace startup_keys {
inline constexpr std::string_view cql_version = "CQL_VERSION";
inline constexpr std::string_view compression = "COMPRESSION";
inline constexpr std::string_view driver_name = "DRIVER_NAME";
inline constexpr std::string_view driver_version = "DRIVER_VERSION";
inline constexpr std::string_view throw_on_overload = "THROW_ON_OVERLOAD";
inline constexpr std::string_view no_compact = "NO_COMPACT";  // v4 only
}  // namespace startup_keys

struct startup_request {
    view_list<string_pair> options;  // [string map], in wire order

    std::optional<std::string_view> find(std::string_view key) const noexcept;
    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, startup_request& out);
    bool operator==(const startup_request&) const = default;
};

// ---- OPTIONS (0x05): empty body ----------------------------------------------

struct options_request {
    void encode(byte_writer&, protocol_version) const noexcept {}
    static errc decode(bytes_view body, protocol_version v, options_request& out);
    bool operator==(const options_request&) const = default;
};

// ---- QUERY (0x07) ------------------------------------------------------------

struct query_request {
    std::string_view query;  // [long string]
    query_parameters params;

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, query_request& out);
    bool operator==(const query_request&) const = default;
};

void encode_query(byte_writer& w, protocol_version v, std::string_view query, const query_parameters& p);

// ---- PREPARE (0x09) ----------------------------------------------------------
// v4: the query only. v5: query, [int] flags, optional keyspace (flag 0x01).

struct prepare_request {
    std::string_view query;
    std::optional<std::string_view> keyspace;  // v5; ignored when encoding v4

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, prepare_request& out);
    bool operator==(const prepare_request&) const = default;
};

// ---- EXECUTE (0x0A) ----------------------------------------------------------
// v5 adds <result_metadata_id> after the id.

struct execute_request {
    bytes_view id;                  // [short bytes]
    bytes_view result_metadata_id;  // [short bytes], v5 only
    query_parameters params;

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, execute_request& out);
    friend bool operator==(const execute_request& a, const execute_request& b) noexcept;
};

// The hot path: appends the EXECUTE body to `w` and allocates nothing else.
void encode_execute(byte_writer& w, protocol_version v, bytes_view id, bytes_view result_metadata_id,
                    const query_parameters& p);

// ---- BATCH (0x0D) ------------------------------------------------------------

enum class batch_type : std::uint8_t { logged = 0, unlogged = 1, counter = 2 };
std::string_view to_string(batch_type t) noexcept;

// One <query_i>: kind 0 (query string) or kind 1 (prepared id), then values.
// Names for values (batch flag 0x40) are not supported: the spec itself says
// the feature cannot work (CASSANDRA-10246), so decode rejects the flag.
struct batch_statement {
    bool prepared = false;   // kind 1
    std::string_view query;  // kind 0: [long string]
    bytes_view id;           // kind 1: [short bytes]
    view_list<value_view> values;

    static batch_statement simple(std::string_view q, view_list<value_view> vals = {}) {
        batch_statement s;
        s.query = q;
        s.values = std::move(vals);
        return s;
    }
    static batch_statement with_id(bytes_view prepared_id, view_list<value_view> vals = {}) {
        batch_statement s;
        s.prepared = true;
        s.id = prepared_id;
        s.values = std::move(vals);
        return s;
    }
    friend bool operator==(const batch_statement& a, const batch_statement& b) noexcept;
};

struct batch_request {
    batch_type type = batch_type::logged;
    view_list<batch_statement> statements;
    consistency cl = consistency::one;
    std::optional<consistency> serial_consistency;
    std::optional<std::int64_t> default_timestamp;
    std::optional<std::string_view> keyspace;    // v5
    std::optional<std::int32_t> now_in_seconds;  // v5

    bool needs_v5() const noexcept { return keyspace.has_value() || now_in_seconds.has_value(); }
    std::uint32_t flags(protocol_version v) const noexcept;
    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, batch_request& out);
    bool operator==(const batch_request&) const = default;
};

// ---- REGISTER (0x0B) ---------------------------------------------------------

enum class event_type : std::uint8_t { topology_change, status_change, schema_change };
std::string_view to_string(event_type t) noexcept;  // "TOPOLOGY_CHANGE"
std::optional<event_type> parse_event_type(std::string_view s) noexcept;

struct register_request {
    view_list<event_type> events;  // [string list]; unknown names fail decode with bad_event

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, register_request& out);
    bool operator==(const register_request&) const = default;
};

// ---- AUTH_RESPONSE (0x0F) ----------------------------------------------------

struct auth_response_request {
    std::optional<bytes_view> token;  // [bytes]; nullopt = null

    void encode(byte_writer& w, protocol_version v) const;
    static errc decode(bytes_view body, protocol_version v, auth_response_request& out);
    friend bool operator==(const auth_response_request& a, const auth_response_request& b) noexcept;
};

}  // namespace cqlpp::protocol
