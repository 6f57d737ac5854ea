// The engine's entry point: request dispatch, locking, prepared-statement
// caches (per node), the QUERY plan cache and error answers.
#include "cqlpp/sim/engine.hpp"

#include "engine_internal.hpp"

#include <chrono>

namespace cqlpp::sim {

using namespace detail;

namespace {

constexpr std::size_t query_cache_limit = 1024;

std::string hex(bytes_view b) { return proto::to_hex(b); }

void write_error(proto::byte_writer& body, proto::protocol_version v, const cql_error& e) {
    proto::error_response r = proto::error_response::make(e.code, e.message, e.details);
    r.encode(body, v);
}

std::array<std::uint8_t, 16> to_id(bytes_view b) {
    std::array<std::uint8_t, 16> id{};
    std::memcpy(id.data(), b.data(), std::min<std::size_t>(16, b.size()));
    return id;
}

bool is_schema_statement(const prepared_stmt& p) { return std::holds_alternative<std::monostate>(p.plan); }
bool is_select(const prepared_stmt& p) { return std::holds_alternative<select_plan>(p.plan); }

// Binds values by marker name (flag 0x40) into positional order.
void bind_named(exec_ctx& ctx, const prepared_stmt& p, const proto::query_parameters& params) {
    if (params.names.empty()) return;
    ctx.named_values.assign(p.binds.size(), value_view::unset());
    for (std::size_t i = 0; i < p.binds.size(); ++i) {
        const auto& want = p.parsed.bind_markers.size() > i && !p.parsed.bind_markers[i].name.empty()
                               ? p.parsed.bind_markers[i].name
                               : p.binds[i].name;
        bool found = false;
        for (std::size_t j = 0; j < params.names.size() && j < params.values.size(); ++j) {
            std::string n(params.names[j]);
            for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            if (n == want || params.names[j] == want) {
                ctx.named_values[i] = params.values[j];
                found = true;
                break;
            }
        }
        if (!found) throw_invalid("No value has been provided for bind variable " + want);
    }
    ctx.values = ctx.named_values;
}

// Bind markers with the names bind_named() matches named values against.
std::vector<engine::bind_variable> markers_of(const prepared_stmt& p) {
    std::vector<engine::bind_variable> out;
    out.reserve(p.binds.size());
    for (std::size_t i = 0; i < p.binds.size(); ++i) {
        const auto& marker = p.parsed.bind_markers.size() > i && !p.parsed.bind_markers[i].name.empty()
                                 ? p.parsed.bind_markers[i].name
                                 : p.binds[i].name;
        out.push_back({marker, p.binds[i].type});
    }
    return out;
}

void check_value_count(const exec_ctx& ctx, const prepared_stmt& p) {
    if (ctx.values.size() != p.binds.size())
        throw_invalid("There were " + std::to_string(p.binds.size()) + " markers(?) in CQL but " +
                      std::to_string(ctx.values.size()) + " bound variables");
}

void fill_params(exec_ctx& ctx, const proto::query_parameters& params) {
    ctx.values = params.values.span();
    ctx.cl = params.cl;
    ctx.serial_cl = params.serial_consistency;
    ctx.default_ts = params.default_timestamp;
    ctx.page_size = params.page_size.value_or(-1);
    ctx.paging_state = params.paging_state;
    ctx.skip_metadata = params.skip_metadata;
    if (params.now_in_seconds) ctx.now_s = *params.now_in_seconds;
}


// Builds the plausible trace of one request, in the shape cqlsh prints:
// coordinator events, then the messages to and from each replica touched,
// with the replica's own events. Elapsed times are synthetic (the sim does no
// I/O) but strictly increasing, so event_id (a timeuuid) orders them.
class trace_builder {
public:
    trace_builder(const topology& topo, trace_session& s, std::int64_t started_us)
        : topo_(topo), s_(s), started_us_(started_us) {}

