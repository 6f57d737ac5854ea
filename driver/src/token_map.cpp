#include "cqlpp/driver/token_map.hpp"

#include "cqlpp/protocol/murmur3.hpp"

#include <algorithm>
#include <atomic>
#include <charconv>
#include <set>

namespace cqlpp::driver {

namespace {

// "org.apache.cassandra.locator.SimpleStrategy" -> "SimpleStrategy".
std::string_view short_class(std::string_view cls) noexcept {
    auto dot = cls.rfind('.');
    return dot == std::string_view::npos ? cls : cls.substr(dot + 1);
}

// "3" or "3/1" (all/transient): the number of replicas in all.
bool parse_factor(std::string_view s, int& out) noexcept {
    auto slash = s.find('/');
    if (slash != std::string_view::npos) s = s.substr(0, slash);
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, 10);
    return ec == std::errc{} && end == s.data() + s.size() && out >= 0;
}

}  // namespace

std::optional<replication_strategy> replication_strategy::parse(
    std::span<const std::pair<std::string_view, std::string_view>> options) {
    replication_strategy r;
    bool have_class = false;
    for (const auto& [k, v] : options)
        if (k == "class") {
            r.class_name = std::string(v);
            have_class = true;
        }
    if (!have_class) return std::nullopt;
    auto cls = short_class(r.class_name);
    if (cls == "SimpleStrategy") {
        r.strategy = kind::simple;
        r.replication_factor = 0;
        for (const auto& [k, v] : options)
            if (k == "replication_factor" && !parse_factor(v, r.replication_factor)) return std::nullopt;
    } else if (cls == "NetworkTopologyStrategy") {
        r.strategy = kind::network_topology;
        r.replication_factor = 0;
        for (const auto& [k, v] : options) {
            if (k == "class") continue;
            int f = 0;
            if (!parse_factor(v, f)) return std::nullopt;
            // Cassandra 4 expands 'replication_factor' into every DC at CREATE
            // time; older schemas (and the sim) may still carry it.
            if (k == "replication_factor") r.replication_factor = f;
            else r.dc_factors.emplace(std::string(k), f);
        }
    } else if (cls == "LocalStrategy") {
        r.strategy = kind::local;
        r.replication_factor = 0;
    } else if (cls == "EverywhereStrategy") {
        r.strategy = kind::everywhere;
        r.replication_factor = 0;
    } else {
        r.strategy = kind::unknown;
        r.replication_factor = 0;
    }
    return r;
}

std::optional<replication_strategy> replication_strategy::parse(const std::map<std::string, std::string>& options) {
    std::vector<std::pair<std::string_view, std::string_view>> v;
    v.reserve(options.size());
    for (const auto& [k, val] : options) v.emplace_back(k, val);
    return parse(v);
}

token token_of(protocol::bytes_view routing_key) noexcept { return protocol::murmur3_token(routing_key); }

token_map::token_map(std::vector<std::shared_ptr<host>> hosts) : hosts_(std::move(hosts)) {
    for (const auto& h : hosts_)
        for (token t : h->tokens) ring_.push_back({t, h.get()});
    // Stable: on a duplicated token the host listed first keeps it.
    std::stable_sort(ring_.begin(), ring_.end(), [](const ring_entry& a, const ring_entry& b) { return a.t < b.t; });
    ring_.erase(std::unique(ring_.begin(), ring_.end(), [](const ring_entry& a, const ring_entry& b) { return a.t == b.t; }),
                ring_.end());
    ring_tokens_.reserve(ring_.size());
    for (const auto& e : ring_) ring_tokens_.push_back(e.t);
    // About one ring token per bucket: 2^bits >= ring size, at most 2^16
    // buckets (256 KiB) for the largest rings.
    bucket_bits_ = 0;
    while (bucket_bits_ < 16 && (std::size_t{1} << bucket_bits_) < ring_tokens_.size()) ++bucket_bits_;
    const std::size_t buckets = std::size_t{1} << bucket_bits_;
    bucket_start_.assign(buckets + 1, 0);
    std::size_t i = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
        bucket_start_[b] = static_cast<std::uint32_t>(i);
        while (i < ring_tokens_.size() && bucket_of(ring_tokens_[i]) == b) ++i;
    }
    bucket_start_[buckets] = static_cast<std::uint32_t>(ring_tokens_.size());

    std::set<const host*> in_ring;
    for (const auto& e : ring_) in_ring.insert(e.owner);
    std::map<std::string, std::set<std::string>, std::less<>> racks;
    for (const auto& h : hosts_) {
        auto it = std::find_if(dcs_.begin(), dcs_.end(), [&](const datacenter& d) { return d.name == h->datacenter; });
        if (it == dcs_.end()) {
            dcs_.push_back({h->datacenter, {}, 0, 0});
            it = dcs_.end() - 1;
        }
        it->hosts.push_back(h.get());
        if (in_ring.count(h.get()) != 0) {
            ++it->ring_hosts;
            racks[h->datacenter].insert(h->rack);
        }
    }
    for (auto& d : dcs_) d.racks = racks[d.name].size();
}

const token_map::datacenter* token_map::find_datacenter(std::string_view name) const noexcept {
    for (const auto& d : dcs_)
        if (d.name == name) return &d;
    return nullptr;
}

