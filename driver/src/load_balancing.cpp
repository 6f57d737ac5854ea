#include "cqlpp/driver/load_balancing.hpp"

#include <algorithm>

namespace cqlpp::driver {

bool is_local_consistency(protocol::consistency c) noexcept {
    using protocol::consistency;
    return c == consistency::local_one || c == consistency::local_quorum || c == consistency::local_serial;
}

const host* plan_buffer::next() {
    if (pos_ < size_) return hosts_[pos_++];
    if (exhausted_ || policy_ == nullptr) return nullptr;
    const host* h = policy_->fallback(info_, *this);
    if (h == nullptr) exhausted_ = true;
    return h;
}

void load_balancing_policy::plan(const request_info& info, plan_buffer& out) const {
    out.size_ = 0;
    out.pos_ = 0;
    out.exhausted_ = false;
    out.policy_ = this;
    out.info_ = info;
    out.state = {};
    pick(out.info_, out);
}

namespace {

enum phase : std::uint32_t {
    local_hosts = 1,      // the local DC (or every host), rotated
    remote_replicas = 2,  // replicas in remote DC `state.dc`
    remote_hosts = 3,     // other hosts of remote DC `state.dc`, rotated
    done = 4,
};

}  // namespace

default_policy::default_policy(default_policy_config config)
    : config_(std::move(config)), local_dc_(config_.local_dc) {}

void default_policy::init(const token_map& /*map*/, const host* contact_point) {
    if (local_dc_.empty() && contact_point != nullptr) local_dc_ = contact_point->datacenter;
}

host_distance default_policy::distance(const host& h) const noexcept {
    if (is_local(h)) return host_distance::local;
    return config_.used_hosts_per_remote_dc > 0 ? host_distance::remote : host_distance::ignored;
}

bool default_policy::remote_allowed(const request_info& info) const noexcept {
    if (local_dc_.empty() || config_.used_hosts_per_remote_dc == 0 || info.local_dc_only) return false;
    return !is_local_consistency(info.consistency) || config_.allow_remote_dcs_for_local_consistency;
}

// Rotate for spread, then bring the least busy to the front (first in the
// rotated order on ties, so equal loads still spread). LWT keeps ring order.
void default_policy::order_group(std::span<const host*> group, std::uint64_t seed, bool lwt) const {
    if (group.size() < 2 || lwt) return;
    std::rotate(group.begin(), group.begin() + static_cast<std::ptrdiff_t>(seed % group.size()), group.end());
    if (!config_.in_flight) return;
    std::size_t best = 0;
    std::size_t best_load = config_.in_flight(*group[0]);
    for (std::size_t i = 1; i < group.size(); ++i) {
        std::size_t load = config_.in_flight(*group[i]);
        if (load < best_load) {
            best = i;
            best_load = load;
        }
    }
    std::rotate(group.begin(), group.begin() + static_cast<std::ptrdiff_t>(best),
                group.begin() + static_cast<std::ptrdiff_t>(best) + 1);
}

void default_policy::pick(const request_info& info, plan_buffer& out) const {
    out.state.seed = counter_.fetch_add(1, std::memory_order_relaxed);
    out.state.phase = local_hosts;
    if (info.map == nullptr) {
        out.state.phase = done;
        return;
    }
    if (config_.token_aware && info.routing_token && !info.keyspace.empty()) {
        // Both groups fit the inline buffer; replicas beyond it are still
        // reached through the local-hosts phase.
        std::array<const host*, plan_buffer::inline_capacity> rack_group{}, dc_group{};
        std::size_t n_rack = 0, n_dc = 0;
        const bool rack_aware = !config_.local_rack.empty() && !info.is_lwt;
        for (const host* h : info.map->replicas(info.keyspace, *info.routing_token)) {
            if (!h->is_up() || !is_local(*h)) continue;
            if (rack_aware && h->rack == config_.local_rack) {
                if (n_rack + n_dc < rack_group.size()) rack_group[n_rack++] = h;
            } else if (n_rack + n_dc < dc_group.size()) {
                dc_group[n_dc++] = h;
            }
        }
        order_group({rack_group.data(), n_rack}, out.state.seed, info.is_lwt);
        order_group({dc_group.data(), n_dc}, out.state.seed, info.is_lwt);
        for (std::size_t i = 0; i < n_rack; ++i) out.push(rack_group[i]);
        for (std::size_t i = 0; i < n_dc; ++i) out.push(dc_group[i]);
    }
    // The rest of the plan is walked only when a request gets that far
    // (retries, speculation): most requests end at their first host. Without
    // replicas the first host of the walk is taken now.
    if (out.picked().empty())
        if (const host* h = advance(info, out)) out.push(h);
}

const host* default_policy::fallback(const request_info& info, plan_buffer& out) const { return advance(info, out); }

// One step of the lazy walk (phases above). No allocation: everything is
// read from the snapshot; the cursor is a few integers in the buffer.
const host* default_policy::advance(const request_info& info, plan_buffer& out) const {
    auto& st = out.state;
    if (info.map == nullptr) return nullptr;
    const token_map& map = *info.map;
    while (true) {
        switch (st.phase) {
            case local_hosts: {
                std::size_t n;
                const token_map::datacenter* dc = nullptr;
                if (local_dc_.empty()) {
                    n = map.hosts().size();
                } else {
                    // Looked up by name once per plan; st.dc holds its index + 1
                    // (no_dc: not in the map) until the phase ends.
                    constexpr std::uint32_t no_dc = ~std::uint32_t{0};
                    if (st.dc == 0) {
                        const auto* found = map.find_datacenter(local_dc_);
                        st.dc = found == nullptr ? no_dc
                                                 : static_cast<std::uint32_t>(found - map.datacenters().data()) + 1;
                    }
                    dc = st.dc == no_dc ? nullptr : &map.datacenters()[st.dc - 1];
                    n = dc == nullptr ? 0 : dc->hosts.size();
                }
                while (st.index < n) {
                    std::size_t i = (st.seed + st.index++) % n;
                    const host* h = dc != nullptr ? dc->hosts[i] : map.hosts()[i].get();
                    if (h->is_up() && !out.picked_contains(h)) return h;
                }
                st.phase = remote_allowed(info) ? remote_replicas : done;
                st.dc = 0;
                st.index = 0;
                st.taken = 0;
                break;
            }
            case remote_replicas: {
                auto dcs = map.datacenters();
                if (st.dc >= dcs.size()) {
                    st.phase = done;
                    break;
                }
                const auto& dc = dcs[st.dc];
                if (dc.name != local_dc_ && config_.token_aware && info.routing_token && !info.keyspace.empty()) {
                    auto reps = map.replicas(info.keyspace, *info.routing_token);
                    while (st.index < reps.size() && st.taken < config_.used_hosts_per_remote_dc) {
                        const host* h = reps[st.index++];
                        if (h->datacenter == dc.name && h->is_up()) {
                            ++st.taken;
                            return h;
                        }
                    }
                }
                st.phase = remote_hosts;
                st.index = 0;
                break;
            }
            case remote_hosts: {
                const auto& dc = map.datacenters()[st.dc];
                if (dc.name != local_dc_) {
                    const std::size_t n = dc.hosts.size();
                    std::span<const host* const> reps;
                    if (config_.token_aware && info.routing_token && !info.keyspace.empty())
                        reps = map.replicas(info.keyspace, *info.routing_token);
                    while (st.index < n && st.taken < config_.used_hosts_per_remote_dc) {
                        const host* h = dc.hosts[(st.seed + st.index++) % n];
                        if (!h->is_up() || std::find(reps.begin(), reps.end(), h) != reps.end()) continue;
                        ++st.taken;
                        return h;
                    }
                }
                st.phase = remote_replicas;
                ++st.dc;
                st.index = 0;
                st.taken = 0;
                break;
            }
            default: return nullptr;
        }
    }
}

}  // namespace cqlpp::driver