    void add(int node, std::string activity, const char* thread) {
        elapsed_[node_slot(node)] += 37;
        const std::int32_t at = std::max(elapsed_[node_slot(node)], last_ + 1);
        last_ = at;
        elapsed_[node_slot(node)] = at;
        trace_event e;
        e.id = make_timeuuid(started_us_ + at);
        e.activity = std::move(activity);
        e.source = node;
        e.source_elapsed = at;
        e.thread = thread;
        s_.events.push_back(std::move(e));
    }
    std::string peer(int node) const {
        const auto& n = topo_.node(node);
        return "/" + n.config.address + ":" + std::to_string(topo_.config().base_port ? 7000 + node : 7000);
    }
    std::int32_t last() const noexcept { return last_; }

private:
    std::size_t node_slot(int node) {
        if (elapsed_.size() <= static_cast<std::size_t>(node)) elapsed_.resize(static_cast<std::size_t>(node) + 1, last_);
        return static_cast<std::size_t>(node);
    }
    const topology& topo_;
    trace_session& s_;
    std::int64_t started_us_;
    std::vector<std::int32_t> elapsed_;
    std::int32_t last_ = 0;
};

constexpr const char* coordinator_thread = "Native-Transport-Requests-1";
constexpr const char* messaging_thread = "Messaging-EventLoop-3-1";

int replicas_needed(proto::consistency cl, int rf) {
    using proto::consistency;
    switch (cl) {
        case consistency::two: return 2;
        case consistency::three: return 3;
        case consistency::quorum:
        case consistency::local_quorum:
        case consistency::each_quorum:
        case consistency::serial:
        case consistency::local_serial: return rf / 2 + 1;
        case consistency::all: return rf;
        default: return 1;
    }
}

}  // namespace

namespace detail {

engine_impl::engine_impl(const topology& t, engine_config c) : topo(t), cfg(c), node_prepared(t.size()) {
    install_system_keyspaces();
}

std::int64_t engine_impl::next_timestamp() noexcept {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto last = last_ts.load(std::memory_order_relaxed);
    for (;;) {
        auto next = std::max<std::int64_t>(now, last + 1);
        if (last_ts.compare_exchange_weak(last, next, std::memory_order_relaxed)) return next;
    }
}

keyspace_def* engine_impl::find_keyspace(std::string_view name) const noexcept {
    auto it = keyspaces.find(std::string(name));
    return it == keyspaces.end() ? nullptr : it->second.get();
}

// Re-plans every prepared statement against the new schema (under the
// exclusive lock). Statements that no longer plan are forgotten, so their
// next EXECUTE gets UNPREPARED and the driver's re-prepare sees the real error.
void engine_impl::replan_all() {
    {
        std::lock_guard lock(query_cache_mu);
        query_cache.clear();
    }
    for (auto it = all_prepared.begin(); it != all_prepared.end();) {
        bool ok = true;
        try {
            if (!is_schema_statement(*it->second)) plan_statement(*it->second);
        } catch (...) {
            ok = false;
        }
        if (ok) {
            ++it;
            continue;
        }
        for (auto& node : node_prepared) node.erase(it->first);
        it = all_prepared.erase(it);
    }
}

void engine_impl::topology_changed() {
    for (auto& [name, ks] : keyspaces) compute_replicas(*ks);
    node_prepared.resize(topo.size());
    // Cached plans hold no placement, but drop them anyway: cheap and safe.
    std::lock_guard lock(query_cache_mu);
    query_cache.clear();
}

int engine_impl::add_node_locked(const std::string& datacenter, const std::string& rack) {
    if (!topo_w || !cp) throw_invalid("Adding nodes needs a cluster");
    const int id = topo_w->add_node(datacenter, rack);
    if (id < 0) throw_invalid("No more nodes can be added (at most " + std::to_string(topology::max_nodes) + " ids)");
    topology_changed();
    auto err = cp->node_added(id);
    if (!err.empty()) {
        topo_w->remove_node(id);
        topology_changed();
        throw_invalid("Node " + std::to_string(id) + " could not start: " + err);
    }
    return id;
}

void engine_impl::remove_node_locked(int node) {
    if (!topo_w || !cp) throw_invalid("Removing nodes needs a cluster");
    if (!topo.is_member(node)) throw_invalid("No node " + std::to_string(node) + " in the ring");
    if (topo.member_count() <= 1) throw_invalid("Cannot decommission the last node of the cluster");
    topo_w->remove_node(node);
    topology_changed();
    node_prepared[static_cast<std::size_t>(node)].clear();
    cp->node_removed(node);
}

proto::opcode engine_impl::run(prepared_stmt& p, exec_ctx& ctx, proto::byte_writer& body) {
    ctx.stmt = &p;
    if (auto* sp = std::get_if<select_plan>(&p.plan)) {
        run_select(*sp, ctx, body);
    } else if (auto* mp = std::get_if<modify_plan>(&p.plan)) {
        run_modify(*mp, ctx, &body, ctx.default_ts.value_or(ctx.now_us), false);
    } else if (auto* bp = std::get_if<std::shared_ptr<batch_plan>>(&p.plan)) {
        run_batch(**bp, ctx, body);
    } else {
        execute_schema(p.parsed.stmt(), ctx, body);
        if (!std::holds_alternative<use_statement>(p.parsed.stmt())) replan_all();
    }
    return proto::opcode::result;
}

}  // namespace detail

// ---------------------------------------------------------------------------

struct engine::impl : engine_impl {
    using engine_impl::engine_impl;

