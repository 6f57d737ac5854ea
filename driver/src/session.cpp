#include "session_impl.hpp"

#include "cqlpp/driver/types.hpp"
#include "cqlpp/protocol/murmur3.hpp"

#include <asio/co_spawn.hpp>
#include <asio/detached.hpp>
#include <asio/experimental/as_tuple.hpp>
#include <asio/ip/address.hpp>
#include <asio/associated_cancellation_slot.hpp>
#include <asio/associated_executor.hpp>
#include <asio/async_result.hpp>
#include <asio/post.hpp>
#include <asio/use_awaitable.hpp>
#include <asio/use_future.hpp>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

#include <algorithm>
#include <cctype>
#include <charconv>

namespace cqlpp::driver {

namespace proto = cqlpp::protocol;
using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {
constexpr auto use_tuple = asio::experimental::as_tuple(asio::use_awaitable);

// The application's logger named "cqlpp" if it registered one; otherwise our
// own on stderr (never stdout: tools print results there), at the level of
// CQLPP_LOG_LEVEL (trace|debug|info|warn|error|off), warn by default.
const std::shared_ptr<spdlog::logger>& log() {
    static const std::shared_ptr<spdlog::logger> l = [] {
        if (auto existing = spdlog::get("cqlpp")) return existing;
        auto made = std::make_shared<spdlog::logger>("cqlpp", std::make_shared<spdlog::sinks::stderr_sink_mt>());
        const char* lvl = std::getenv("CQLPP_LOG_LEVEL");
        made->set_level(lvl ? spdlog::level::from_str(lvl) : spdlog::level::warn);
        return made;
    }();
    return l;
}

// "host", "host:port", "[v6]", "[v6]:port", "v6" (several colons, no port).
bool parse_contact_point(std::string_view s, std::uint16_t default_port, std::string& host, std::uint16_t& port) {
    port = default_port;
    if (s.empty()) return false;
    std::string_view p;
    if (s.front() == '[') {
        auto close = s.find(']');
        if (close == std::string_view::npos) return false;
        host = std::string(s.substr(1, close - 1));
        auto rest = s.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':') return false;
            p = rest.substr(1);
        }
    } else if (std::count(s.begin(), s.end(), ':') == 1) {
        auto colon = s.find(':');
        host = std::string(s.substr(0, colon));
        p = s.substr(colon + 1);
    } else {
        host = std::string(s);
    }
    if (host.empty()) return false;
    if (!p.empty()) {
        unsigned v = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), v);
        if (ec != std::errc{} || end != p.data() + p.size() || v == 0 || v > 65535) return false;
        port = static_cast<std::uint16_t>(v);
    } else if (s.back() == ':') {
        return false;
    }
    return true;
}

std::string address_string(const proto::inet_address& a) {
    inet i;
    i.length = a.size;
    std::copy(a.addr.begin(), a.addr.begin() + a.size, i.bytes.begin());
    return i.to_string();
}

proto::inet_address to_inet_address(const inet& i) {
    proto::inet_address a;
    a.size = i.length;
    std::copy(i.bytes.begin(), i.bytes.begin() + i.length, a.addr.begin());
    return a;
}

bool is_any_address(const inet& i) {
    return std::all_of(i.bytes.begin(), i.bytes.begin() + i.length, [](std::uint8_t b) { return b == 0; });
}

// First keyword of a statement, for the retry policy and LWT detection.
bool starts_with_keyword(std::string_view q, std::string_view kw) {
    std::size_t i = 0;
    while (i < q.size() && std::isspace(static_cast<unsigned char>(q[i]))) ++i;
    if (q.size() - i < kw.size()) return false;
    for (std::size_t j = 0; j < kw.size(); ++j)
        if (std::toupper(static_cast<unsigned char>(q[i + j])) != kw[j]) return false;
    return q.size() - i == kw.size() || !std::isalnum(static_cast<unsigned char>(q[i + kw.size()]));
}
bool is_write_query(std::string_view q) {
    return starts_with_keyword(q, "INSERT") || starts_with_keyword(q, "UPDATE") || starts_with_keyword(q, "DELETE") ||
           starts_with_keyword(q, "BEGIN");
}
bool is_lwt_query(std::string_view q) {
    // " IF " outside quotes: IF NOT EXISTS / IF EXISTS / IF col = ...
    bool in_str = false;
    for (std::size_t i = 0; i + 3 < q.size(); ++i) {
        if (q[i] == '\'') in_str = !in_str;
        if (in_str) continue;
        if (std::isspace(static_cast<unsigned char>(q[i])) && (q[i + 1] == 'I' || q[i + 1] == 'i') &&
            (q[i + 2] == 'F' || q[i + 2] == 'f') && std::isspace(static_cast<unsigned char>(q[i + 3])))
            return true;
    }
    return false;
}

std::string describe_error(std::error_code ec, const proto::error_response* se, std::string_view host) {
    std::string m;
    if (se) {
        m = std::string(proto::to_string(se->code));
        if (!host.empty()) m += " from " + std::string(host);
        m += ": " + se->message;
    } else {
        m = ec.message();
        if (!host.empty()) m += " (" + std::string(host) + ")";
    }
    return m;
}
}  // namespace

// ---- metadata helpers --------------------------------------------------------

const column_metadata* table_metadata::find(std::string_view column) const noexcept {
    for (const auto& c : columns)
        if (c.name == column) return &c;
    return nullptr;
}
const keyspace_metadata* cluster_metadata::keyspace(std::string_view name) const noexcept {
    auto it = keyspaces.find(name);
    return it == keyspaces.end() ? nullptr : &it->second;
}
const table_metadata* cluster_metadata::table(std::string_view ks, std::string_view table) const noexcept {
    const auto* k = keyspace(ks);
    if (!k) return nullptr;
    auto it = k->tables.find(table);
    return it == k->tables.end() ? nullptr : &it->second;
}
const host* cluster_metadata::find_host(const proto::uuid_bytes& id) const noexcept {
    for (const auto& h : tokens.hosts())
        if (h->host_id == id) return h.get();
    return nullptr;
}

// ---- request execution state ---------------------------------------------------

namespace detail {

// Inline storage for a request's value views (most statements have few markers).
struct value_views {
    std::array<proto::value_view, 8> small;
    std::vector<proto::value_view> big;
    std::span<const proto::value_view> fill(const detail::value_list& v) {
        const std::size_t n = v.size();
        proto::value_view* out = small.data();
        if (n > small.size()) {
            big.resize(n);
            out = big.data();
        }
        for (std::size_t i = 0; i < n; ++i) out[i] = v.view(i);
        return {out, n};
    }
};

struct exec_state {
    using encode_fn = void (*)(const void* ctx, const transport::connection& c, proto::byte_buffer& out,
                               std::error_code& ec, std::string& why);
    session_impl* s = nullptr;
    std::shared_ptr<const cluster_metadata> meta;  // keeps the plan's hosts alive
    request_info info;
    plan_buffer plan;
    encode_fn encode = nullptr;
    const void* ctx = nullptr;
    clock_type::time_point started;
    clock_type::time_point deadline;
    bool idempotent = false;
    bool is_write = false;
    proto::consistency cl = proto::consistency::local_one;
    // EXECUTE: for UNPREPARED and METADATA_CHANGED. Owned by the bound
    // statement, which outlives the request (speculative stragglers stop
    // before touching it once the request is done).
    prepared_data* prepared = nullptr;
    // BATCH: its bound statements, for UNPREPARED (the batch outlives the request).
    const batch* batch_stmt = nullptr;
    // What UNPREPARED asks to prepare again: `prepared`, or a batch's statement.
    const prepared_data* unprepared = nullptr;
    bool schema_altering = false;

    bool done = false;
    result out;
    int attempts = 0;
    int retries = 0;
    // Allocated only when an attempt fails (keeps the request's frame small).
    struct failure_info {
        std::vector<diagnostics::attempt> attempts;
        std::optional<proto::error_response> last_server_error;
        std::error_code last_ec;
        std::string last_host;
    };
    std::unique_ptr<failure_info> failures;
    failure_info& fi() {
        if (!failures) failures = std::make_unique<failure_info>();
        return *failures;
    }

