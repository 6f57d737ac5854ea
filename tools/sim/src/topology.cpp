#include "cqlpp/sim/topology.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <limits>
#include <set>
#include <stdexcept>

namespace cqlpp::sim {

namespace {

std::uint64_t splitmix64(std::uint64_t& state) noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

std::string strip_class(std::string_view cls) {
    auto dot = cls.rfind('.');
    return std::string(dot == std::string_view::npos ? cls : cls.substr(dot + 1));
}

bool parse_factor(const std::string& s, int& out) {
    auto r = std::from_chars(s.data(), s.data() + s.size(), out);
    return r.ec == std::errc() && r.ptr == s.data() + s.size() && out >= 0;
}

}  // namespace

protocol::inet_address node_info::inet() const {
    protocol::inet_address a;
    unsigned b[4] = {0, 0, 0, 0};
    if (std::sscanf(config.address.c_str(), "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]) == 4) {
        a.size = 4;
        for (int i = 0; i < 4; ++i) a.addr[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(b[i]);
    }
    return a;
}

bool replication::from_options(const std::map<std::string, std::string>& options, replication& out, std::string& error) {
    auto it = options.find("class");
    if (it == options.end()) {
        error = "Missing replication strategy class";
        return false;
    }
    auto cls = strip_class(it->second);
    out = replication{};
    if (cls == "SimpleStrategy") {
        out.kind = strategy::simple;
        auto rf = options.find("replication_factor");
        if (rf == options.end()) {
            error = "SimpleStrategy requires a replication_factor strategy option.";
            return false;
        }
        if (!parse_factor(rf->second, out.replication_factor)) {
            error = "Replication factor must be non-negative; found " + rf->second;
            return false;
        }
        for (const auto& [k, v] : options)
            if (k != "class" && k != "replication_factor") {
                error = "Unrecognized strategy option {" + k + "} passed to SimpleStrategy";
                return false;
            }
        return true;
    }
    if (cls == "NetworkTopologyStrategy") {
        out.kind = strategy::network_topology;
        out.replication_factor = 0;
        for (const auto& [k, v] : options) {
            if (k == "class") continue;
            int f = 0;
            if (!parse_factor(v, f)) {
                error = "Replication factor must be non-negative; found " + v;
                return false;
            }
            if (k == "replication_factor") out.replication_factor = f;  // default for every DC
            else out.dc_factors[k] = f;
        }
        return true;
    }
    if (cls == "LocalStrategy") {
        out.kind = strategy::local;
        return true;
    }
    if (cls == "EverywhereStrategy") {
        out.kind = strategy::everywhere;
        return true;
    }
    error = "Unable to find replication strategy class 'org.apache.cassandra.locator." + cls + "'";
    return false;
}

std::map<std::string, std::string> replication::to_options() const {
    std::map<std::string, std::string> m;
    switch (kind) {
        case strategy::simple:
            m["class"] = "org.apache.cassandra.locator.SimpleStrategy";
            m["replication_factor"] = std::to_string(replication_factor);
            break;
        case strategy::network_topology:
            m["class"] = "org.apache.cassandra.locator.NetworkTopologyStrategy";
            for (const auto& [dc, f] : dc_factors) m[dc] = std::to_string(f);
            break;
        case strategy::local: m["class"] = "org.apache.cassandra.locator.LocalStrategy"; break;
        case strategy::everywhere: m["class"] = "org.apache.cassandra.locator.EverywhereStrategy"; break;
    }
    return m;
}

topology::topology(const topology_config& cfg) : config_(cfg) {
    if (cfg.nodes < 1 || cfg.nodes > 250) throw std::invalid_argument("nodes must be between 1 and 250");
    if (cfg.num_tokens < 1 || cfg.num_tokens > 4096) throw std::invalid_argument("num_tokens must be between 1 and 4096");

    // Datacenter of each node, in order: "dc1:3,dc2:2" fills dc1 first.
    std::vector<std::pair<std::string, int>> dcs = cfg.datacenters;
    if (dcs.empty()) dcs.emplace_back("datacenter1", cfg.nodes);
    int total = 0;
    for (auto& [name, n] : dcs) total += n;
    if (total != cfg.nodes) throw std::invalid_argument("datacenter node counts must add up to the number of nodes");

    nodes_.reserve(max_nodes);
    up_ = std::make_unique<std::atomic<bool>[]>(max_nodes);
    rng_ = cfg.seed;
    int id = 0;
    for (const auto& [dc, count] : dcs)
        for (int i = 0; i < count; ++i, ++id) make_node(id, dc, "rack" + std::to_string(1 + i % std::max(1, cfg.racks_per_dc)));
    rebuild_ring();
}

void topology::make_node(int id, const std::string& dc, const std::string& rack) {
    node_info n;
    n.id = id;
    n.config.datacenter = dc;
    n.config.rack = rack;
    if (config_.base_port != 0) {
        n.config.address = config_.base_address;
        n.config.port = static_cast<std::uint16_t>(config_.base_port + id);
    } else {
        n.config.address = "127.0.0." + std::to_string(id + 1);
        n.config.port = config_.port;
    }
    // Random version-4 UUID from the seed.
    std::uint64_t hi = splitmix64(rng_), lo = splitmix64(rng_);
    for (int b = 0; b < 8; ++b) {
        n.host_id[static_cast<std::size_t>(b)] = static_cast<std::uint8_t>(hi >> (56 - 8 * b));
        n.host_id[static_cast<std::size_t>(8 + b)] = static_cast<std::uint8_t>(lo >> (56 - 8 * b));
    }
    n.host_id[6] = static_cast<std::uint8_t>((n.host_id[6] & 0x0F) | 0x40);
    n.host_id[8] = static_cast<std::uint8_t>((n.host_id[8] & 0x3F) | 0x80);
    while (n.tokens.size() < static_cast<std::size_t>(config_.num_tokens)) {
        auto t = static_cast<token>(splitmix64(rng_));
        // The minimum token is the ring's start, never a node's token.
        if (t == std::numeric_limits<token>::min() || !used_.insert(t).second) continue;
        n.tokens.push_back(t);
    }
    std::sort(n.tokens.begin(), n.tokens.end());
    up_[static_cast<std::size_t>(id)].store(true);
    nodes_.push_back(std::move(n));
    count_.store(nodes_.size(), std::memory_order_release);
}

void topology::rebuild_ring() {
    ring_.clear();
    for (const auto& n : nodes_)
        if (n.member)
            for (auto t : n.tokens) ring_.push_back({t, n.id});
    std::sort(ring_.begin(), ring_.end(), [](const ring_entry& a, const ring_entry& b) { return a.t < b.t; });
}

std::size_t topology::member_count() const noexcept {
    std::size_t n = 0;
    for (const auto& node : nodes_) n += node.member ? 1 : 0;
    return n;
}

int topology::add_node(const std::string& datacenter, const std::string& rack) {
    if (nodes_.size() >= max_nodes) return -1;
    const int id = static_cast<int>(nodes_.size());
    make_node(id, datacenter.empty() ? nodes_.front().config.datacenter : datacenter, rack.empty() ? "rack1" : rack);
    rebuild_ring();
    return id;
}

bool topology::remove_node(int id) {
    if (!is_member(id) || member_count() <= 1) return false;
    nodes_[static_cast<std::size_t>(id)].member = false;
    up_[static_cast<std::size_t>(id)].store(false);
    rebuild_ring();
    return true;
}

std::size_t topology::ring_position(token t) const noexcept {
    auto it = std::lower_bound(ring_.begin(), ring_.end(), t, [](const ring_entry& e, token v) { return e.t < v; });
    return it == ring_.end() ? 0 : static_cast<std::size_t>(it - ring_.begin());
}

std::vector<int> topology::replicas(const replication& r, token t) const {
    std::vector<int> out;
    const std::size_t n = ring_.size();
    const std::size_t start = ring_position(t);
    auto contains = [&](int node) { return std::find(out.begin(), out.end(), node) != out.end(); };

    switch (r.kind) {
        case replication::strategy::local: return out;
        case replication::strategy::everywhere:
            for (const auto& node : nodes_)
                if (node.member) out.push_back(node.id);
            return out;
        case replication::strategy::simple: {
            const std::size_t want = std::min<std::size_t>(static_cast<std::size_t>(r.replication_factor), member_count());
            for (std::size_t i = 0; i < n && out.size() < want; ++i) {
                int node = ring_[(start + i) % n].node;
                if (!contains(node)) out.push_back(node);
            }
            return out;
        }
        case replication::strategy::network_topology: break;
    }

    // NetworkTopologyStrategy as Cassandra 4+ does it: walk the ring once; in
    // each DC take a node from every new rack, and accept nodes from racks
    // already used only while the DC has fewer racks than its factor.
    struct dc_state {
        int left = 0;
        int rack_repeats = 0;
        std::set<std::string> racks;
    };
    std::map<std::string, dc_state> dcs;
    std::map<std::string, std::pair<int, std::set<std::string>>> members;  // dc -> (node count, racks)
    for (const auto& node : nodes_) {
        if (!node.member) continue;
        auto& m = members[node.config.datacenter];
        ++m.first;
        m.second.insert(node.config.rack);
    }
    int pending = 0;
    for (const auto& [dc, m] : members) {
        auto f = r.dc_factors.find(dc);
        int rf = f != r.dc_factors.end() ? f->second : r.replication_factor;
        if (rf <= 0) continue;
        dc_state s;
        s.left = std::min(rf, m.first);
        s.rack_repeats = rf - static_cast<int>(m.second.size());
        dcs[dc] = s;
        ++pending;
    }
    for (std::size_t i = 0; i < n && pending > 0; ++i) {
        int node = ring_[(start + i) % n].node;
        const auto& cfg = nodes_[static_cast<std::size_t>(node)].config;
        auto it = dcs.find(cfg.datacenter);
        if (it == dcs.end() || it->second.left <= 0 || contains(node)) continue;
        auto& s = it->second;
        if (s.racks.insert(cfg.rack).second) {
            out.push_back(node);
        } else if (s.rack_repeats > 0) {
            out.push_back(node);
            --s.rack_repeats;
        } else {
            continue;
        }
        if (--s.left == 0) --pending;
    }
    return out;
}

}  // namespace cqlpp::sim