    // Runs one request; `routed` (when tracing) receives the single partition
    // touched, `failure` the error answered.
    proto::opcode run_request(exec_ctx& ctx, int coordinator, session_state& session, const proto::request& req,
                              proto::byte_writer& body, execution_info& info, std::optional<token>* routed,
                              std::optional<cql_error>* failure) {
        const std::size_t start = body.size();
        ctx.coordinator = coordinator;
        ctx.session = &session;
        ctx.version = session.version;
        ctx.info = &info;
        ctx.now_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
        ctx.now_s = static_cast<std::int32_t>(ctx.now_us / 1000000);
        auto fail = [&](const cql_error& e) {
            body.buffer().resize(start);
            info.routing_token.reset();
            info.coordinator_is_replica = true;
            info.events.clear();
            write_error(body, ctx.version, e);
            if (failure) *failure = e;
            return proto::opcode::error;
        };
        try {
            if (coordinator < 0 || static_cast<std::size_t>(coordinator) >= topo.size())
                throw cql_error{proto::server_errc::server_error, "No such coordinator node " + std::to_string(coordinator), {}};
            proto::opcode op;
            if (auto* q = std::get_if<proto::query_request>(&req)) op = do_query(ctx, *q, body);
            else if (auto* p = std::get_if<proto::prepare_request>(&req)) op = do_prepare(ctx, *p, body);
            else if (auto* e = std::get_if<proto::execute_request>(&req)) op = do_execute(ctx, *e, body);
            else if (auto* b = std::get_if<proto::batch_request>(&req)) op = do_batch(ctx, *b, body);
            else throw cql_error{proto::server_errc::protocol_error, "Unexpected message for the engine", {}};
            if (routed && ctx.partitions_touched == 1) *routed = info.routing_token;
            if (ctx.partitions_touched != 1) {
                info.routing_token.reset();
                info.coordinator_is_replica = true;
            }
            return op;
        } catch (const cql_error& e) {
            return fail(e);
        } catch (const std::exception& e) {
            return fail(cql_error{proto::server_errc::server_error, std::string("Internal error: ") + e.what(), {}});
        } catch (...) {
            return fail(cql_error{proto::server_errc::server_error, "Internal error", {}});
        }
    }