std::size_t token_map::ring_position(token t) const noexcept {
    if (ring_tokens_.empty()) return 0;
    // Search only t's bucket: every token in a later bucket is greater, so
    // falling off this one's end lands on the next bucket's first token.
    const std::size_t b = bucket_of(t);
    const auto first = ring_tokens_.begin() + bucket_start_[b];
    const auto last = ring_tokens_.begin() + bucket_start_[b + 1];
    auto it = std::lower_bound(first, last, t);
    return it == ring_tokens_.end() ? 0 : static_cast<std::size_t>(it - ring_tokens_.begin());
}

void token_map::replicas_simple(std::size_t start, std::size_t rf, std::vector<const host*>& out) const {
    const std::size_t first = out.size();
    for (std::size_t i = 0; i < ring_.size() && out.size() - first < rf; ++i) {
        const host* h = ring_[(start + i) % ring_.size()].owner;
        if (std::find(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), h) == out.end()) out.push_back(h);
    }
}

// Cassandra 4+ NetworkTopologyStrategy.calculateNaturalReplicas: one
// clockwise walk; per DC a node from an unseen rack is always taken, a node
// from a seen rack only while the DC may still repeat racks
// (rf - racks_in_dc > 0, counted down); the DC is done at min(rf, nodes).
void token_map::replicas_nts(std::size_t start, const replication_strategy& r, std::vector<const host*>& out) const {
    struct dc_state {
        const datacenter* dc;
        int left;            // replicas still wanted
        int rack_repeats;    // rack repeats still acceptable
        std::vector<std::string_view> racks_seen;
    };
    std::vector<dc_state> states;
    for (const auto& d : dcs_) {
        auto it = r.dc_factors.find(d.name);
        int rf = it != r.dc_factors.end() ? it->second : r.replication_factor;
        if (rf <= 0 || d.ring_hosts == 0) continue;
        states.push_back({&d, std::min(rf, static_cast<int>(d.ring_hosts)), rf - static_cast<int>(d.racks), {}});
    }
    std::size_t pending = states.size();
    const std::size_t first = out.size();
    for (std::size_t i = 0; i < ring_.size() && pending > 0; ++i) {
        const host* h = ring_[(start + i) % ring_.size()].owner;
        auto st = std::find_if(states.begin(), states.end(), [&](const dc_state& s) { return s.dc->name == h->datacenter; });
        if (st == states.end() || st->left == 0) continue;
        if (std::find(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), h) != out.end()) continue;
        bool new_rack = std::find(st->racks_seen.begin(), st->racks_seen.end(), h->rack) == st->racks_seen.end();
        if (new_rack) {
            st->racks_seen.push_back(h->rack);
        } else {
            if (st->rack_repeats <= 0) continue;
            --st->rack_repeats;
        }
        out.push_back(h);
        if (--st->left == 0) --pending;
    }
}

std::shared_ptr<const token_map::replica_table> token_map::compute(const replication_strategy& r) const {
    auto table = std::make_shared<replica_table>();
    table->offsets.reserve(ring_.size() + 1);
    table->offsets.push_back(0);
    for (std::size_t i = 0; i < ring_.size(); ++i) {
        switch (r.strategy) {
            case replication_strategy::kind::simple:
                replicas_simple(i, static_cast<std::size_t>(std::max(0, r.replication_factor)), table->flat);
                break;
            case replication_strategy::kind::network_topology: replicas_nts(i, r, table->flat); break;
            case replication_strategy::kind::everywhere: replicas_simple(i, hosts_.size(), table->flat); break;
            case replication_strategy::kind::local:
            case replication_strategy::kind::unknown: break;
        }
        table->offsets.push_back(static_cast<std::uint32_t>(table->flat.size()));
    }
    table->flat.shrink_to_fit();
    return table;
}

void token_map::set_keyspace(std::string name, const replication_strategy& replication) {
    std::shared_ptr<const replica_table> table;
    for (const auto& [r, t] : tables_)
        if (r == replication) table = t;
    if (!table) {
        table = compute(replication);
        tables_.emplace_back(replication, table);
    }
    keyspaces_.insert_or_assign(std::move(name), std::move(table));
    id_ = state_id();
}

void token_map::drop_keyspace(std::string_view name) {
    if (auto it = keyspaces_.find(name); it != keyspaces_.end()) keyspaces_.erase(it);
    id_ = state_id();
}

std::uint64_t token_map::state_id::next() noexcept {
    static std::atomic<std::uint64_t> counter{1};
    return counter.fetch_add(1, std::memory_order_relaxed);
}

bool token_map::has_keyspace(std::string_view name) const noexcept { return keyspaces_.find(name) != keyspaces_.end(); }

std::span<const host* const> token_map::replicas(std::string_view keyspace, token t) const noexcept {
    if (ring_.empty()) return {};
    // The key's string lives in this map's node: valid while a map with this
    // id lives, and the id names only this map in this state.
    struct last_lookup {
        std::uint64_t map = 0;
        const std::string* name = nullptr;
        const replica_table* table = nullptr;
    };
    thread_local last_lookup last;
    const replica_table* found;
    if (last.map == id_.v && *last.name == keyspace) {
        found = last.table;
    } else {
        auto it = keyspaces_.find(keyspace);
        if (it == keyspaces_.end()) return {};
        found = it->second.get();
        last = {id_.v, &it->first, found};
    }
    const replica_table& table = *found;
    std::size_t i = ring_position(t);
    return std::span<const host* const>(table.flat.data() + table.offsets[i], table.offsets[i + 1] - table.offsets[i]);
}

}  // namespace cqlpp::driver
