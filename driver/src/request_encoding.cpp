#include "request_encoding.hpp"

#include "cqlpp/protocol/murmur3.hpp"

#include <cctype>

namespace cqlpp::driver::detail {

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

std::int64_t session_impl::next_timestamp() noexcept {
    auto now = std::chrono::duration_cast<std::chrono::microseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    // Monotonic: two writes from this session never share a timestamp, even
    // if the wall clock steps back.
    last_timestamp = now > last_timestamp ? now : last_timestamp + 1;
    return last_timestamp;
}

namespace {

void set_error(exec_state& st, std::error_code ec, std::string message) {
    st.out = result(ec, diagnostics{std::move(message), {}, {}});
}

// The statement's profile, once per request: a re-encoding for another
// connection comes with the one its request resolved.
bool resolve_profile(session_impl& s, const statement_options& o, exec_state& st) {
    if (st.profile) return true;
    if (o.execution_profile.empty()) {
        st.profile = &s.defaults;
        return true;
    }
    auto it = s.profiles.find(o.execution_profile);
    if (it == s.profiles.end()) {
        std::string known;
        for (const auto& [name, p] : s.profiles) known += (known.empty() ? "" : ", ") + name;
        set_error(st, driver::errc::unknown_execution_profile,
                  "no execution profile named \"" + o.execution_profile + "\" in session_config::execution_profiles" +
                      (known.empty() ? std::string(" (none defined)") : " (defined: " + known + ")"));
        return false;
    }
    st.profile = &it->second;
    return true;
}

bool fill_common(session_impl& s, const statement_options& o, common_params& c, exec_state& st) {
    if (!resolve_profile(s, o, st)) return false;
    const auto& p = *st.profile;
    c.qp.cl = o.consistency.value_or(p.consistency);
    st.cl = c.qp.cl;
    const auto page = o.page_size.value_or(p.page_size);
    if (page > 0) c.qp.page_size = page;
    if (!o.paging_state.empty()) c.qp.paging_state = proto::bytes_view(o.paging_state);
    if (o.serial_consistency) c.qp.serial_consistency = *o.serial_consistency;
    else if (p.serial_consistency) c.qp.serial_consistency = *p.serial_consistency;
    if (o.timestamp) c.qp.default_timestamp = *o.timestamp;
    else if (s.cfg.client_timestamps) c.qp.default_timestamp = s.next_timestamp();
    if (!o.keyspace.empty()) c.qp.keyspace = std::string_view(o.keyspace);
    if (o.now_in_seconds) c.qp.now_in_seconds = *o.now_in_seconds;
    if (!o.custom_payload.empty()) {
        for (const auto& [k, v] : o.custom_payload) c.payload.emplace_back(k, proto::bytes_view(v));
        c.eo.custom_payload = c.payload;
    }
    c.eo.tracing = o.tracing;
    st.deadline = st.started + o.timeout.value_or(p.request_timeout);
    st.idempotent = o.idempotent.value_or(p.idempotent);
    st.info.local_dc_only = p.local_dc_only;
    return true;
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

bool session_impl::setup(const statement& s, simple_ctx& ctx, exec_state& st) {
    if (s.error()) {
        set_error(st, s.error(), s.error_message());
        return false;
    }
    ctx.s = &s;
    st.started = clock_type::now();
    if (!fill_common(*this, s.options(), ctx.c, st)) return false;
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
    if (!fill_common(*this, b.options(), ctx.c, st)) return false;
    const std::span<const proto::value_view> values = ctx.views.fill(b.values());
    ctx.c.qp.values = values;
    ctx.c.qp.skip_metadata = p->shape().columns != nullptr;
    st.prepared = p.get();
    st.is_write = p->is_write;
    st.info.keyspace = !b.options().keyspace.empty() ? std::string_view(b.options().keyspace) : std::string_view(p->keyspace);
    st.info.consistency = st.cl;
    st.info.is_lwt = p->is_lwt;
    // Routing key from the bound partition-key values (composite keys too).
    // The views were just filled: read them, not the values again.
    if (!p->pk_indices.empty()) {
        bool complete = true;
        for (auto i : p->pk_indices)
            if (i >= values.size() || !values[i].is_set()) complete = false;
        if (complete) {
            if (p->pk_indices.size() == 1) {
                st.info.routing_token = token_of(values[p->pk_indices[0]].bytes);
            } else {
                thread_local proto::byte_buffer key;
                std::array<proto::bytes_view, 16> parts{};
                if (p->pk_indices.size() <= parts.size()) {
                    for (std::size_t k = 0; k < p->pk_indices.size(); ++k) parts[k] = values[p->pk_indices[k]].bytes;
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
        c.encode(
            proto::opcode::execute,
            [](proto::byte_writer& w, proto::protocol_version v, const void* ctx) {
                const auto& x = *static_cast<const bound_ctx*>(ctx);
                // The metadata id is read now: METADATA_CHANGED may have replaced it.
                proto::encode_execute(w, v, x.p->id, x.p->shape().metadata_id, x.c.qp);
            },
            &x, x.c.eo, out);
    };
    return true;
}

bool session_impl::setup(const batch& bt, batch_ctx& ctx, exec_state& st) {
    ctx.bt = &bt;
    st.batch_stmt = &bt;
    st.started = clock_type::now();
    if (!fill_common(*this, bt.options(), ctx.c, st)) return false;
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

bool session_impl::setup(const prepare_spec& p, prepare_ctx& ctx, exec_state& st) {
    ctx.p = &p;
    st.profile = &defaults;
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

}  // namespace cqlpp::driver::detail