    // Records the trace of a request that asked for it (envelope flag 0x02).
    proto::uuid_bytes record_trace(const exec_ctx& ctx, const proto::request& req, std::optional<token> routed,
                                   std::int64_t started_us, std::int64_t took_us, const cql_error* failed) {
        trace_session s;
        s.id = make_timeuuid(started_us);
        s.client = ctx.session->client_address;
        s.command = "QUERY";
        s.coordinator = ctx.coordinator;
        s.started_at_ms = started_us / 1000;
        trace_builder tb(topo, s, started_us);
        const prepared_stmt* st = ctx.stmt;
        auto params = [&](const proto::query_parameters& p, std::string_view query) {
            s.parameters["consistency_level"] = std::string(proto::to_string(p.cl));
            if (p.page_size) s.parameters["page_size"] = std::to_string(*p.page_size);
            s.parameters["query"] = std::string(query);
            s.parameters["serial_consistency_level"] =
                std::string(proto::to_string(p.serial_consistency.value_or(proto::consistency::serial)));
        };
        if (auto* q = std::get_if<proto::query_request>(&req)) {
            s.request = "Execute CQL3 query";
            params(q->params, q->query);
            tb.add(ctx.coordinator, "Parsing " + std::string(q->query), coordinator_thread);
            tb.add(ctx.coordinator, "Preparing statement", coordinator_thread);
        } else if (auto* e = std::get_if<proto::execute_request>(&req)) {
            s.request = "Execute CQL3 prepared query";
            params(e->params, st ? std::string_view(st->query) : std::string_view());
        } else if (auto* p = std::get_if<proto::prepare_request>(&req)) {
            s.request = "Preparing CQL3 query";
            s.parameters["query"] = std::string(p->query);
            tb.add(ctx.coordinator, "Parsing " + std::string(p->query), coordinator_thread);
            tb.add(ctx.coordinator, "Preparing statement", coordinator_thread);
            st = nullptr;  // nothing was executed
        } else if (auto* b = std::get_if<proto::batch_request>(&req)) {
            s.request = "Execute batch of CQL3 queries";
            s.parameters["consistency_level"] = std::string(proto::to_string(b->cl));
            s.parameters["serial_consistency_level"] =
                std::string(proto::to_string(b->serial_consistency.value_or(proto::consistency::serial)));
        }
        if (failed) {
            tb.add(ctx.coordinator, "Request failed: " + failed->message, coordinator_thread);
        } else if (st) {
            trace_statement(tb, ctx, *st, std::holds_alternative<proto::batch_request>(req), routed);
        }
        s.duration = static_cast<std::int32_t>(std::max<std::int64_t>(took_us, tb.last() + 1));
        const auto id = s.id;
        std::lock_guard lock(trace_mu);
        if (traces.size() >= max_trace_sessions) traces.pop_front();
        traces.push_back(std::move(s));
        return id;
    }

    void trace_statement(trace_builder& tb, const exec_ctx& ctx, const prepared_stmt& st, bool batch,
                         std::optional<token> routed) {
        const int coord = ctx.coordinator;
        const keyspace_def* ks = nullptr;
        const table_def* t = nullptr;
        bool read = false;
        if (auto* sp = std::get_if<select_plan>(&st.plan)) {
            ks = sp->ks;
            t = sp->table;
            read = true;
        } else if (auto* mp = std::get_if<modify_plan>(&st.plan)) {
            ks = mp->ks;
            t = mp->table;
        }
        if (!ks || !t || ks->is_system) return;  // schema statements, system tables: coordinator only
        if (!routed) {
            if (read) {
                tb.add(coord, "Computing ranges to query", coordinator_thread);
                tb.add(coord, "Submitting range requests on " + std::to_string(topo.ring().size()) +
                                  " ranges with a concurrency of 1", coordinator_thread);
                tb.add(coord, "Executing seq scan across 0 sstables for (min(-9223372036854775808), min(-9223372036854775808)]",
                       "ReadStage-2");
                tb.add(coord, "Read results from the memtables of " + t->name, "ReadStage-2");
            } else if (batch) {
                tb.add(coord, "Determining replicas for mutation", coordinator_thread);
                tb.add(coord, "Appending to commitlog", "MutationStage-1");
            }
            return;
        }
        const auto& reps = replicas_for(*ks, *routed);
        std::vector<int> targets;
        if (read) {
            // A read asks as many replicas as its consistency needs, itself first.
            const int need = replicas_needed(ctx.cl, static_cast<int>(reps.size()));
            if (std::find(reps.begin(), reps.end(), coord) != reps.end() && topo.is_up(coord)) targets.push_back(coord);
            for (int r : reps)
                if (static_cast<int>(targets.size()) < need && r != coord && topo.is_up(r)) targets.push_back(r);
        } else {
            tb.add(coord, "Determining replicas for mutation", coordinator_thread);
            for (int r : reps)
                if (topo.is_up(r)) targets.push_back(r);
        }
        auto local = [&](int node) {
            if (read) {
                tb.add(node, "Executing single-partition query on " + t->name, "ReadStage-2");
                tb.add(node, "Acquiring sstable references", "ReadStage-2");
                tb.add(node, "Merged data from memtables and 0 sstables", "ReadStage-2");
            } else {
                tb.add(node, "Appending to commitlog", "MutationStage-1");
                tb.add(node, "Adding to " + t->name + " memtable", "MutationStage-1");
            }
        };
        const std::string req_msg = read ? "READ_REQ" : "MUTATION_REQ";
        const std::string rsp_msg = read ? "READ_RSP" : "MUTATION_RSP";
        for (int r : targets) {
            if (r == coord) {
                local(r);
                continue;
            }
            tb.add(coord, (read ? "reading data from " : "Sending " + req_msg + " message to ") + tb.peer(r) +
                              (read ? "" : " message size 80 bytes"), messaging_thread);
            tb.add(r, req_msg + " message received from " + tb.peer(coord), messaging_thread);
            local(r);
            tb.add(r, "Enqueuing response to " + tb.peer(coord), read ? "ReadStage-2" : "MutationStage-1");
            tb.add(r, "Sending " + rsp_msg + " message to " + tb.peer(coord) + " message size 60 bytes", messaging_thread);
            tb.add(coord, rsp_msg + " message received from " + tb.peer(r), messaging_thread);
            tb.add(coord, "Processing response from " + tb.peer(r), "RequestResponseStage-2");
        }
    }

