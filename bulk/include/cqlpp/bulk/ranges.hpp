// Token ranges over the Murmur3 ring, for scanning a table range by range.
//
// The ring is every int64 token. Cassandra ranges are (start, end]; the ring's
// minimum token (INT64_MIN) is never the token of a real key, but a scan must
// still be exact, so a token_range can also start inclusively. Every range this
// header produces is in one canonical form: start_inclusive only when start is
// INT64_MIN, so a range is exactly the closed interval [first(), end] and two
// ranges are equal iff they cover the same tokens.
//
// The vnode range crossing the end of the ring, (t_last, t_first], becomes two
// query ranges: (t_last, INT64_MAX] and [INT64_MIN, t_first], i.e.
//   token(pk) > ? AND token(pk) <= ?     and     token(pk) >= ? AND token(pk) <= ?
// A plan is built as:
//   vnode_ranges(map, ks)  ->  restrict_ranges(--where-token-range ∩ --worker slice)
//   ->  split_ranges(n)  [->  group_by_replicas]
// plan_ranges() does all of it.
#pragma once

#include "cqlpp/bulk/error.hpp"
#include "cqlpp/driver/host.hpp"
#include "cqlpp/driver/token_map.hpp"
#include "cqlpp/protocol/murmur3.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace cqlpp::bulk {

using token = driver::token;
using protocol::max_token;
using protocol::min_token;

// Number of tokens in a range: up to 2^64, so 128 bits (__extension__: -Wpedantic).
__extension__ typedef unsigned __int128 token_count;
inline constexpr token_count ring_size = token_count(1) << 64;

// Tokens t with start < t <= end (start_inclusive: start <= t <= end).
struct token_range {
    token start = min_token;
    token end = max_token;
    bool start_inclusive = true;

    // [lo, hi] in canonical form; an empty range when lo > hi.
    static token_range closed(token lo, token hi) noexcept {
        if (lo == min_token) return {min_token, hi, true};
        return {lo - 1, hi, false};
    }
    static token_range full_ring() noexcept { return {min_token, max_token, true}; }

    bool empty() const noexcept { return start_inclusive ? start > end : start >= end; }
    // Lowest token in the range (meaningless when empty()).
    token first() const noexcept { return start_inclusive ? start : start + 1; }
    token last() const noexcept { return end; }
    bool contains(token t) const noexcept { return (start_inclusive ? t >= start : t > start) && t <= end; }
    token_count size() const noexcept;

    // "(-5, 10]" / "[-9223372036854775808, 10]", for logs and journals.
    std::string to_string() const;

    friend bool operator==(const token_range&, const token_range&) = default;
};

// Orders by first token (ranges from one plan are disjoint, so this is ring order).
inline bool operator<(const token_range& a, const token_range& b) noexcept {
    if (a.empty() != b.empty()) return a.empty();
    return a.first() != b.first() ? a.first() < b.first() : a.end < b.end;
}

using host_ptr = std::shared_ptr<const driver::host>;

// A range and the hosts holding its data (primary first). The hosts are shared
// with the token_map they came from, so a plan outlives a topology change.
struct replica_range {
    token_range range;
    std::vector<host_ptr> replicas;
};

// Every vnode range of the ring, in ring order from the minimum token: the
// wrapping range's low part [INT64_MIN, t_first] first, then (t_i-1, t_i], then
// (t_last, INT64_MAX] (omitted when t_last is INT64_MAX). Replicas come from
// token_map::replicas(keyspace, range end) (empty for an unknown keyspace).
// An empty ring gives the whole ring with no replicas.
std::vector<replica_range> vnode_ranges(const driver::token_map& map, std::string_view keyspace);

// max(8 × cores, vnode range count); cores = 0 asks std::thread::hardware_concurrency().
std::size_t default_split_count(std::size_t vnode_range_count, unsigned cores = 0);

// Splits into about `pieces` ranges (at least one per input range): range i gets
// max(1, round(pieces × size_i / total)) near-equal parts, computed exactly in
// 128 bits. Each part keeps its range's replicas; order is kept; empty input
// ranges are dropped.
std::vector<replica_range> split_ranges(std::span<const replica_range> ranges, std::size_t pieces);

// The parts of `ranges` inside the union of `filter` (which may overlap or be
// unsorted), in the order of `ranges`.
std::vector<replica_range> restrict_ranges(std::span<const replica_range> ranges, std::span<const token_range> filter);

// The parts of `ranges` outside the union of `done`: what a resumed run still has to do.
std::vector<replica_range> subtract_ranges(std::span<const replica_range> ranges, std::span<const token_range> done);

// Sorted, disjoint, non-adjacent ranges covering the same tokens as `ranges`.
std::vector<token_range> normalize(std::span<const token_range> ranges);

// Contiguous runs of ranges with the same replica set (order-insensitive), so a
// worker can send a run to one coordinator. Ranges inside a group stay separate
// (each is one query); adjacent ones are not merged across the ring's end.
struct range_group {
    std::vector<host_ptr> replicas;
    std::vector<token_range> ranges;
};
std::vector<range_group> group_by_replicas(std::span<const replica_range> ranges);

// "--where-token-range A:B": tokens A < t <= B. A > B wraps around the ring
// (two ranges). A == B is the empty range (as in CQL, `token(k) > A AND token(k) <= A`
// selects nothing): appended as such, so a plan restricted to it has no ranges,
// unlike no option at all (the whole ring). Appends to `out`.
status parse_token_range(std::string_view text, std::vector<token_range>& out);

// "--worker I/N", 1 <= I <= N: worker I of N takes the I-th of N equal slices of
// the ring, whatever each worker's split count, so shares never overlap and
// together cover the plan even if workers run on machines with different cores.
struct worker_id {
    unsigned index = 1;  // 1-based
    unsigned count = 1;
    friend bool operator==(const worker_id&, const worker_id&) = default;
};
status parse_worker(std::string_view text, worker_id& out);
token_range worker_slice(worker_id w) noexcept;

struct plan_options {
    std::size_t splits = 0;               // 0: default_split_count(vnode ranges in scope, cores)
    unsigned cores = 0;                   // for the default; 0 = hardware_concurrency()
    std::vector<token_range> where;       // --where-token-range; no entry = whole ring
    std::optional<worker_id> worker;      // --worker
};
// vnode_ranges, restricted to `where` and the worker's slice, then split.
std::vector<replica_range> plan_ranges(const driver::token_map& map, std::string_view keyspace,
                                       const plan_options& options = {});

// ---- CQL --------------------------------------------------------------------

// An identifier as CQL needs it: bare when it is lower-case [a-z][a-z0-9_]* and
// not a reserved keyword, else double-quoted with "" for a quote.
std::string quote_identifier(std::string_view name);

// SELECT <columns> FROM ks.t WHERE token(pk...) > ? AND token(pk...) <= ?
// (">= ?" when start_inclusive). Empty `columns` selects *. Bind range.start
// then range.end as bigint.
std::string range_select_cql(std::string_view keyspace, std::string_view table, std::span<const std::string> columns,
                             std::span<const std::string> partition_key, bool start_inclusive);
// SELECT count(*) FROM ks.t WHERE ... (same bind markers).
std::string range_count_cql(std::string_view keyspace, std::string_view table,
                            std::span<const std::string> partition_key, bool start_inclusive);

}  // namespace cqlpp::bulk
