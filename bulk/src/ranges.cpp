#include "cqlpp/bulk/ranges.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <thread>
#include <unordered_map>

namespace cqlpp::bulk {

namespace {

// Order-preserving map of the signed ring onto [0, 2^64): arithmetic on range
// sizes and offsets is then plain unsigned arithmetic.
std::uint64_t biased(token t) noexcept { return static_cast<std::uint64_t>(t) ^ (std::uint64_t(1) << 63); }
token unbiased(std::uint64_t u) noexcept { return static_cast<token>(u ^ (std::uint64_t(1) << 63)); }

struct interval {
    token lo, hi;  // closed, lo <= hi
};

interval to_interval(const token_range& r) noexcept { return {r.first(), r.end}; }

std::vector<interval> normalized_intervals(std::span<const token_range> ranges) {
    std::vector<interval> v;
    v.reserve(ranges.size());
    for (const auto& r : ranges)
        if (!r.empty()) v.push_back(to_interval(r));
    std::sort(v.begin(), v.end(), [](const interval& a, const interval& b) { return a.lo < b.lo; });
    std::vector<interval> out;
    for (const auto& i : v) {
        // Merge overlapping and adjacent intervals (hi + 1 == lo); hi == max absorbs the rest.
        if (!out.empty() && (out.back().hi == max_token || i.lo <= out.back().hi + 1)) {
            out.back().hi = std::max(out.back().hi, i.hi);
            continue;
        }
        out.push_back(i);
    }
    return out;
}

// First interval of a sorted disjoint list that may overlap [lo, ...].
std::vector<interval>::const_iterator first_reaching(const std::vector<interval>& v, token lo) {
    return std::lower_bound(v.begin(), v.end(), lo, [](const interval& i, token t) { return i.hi < t; });
}

using owner_table = std::unordered_map<const driver::host*, host_ptr>;

std::vector<host_ptr> shared_replicas(const owner_table& owners, std::span<const driver::host* const> hosts) {
    std::vector<host_ptr> out;
    out.reserve(hosts.size());
    for (const driver::host* h : hosts)
        if (auto it = owners.find(h); it != owners.end()) out.push_back(it->second);
    return out;
}

bool parse_u32(std::string_view s, unsigned& out) noexcept {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
    return ec == std::errc{} && end == s.data() + s.size();
}

// Cassandra's reserved keywords (an identifier equal to one must be quoted).
constexpr std::array<std::string_view, 62> reserved = {
    "add",       "allow",    "alter",       "and",      "apply",     "asc",       "authorize", "batch",
    "begin",     "by",       "columnfamily", "create",  "default",   "delete",    "desc",      "describe",
    "drop",      "entries",  "execute",     "from",     "full",      "grant",     "if",        "in",
    "index",     "infinity", "insert",      "into",     "is",        "keyspace",  "limit",     "materialized",
    "mbean",     "mbeans",   "modify",      "nan",      "norecursive", "not",     "null",      "of",
    "on",        "or",       "order",       "primary",  "rename",    "replace",   "revoke",    "schema",
    "select",    "set",      "table",       "to",       "token",     "truncate",  "unlogged",  "unset",
    "update",    "use",      "using",       "view",     "where",     "with"};

void append_table(std::string& out, std::string_view keyspace, std::string_view table) {
    if (!keyspace.empty()) {
        out += quote_identifier(keyspace);
        out += '.';
    }
    out += quote_identifier(table);
}

void append_token_where(std::string& out, std::span<const std::string> partition_key, bool start_inclusive) {
    std::string fn = "token(";
    for (std::size_t i = 0; i < partition_key.size(); ++i) {
        if (i) fn += ", ";
        fn += quote_identifier(partition_key[i]);
    }
    fn += ')';
    out += " WHERE ";
    out += fn;
    out += start_inclusive ? " >= ? AND " : " > ? AND ";
    out += fn;
    out += " <= ?";
}

}  // namespace

token_count token_range::size() const noexcept {
    if (empty()) return 0;
    return token_count(biased(end) - biased(first())) + 1;
}

std::string token_range::to_string() const {
    std::string s(start_inclusive ? "[" : "(");
    s += std::to_string(start);
    s += ", ";
    s += std::to_string(end);
    s += ']';
    return s;
}

std::vector<replica_range> vnode_ranges(const driver::token_map& map, std::string_view keyspace) {
    std::vector<replica_range> out;
    auto ring = map.ring();
    if (ring.empty()) {
        out.push_back({token_range::full_ring(), {}});
        return out;
    }
    out.reserve(ring.size() + 1);
    // The range ending at ring[i].t is (ring[i-1].t, ring[i].t]; ring[0]'s wraps.
    owner_table owners;
    for (const auto& h : map.hosts()) owners.emplace(h.get(), h);
    auto replicas_of = [&](std::size_t i) { return shared_replicas(owners, map.replicas(keyspace, ring[i].t)); };
    auto wrap_replicas = replicas_of(0);
    out.push_back({token_range::closed(min_token, ring[0].t), wrap_replicas});
    for (std::size_t i = 1; i < ring.size(); ++i)
        out.push_back({token_range{ring[i - 1].t, ring[i].t, false}, replicas_of(i)});
    if (ring.back().t != max_token) out.push_back({token_range{ring.back().t, max_token, false}, std::move(wrap_replicas)});
    return out;
}

std::size_t default_split_count(std::size_t vnode_range_count, unsigned cores) {
    if (cores == 0) cores = std::thread::hardware_concurrency();
    if (cores == 0) cores = 1;
    return std::max<std::size_t>(std::size_t(8) * cores, vnode_range_count);
}

std::vector<replica_range> split_ranges(std::span<const replica_range> ranges, std::size_t pieces) {
    std::vector<replica_range> out;
    token_count total = 0;
    for (const auto& r : ranges) total += r.range.size();
    if (total == 0) return out;
    // Bounded so pieces × size stays far inside 128 bits (2^32 × 2^64).
    const token_count n_total = std::clamp<std::size_t>(pieces, 1, std::size_t(1) << 32);
    out.reserve(std::max(ranges.size(), static_cast<std::size_t>(n_total)));
    for (const auto& r : ranges) {
        const token_count size = r.range.size();
        if (size == 0) continue;
        token_count n = (size * n_total + total / 2) / total;
        n = std::clamp<token_count>(n, 1, size);
        const std::uint64_t lo = biased(r.range.first());
        // Part j is [lo + floor(j*size/n), lo + floor((j+1)*size/n) - 1]: sizes differ by at most one.
        for (token_count j = 0; j < n; ++j) {
            const auto a = static_cast<std::uint64_t>(j * size / n);
            const auto b = static_cast<std::uint64_t>((j + 1) * size / n - 1);
            out.push_back({token_range::closed(unbiased(lo + a), unbiased(lo + b)), r.replicas});
        }
    }
    return out;
}

std::vector<replica_range> restrict_ranges(std::span<const replica_range> ranges, std::span<const token_range> filter) {
    const auto f = normalized_intervals(filter);
    std::vector<replica_range> out;
    for (const auto& r : ranges) {
        if (r.range.empty()) continue;
        const interval ri = to_interval(r.range);
        for (auto it = first_reaching(f, ri.lo); it != f.end() && it->lo <= ri.hi; ++it)
            out.push_back({token_range::closed(std::max(ri.lo, it->lo), std::min(ri.hi, it->hi)), r.replicas});
    }
    return out;
}

std::vector<replica_range> subtract_ranges(std::span<const replica_range> ranges, std::span<const token_range> done) {
    const auto d = normalized_intervals(done);
    std::vector<replica_range> out;
    for (const auto& r : ranges) {
        if (r.range.empty()) continue;
        const interval ri = to_interval(r.range);
        token cur = ri.lo;
        bool finished = false;
        for (auto it = first_reaching(d, ri.lo); it != d.end() && it->lo <= ri.hi; ++it) {
            if (it->lo > cur) out.push_back({token_range::closed(cur, it->lo - 1), r.replicas});
            if (it->hi >= ri.hi) {
                finished = true;
                break;
            }
            cur = it->hi + 1;  // it->hi < ri.hi <= max, no overflow
        }
        if (!finished) out.push_back({token_range::closed(cur, ri.hi), r.replicas});
    }
    return out;
}

std::vector<token_range> normalize(std::span<const token_range> ranges) {
    std::vector<token_range> out;
    for (const auto& i : normalized_intervals(ranges)) out.push_back(token_range::closed(i.lo, i.hi));
    return out;
}

std::vector<range_group> group_by_replicas(std::span<const replica_range> ranges) {
    std::vector<range_group> out;
    auto key = [](const std::vector<host_ptr>& hs) {
        std::vector<const driver::host*> k;
        for (const auto& h : hs) k.push_back(h.get());
        std::sort(k.begin(), k.end());
        return k;
    };
    std::vector<const driver::host*> last_key;
    for (const auto& r : ranges) {
        auto k = key(r.replicas);
        const bool contiguous = !out.empty() && !out.back().ranges.empty() && out.back().ranges.back().end != max_token &&
                                out.back().ranges.back().end + 1 == r.range.first();
        if (out.empty() || k != last_key || !contiguous) {
            out.push_back({r.replicas, {}});
            last_key = std::move(k);
        }
        out.back().ranges.push_back(r.range);
    }
    return out;
}

status parse_token_range(std::string_view text, std::vector<token_range>& out) {
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return {errc::bad_token_range, "token range '" + std::string(text) + "': expected START:END"};
    auto a = driver::parse_token(text.substr(0, colon));
    auto b = driver::parse_token(text.substr(colon + 1));
    if (!a || !b)
        return {errc::bad_token_range,
                "token range '" + std::string(text) + "': START and END must be integers in [-2^63, 2^63-1]"};
    if (*a <= *b) {  // A == B: `token > A AND token <= A` selects nothing; an empty range says so
        out.push_back({*a, *b, false});
    } else {  // wraps: (a, max] and [min, b]
        if (*a != max_token) out.push_back({*a, max_token, false});
        out.push_back(token_range::closed(min_token, *b));
    }
    return {};
}

status parse_worker(std::string_view text, worker_id& out) {
    auto slash = text.find('/');
    unsigned i = 0, n = 0;
    if (slash == std::string_view::npos || !parse_u32(text.substr(0, slash), i) || !parse_u32(text.substr(slash + 1), n))
        return {errc::bad_token_range, "worker '" + std::string(text) + "': expected I/N"};
    if (n == 0 || i == 0 || i > n)
        return {errc::bad_token_range, "worker '" + std::string(text) + "': need 1 <= I <= N"};
    out = {i, n};
    return {};
}

token_range worker_slice(worker_id w) noexcept {
    if (w.count == 0 || w.index == 0 || w.index > w.count) return {0, 0, false};  // empty
    const token_count k = w.index - 1, n = w.count;
    const auto lo = static_cast<std::uint64_t>(k * ring_size / n);
    const auto hi = static_cast<std::uint64_t>((k + 1) * ring_size / n - 1);
    return token_range::closed(unbiased(lo), unbiased(hi));
}

std::vector<replica_range> plan_ranges(const driver::token_map& map, std::string_view keyspace,
                                       const plan_options& options) {
    auto ranges = vnode_ranges(map, keyspace);
    if (!options.where.empty()) ranges = restrict_ranges(ranges, options.where);
    if (options.worker) {
        const token_range slice = worker_slice(*options.worker);
        ranges = restrict_ranges(ranges, std::span<const token_range>(&slice, 1));
    }
    const std::size_t n = options.splits ? options.splits : default_split_count(ranges.size(), options.cores);
    return split_ranges(ranges, n);
}

std::string quote_identifier(std::string_view name) {
    bool bare = !name.empty() && name[0] >= 'a' && name[0] <= 'z';
    for (char c : name)
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')) bare = false;
    if (bare && std::find(reserved.begin(), reserved.end(), name) != reserved.end()) bare = false;
    if (bare) return std::string(name);
    std::string out = "\"";
    for (char c : name) {
        if (c == '"') out += '"';
        out += c;
    }
    out += '"';
    return out;
}

std::string range_select_cql(std::string_view keyspace, std::string_view table, std::span<const std::string> columns,
                             std::span<const std::string> partition_key, bool start_inclusive) {
    std::string out = "SELECT ";
    if (columns.empty()) out += '*';
    for (std::size_t i = 0; i < columns.size(); ++i) {
        if (i) out += ", ";
        out += quote_identifier(columns[i]);
    }
    out += " FROM ";
    append_table(out, keyspace, table);
    append_token_where(out, partition_key, start_inclusive);
    return out;
}

std::string range_count_cql(std::string_view keyspace, std::string_view table,
                            std::span<const std::string> partition_key, bool start_inclusive) {
    std::string out = "SELECT count(*) FROM ";
    append_table(out, keyspace, table);
    append_token_where(out, partition_key, start_inclusive);
    return out;
}

}  // namespace cqlpp::bulk