    std::shared_ptr<prepared_stmt> cached_query(std::string_view query, const std::string& ks) {
        std::string key;
        key.reserve(ks.size() + query.size() + 1);
        key += ks;
        key += '\0';
        key += query;
        {
            std::lock_guard lock(query_cache_mu);
            auto it = query_cache.find(key);
            if (it != query_cache.end()) return it->second;
        }
        auto p = compile(query, ks, true);
        std::lock_guard lock(query_cache_mu);
        if (query_cache.size() >= query_cache_limit) query_cache.clear();
        query_cache.emplace(std::move(key), p);
        return p;
    }

    proto::opcode do_query(exec_ctx& ctx, const proto::query_request& q, proto::byte_writer& body) {
        fill_params(ctx, q.params);
        std::string ks = q.params.keyspace ? std::string(*q.params.keyspace) : ctx.session->keyspace;
        std::shared_ptr<prepared_stmt> p;
        std::uint64_t epoch = 0;
        {
            std::shared_lock lock(mu);
            p = cached_query(q.query, ks);
            bind_named(ctx, *p, q.params);
            check_value_count(ctx, *p);
            if (is_select(*p)) return run(*p, ctx, body);
            epoch = schema_epoch;
        }
        std::unique_lock lock(mu);
        if (!is_schema_statement(*p) && epoch != schema_epoch) {
            // The schema may have changed between the locks: plan again.
            p = compile(q.query, ks, true);
            bind_named(ctx, *p, q.params);
            check_value_count(ctx, *p);
        }
        ctx.now_us = next_timestamp();
        return run(*p, ctx, body);
    }