    void note(std::string host, std::error_code ec, const proto::error_response* se) {
        auto& f = fi();
        f.attempts.push_back({host, ec, se ? se->message : std::string()});
        f.last_ec = ec;
        f.last_host = std::move(host);
        if (se) f.last_server_error = *se;
        else f.last_server_error.reset();
    }
    void fail(std::error_code ec, std::string message) {
        if (done) return;
        diagnostics d;
        d.message = std::move(message);
        if (failures) {
            d.server_error = failures->last_server_error;
            d.attempts = std::move(failures->attempts);
        }
        out = result(ec, std::move(d));
        done = true;
    }
    void fail_exhausted() {
        auto& f = fi();
        if (f.last_server_error && f.last_ec) {
            auto se = *f.last_server_error;
            fail(f.last_ec, describe_error(f.last_ec, &se, f.last_host));
            return;
        }
        std::string m = "no host available";
        if (f.attempts.empty()) {
            m += ": the query plan is empty (no host up";
            if (!info.keyspace.empty()) m += " for keyspace " + std::string(info.keyspace);
            m += ")";
        }
        for (std::size_t i = 0; i < f.attempts.size(); ++i)
            m += (i ? "; " : ": ") + f.attempts[i].host + " " + f.attempts[i].ec.message();
        f.last_server_error.reset();
        fail(driver::errc::no_host_available, std::move(m));
    }
};

}  // namespace detail

// ---- session_impl ------------------------------------------------------------------

