// The activity log: per node, a bounded ring of the requests received, and
// the observer's entry point the network layer calls.
#include "observer.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/value.hpp"

namespace cqlpp::sim {

namespace proto = cqlpp::protocol;

namespace {

std::vector<std::optional<proto::byte_buffer>> copy_values(const proto::view_list<proto::value_view>& vals) {
    std::vector<std::optional<proto::byte_buffer>> out;
    out.reserve(vals.size());
    for (const auto& v : vals) {
        if (v.is_set()) out.emplace_back(proto::byte_buffer(v.bytes.begin(), v.bytes.end()));
        else out.emplace_back(std::nullopt);
    }
    return out;
}

// Literals of the values given their statement's bind markers: by name when
// the request named them (flag 0x40), else by position. Returns false (and
// leaves `out` empty) when a value has no marker: then only the raw bytes are
// known. "unset" / "null" as such; the raw value's hex when it does not decode
// as its type.
bool decode_values(const proto::view_list<proto::value_view>& vals, const proto::view_list<std::string_view>& names,
                   const std::vector<engine::bind_variable>& binds, std::vector<std::string>& out) {
    out.clear();
    if (names.empty() ? binds.size() != vals.size() : names.size() != vals.size()) return false;
    out.reserve(vals.size());
    std::string lower;
    for (std::size_t i = 0; i < vals.size(); ++i) {
        const proto::cql_type* type = nullptr;
        if (names.empty()) {
            type = &binds[i].type;
        } else {
            // As the engine binds them: the name as sent, or folded to lower case.
            lower.assign(names[i]);
            for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
            for (const auto& b : binds)
                if (b.name == names[i] || b.name == lower) type = &b.type;
            if (!type) {
                out.clear();
                return false;
            }
        }
        const auto& v = vals[i];
        if (v.is_unset()) out.emplace_back("unset");
        else if (v.is_null()) out.emplace_back("null");
        else {
            proto::cql_value cv;
            if (proto::decode_value(*type, v.bytes, cv) == proto::errc::ok) out.push_back(proto::format_literal(*type, cv));
            else out.push_back("0x" + proto::to_hex(v.bytes));
        }
    }
    return true;
}

void fill_params(activity_entry& e, const proto::query_parameters& p) {
    e.values = copy_values(p.values);
    for (auto n : p.names) e.value_names.emplace_back(n);
    e.consistency = p.cl;
    e.serial_consistency = p.serial_consistency;
    e.page_size = p.page_size;
    if (p.paging_state) e.paging_state = proto::byte_buffer(p.paging_state->begin(), p.paging_state->end());
    e.default_timestamp = p.default_timestamp;
    if (p.keyspace) e.keyspace = std::string(*p.keyspace);
}

}  // namespace

observer::observer(engine& db, std::size_t nodes, std::size_t max_nodes)
    : db_(db), logs_(std::max(nodes, max_nodes)), node_count_(nodes) {}

void observer::update_active() noexcept {
    std::lock_guard lock(active_mu_);
    active_.store(have_primes_.load(std::memory_order_relaxed) || capacity_.load(std::memory_order_relaxed) > 0,
                  std::memory_order_relaxed);
}

std::optional<primed_response> observer::on_request(const request_origin& from, const proto::request& req,
                                                    session_state& session) noexcept {
    try {
        std::optional<primed_response> answer;
        if (have_primes_.load(std::memory_order_relaxed)) answer = match(from, req, session);
        if (capacity_.load(std::memory_order_relaxed) > 0) record(from, req, session, answer && answer->from_rule);
        return answer;
    } catch (...) {
        // Out of memory, or a regex too complex to run: the engine answers.
        return std::nullopt;
    }
}

void observer::record(const request_origin& from, const proto::request& req, const session_state& session, bool primed) {
    activity_entry e;
    e.received = std::chrono::system_clock::now();
    e.node = from.node;
    e.connection = from.connection;
    e.stream = from.stream;
    e.primed = primed;
    e.keyspace = session.keyspace;
    std::vector<engine::bind_variable> binds;
    static const proto::view_list<std::string_view> no_names;
    if (auto* q = std::get_if<proto::query_request>(&req)) {
        e.op = proto::opcode::query;
        e.query = std::string(q->query);
        fill_params(e, q->params);
        // The types of the columns the markers map to, when the engine can plan the text.
        if (!q->params.values.empty()) {
            if (auto b = db_.describe_query(q->query, e.keyspace))
                e.values_typed = decode_values(q->params.values, q->params.names, *b, e.decoded_values);
        }
    } else if (auto* p = std::get_if<proto::prepare_request>(&req)) {
        e.op = proto::opcode::prepare;
        e.query = std::string(p->query);
        if (p->keyspace) e.keyspace = std::string(*p->keyspace);
    } else if (auto* x = std::get_if<proto::execute_request>(&req)) {
        e.op = proto::opcode::execute;
        e.prepared_id = proto::byte_buffer(x->id.begin(), x->id.end());
        fill_params(e, x->params);
        if (resolve(x->id, e.query, binds))
            e.values_typed = decode_values(x->params.values, x->params.names, binds, e.decoded_values);
    } else if (auto* b = std::get_if<proto::batch_request>(&req)) {
        e.op = proto::opcode::batch;
        e.batch_type = b->type;
        e.consistency = b->cl;
        e.serial_consistency = b->serial_consistency;
        e.default_timestamp = b->default_timestamp;
        if (b->keyspace) e.keyspace = std::string(*b->keyspace);
        e.batch.reserve(b->statements.size());
        for (const auto& s : b->statements) {
            activity_statement st;
            st.values = copy_values(s.values);
            bool known = false;
            if (s.prepared) {
                st.prepared_id = proto::byte_buffer(s.id.begin(), s.id.end());
                known = resolve(s.id, st.query, binds);
            } else {
                st.query = std::string(s.query);
                if (!s.values.empty())
                    if (auto m = db_.describe_query(s.query, e.keyspace)) {
                        binds = std::move(*m);
                        known = true;
                    }
            }
            if (known) st.values_typed = decode_values(s.values, no_names, binds, st.decoded_values);
            e.batch.push_back(std::move(st));
        }
    } else {
        return;
    }
    std::lock_guard lock(log_mu_);
    const auto cap = capacity_.load(std::memory_order_relaxed);
    if (cap == 0 || static_cast<std::size_t>(from.node) >= logs_.size()) return;
    auto& log = logs_[static_cast<std::size_t>(from.node)];
    while (log.size() >= cap) log.pop_front();
    log.push_back(std::move(e));
}

void observer::set_activity_capacity(std::size_t per_node) {
    std::lock_guard lock(log_mu_);
    capacity_.store(per_node, std::memory_order_relaxed);
    for (auto& log : logs_)
        while (log.size() > per_node) log.pop_front();
    update_active();
}

std::vector<activity_entry> observer::activity(int node) const {
    std::lock_guard lock(log_mu_);
    if (node < 0 || static_cast<std::size_t>(node) >= logs_.size()) return {};
    const auto& log = logs_[static_cast<std::size_t>(node)];
    return {log.begin(), log.end()};
}

void observer::clear_activity() {
    std::lock_guard lock(log_mu_);
    for (auto& log : logs_) log.clear();
}

}  // namespace cqlpp::sim