    proto::opcode do_prepare(exec_ctx& ctx, const proto::prepare_request& r, proto::byte_writer& body) {
        std::string ks = r.keyspace ? std::string(*r.keyspace) : ctx.session->keyspace;
        std::unique_lock lock(mu);
        auto id = hash16(ks, r.query);
        std::shared_ptr<prepared_stmt> p;
        if (auto it = all_prepared.find(id); it != all_prepared.end() && it->second->query == r.query && it->second->keyspace == ks) {
            p = it->second;
        } else {
            p = compile(r.query, ks, true);
            all_prepared[id] = p;
        }
        node_prepared[static_cast<std::size_t>(ctx.coordinator)][id] = p;

        proto::prepared_result pr;
        pr.id.assign(id.begin(), id.end());
        pr.variables.global_table = p->bind_table;
        pr.variables.pk_indices = p->pk_indices;
        for (const auto& b : p->binds) {
            proto::column_spec cs;
            if (p->bind_table) {
                cs.keyspace = p->bind_table->keyspace;
                cs.table = p->bind_table->table;
            }
            cs.name = b.name;
            cs.type = b.type;
            pr.variables.columns.push_back(std::move(cs));
        }
        if (!pr.variables.global_table && !pr.variables.columns.empty()) pr.variables.global_table = proto::table_spec{ks, ""};
        if (auto* sp = std::get_if<select_plan>(&p->plan)) {
            pr.result = sp->meta;
            pr.result_metadata_id.assign(sp->metadata_id.begin(), sp->metadata_id.end());
        } else {
            pr.result.no_metadata = true;
            pr.result.column_count = 0;
            auto mid = hash16("result-metadata", "");
            pr.result_metadata_id.assign(mid.begin(), mid.end());
        }
        proto::result_response resp;
        resp.value = std::move(pr);
        resp.encode(body, ctx.version);
        return proto::opcode::result;
    }

    [[noreturn]] static void unprepared(bytes_view id) {
        throw_error(proto::server_errc::unprepared,
                    "Prepared query with ID " + hex(id) +
                        " not found (either the query was not prepared on this host (maybe the host has been restarted?) "
                        "or you have prepared too many queries and it has been evicted from the internal cache)",
                    proto::unprepared_info{byte_buffer(id.begin(), id.end())});
    }

    std::shared_ptr<prepared_stmt> lookup(int node, bytes_view id) {
        if (id.size() != 16) unprepared(id);
        auto& m = node_prepared[static_cast<std::size_t>(node)];
        auto it = m.find(to_id(id));
        if (it == m.end()) unprepared(id);
        return it->second;
    }

    proto::opcode do_execute(exec_ctx& ctx, const proto::execute_request& r, proto::byte_writer& body) {
        fill_params(ctx, r.params);
        if (ctx.version == proto::protocol_version::v5) {
            ctx.has_result_metadata_id = true;
            ctx.result_metadata_id = r.result_metadata_id;
        }
        {
            std::shared_lock lock(mu);
            auto p = lookup(ctx.coordinator, r.id);
            if (is_select(*p)) {
                bind_named(ctx, *p, r.params);
                check_value_count(ctx, *p);
                return run(*p, ctx, body);
            }
        }
        std::unique_lock lock(mu);
        auto p = lookup(ctx.coordinator, r.id);
        bind_named(ctx, *p, r.params);
        check_value_count(ctx, *p);
        ctx.now_us = next_timestamp();
        return run(*p, ctx, body);
    }

