// CQL literals: text <-> cql_value, type-directed.
//
// format_literal() prints as cqlsh does, in a form parse_literal() reads back to
// an equal value (operator==) for every type:
//   text/ascii   'it''s'              (always single-quoted, '' escapes a quote)
//   blob/custom  0xcafe               (lower-case hex; 0x for an empty blob)
//   boolean      true / false
//   integers     -42                  (tinyint..bigint, counter, varint: exact)
//   float/double shortest round-trip form (std::to_chars): 1, 2.5, 1e+20, NaN, Infinity, -Infinity
//   decimal      Java BigDecimal.toString(): 0.00256, 100, -25.5, 6.4206E-16, 1E+3
//   timestamp    '2013-08-13 09:52:03.000000+0000' (UTC; years outside 0..9999 as raw milliseconds)
//   date         '1970-01-01', '-5877641-06-23', '+5881580-07-11' (Java LocalDate style)
//   time         '09:52:03.000000000'
//   uuid         bare 8-4-4-4-12 lower-case hex
//   inet         '127.0.0.1', '::1', '::ffff:129.144.52.38' (RFC 5952)
//   duration     1y2mo3d4h5m6s7ms8us9ns (Java Duration.toString; zero is 0s)
//   list/vector  [a, b]   set {a, b}   map {k: v}   tuple (a, b)   udt {field: v}
//   null         null
//   empty        ''  (the zero-length value of a non-string type, see value.hpp)
//
// parse_literal() also accepts: $$dollar strings$$, keywords in any case,
// integers for float/double, raw day numbers for dates (the unsigned wire value,
// as Cassandra does), integer milliseconds for timestamps and nanoseconds for
// times (bare or quoted), 'yyyy-mm-dd[( |T)hh:mm[:ss[.fffffffff]]][Z|+hh|+hhmm|+hh:mm]'
// timestamps (UTC when no zone; digits below the millisecond must be zero),
// quoted or bare uuids and durations, durations as 1h30m / -2d / P1Y2M3DT4H5M6S /
// P2W / P0001-02-03T04:05:06, "quoted" UDT field names, and tuples with fewer
// elements than the type. Whitespace between tokens is ignored. Null inside a
// list/set/map/vector is rejected (null_not_allowed), as Cassandra does.
#pragma once

#include "cqlpp/protocol/error.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/value.hpp"

#include <string>
#include <string_view>

namespace cqlpp::protocol {

// Errors: bad_literal (syntax), value_out_of_range (does not fit the type),
// null_not_allowed, type_mismatch (malformed cql_type), type_nesting_too_deep.
// `out` is unspecified on error.
errc parse_literal(const cql_type& type, std::string_view text, cql_value& out);

// Never fails: a value that does not match the type is printed by its own kind.
std::string format_literal(const cql_type& type, const cql_value& value);
// Appends to `out` (for tools printing many values).
void append_literal(std::string& out, const cql_type& type, const cql_value& value);

// The scalar types format_literal() writes as a single-quoted string: ascii,
// text, timestamp, date, time, inet (see the table above; a timestamp outside
// years 0..9999 is the exception, written as bare milliseconds).
bool is_quoted_literal(type_kind k) noexcept;

}  // namespace cqlpp::protocol