namespace detail {

session_impl::session_impl(executor_type e, session_config c)
    : ex(e), cfg(std::move(c)), control_wake(e), refresh_timer(e), drained(e) {
    if (!cfg.load_balancing) {
        auto lbc = cfg.load_balancing_config;
        if (!lbc.in_flight) {
            // Least-busy replica choice reads the pool's in-flight count. The
            // policy lives as long as the session (it holds no reference back).
            lbc.in_flight = [this](const host& h) -> std::size_t {
                if (h.pool_index >= pools.size() || !pools[h.pool_index].pool) return 0;
                return pools[h.pool_index].pool->in_flight();
            };
        }
        lb = std::make_shared<default_policy>(std::move(lbc));
    } else {
        lb = cfg.load_balancing;
    }
    retry = cfg.retry ? cfg.retry : std::make_shared<default_retry_policy>();
    meta = std::make_shared<cluster_metadata>();
}

std::int64_t session_impl::next_timestamp() noexcept {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    // Monotonic: two writes from this session never share a timestamp, even
    // if the wall clock steps back.
    last_timestamp = now > last_timestamp ? now : last_timestamp + 1;
    return last_timestamp;
}

asio::awaitable<result> session_impl::control_query(std::string_view cql) {
    auto c = control;
    if (!c || !c->is_open()) co_return result(transport::errc::connection_closed, diagnostics{"control connection is down", {}, {}});
    proto::query_request q;
    q.query = cql;
    q.params.cl = proto::consistency::one;
    auto env = c->encode(proto::request(q));
    auto r = co_await c->async_request(env, cfg.connection.request_timeout);
    if (r.ec) {
        diagnostics d;
        const auto* se = r.response ? r.response->server_error() : nullptr;
        d.message = describe_error(r.ec, se, control_endpoint) + " [" + std::string(cql) + "]";
        if (se) d.server_error = *se;
        co_return result(r.ec, std::move(d));
    }
    result out;
    out.set_response(std::move(r.response), nullptr);
    co_return out;
}

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
    auto fail = [&](const result& r) -> std::error_code {
        if (diag) *diag = r.diag();
        log()->warn("cqlpp: metadata refresh failed: {}", r.diag().message);
        return r.error() ? r.error() : make_error_code(driver::errc::metadata_error);
    };
    auto next = std::make_shared<cluster_metadata>(*meta);
    std::vector<std::shared_ptr<host>> hosts;
    const host* control_host = nullptr;
    if (topology || meta->tokens.hosts().empty()) {
        ++counters.topology_refreshes;
        auto local = co_await control_query(
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
        auto ep = control ? control->remote_endpoint() : asio::ip::tcp::endpoint{};
        if (rpc && !is_any_address(*rpc)) {
            lh->address = to_inet_address(*rpc);
        } else if (auto a = inet::from_string(ep.address().to_string())) {
            lh->address = to_inet_address(*a);
        }
        lh->port = ep.port() ? ep.port() : cfg.default_port;
        hosts.push_back(lh);

        bool v2 = true;
        auto peers = co_await control_query(
            "SELECT peer, host_id, data_center, rack, tokens, native_address, native_port FROM system.peers_v2");
        if (!peers.ok()) {
            v2 = false;
            peers = co_await control_query("SELECT peer, host_id, data_center, rack, tokens, rpc_address FROM system.peers");
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
        auto ks = co_await control_query("SELECT keyspace_name, replication FROM system_schema.keyspaces");
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
            auto cols = co_await control_query(
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

// Builds the token map, keeps pools in step with the hosts and publishes.
void session_impl::apply_hosts(std::vector<std::shared_ptr<host>> hosts, std::shared_ptr<cluster_metadata> next,
                               const host* control_host) {
    // Pools are found by host id; a host keeps its slot (and pool) for the
    // session's lifetime, so host::pool_index stays valid in old snapshots.
    for (auto& h : hosts) {
        std::size_t idx = pools.size();
        for (std::size_t i = 0; i < pools.size(); ++i)
            if (pools[i].h && pools[i].h->host_id == h->host_id) idx = i;
        if (idx == pools.size()) pools.push_back(pool_slot{});
        auto& slot = pools[idx];
        h->pool_index = idx;
        if (slot.h) {
            h->set_up(slot.h->is_up());
            // Moved to a new address: the old pool is useless.
            if (slot.h->address != h->address || slot.h->port != h->port) {
                if (slot.pool) slot.pool->close();
                slot.pool.reset();
            }
        }
        slot.h = h;
        slot.endpoint = h->endpoint_string();
    }
    // Hosts gone from the cluster.
    for (auto& slot : pools) {
        if (!slot.h) continue;
        bool present = std::any_of(hosts.begin(), hosts.end(), [&](const auto& h) { return h.get() == slot.h.get(); });
        if (!present) {
            log()->info("cqlpp: host {} left the cluster", slot.endpoint);
            if (slot.pool) slot.pool->close();
            slot.pool.reset();
            slot.h->set_up(false);
            slot.h.reset();
        }
    }

    next->tokens = token_map(hosts);
    for (const auto& [name, ks] : next->keyspaces) next->tokens.set_keyspace(name, ks.replication);
    if (!policy_initialised) {
        lb->init(next->tokens, control_host);
        policy_initialised = true;
    }
    std::atomic_store(&meta, std::shared_ptr<const cluster_metadata>(next));  // metadata() may read from any thread

    // Open pools for hosts the policy wants.
    auto weak = weak_from_this();
    for (std::size_t i = 0; i < pools.size(); ++i) {
        auto& slot = pools[i];
        if (!slot.h) continue;
        auto dist = lb->distance(*slot.h);
        if (dist == host_distance::ignored) {
            if (slot.pool) slot.pool->close();
            slot.pool.reset();
            continue;
        }
        if (slot.pool) continue;
        transport::pool_config pc;
        pc.connection = cfg.connection;
        pc.connection.host = address_string(slot.h->address);
        pc.connection.port = slot.h->port;
        pc.connection.keyspace = cfg.keyspace;
        pc.connections_per_host = dist == host_distance::local ? cfg.connections_per_host : cfg.connections_per_remote_host;
        pc.reconnect = cfg.reconnect;
        slot.pool = transport::host_pool::create(ex, std::move(pc));
        slot.pool->on_change([weak, i](std::size_t open) {
            if (auto s = weak.lock()) s->on_pool_change(i, open);
        });
        slot.pool->start();
    }
}

void session_impl::on_pool_change(std::size_t index, std::size_t open) {
    if (index >= pools.size() || closed) return;
    auto& slot = pools[index];
    if (!slot.h) return;
    const bool was_up = slot.h->is_up();
    if (open > 0) {
        slot.h->set_up(true);
        const bool came_back = !was_up || !slot.ever_connected;
        if (!was_up) log()->info("cqlpp: host {} is up", slot.endpoint);
        if (came_back && cfg.reprepare_on_up && !prepared.empty()) {
            asio::co_spawn(ex, [self = shared_from_this(), index] { return self->reprepare_all(index); }, asio::detached);
        }
        slot.ever_connected = true;
    } else if (was_up) {
        // Every connection to it is gone: leave it out of plans until the
        // pool reconnects (a DOWN event would say the same, later).
        slot.h->set_up(false);
        log()->info("cqlpp: host {} is down (no connection left)", slot.endpoint);
    }
}

void session_impl::on_event(const proto::event_response& ev) {
    if (closed) return;
    if (const auto* sc = std::get_if<proto::status_change_event>(&ev.value)) {
        for (std::size_t i = 0; i < pools.size(); ++i) {
            auto& slot = pools[i];
            if (!slot.h || slot.h->address != sc->node.address) continue;
            if (sc->node.port != 0 && slot.h->port != sc->node.port) continue;
            if (sc->change == proto::status_change_type::up) {
                log()->debug("cqlpp: UP event for {}", slot.endpoint);
                if (slot.pool) slot.pool->reconnect_now();
            } else if (!slot.pool || slot.pool->open_connections() == 0) {
                // Drivers trust their own connections over gossip: DOWN counts
                // only when we hold none to the host.
                if (slot.h->is_up()) log()->info("cqlpp: host {} is down (event)", slot.endpoint);
                slot.h->set_up(false);
            }
        }
        return;
    }
    if (std::holds_alternative<proto::topology_change_event>(ev.value)) {
        schedule_refresh(true, false);
        return;
    }
    schedule_refresh(false, true);
}

void session_impl::schedule_refresh(bool topology, bool schema) {
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

asio::awaitable<std::error_code> session_impl::open_control(diagnostics& diag, bool initial) {
    // Candidates: known hosts that are up (reconnect), then the contact points.
    std::vector<std::pair<std::string, std::uint16_t>> candidates;
    if (!initial) {
        for (const auto& slot : pools)
            if (slot.h && slot.h->is_up()) candidates.emplace_back(address_string(slot.h->address), slot.h->port);
        for (const auto& slot : pools)
            if (slot.h && !slot.h->is_up()) candidates.emplace_back(address_string(slot.h->address), slot.h->port);
    }
    for (const auto& cp : cfg.contact_points) {
        std::string host_name;
        std::uint16_t port = 0;
        if (!parse_contact_point(cp, cfg.default_port, host_name, port)) {
            diag.message = "bad contact point \"" + cp + "\" (expected host or host:port)";
            if (initial) co_return make_error_code(driver::errc::bad_contact_point);
            continue;
        }
        candidates.emplace_back(std::move(host_name), port);
    }
    std::string errors;
    for (const auto& [h, port] : candidates) {
        if (closed) co_return make_error_code(driver::errc::session_closed);
        auto cc = cfg.connection;
        cc.host = h;
        cc.port = port;
        cc.keyspace.clear();
        auto r = co_await transport::connection::async_connect(ex, cc);
        if (r.ec) {
            std::string why = r.server_error ? r.server_error->message : r.ec.message();
            errors += (errors.empty() ? "" : "; ") + h + ":" + std::to_string(port) + " " + why;
            if (r.server_error && r.ec == transport::errc::auth_failed) {
                // Wrong credentials will be wrong everywhere.
                diag.message = "authentication failed on " + h + ":" + std::to_string(port) + ": " + why;
                diag.server_error = r.server_error;
                co_return r.ec;
            }
            continue;
        }
        auto c = r.conn;
        control = c;
        control_endpoint = h + ":" + std::to_string(port);
        version = c->version();
        std::weak_ptr<session_impl> weak = weak_from_this();
        c->on_event([weak](const proto::event_response& ev) {
            if (auto s = weak.lock()) s->on_event(ev);
        });
        std::weak_ptr<transport::connection> wc = c;
        c->on_close([weak, wc](std::error_code) {
            auto s = weak.lock();
            auto cc2 = wc.lock();
            if (s && cc2) s->on_control_closed(cc2);
        });
        std::vector<proto::event_type> events{proto::event_type::topology_change, proto::event_type::status_change,
                                              proto::event_type::schema_change};
        auto rec = co_await c->async_register(std::move(events));
        if (rec) {
            errors += "; " + control_endpoint + " REGISTER: " + rec.message();
            c->close();
            continue;
        }
        diagnostics rd;
        auto fec = co_await refresh(true, true, &rd);
        if (fec) {
            errors += "; " + control_endpoint + " metadata: " + rd.message;
            c->close();
            continue;
        }
        log()->info("cqlpp: control connection to {} (protocol v{})", control_endpoint, static_cast<int>(version));
        co_return std::error_code{};
    }
    diag.message = "no contact point could be reached: " + errors;
    co_return make_error_code(driver::errc::no_contact_point);
}

void session_impl::on_control_closed(const std::shared_ptr<transport::connection>& c) {
    if (closed || c != control) return;
    log()->warn("cqlpp: control connection to {} lost: {}", control_endpoint, c->close_reason().message());
    control.reset();
    if (!control_loop_running) {
        control_loop_running = true;
        asio::co_spawn(ex, [self = shared_from_this()] { return self->control_loop(); }, asio::detached);
    }
}

// Reconnects the control connection (to any host) with backoff.
asio::awaitable<void> session_impl::control_loop() {
    auto self = shared_from_this();
    auto delay = std::chrono::milliseconds(50);
    while (!closed && !control) {
        diagnostics d;
        auto ec = co_await open_control(d, false);
        if (!ec) {
            ++counters.control_reconnects;
            break;
        }
        control_wake.expires_after(delay);
        co_await control_wake.async_wait(use_tuple);
        delay = std::min<std::chrono::milliseconds>(delay * 2, cfg.reconnect.max_delay);
    }
    control_loop_running = false;
}

asio::awaitable<std::error_code> session_impl::start(diagnostics& diag) {
    auto ec = co_await open_control(diag, true);
    if (ec) co_return ec;
    // Give local pools a moment to connect so the first requests are routed
    // well. A pool is waited for until its first attempt settles: a host that
    // refuses (down) fails at once and must not hold the session up; one that
    // does not answer at all is waited for until the connect timeout.
    const auto deadline = clock_type::now() + cfg.connection.connect_timeout;
    for (std::size_t i = 0; i < pools.size(); ++i) {
        auto p = pools[i].pool;
        if (!p || !pools[i].h || lb->distance(*pools[i].h) != host_distance::local) continue;
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) break;
        co_await p->async_wait_settled(left);
    }
    bool any = false;
    for (const auto& slot : pools)
        if (slot.pool && slot.pool->open_connections() > 0) any = true;
    if (!any) {
        // The server refused the handshake (e.g. USE of a keyspace that does
        // not exist): its error is the answer, not a connection failure.
        for (const auto& slot : pools) {
            if (!slot.pool || !slot.pool->last_server_error()) continue;
            const auto& se = *slot.pool->last_server_error();
            diag.message = se.message;
            diag.server_error = se;
            co_return std::error_code(se.code);
        }
        diag.message = "connected to " + control_endpoint + " but no pool could open a connection";
        for (const auto& slot : pools)
            if (slot.pool && slot.pool->last_error())
                diag.message += "; " + slot.endpoint + ": " + slot.pool->last_error().message();
        co_return make_error_code(driver::errc::no_host_available);
    }
    co_return std::error_code{};
}

asio::awaitable<void> session_impl::close() {
    auto self = shared_from_this();
    if (closed) co_return;
    closed = true;
    if (active > 0) {
        drained.expires_after(cfg.drain_timeout);
        co_await drained.async_wait(use_tuple);
    }
    for (auto& slot : pools)
        if (slot.pool) {
            // In-flight requests have drained (or the deadline passed): close politely.
            for (const auto& c : slot.pool->connections()) co_await c->async_close(std::chrono::milliseconds(100));
        }
    shutdown_now();
}

void session_impl::shutdown_now() {
    closed = true;
    for (auto& slot : pools)
        if (slot.pool) slot.pool->close();
    if (control) control->close();
    control.reset();
    control_wake.cancel();
    refresh_timer.cancel();
    drained.cancel();
}

// ---- executing ---------------------------------------------------------------

bool session_impl::speculative(const exec_state& st) const noexcept {
    return st.idempotent && cfg.speculative.max_executions > 1;
}

bool session_impl::begin(exec_state& st) {
    st.s = this;
    st.meta = meta;
    st.info.map = &st.meta->tokens;
    if (closed) {
        st.out = result(driver::errc::session_closed, diagnostics{"the session is closed", {}, {}});
        return false;
    }
    ++active;
    lb->plan(st.info, st.plan);
    return true;
}

bool session_impl::finish(exec_state& st) {
    --active;
    ++counters.requests;
    bool refresh_now = false;
    if (st.out.ok()) {
        counters.latency.record(clock_type::now() - st.started);
        // DDL returns once the driver's metadata knows the change (token-aware
        // routing for a new keyspace works from the next request on).
        if (st.out.kind() == proto::result_kind::schema_change && control) refresh_now = true;
        else if (st.schema_altering) schedule_refresh(false, true);
    } else {
        ++counters.errors;
        if (st.out.error() == driver::errc::request_timeout) ++counters.timeouts;
    }
    if (closed && active == 0) drained.cancel();
    return refresh_now;
}

// What an execution does after an answer (decided outside the coroutine, so
// the coroutine frame holds none of the temporaries: it is kept per request
// in flight, and its size is the driver's memory per in-flight request).
next_step session_impl::on_answer(exec_state& st, transport::request_result& r, std::size_t pi,
                                  int& unprepared_retries) {
    if (!r.ec) {
        const auto& frame = *r.response;
        std::shared_ptr<const column_set> cols;
        if (st.prepared) cols = st.prepared->result_columns;
        if (const auto* res = std::get_if<proto::result_response>(&frame.message)) {
            if (const auto* rows = std::get_if<proto::rows_result>(&res->value)) {
                if (rows->metadata.new_metadata_id && st.prepared) {
                    // v5 METADATA_CHANGED: the table changed since PREPARE;
                    // later executions send the new id and use the new columns.
                    st.prepared->result_metadata_id = *rows->metadata.new_metadata_id;
                    st.prepared->result_columns = std::make_shared<const column_set>(rows->metadata.columns);
                    cols = st.prepared->result_columns;
                } else if (!rows->metadata.no_metadata) {
                    cols = nullptr;  // the page carries its own metadata
                }
            }
        }
        st.out = result();
        st.out.set_response(std::move(r.response), std::move(cols));
        st.out.set_origin(pools[pi].endpoint, st.attempts);
        st.done = true;
        return next_step::done;
    }
    if (r.ec == transport::errc::cancelled) {
        // The caller cancelled the co_await (e.g. an awaitable_operators race):
        // no retry; the stream id stays orphaned until the answer arrives.
        st.fail(r.ec, "request cancelled while waiting for " + pools[pi].endpoint);
        return next_step::done;
    }
    if (r.ec == transport::errc::timeout) {
        st.fail(driver::errc::request_timeout,
                "request timed out after " +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - st.started).count()) +
                    " ms waiting for " + pools[pi].endpoint);
        return next_step::done;
    }
    const auto* se = r.response ? r.response->server_error() : nullptr;
    if (se && se->code == proto::server_errc::unprepared) {
        // The host does not know the statement (restarted, evicted, or the
        // PREPARE has not reached it): prepare it there and send again. A
        // batch names the one of its statements it did not find.
        const prepared_data* target = st.prepared;
        int limit = 2;
        if (st.batch_stmt) {
            target = nullptr;
            const auto* info = std::get_if<proto::unprepared_info>(&se->details);
            for (std::size_t i = 0; info && i < st.batch_stmt->size() && !target; ++i) {
                const auto& e = st.batch_stmt->entries()[i];
                if (!e.bound) continue;
                const auto& p = st.batch_stmt->bound_at(e.index).prepared();
                if (p && p->id == info->id) target = p.get();
            }
            // Each of its statements may be missing there (but no more than that).
            limit = static_cast<int>(std::min<std::size_t>(st.batch_stmt->size(), 100)) + 1;
        }
        if (target && unprepared_retries++ < limit) {
            st.unprepared = target;
            ++counters.reprepares;
            return next_step::reprepare;
        }
    }
    st.note(pools[pi].endpoint, r.ec, se);
    retry_context ctx;
    ctx.ec = r.ec;
    ctx.server_error = se;
    ctx.idempotent = st.idempotent;
    ctx.is_write = st.is_write;
    ctx.retry_count = st.retries;
    ctx.consistency = st.cl;
    const auto d = retry->decide(ctx);
    if (d == retry_decision::rethrow) {
        st.fail(r.ec, describe_error(r.ec, se, pools[pi].endpoint));
        return next_step::done;
    }
    if (d == retry_decision::ignore) {
        st.out = result();
        st.out.set_origin(pools[pi].endpoint, st.attempts);
        st.done = true;
        return next_step::done;
    }
    ++st.retries;
    ++counters.retries;
    log()->debug("cqlpp: retrying ({}) after {} from {}", d == retry_decision::retry_same ? "same host" : "next host",
                 r.ec.message(), pools[pi].endpoint);
    return d == retry_decision::retry_next ? next_step::next_host : next_step::same_host;
}

asio::awaitable<std::error_code> session_impl::reprepare(transport::connection& c, std::size_t pool_index,
                                                         const prepared_data& p_, std::chrono::milliseconds timeout) {
    const auto* p = &p_;
    auto key = std::make_pair(p->id, pool_index);
    if (auto it = repreparing.find(key); it != repreparing.end()) {
        // Someone is already preparing it there: wait for them.
        auto t = it->second;
        co_await t->async_wait(use_tuple);
        co_return std::error_code{};
    }
    auto t = std::make_shared<asio::steady_timer>(ex, asio::steady_timer::time_point::max());
    repreparing.emplace(key, t);
    proto::prepare_request pr;
    pr.query = p->query;
    if (!p->prepare_keyspace.empty() && c.version() == proto::protocol_version::v5) pr.keyspace = p->prepare_keyspace;
    auto env = c.encode(proto::request(pr));
    auto r = co_await c.async_request(env, timeout);
    repreparing.erase(key);
    t->cancel();
    if (r.ec) co_return r.ec;
    const auto* res = std::get_if<proto::result_response>(&r.response->message);
    const auto* prep = res ? std::get_if<proto::prepared_result>(&res->value) : nullptr;
    if (!prep) co_return make_error_code(driver::errc::unexpected_response);
    if (prep->id != p->id) {
        log()->warn("cqlpp: re-prepare of \"{}\" returned another id (schema changed?)", p->query);
    }
    co_return std::error_code{};
}

std::shared_ptr<prepared_data> session_impl::cache_prepared(const std::string& key, std::shared_ptr<prepared_data> p) {
    if (auto it = prepared.find(key); it != prepared.end()) {
        prepared_lru.splice(prepared_lru.begin(), prepared_lru, it->second.lru);
        return it->second.data;
    }
    prepared_lru.push_front(key);
    prepared.emplace(key, prepared_entry{p, prepared_lru.begin()});
    prepared_by_id[p->id] = p;
    while (prepared.size() > std::max<std::size_t>(cfg.prepared_cache_size, 1)) {
        auto& victim = prepared_lru.back();
        auto it = prepared.find(victim);
        if (it != prepared.end()) {
            prepared_by_id.erase(it->second.data->id);
            prepared.erase(it);
        }
        prepared_lru.pop_back();
    }
    return p;
}

asio::awaitable<outcome<prepared_statement>> session_impl::prepare(std::string query, std::string keyspace) {
    auto self = shared_from_this();
    outcome<prepared_statement> out;
    if (keyspace.empty()) keyspace = cfg.keyspace;
    std::string key = keyspace + '\n' + query;
    if (auto it = prepared.find(key); it != prepared.end()) {
        prepared_lru.splice(prepared_lru.begin(), prepared_lru, it->second.lru);
        out.value = prepared_statement(it->second.data);
        co_return out;
    }
    const prepare_spec spec{query, keyspace != cfg.keyspace ? std::string_view(keyspace) : std::string_view()};
    const auto deadline = clock_type::now() + cfg.request_timeout;
    auto r = co_await run(spec);
    if (!r.ok()) {
        out.ec = r.error();
        out.diag = r.diag();
        co_return out;
    }
    const auto* res = r.response() ? std::get_if<proto::result_response>(&r.response()->message) : nullptr;
    const auto* prep = res ? std::get_if<proto::prepared_result>(&res->value) : nullptr;
    if (!prep) {
        out.ec = driver::errc::unexpected_response;
        out.diag.message = "PREPARE was not answered with RESULT Prepared";
        co_return out;
    }
    auto p = std::make_shared<prepared_data>();
    p->query = query;
    // The connection's USE keyspace is the session's, so only an explicit one is sent.
    if (keyspace != cfg.keyspace) p->prepare_keyspace = keyspace;
    p->id = prep->id;
    p->result_metadata_id = prep->result_metadata_id;
    p->markers = prep->variables.columns;
    p->pk_indices = prep->variables.pk_indices;
    if (prep->variables.global_table) p->keyspace = prep->variables.global_table->keyspace;
    else if (!p->markers.empty()) p->keyspace = p->markers.front().keyspace;
    else if (prep->result.global_table) p->keyspace = prep->result.global_table->keyspace;
    if (p->keyspace.empty()) p->keyspace = keyspace;
    p->marker_names = std::make_shared<const column_set>(p->markers);
    if (!prep->result.no_metadata && !prep->result.columns.empty())
        p->result_columns = std::make_shared<const column_set>(prep->result.columns);
    p->is_lwt = is_lwt_query(query);
    p->is_write = is_write_query(query);
    p = cache_prepared(key, std::move(p));
    if (cfg.prepare_on_all_hosts) {
        std::size_t except = pools.size();
        for (std::size_t i = 0; i < pools.size(); ++i)
            if (pools[i].endpoint == r.coordinator()) except = i;
        // Before returning (as the Java driver does): a statement executed
        // right away on another host must find it there, or a batch of it
        // fails with UNPREPARED. Failures are only logged: the coordinator has it.
        co_await prepare_everywhere(p, except, deadline);
    }
    out.value = prepared_statement(p);
    co_return out;
}

// PREPAREs on every other host with an open connection, in parallel, until all
// have answered or the deadline passes (a straggler finishes in the background).
asio::awaitable<void> session_impl::prepare_everywhere(std::shared_ptr<prepared_data> p, std::size_t except_pool,
                                                       clock_type::time_point deadline) {
    auto self = shared_from_this();
    struct waiter {
        explicit waiter(const executor_type& e) : timer(e, asio::steady_timer::time_point::max()) {}
        asio::steady_timer timer;
        std::size_t pending = 0;
    };
    auto w = std::make_shared<waiter>(ex);
    for (std::size_t i = 0; i < pools.size() && !closed; ++i) {
        if (i == except_pool || !pools[i].pool || !pools[i].h || !pools[i].h->is_up()) continue;
        auto c = pools[i].pool->pick();
        if (!c) continue;  // re-prepared when it comes up
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
        if (left.count() <= 0) break;
        ++w->pending;
        asio::co_spawn(
            ex,
            [self, w, c, p, i, left]() -> asio::awaitable<void> {
                if (auto ec = co_await self->reprepare(*c, i, *p, left))
                    log()->debug("cqlpp: preparing \"{}\" on {} failed: {}", p->query, self->pools[i].endpoint,
                                 ec.message());
                if (--w->pending == 0) w->timer.cancel();
            },
            asio::detached);
    }
    if (w->pending == 0) co_return;
    w->timer.expires_at(deadline);
    co_await w->timer.async_wait(use_tuple);
}

asio::awaitable<void> session_impl::reprepare_all(std::size_t pool_index) {
    auto self = shared_from_this();
    std::vector<std::shared_ptr<prepared_data>> all;
    for (const auto& [k, e] : prepared) all.push_back(e.data);
    for (const auto& p : all) {
        if (closed || pool_index >= pools.size() || !pools[pool_index].pool) co_return;
        auto c = pools[pool_index].pool->pick();
        if (!c) co_return;
        co_await reprepare(*c, pool_index, *p, cfg.connection.request_timeout);
    }
    log()->debug("cqlpp: re-prepared {} statements on {}", all.size(), pools[pool_index].endpoint);
}

// ---- statement encoders --------------------------------------------------------

struct common_params {
    proto::query_parameters qp;
    std::vector<std::pair<std::string_view, std::optional<proto::bytes_view>>> payload;
    transport::connection::encode_options eo;
};

namespace {

void fill_common(session_impl& s, const statement_options& o, common_params& c, exec_state& st) {
    c.qp.cl = o.consistency.value_or(s.cfg.consistency);
    st.cl = c.qp.cl;
    const auto page = o.page_size.value_or(s.cfg.page_size);
    if (page > 0) c.qp.page_size = page;
    if (!o.paging_state.empty()) c.qp.paging_state = proto::bytes_view(o.paging_state);
    if (o.serial_consistency) c.qp.serial_consistency = *o.serial_consistency;
    if (o.timestamp) c.qp.default_timestamp = *o.timestamp;
    else if (s.cfg.client_timestamps) c.qp.default_timestamp = s.next_timestamp();
    if (!o.keyspace.empty()) c.qp.keyspace = std::string_view(o.keyspace);
    if (o.now_in_seconds) c.qp.now_in_seconds = *o.now_in_seconds;
    if (!o.custom_payload.empty()) {
        for (const auto& [k, v] : o.custom_payload) c.payload.emplace_back(k, proto::bytes_view(v));
        c.eo.custom_payload = c.payload;
    }
    c.eo.tracing = o.tracing;
    st.deadline = st.started + o.timeout.value_or(s.cfg.request_timeout);
    st.idempotent = o.idempotent.value_or(s.cfg.default_idempotent);
}

bool check_v5(const transport::connection& c, const proto::query_parameters& qp, std::error_code& ec, std::string& why) {
    if (c.version() == proto::protocol_version::v4 && qp.needs_v5()) {
        ec = driver::errc::needs_protocol_v5;
        why = "per-query keyspace and now_in_seconds need protocol v5; the connection speaks v4";
        return false;
    }
    return true;
}

}  // namespace

// Per-kind request contexts: what the encoder reads on every attempt. Set up
// by plain functions so the request coroutines hold only these and exec_state.
struct simple_ctx {
    const statement* s = nullptr;
    common_params c;
    value_views views;
    std::vector<std::string_view> names;
};
struct bound_ctx {
    const prepared_data* p = nullptr;
    common_params c;
    value_views views;
};
struct batch_ctx {
    const batch* bt = nullptr;
    common_params c;
    std::vector<std::vector<proto::value_view>> values;
    std::vector<proto::batch_statement> stmts;
};

namespace {
void set_error(exec_state& st, std::error_code ec, std::string message) {
    st.out = result(ec, diagnostics{std::move(message), {}, {}});
}
}  // namespace

bool session_impl::setup(const statement& s, simple_ctx& ctx, exec_state& st) {
    if (s.error()) {
        set_error(st, s.error(), s.error_message());
        return false;
    }
    ctx.s = &s;
    st.started = clock_type::now();
    fill_common(*this, s.options(), ctx.c, st);
    ctx.c.qp.values = ctx.views.fill(s.values());
    if (!s.names().empty()) {
        ctx.names.assign(s.names().begin(), s.names().end());
        ctx.c.qp.names = std::span<const std::string_view>(ctx.names);
    }
    st.is_write = is_write_query(s.query());
    st.schema_altering = starts_with_keyword(s.query(), "CREATE") || starts_with_keyword(s.query(), "ALTER") ||
                         starts_with_keyword(s.query(), "DROP");
    if (s.routing_key() || s.options().routing_token) {
        // Views of strings that outlive the request (the plan reads it lazily).
        st.info.keyspace = !s.routing_keyspace().empty() ? std::string_view(s.routing_keyspace())
                           : !s.options().keyspace.empty() ? std::string_view(s.options().keyspace)
                                                           : std::string_view(cfg.keyspace);
        if (s.routing_key()) st.info.routing_token = token_of(*s.routing_key());
        if (s.options().routing_token) st.info.routing_token = *s.options().routing_token;
    }
    st.info.consistency = st.cl;
    st.info.is_lwt = is_lwt_query(s.query());
    st.ctx = &ctx;
    st.encode = [](const void* p, const transport::connection& c, proto::byte_buffer& b, std::error_code& ec,
                   std::string& why) {
        const auto& x = *static_cast<const simple_ctx*>(p);
        if (!check_v5(c, x.c.qp, ec, why)) return;
        proto::query_request q;
        q.query = x.s->query();
        q.params = x.c.qp;
        c.encode(proto::request(std::move(q)), x.c.eo, b);
    };
    return true;
}

bool session_impl::setup(const bound_statement& b, bound_ctx& ctx, exec_state& st) {
    if (!b.prepared()) {
        set_error(st, driver::errc::no_such_marker, "bound statement has no prepared statement");
        return false;
    }
    if (b.error()) {
        set_error(st, b.error(), b.error_message());
        return false;
    }
    const auto& p = b.prepared();
    ctx.p = p.get();
    st.started = clock_type::now();
    fill_common(*this, b.options(), ctx.c, st);
    ctx.c.qp.values = ctx.views.fill(b.values());
    ctx.c.qp.skip_metadata = p->result_columns != nullptr;
    st.prepared = p.get();
    st.is_write = p->is_write;
    st.info.keyspace = !b.options().keyspace.empty() ? std::string_view(b.options().keyspace) : std::string_view(p->keyspace);
    st.info.consistency = st.cl;
    st.info.is_lwt = p->is_lwt;
    // Routing key from the bound partition-key values (composite keys too).
    if (!p->pk_indices.empty()) {
        bool complete = true;
        for (auto i : p->pk_indices)
            if (i >= b.values().size() || !b.values().view(i).is_set()) complete = false;
        if (complete) {
            if (p->pk_indices.size() == 1) {
                st.info.routing_token = token_of(b.values().view(p->pk_indices[0]).bytes);
            } else {
                thread_local proto::byte_buffer key;
                std::array<proto::bytes_view, 16> parts{};
                if (p->pk_indices.size() <= parts.size()) {
                    for (std::size_t k = 0; k < p->pk_indices.size(); ++k) parts[k] = b.values().view(p->pk_indices[k]).bytes;
                    key.clear();
                    proto::composite_key(std::span<const proto::bytes_view>(parts.data(), p->pk_indices.size()), key);
                    st.info.routing_token = token_of(key);
                }
            }
        }
    }
    if (b.options().routing_token) st.info.routing_token = *b.options().routing_token;
    st.ctx = &ctx;
    st.encode = [](const void* ptr, const transport::connection& c, proto::byte_buffer& out, std::error_code& ec,
                   std::string& why) {
        const auto& x = *static_cast<const bound_ctx*>(ptr);
        if (!check_v5(c, x.c.qp, ec, why)) return;
        proto::execute_request e;
        e.id = x.p->id;
        e.result_metadata_id = x.p->result_metadata_id;  // read now: METADATA_CHANGED may have replaced it
        e.params = x.c.qp;
        c.encode(proto::request(std::move(e)), x.c.eo, out);
    };
    return true;
}

bool session_impl::setup(const batch& bt, batch_ctx& ctx, exec_state& st) {
    ctx.bt = &bt;
    st.batch_stmt = &bt;
    st.started = clock_type::now();
    fill_common(*this, bt.options(), ctx.c, st);
    ctx.values.resize(bt.size());
    ctx.stmts.resize(bt.size());
    st.is_write = true;
    for (std::size_t i = 0; i < bt.size(); ++i) {
        const auto& e = bt.entries()[i];
        const detail::value_list* vl;
        if (e.bound) {
            const auto& b = bt.bound_at(e.index);
            if (b.error()) {
                set_error(st, b.error(), "batch statement " + std::to_string(i) + ": " + b.error_message());
                return false;
            }
            ctx.stmts[i].prepared = true;
            ctx.stmts[i].id = b.prepared()->id;
            vl = &b.values();
            if (st.info.keyspace.empty()) {
                // Route the batch like its first bound statement.
                st.info.keyspace = b.prepared()->keyspace;
                const auto& p = *b.prepared();
                if (p.pk_indices.size() == 1 && p.pk_indices[0] < b.values().size() &&
                    b.values().view(p.pk_indices[0]).is_set())
                    st.info.routing_token = token_of(b.values().view(p.pk_indices[0]).bytes);
            }
        } else {
            const auto& s = bt.simple_at(e.index);
            if (s.error()) {
                set_error(st, s.error(), "batch statement " + std::to_string(i) + ": " + s.error_message());
                return false;
            }
            if (!s.names().empty()) {
                set_error(st, driver::errc::bind_count_mismatch, "named values cannot be used in a batch (CASSANDRA-10246)");
                return false;
            }
            ctx.stmts[i].query = s.query();
            vl = &s.values();
        }
        ctx.values[i].resize(vl->size());
        for (std::size_t k = 0; k < vl->size(); ++k) ctx.values[i][k] = vl->view(k);
        ctx.stmts[i].values = std::span<const proto::value_view>(ctx.values[i]);
    }
    st.info.consistency = st.cl;
    st.ctx = &ctx;
    st.encode = [](const void* ptr, const transport::connection& c, proto::byte_buffer& out, std::error_code& ec,
                   std::string& why) {
        const auto& x = *static_cast<const batch_ctx*>(ptr);
        if (!check_v5(c, x.c.qp, ec, why)) return;
        proto::batch_request br;
        br.type = x.bt->type();
        br.statements = std::span<const proto::batch_statement>(x.stmts);
        br.cl = x.c.qp.cl;
        br.serial_consistency = x.c.qp.serial_consistency;
        br.default_timestamp = x.c.qp.default_timestamp;
        br.keyspace = x.c.qp.keyspace;
        br.now_in_seconds = x.c.qp.now_in_seconds;
        c.encode(proto::request(std::move(br)), x.c.eo, out);
    };
    return true;
}

// ---- the request engine -------------------------------------------------------
// Every request (simple, bound, batch, PREPARE) runs as one request_op: a small
// callback state machine allocated once per request, with no coroutine frame
// and no timer of its own (deadlines are swept by the connection). An attempt
// is one chain of tries over the shared query plan; a plain request has one,
// a speculative request adds attempts (allocated only then) on a timer. The
// connection calls back from its reader when an answer comes and the caller's
// coroutine resumes right there. What to do after an answer is on_answer()'s
// decision; settle() is the one way out (answer, error, deadline, cancellation):
// it abandons the other attempts (their ids stay orphaned until their answers
// arrive), stops speculation and does the bookkeeping once.

struct prepare_ctx {
    const prepare_spec* p = nullptr;
    common_params c;  // unused: keeps the engine's re-encoding generic
};

bool session_impl::setup(const prepare_spec& p, prepare_ctx& ctx, exec_state& st) {
    ctx.p = &p;
    st.started = clock_type::now();
    st.deadline = st.started + cfg.request_timeout;
    st.idempotent = true;
    st.cl = cfg.consistency;
    st.ctx = &ctx;
    st.encode = [](const void* ptr, const transport::connection& c, proto::byte_buffer& b, std::error_code&,
                   std::string&) {
        const auto& x = *static_cast<const prepare_ctx*>(ptr)->p;
        proto::prepare_request pr;
        pr.query = x.query;
        // v4 has no keyspace in PREPARE: the connection's USE applies.
        if (!x.keyspace.empty() && c.version() == proto::protocol_version::v5) pr.keyspace = x.keyspace;
        c.encode(proto::request(pr), {}, b);
    };
    return true;
}

namespace {

struct request_op;

// One chain of tries: its own envelope, connection and host.
struct attempt : transport::pending_request {
    request_op* op = nullptr;
    std::shared_ptr<transport::connection> conn;  // the try in flight
    const host* h = nullptr;                      // the host being tried
    proto::byte_buffer buf;                       // the envelope as last encoded
    std::unique_ptr<proto::byte_buffer> prepare;  // the PREPARE sent after UNPREPARED (rare)
    proto::protocol_version enc_version = proto::protocol_version::v5;
    bool enc_lz4 = false;
    bool running = false;
    bool repreparing = false;
    std::uint8_t unprepared_retries = 0;
};

// Speculation's timer, shared with its pending wait: the wait may outlive the op.
struct speculation {
    explicit speculation(const asio::any_io_executor& ex) : timer(ex) {}
    asio::steady_timer timer;
    request_op* op = nullptr;  // null once the request is over
};

struct request_op {
    using reencode_fn = void (*)(request_op&, attempt&, const transport::connection&, std::error_code&, std::string&);
    using deliver_fn = void (*)(request_op&, bool post);

    exec_state st;
    attempt first;
    std::unique_ptr<attempt[]> extra;    // speculative attempts (max_executions - 1)
    std::shared_ptr<speculation> spec;   // speculative requests only
    const void* stmt = nullptr;          // the caller's statement (alive while it awaits)
    reencode_fn reencode = nullptr;
    deliver_fn deliver = nullptr;
    std::optional<std::int64_t> timestamp;  // kept when re-encoding for another connection
    std::uint8_t launched = 0;              // attempts started
    std::uint8_t running = 0;               // attempts still going
    std::uint8_t extra_count = 0;
    bool settled = false;                   // the answer is decided
    bool busy = false;                      // a metadata refresh holds the settled op

    template <class F>
    void for_each_attempt(F&& f) {
        f(first);
        for (std::uint8_t i = 0; i < extra_count; ++i) f(extra[i]);
    }
};

template <class Handler>
struct request_op_for final : request_op {
    explicit request_op_for(Handler&& h) : handler(std::move(h)) {}
    Handler handler;

    // Frees the op, then resumes the caller: inline from a completion, posted
    // when still inside the initiation or a cancellation.
    static void deliver_now(request_op& base, bool post) {
        auto& self = static_cast<request_op_for&>(base);
        auto& s = *self.st.s;
        // No cancellation may reach the op once it is gone (even while a
        // posted delivery waits). Safe from inside the canceller itself: it
        // touches nothing after this.
        auto slot = asio::get_associated_cancellation_slot(self.handler);
        if (slot.is_connected()) slot.clear();
        self.for_each_attempt([&](attempt& a) { s.give_buffer(std::move(a.buf)); });
        auto h = std::move(self.handler);
        result out = std::move(self.st.out);
        delete &self;
        if (post) {
            auto ex = asio::get_associated_executor(h, s.ex);
            asio::post(ex, [h = std::move(h), out = std::move(out)]() mutable { std::move(h)(std::move(out)); });
            return;
        }
        std::move(h)(std::move(out));
    }
};

void run_attempt(session_impl& s, request_op& op, attempt& a, bool post);

// The one way out: every attempt stops, speculation stops, then finish()'s
// bookkeeping and the delivery.
void settle(session_impl& s, request_op& op, bool post) {
    if (op.settled) return;
    op.settled = true;
    op.for_each_attempt([&](attempt& a) {
        if (a.conn && !a.done) a.conn->abandon(a);  // the id stays orphaned until its answer arrives
        a.conn.reset();
        a.running = false;
    });
    op.running = 0;
    if (op.spec) {
        op.spec->op = nullptr;
        op.spec->timer.cancel();
    }
    if (s.finish(op.st)) {
        // DDL: answer once the metadata shows the change.
        op.busy = true;
        asio::co_spawn(
            s.ex,
            [self = s.shared_from_this(), opp = &op]() -> asio::awaitable<void> {
                co_await self->refresh(false, true, nullptr);
                opp->busy = false;
                opp->deliver(*opp, false);
            },
            asio::detached);
        return;
    }
    op.deliver(op, post);
}

// An attempt ran out of hosts: the request fails once no other attempt runs.
void attempt_over(session_impl& s, request_op& op, attempt& a, bool post) {
    if (a.running) {
        a.running = false;
        --op.running;
    }
    if (!op.st.done && op.running > 0) return;
    if (!op.st.done) op.st.fail_exhausted();
    settle(s, op, post);
}

void arm_speculation(session_impl& s, request_op& op) {
    if (op.launched > op.extra_count) return;  // every attempt started
    op.spec->timer.expires_after(s.cfg.speculative.delay);
    op.spec->timer.async_wait([sp = op.spec](std::error_code ec) {
        // Cancelled (the request is over, or the session closed): never a new attempt.
        if (ec || !sp->op) return;
        auto& op = *sp->op;
        auto& s = *op.st.s;
        if (op.st.done || s.closed || clock_type::now() >= op.st.deadline) return;
        auto& a = op.extra[op.launched - 1];
        a.h = op.st.plan.next();
        if (!a.h) return;  // the plan is used up: the running attempts carry on
        ++op.launched;
        ++op.running;
        a.running = true;
        ++s.counters.speculative_executions;
        arm_speculation(s, op);
        run_attempt(s, op, a, false);
    });
}

void on_attempt_complete(transport::pending_request& p);

// Encodes op's request for conn into a.buf (reusing what is there when it fits).
bool encode_for(request_op& op, attempt& a, const transport::connection& conn) {
    auto& st = op.st;
    if (!a.buf.empty() && a.enc_version == conn.version() && a.enc_lz4 == conn.compression()) return true;
    a.buf.clear();
    std::error_code eec;
    std::string why;
    if (st.ctx) st.encode(st.ctx, conn, a.buf, eec, why);
    else op.reencode(op, a, conn, eec, why);
    if (eec) {
        a.buf.clear();
        st.fail(eec, std::move(why));
        return false;
    }
    a.enc_version = conn.version();
    a.enc_lz4 = conn.compression();
    return true;
}

// Walks the plan from a.h until one connection takes the request (then
// returns: on_attempt_complete continues), or the attempt is over.
void run_attempt(session_impl& s, request_op& op, attempt& a, bool post) {
    auto& st = op.st;
    while (!st.done && a.h) {
        const auto now = st.attempts == 0 ? st.started : clock_type::now();
        if (now >= st.deadline) {
            st.fail(driver::errc::request_timeout,
                    "request timed out after " +
                        std::to_string(
                            std::chrono::duration_cast<std::chrono::milliseconds>(now - st.started).count()) +
                        " ms");
            break;
        }
        const std::size_t pi = a.h->pool_index;
        std::shared_ptr<transport::connection> conn;
        if (pi < s.pools.size() && s.pools[pi].pool) conn = s.pools[pi].pool->pick();
        if (!conn) {
            st.note(a.h->endpoint_string(), transport::errc::no_connection, nullptr);
            a.h = st.plan.next();
            continue;
        }
        // The envelope is reused for a retry unless the connection speaks
        // another version or compression (then it is rebuilt from the statement).
        if (!encode_for(op, a, *conn)) break;
        a.envelope = std::span<std::uint8_t>(a.buf.data(), a.buf.size());
        a.deadline = st.deadline;
        a.on_complete = &on_attempt_complete;
        if (auto ec = conn->submit(a)) {
            st.note(s.pools[pi].endpoint, ec, nullptr);
            a.h = st.plan.next();
            continue;
        }
        ++st.attempts;
        a.conn = std::move(conn);
        st.ctx = nullptr;  // the initiation's context dies with it; re-encoding uses the statement
        return;
    }
    attempt_over(s, op, a, post);
}

// UNPREPARED: PREPARE on the same connection, within the request's deadline;
// the attempt then runs the statement again on that host.
void send_prepare(session_impl& s, request_op& op, attempt& a) {
    auto& st = op.st;
    const auto& p = *st.unprepared;
    if (!a.prepare) a.prepare = std::make_unique<proto::byte_buffer>();
    a.prepare->clear();
    proto::prepare_request pr;
    pr.query = p.query;
    if (!p.prepare_keyspace.empty() && a.conn->version() == proto::protocol_version::v5) pr.keyspace = p.prepare_keyspace;
    a.conn->encode(proto::request(pr), {}, *a.prepare);
    a.envelope = std::span<std::uint8_t>(a.prepare->data(), a.prepare->size());
    a.deadline = st.deadline;
    a.repreparing = true;
    if (auto ec = a.conn->submit(a)) {
        a.repreparing = false;
        st.note(s.pools[a.h->pool_index].endpoint, ec, nullptr);
        a.conn.reset();
        a.h = st.plan.next();
        run_attempt(s, op, a, false);
    }
}

void on_prepared(session_impl& s, request_op& op, attempt& a) {
    auto& st = op.st;
    a.repreparing = false;
    const std::size_t pi = a.h->pool_index;
    a.conn.reset();
    if (a.ec == transport::errc::timeout) {
        st.fail(driver::errc::request_timeout,
                "request timed out after " +
                    std::to_string(
                        std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - st.started).count()) +
                    " ms re-preparing on " + s.pools[pi].endpoint);
        return settle(s, op, false);
    }
    const auto* res = !a.ec && a.response ? std::get_if<proto::result_response>(&a.response->message) : nullptr;
    const auto* prep = res ? std::get_if<proto::prepared_result>(&res->value) : nullptr;
    if (!prep) {
        // The host cannot prepare it now (connection lost, error): next host.
        const auto* se = a.response ? a.response->server_error() : nullptr;
        st.note(s.pools[pi].endpoint, a.ec ? a.ec : make_error_code(driver::errc::unexpected_response), se);
        a.response.reset();
        a.h = st.plan.next();
    } else if (prep->id != st.unprepared->id) {
        log()->warn("cqlpp: re-prepare of \"{}\" returned another id (schema changed?)", st.unprepared->query);
    }
    a.response.reset();
    run_attempt(s, op, a, false);
}

void on_attempt_complete(transport::pending_request& p) {
    auto& a = static_cast<attempt&>(p);
    auto& op = *a.op;
    auto& s = *op.st.s;
    if (a.repreparing) return on_prepared(s, op, a);
    transport::request_result r{a.ec, std::move(a.response)};
    const std::size_t pi = a.h->pool_index;
    int unprepared = a.unprepared_retries;
    const auto step = s.on_answer(op.st, r, pi, unprepared);
    a.unprepared_retries = static_cast<std::uint8_t>(unprepared);
    if (step == next_step::reprepare) return send_prepare(s, op, a);
    a.conn.reset();
    if (step == next_step::done) return settle(s, op, false);
    if (step == next_step::next_host) a.h = op.st.plan.next();
    run_attempt(s, op, a, false);
}

template <class Statement, class Context>
void reencode_as(request_op& op, attempt& a, const transport::connection& c, std::error_code& ec, std::string& why) {
    // Another attempt's envelope for the same kind of connection will do.
    bool copied = false;
    op.for_each_attempt([&](attempt& o) {
        if (!copied && &o != &a && !o.buf.empty() && o.enc_version == c.version() && o.enc_lz4 == c.compression()) {
            a.buf = o.buf;
            copied = true;
        }
    });
    if (copied) return;
    Context ctx;
    exec_state tmp;
    if (!op.st.s->setup(*static_cast<const Statement*>(op.stmt), ctx, tmp)) {
        ec = tmp.out.error();
        why = tmp.out.diag().message;
        return;
    }
    ctx.c.qp.default_timestamp = op.timestamp;  // a retry keeps the write's timestamp
    tmp.encode(&ctx, c, a.buf, ec, why);
}

struct request_canceller {
    request_op* op;
    void operator()(asio::cancellation_type t) const {
        if (t == asio::cancellation_type::none || op->settled) return;
        auto& s = *op->st.s;
        const auto* h = op->first.h;
        op->st.fail(transport::errc::cancelled,
                    "request cancelled while waiting for " + (h ? s.pools[h->pool_index].endpoint : std::string()));
        settle(s, *op, true);
    }
};

template <class Statement, class Context>
struct request_initiation {
    session_impl* s;
    const Statement* stmt;

    template <class Handler>
    void operator()(Handler&& handler) const {
        using op_type = request_op_for<std::decay_t<Handler>>;
        auto* op = new op_type(std::move(handler));
        op->deliver = &op_type::deliver_now;
        op->stmt = stmt;
        op->reencode = &reencode_as<Statement, Context>;
        op->first.op = op;
        auto& st = op->st;
        Context ctx;  // read by the first encoding only
        if (!s->setup(*stmt, ctx, st)) {
            st.s = s;
            return op->deliver(*op, true);
        }
        if (!s->begin(st)) return op->deliver(*op, true);
        op->timestamp = ctx.c.qp.default_timestamp;
        auto slot = asio::get_associated_cancellation_slot(op->handler);
        if (slot.is_connected()) slot.template emplace<request_canceller>(request_canceller{op});
        op->first.buf = s->take_buffer();
        op->first.h = st.plan.next();
        op->first.running = true;
        op->launched = op->running = 1;
        if (s->speculative(st)) {
            // Allocated only here: a plain request pays for none of it.
            const auto n = std::min<std::size_t>(s->cfg.speculative.max_executions - 1, 254);
            op->extra_count = static_cast<std::uint8_t>(n);
            op->extra = std::make_unique<attempt[]>(n);
            for (std::size_t i = 0; i < n; ++i) op->extra[i].op = op;
            op->spec = std::make_shared<speculation>(s->ex);
            op->spec->op = op;
            arm_speculation(*s, *op);
        }
        run_attempt(*s, *op, op->first, true);
    }
};

template <class Statement, class Context>
asio::awaitable<result> run_request(session_impl* s, const Statement& stmt) {
    return asio::async_initiate<const asio::use_awaitable_t<>&, void(result)>(
        request_initiation<Statement, Context>{s, &stmt}, asio::use_awaitable);
}

}  // namespace

asio::awaitable<result> session_impl::execute(const statement& s) { return run_request<statement, simple_ctx>(this, s); }
asio::awaitable<result> session_impl::execute(const bound_statement& b) {
    return run_request<bound_statement, bound_ctx>(this, b);
}
asio::awaitable<result> session_impl::execute(const batch& bt) { return run_request<batch, batch_ctx>(this, bt); }
asio::awaitable<result> session_impl::run(const prepare_spec& p) { return run_request<prepare_spec, prepare_ctx>(this, p); }

}  // namespace detail

// ---- session (public) --------------------------------------------------------------

session::session(std::shared_ptr<detail::session_impl> impl) : impl_(std::move(impl)) {}

session::~session() {
    // Closing is asynchronous; a session dropped without close() stops at once.
    if (impl_ && !impl_->closed) impl_->shutdown_now();
}

asio::awaitable<connect_result> session::connect(executor_type ex, session_config cfg) {
    auto impl = std::make_shared<detail::session_impl>(ex, std::move(cfg));
    connect_result out;
    auto ec = co_await impl->start(out.diag);
    if (ec) {
        impl->shutdown_now();
        out.ec = ec;
        co_return out;
    }
    out.s = std::make_shared<session>(impl);
    co_return out;
}

asio::awaitable<result> session::execute(const statement& s) { return impl_->execute(s); }
asio::awaitable<result> session::execute(const bound_statement& s) { return impl_->execute(s); }
asio::awaitable<result> session::execute(const batch& b) { return impl_->execute(b); }
asio::awaitable<result> session::execute(std::string_view cql) {
    statement s{std::string(cql)};
    co_return co_await impl_->execute(s);
}
asio::awaitable<outcome<prepared_statement>> session::prepare(std::string query, std::string keyspace) {
    return impl_->prepare(std::move(query), std::move(keyspace));
}

std::future<result> session::execute_future(statement s) {
    return asio::co_spawn(
        impl_->ex, [impl = impl_, s = std::move(s)]() -> asio::awaitable<result> { co_return co_await impl->execute(s); },
        asio::use_future);
}
std::future<result> session::execute_future(bound_statement s) {
    return asio::co_spawn(
        impl_->ex, [impl = impl_, s = std::move(s)]() -> asio::awaitable<result> { co_return co_await impl->execute(s); },
        asio::use_future);
}
void session::execute_async(statement s, std::function<void(result)> done) {
    asio::co_spawn(
        impl_->ex,
        [impl = impl_, s = std::move(s), done = std::move(done)]() -> asio::awaitable<void> {
            done(co_await impl->execute(s));
        },
        asio::detached);
}
void session::execute_async(bound_statement s, std::function<void(result)> done) {
    asio::co_spawn(
        impl_->ex,
        [impl = impl_, s = std::move(s), done = std::move(done)]() -> asio::awaitable<void> {
            done(co_await impl->execute(s));
        },
        asio::detached);
}
std::future<outcome<prepared_statement>> session::prepare_future(std::string query, std::string keyspace) {
    return asio::co_spawn(
        impl_->ex,
        [impl = impl_, q = std::move(query), k = std::move(keyspace)]() -> asio::awaitable<outcome<prepared_statement>> {
            co_return co_await impl->prepare(q, k);
        },
        asio::use_future);
}

asio::awaitable<void> session::close() { return impl_->close(); }
bool session::is_closed() const noexcept { return impl_->closed; }
std::shared_ptr<const cluster_metadata> session::metadata() const noexcept { return std::atomic_load(&impl_->meta); }
asio::awaitable<std::error_code> session::refresh_metadata() { return impl_->refresh(true, true, nullptr); }
const session_config& session::config() const noexcept { return impl_->cfg; }
protocol::protocol_version session::protocol_version() const noexcept { return impl_->version; }
session::executor_type session::get_executor() const noexcept { return impl_->ex; }

session_metrics session::metrics() const {
    session_metrics m = impl_->counters;
    for (const auto& slot : impl_->pools) {
        if (!slot.h) continue;
        host_metrics hm;
        hm.endpoint = slot.endpoint;
        hm.datacenter = slot.h->datacenter;
        hm.up = slot.h->is_up();
        if (slot.pool) hm.pool = slot.pool->metrics();
        m.hosts.push_back(std::move(hm));
    }
    return m;
}

}  // namespace cqlpp::driver
