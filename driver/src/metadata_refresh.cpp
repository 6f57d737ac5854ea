// Metadata refresh: system.local/peers and system_schema into a new snapshot,
// and the debounced refresh that events schedule.
#include "session_impl.hpp"
#include "session_util.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/ip/address.hpp>

#include <algorithm>

namespace cqlpp::driver::detail {

namespace {
template <class T>
std::optional<T> opt(const row_view& r, std::string_view col) {
    std::optional<T> v;
    if (r.try_get(col, v)) return std::nullopt;
    return v;
}
template <class T>
T get_or(const row_view& r, std::string_view col, T fallback = {}) {
    auto v = opt<T>(r, col);
    return v ? std::move(*v) : fallback;
}

std::shared_ptr<host> host_from_row(const row_view& r, bool peers_v2) {
    auto h = std::make_shared<host>();
    auto id = opt<uuid>(r, "host_id");
    if (!id) return nullptr;
    std::copy(id->bytes.begin(), id->bytes.end(), h->host_id.begin());
    h->datacenter = get_or<std::string>(r, "data_center");
    h->rack = get_or<std::string>(r, "rack");
    auto toks = get_or<std::vector<std::string>>(r, "tokens");
    if (auto t = parse_tokens(std::span<const std::string>(toks))) h->tokens = std::move(*t);
    (void)peers_v2;
    return h;
}
}  // namespace

// Reads system.local / peers (and the schema) and publishes a new snapshot.
asio::awaitable<std::error_code> session_impl::refresh(bool topology, bool schema, diagnostics* diag) {
    auto self = shared_from_this();
    if (follower()) co_return co_await refresh_through_primary(topology, schema, diag);
    auto fail = [&](const result& r) -> std::error_code {
        if (diag) *diag = r.diag();
        log()->warn("cqlpp: metadata refresh failed: {}", r.diag().message);
        return r.error() ? r.error() : make_error_code(driver::errc::metadata_error);
    };
    // One node answers the whole refresh, even if the control connection
    // moves meanwhile: its questions fail together when that node goes.
    const auto ctl = control;
    const auto ctl_endpoint = control_endpoint;
    auto ask = [&](std::string_view cql) { return control_query(cql, ctl, ctl_endpoint); };
    auto next = std::make_shared<cluster_metadata>(*meta);
    std::vector<std::shared_ptr<host>> hosts;
    const host* control_host = nullptr;
    if (topology || meta->tokens.hosts().empty()) {
        ++counters.topology_refreshes;
        auto local = co_await ask(
            "SELECT host_id, data_center, rack, tokens, rpc_address, cluster_name, partitioner FROM system.local WHERE key='local'");
        if (!local.ok()) co_return fail(local);
        if (local.row_count() != 1) {
            if (diag) diag->message = "system.local returned no row";
            co_return make_error_code(driver::errc::metadata_error);
        }
        auto lr = local.first_row();
        auto lh = host_from_row(lr, false);
        if (!lh) {
            if (diag) diag->message = "system.local has no host_id";
            co_return make_error_code(driver::errc::metadata_error);
        }
        next->cluster_name = get_or<std::string>(lr, "cluster_name");
        next->partitioner = get_or<std::string>(lr, "partitioner");
        auto rpc = opt<inet>(lr, "rpc_address");
        auto ep = ctl ? ctl->remote_endpoint() : asio::ip::tcp::endpoint{};
        if (rpc && !is_any_address(*rpc)) {
            lh->address = to_inet_address(*rpc);
        } else if (auto a = inet::from_string(ep.address().to_string())) {
            lh->address = to_inet_address(*a);
        }
        lh->port = ep.port() ? ep.port() : cfg.default_port;
        hosts.push_back(lh);

        // system.peers has no native port: a peer is taken to listen on the
        // control node's, which is wrong wherever nodes differ in port. So
        // the fallback is only for a node that has no peers_v2 (the table is
        // unknown: INVALID); any other failure (a timeout, OVERLOADED, a lost
        // connection) fails this refresh and the hosts stay as they were.
        bool v2 = !peers_v1_only;
        result peers;
        if (v2) {
            peers = co_await ask(
                "SELECT peer, host_id, data_center, rack, tokens, native_address, native_port FROM system.peers_v2");
            if (!peers.ok()) {
                const auto& se = peers.diag().server_error;
                if (!se || se->code != protocol::server_errc::invalid) co_return fail(peers);
                log()->info("cqlpp: system.peers_v2 is not there ({}): reading system.peers", se->message);
                peers_v1_only = true;
                v2 = false;
            }
        }
        if (!v2) {
            peers = co_await ask("SELECT peer, host_id, data_center, rack, tokens, rpc_address FROM system.peers");
            if (!peers.ok()) co_return fail(peers);
        }
        for (auto row : peers.rows()) {
            auto h = host_from_row(row, v2);
            if (!h) continue;  // a peer being removed or not fully joined
            std::optional<inet> addr;
            if (v2) {
                addr = opt<inet>(row, "native_address");
                h->port = static_cast<std::uint16_t>(get_or<std::int32_t>(row, "native_port", cfg.default_port));
            } else {
                addr = opt<inet>(row, "rpc_address");
                h->port = lh->port;
            }
            if (!addr || is_any_address(*addr)) addr = opt<inet>(row, "peer");
            if (!addr) continue;
            h->address = to_inet_address(*addr);
            hosts.push_back(std::move(h));
        }
    } else {
        for (const auto& h : meta->tokens.hosts()) hosts.push_back(std::make_shared<host>(*h));
    }

    if (schema || meta->keyspaces.empty()) {
        ++counters.schema_refreshes;
        auto ks = co_await ask("SELECT keyspace_name, replication FROM system_schema.keyspaces");
        if (!ks.ok()) co_return fail(ks);
        std::map<std::string, keyspace_metadata, std::less<>> keyspaces;
        for (auto row : ks.rows()) {
            keyspace_metadata k;
            k.name = get_or<std::string>(row, "keyspace_name");
            auto rep = get_or<std::map<std::string, std::string>>(row, "replication");
            auto parsed = replication_strategy::parse(rep);
            k.replication = parsed ? *parsed : replication_strategy{replication_strategy::kind::unknown, 0, {}, {}};
            keyspaces.emplace(k.name, std::move(k));
        }
        if (cfg.fetch_schema) {
            auto cols = co_await ask(
                "SELECT keyspace_name, table_name, column_name, kind, position, type FROM system_schema.columns");
            if (!cols.ok()) co_return fail(cols);
            for (auto row : cols.rows()) {
                auto ksn = get_or<std::string>(row, "keyspace_name");
                auto it = keyspaces.find(ksn);
                if (it == keyspaces.end()) continue;
                auto tn = get_or<std::string>(row, "table_name");
                auto& t = it->second.tables[tn];
                t.keyspace = ksn;
                t.name = tn;
                column_metadata c;
                c.name = get_or<std::string>(row, "column_name");
                auto kind = get_or<std::string>(row, "kind");
                c.kind = kind == "partition_key" ? column_metadata::kind::partition_key
                         : kind == "clustering"  ? column_metadata::kind::clustering
                         : kind == "static"      ? column_metadata::kind::static_
                                                 : column_metadata::kind::regular;
                c.position = get_or<std::int32_t>(row, "position", -1);
                auto type_text = get_or<std::string>(row, "type");
                if (auto ty = proto::parse_type_name(type_text)) c.type = std::move(*ty);
                else c.type = proto::cql_type::custom_of(type_text);  // e.g. a UDT name: kept as text
                t.columns.push_back(std::move(c));
            }
            for (auto& [kn, k] : keyspaces) {
                for (auto& [tn, t] : k.tables) {
                    auto rank = [](const column_metadata& c) {
                        return c.kind == column_metadata::kind::partition_key ? 0
                               : c.kind == column_metadata::kind::clustering  ? 1
                                                                              : 2;
                    };
                    std::stable_sort(t.columns.begin(), t.columns.end(), [&](const auto& a, const auto& b) {
                        if (rank(a) != rank(b)) return rank(a) < rank(b);
                        if (rank(a) < 2) return a.position < b.position;
                        return a.name < b.name;
                    });
                    for (std::size_t i = 0; i < t.columns.size(); ++i) {
                        if (t.columns[i].kind == column_metadata::kind::partition_key) t.partition_key.push_back(i);
                        if (t.columns[i].kind == column_metadata::kind::clustering) t.clustering.push_back(i);
                    }
                }
            }
        }
        next->keyspaces = std::move(keyspaces);
    }
    if (closed) co_return make_error_code(driver::errc::session_closed);
    if (!hosts.empty()) control_host = hosts.front().get();
    apply_hosts(std::move(hosts), next, control_host);
    co_return std::error_code{};
}

// A shard other than 0 has no control connection: shard 0 refreshes (on its
// executor) and publishes; the view it posted here before its answer is
// adopted by the time this resumes, and adopted again below in any case.
asio::awaitable<std::error_code> session_impl::refresh_through_primary(bool topology, bool schema, diagnostics* diag) {
    auto self = shared_from_this();
    auto p = primary();
    if (!p || closed) co_return make_error_code(driver::errc::session_closed);
    using answer = std::pair<std::error_code, diagnostics>;
    auto work = [p, topology, schema]() -> asio::awaitable<answer> {
        diagnostics d;
        auto ec = co_await p->refresh(topology, schema, &d);
        co_return answer{ec, std::move(d)};
    };
    auto a = co_await asio::co_spawn(p->ex, std::move(work), asio::use_awaitable);
    adopt(std::atomic_load(&group->latest));
    if (a.first && diag) *diag = std::move(a.second);
    co_return a.first;
}

void session_impl::schedule_refresh(bool topology, bool schema) {
    if (follower()) {
        // Events and DDL reach the one refresher, shard 0's.
        if (auto p = primary())
            asio::post(p->ex, [p, topology, schema] {
                if (!p->closed) p->schedule_refresh(topology, schema);
            });
        return;
    }
    refresh_topology |= topology;
    refresh_schema |= schema;
    if (refresher_running) {
        // Debounce: push the refresh back while events keep coming.
        refresh_timer.expires_after(cfg.refresh_debounce);
        return;
    }
    refresher_running = true;
    refresh_timer.expires_after(cfg.refresh_debounce);
    asio::co_spawn(ex, [self = shared_from_this()] { return self->refresher(); }, asio::detached);
}

asio::awaitable<void> session_impl::refresher() {
    auto self = shared_from_this();
    const auto first = clock_type::now();
    for (;;) {
        auto [ec] = co_await refresh_timer.async_wait(use_tuple);
        if (closed) break;
        // A timer re-armed by a new event reports operation_aborted: wait again,
        // but never more than 10 debounce windows in all.
        if (ec && clock_type::now() - first < 10 * cfg.refresh_debounce) continue;
        break;
    }
    while (!closed && (refresh_topology || refresh_schema)) {
        bool t = std::exchange(refresh_topology, false);
        bool s = std::exchange(refresh_schema, false);
        co_await refresh(t, s, nullptr);
    }
    refresher_running = false;
}

}  // namespace cqlpp::driver::detail