    proto::opcode do_batch(exec_ctx& ctx, const proto::batch_request& b, proto::byte_writer& body) {
        ctx.cl = b.cl;
        ctx.serial_cl = b.serial_consistency;
        ctx.default_ts = b.default_timestamp;
        if (b.now_in_seconds) ctx.now_s = *b.now_in_seconds;
        std::string ks = b.keyspace ? std::string(*b.keyspace) : ctx.session->keyspace;
        std::unique_lock lock(mu);
        ctx.now_us = next_timestamp();
        const std::int64_t ts = ctx.default_ts.value_or(ctx.now_us);
        std::vector<std::shared_ptr<prepared_stmt>> stmts;
        for (const auto& s : b.statements) {
            std::shared_ptr<prepared_stmt> p;
            if (s.prepared) {
                p = lookup(ctx.coordinator, s.id);
            } else {
                p = compile(s.query, ks, true);
            }
            auto* mp = std::get_if<modify_plan>(&p->plan);
            if (!mp) throw_invalid("Invalid statement in batch: only UPDATE, INSERT and DELETE statements are allowed.");
            const bool counter = mp->table->is_counter;
            if (b.type == proto::batch_type::counter && !counter) throw_invalid("Cannot include non-counter statement in a counter batch");
            if (b.type != proto::batch_type::counter && counter) throw_invalid("Counter and non-counter mutations cannot exist in the same batch");
            if (mp->if_exists || mp->if_not_exists || !mp->conditions.empty())
                throw_invalid("Conditional statements in batches are not supported by the simulator");
            if (s.values.size() != p->binds.size())
                throw_invalid("There were " + std::to_string(p->binds.size()) + " markers(?) in CQL but " +
                              std::to_string(s.values.size()) + " bound variables");
            stmts.push_back(std::move(p));
        }
        if (b.type != proto::batch_type::counter && stmts.size() > 1) {
            batch_extent e;
            for (std::size_t i = 0; i < stmts.size(); ++i) {
                ctx.values = b.statements[i].values.span();
                ctx.stmt = stmts[i].get();
                add_to_extent(e, std::get<modify_plan>(stmts[i]->plan), ctx);
            }
            check_batch_extent(e, b.type == proto::batch_type::unlogged, ctx);
        }
        // Validate everything first (values, availability), then apply: a batch is all or nothing here.
        for (std::size_t i = 0; i < stmts.size(); ++i) {
            ctx.values = b.statements[i].values.span();
            ctx.stmt = stmts[i].get();
            run_modify(std::get<modify_plan>(stmts[i]->plan), ctx, nullptr, ts, true);
        }
        body.i32(static_cast<std::int32_t>(proto::result_kind::void_));
        return proto::opcode::result;
    }
};

engine::engine(const topology& topo, engine_config cfg) : impl_(std::make_unique<impl>(topo, cfg)) {}
engine::engine(topology& topo, engine_config cfg) : impl_(std::make_unique<impl>(topo, cfg)) { impl_->topo_w = &topo; }
engine::~engine() = default;

void engine::set_control_plane(control_plane* cp) noexcept { impl_->cp = cp; }

protocol::opcode engine::execute(int coordinator, session_state& session, const protocol::request& req,
                                 protocol::byte_writer& body, execution_info& info) {
    exec_ctx ctx;
    if (!info.trace) return impl_->run_request(ctx, coordinator, session, req, body, info, nullptr, nullptr);
    // Only statements are traced; the engine sees nothing else.
    std::optional<token> routed;
    std::optional<cql_error> failure;
    const auto t0 = std::chrono::steady_clock::now();
    const auto started_us =
        std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
    auto op = impl_->run_request(ctx, coordinator, session, req, body, info, &routed, &failure);
    if (coordinator < 0 || static_cast<std::size_t>(coordinator) >= impl_->topo.size()) return op;
    const auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count();
    ctx.coordinator = coordinator;
    ctx.session = &session;
    info.tracing_id = impl_->record_trace(ctx, req, routed, started_us, took, failure ? &*failure : nullptr);
    return op;
}

int engine::add_node(const std::string& datacenter, const std::string& rack, std::string& error) {
    std::unique_lock lock(impl_->mu);
    try {
        return impl_->add_node_locked(datacenter, rack);
    } catch (const cql_error& e) {
        error = e.message;
        return -1;
    }
}

std::string engine::remove_node(int node) {
    std::unique_lock lock(impl_->mu);
    try {
        impl_->remove_node_locked(node);
        return "";
    } catch (const cql_error& e) {
        return e.message;
    }
}

void engine::forget_prepared(int node) {
    std::unique_lock lock(impl_->mu);
    if (node >= 0 && static_cast<std::size_t>(node) < impl_->node_prepared.size())
        impl_->node_prepared[static_cast<std::size_t>(node)].clear();
}

std::optional<engine::prepared_statement_info> engine::describe_prepared(bytes_view id) const {
    if (id.size() != 16) return std::nullopt;
    std::array<std::uint8_t, 16> key;
    std::copy(id.begin(), id.end(), key.begin());
    std::shared_lock lock(impl_->mu);
    auto it = impl_->all_prepared.find(key);
    if (it == impl_->all_prepared.end()) return std::nullopt;
    return prepared_statement_info{it->second->query, it->second->keyspace, markers_of(*it->second)};
}

std::optional<std::vector<engine::bind_variable>> engine::describe_query(std::string_view query, const std::string& keyspace) {
    std::shared_lock lock(impl_->mu);
    try {
        return markers_of(*impl_->cached_query(query, keyspace));
    } catch (...) {
        return std::nullopt;  // the engine answers the error when it runs the request
    }
}

}  // namespace cqlpp::sim
