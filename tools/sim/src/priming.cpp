// Priming: rules compiled once when primed (types parsed, literals encoded,
// regexes built), matched against QUERY / EXECUTE / BATCH, and PREPARE
// answered from a rule when the engine cannot prepare the text.
#include "observer.hpp"

#include "cqlpp/protocol/literal.hpp"
#include "cqlpp/protocol/types.hpp"
#include "cqlpp/protocol/value.hpp"

#include <algorithm>
#include <stdexcept>

namespace cqlpp::sim {

namespace proto = cqlpp::protocol;

prime_error unavailable_error(proto::consistency cl, std::int32_t required, std::int32_t alive) {
    return proto::error_response::make(proto::server_errc::unavailable,
                                       "Cannot achieve consistency level " + std::string(proto::to_string(cl)),
                                       proto::unavailable_info{cl, required, alive});
}

prime_error read_timeout_error(proto::consistency cl, std::int32_t received, std::int32_t block_for, bool data_present) {
    return proto::error_response::make(
        proto::server_errc::read_timeout,
        "Operation timed out - received only " + std::to_string(received) + " responses.",
        proto::read_timeout_info{cl, received, block_for, data_present});
}

prime_error write_timeout_error(proto::consistency cl, std::int32_t received, std::int32_t block_for,
                                std::string write_type) {
    proto::write_timeout_info w;
    w.cl = cl;
    w.received = received;
    w.block_for = block_for;
    w.write_type = std::move(write_type);
    return proto::error_response::make(proto::server_errc::write_timeout,
                                       "Operation timed out - received only " + std::to_string(received) + " responses.",
                                       std::move(w));
}

prime_error server_error(proto::server_errc code, std::string message) {
    return proto::error_response::make(code, std::move(message));
}

struct observer::compiled_rule {
    std::uint64_t id = 0;
    prime_rule rule;
    std::optional<std::regex> re;
    std::vector<proto::cql_type> param_types;
    std::optional<std::vector<std::optional<proto::byte_buffer>>> values;
    proto::result_metadata meta;                      // prime_rows
    std::vector<std::optional<proto::byte_buffer>> cells;  // prime_rows, row-major
    int left = 0;                                     // answers left when rule.times > 0

    bool text_matches(std::string_view q) const {
        switch (rule.match) {
            case prime_match::exact: return q == rule.query;
            case prime_match::prefix: return q.starts_with(rule.query);
            case prime_match::regex: return std::regex_match(q.begin(), q.end(), *re);
        }
        return false;
    }

    bool values_match(std::span<const proto::value_view> got) const {
        if (!values) return true;
        if (got.size() != values->size()) return false;
        for (std::size_t i = 0; i < got.size(); ++i) {
            const auto& want = (*values)[i];
            if (!want) {
                if (!got[i].is_null()) return false;
            } else if (!got[i].is_set() || !proto::same_bytes(got[i].bytes, *want)) {
                return false;
            }
        }
        return true;
    }
};

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("prime_rule: " + what); }

// A bare unknown name parses as a user type whose fields nobody told us.
bool has_unknown_udt(const proto::cql_type& t) {
    if (t.kind == proto::type_kind::udt && t.params.empty()) return true;
    return std::any_of(t.params.begin(), t.params.end(), has_unknown_udt);
}

proto::cql_type parse_type(const std::string& t, const std::string& where) {
    proto::errc e{};
    auto ty = proto::parse_type_name(t, &e);
    if (!ty) bad(where + ": unknown CQL type '" + t + "' (" + std::string(proto::to_string(e)) + ")");
    if (has_unknown_udt(*ty)) bad(where + ": unknown CQL type '" + t + "' (user types cannot be primed by name)");
    return *ty;
}

// nullopt for a null literal.
std::optional<proto::byte_buffer> encode_literal(const proto::cql_type& t, const std::string& lit,
                                                 const std::string& where) {
    proto::cql_value v;
    if (auto e = proto::parse_literal(t, lit, v); e != proto::errc::ok)
        bad(where + ": not a literal of type " + proto::to_cql_name(t) + ": " + lit + " (" + std::string(proto::to_string(e)) + ")");
    if (v.is_null()) return std::nullopt;
    proto::byte_buffer out;
    if (auto e = proto::encode_value(t, v, out); e != proto::errc::ok)
        bad(where + ": cannot encode as " + proto::to_cql_name(t) + ": " + lit + " (" + std::string(proto::to_string(e)) + ")");
    return out;
}

// Index in error_details of the fields a code carries (0: none).
std::size_t details_index(proto::server_errc c) {
    using E = proto::server_errc;
    switch (c) {
        case E::unavailable: return 1;
        case E::write_timeout: return 2;
        case E::read_timeout: return 3;
        case E::read_failure: return 4;
        case E::write_failure: return 5;
        case E::function_failure: return 6;
        case E::already_exists: return 7;
        case E::unprepared: return 8;
        case E::cas_write_unknown: return 9;
        default: return 0;
    }
}

using id16 = std::array<std::uint8_t, 16>;

// Ids of statements prepared from a prime: FNV-1a, twice, over a tag and the text.
id16 synth_id(std::string_view tag, std::string_view text) {
    id16 id{};
    for (int half = 0; half < 2; ++half) {
        std::uint64_t h = 1469598103934665603ULL ^ static_cast<std::uint64_t>(half + 1);
        auto mix = [&](std::string_view s) {
            for (unsigned char ch : s) {
                h ^= ch;
                h *= 1099511628211ULL;
            }
        };
        mix(tag);
        mix(std::string_view("\0", 1));
        mix(text);
        for (int b = 0; b < 8; ++b) id[static_cast<std::size_t>(half * 8 + b)] = static_cast<std::uint8_t>(h >> (56 - 8 * b));
    }
    return id;
}

proto::response invalid(std::string message) {
    return proto::error_response::make(proto::server_errc::invalid, std::move(message));
}

}  // namespace

std::uint64_t observer::add_prime(prime_rule r) {
    auto c = std::make_shared<compiled_rule>();
    if (r.query.empty()) bad("query is empty");
    if (r.match == prime_match::regex) {
        try {
            c->re.emplace(r.query, std::regex::ECMAScript);
        } catch (const std::regex_error& e) {
            bad("query '" + r.query + "' is not a valid regex: " + e.what());
        }
    } else if (r.match != prime_match::exact && r.match != prime_match::prefix) {
        bad("unknown match kind");
    }
    const auto nodes = node_count_.load(std::memory_order_relaxed);
    if (r.node && (*r.node < 0 || static_cast<std::size_t>(*r.node) >= nodes))
        bad("node " + std::to_string(*r.node) + " does not exist (nodes are 0.." + std::to_string(nodes - 1) + ")");
    if (r.consistency && !proto::is_valid_consistency(static_cast<std::uint16_t>(*r.consistency)))
        bad("invalid consistency level");
    if (r.times < 0) bad("times must be >= 0 (0: until cleared)");
    if (r.delay.count() < 0) bad("delay must be >= 0");
    for (std::size_t i = 0; i < r.params.size(); ++i)
        c->param_types.push_back(parse_type(r.params[i].type, "params[" + std::to_string(i) + "] '" + r.params[i].name + "'"));
    if (r.values) {
        if (r.values->size() != r.params.size())
            bad(std::to_string(r.values->size()) + " values for " + std::to_string(r.params.size()) +
                " params (values are literals of the params' types)");
        c->values.emplace();
        for (std::size_t i = 0; i < r.values->size(); ++i)
            c->values->push_back(encode_literal(c->param_types[i], (*r.values)[i], "values[" + std::to_string(i) + "]"));
    }
    if (auto* rows = std::get_if<prime_rows>(&r.then)) {
        if (rows->columns.empty()) bad("rows need at least one column");
        c->meta.global_table = proto::table_spec{rows->keyspace, rows->table};
        std::vector<proto::cql_type> types;
        for (std::size_t i = 0; i < rows->columns.size(); ++i) {
            const auto& col = rows->columns[i];
            if (col.name.empty()) bad("rows column " + std::to_string(i) + " has no name");
            types.push_back(parse_type(col.type, "rows column '" + col.name + "'"));
            c->meta.columns.push_back({rows->keyspace, rows->table, col.name, types.back()});
        }
        c->meta.column_count = static_cast<std::int32_t>(types.size());
        for (std::size_t i = 0; i < rows->rows.size(); ++i) {
            const auto& row = rows->rows[i];
            if (row.size() != types.size())
                bad("row " + std::to_string(i) + " has " + std::to_string(row.size()) + " cells for " +
                    std::to_string(types.size()) + " columns");
            for (std::size_t j = 0; j < row.size(); ++j)
                c->cells.push_back(encode_literal(types[j], row[j], "row " + std::to_string(i) + " column '" + rows->columns[j].name + "'"));
        }
    } else if (auto* err = std::get_if<prime_error>(&r.then)) {
        if (!proto::is_known_server_errc(static_cast<std::int32_t>(err->code)))
            bad("unknown server error code " + std::to_string(static_cast<std::int32_t>(err->code)));
        auto want = details_index(err->code);
        if (err->details.index() != 0 && err->details.index() != want)
            bad("the fields given do not belong to " + std::string(proto::to_string(err->code)));
    }
    c->left = r.times;
    c->rule = std::move(r);
    std::lock_guard lock(primes_mu_);
    c->id = next_rule_id_++;
    rules_.push_back(std::move(c));
    have_primes_.store(true, std::memory_order_relaxed);
    update_active();
    return rules_.back()->id;
}

void observer::clear_primes() {
    std::lock_guard lock(primes_mu_);
    rules_.clear();
    synth_.clear();  // their EXECUTEs now get the engine's UNPREPARED
    have_primes_.store(false, std::memory_order_relaxed);
    update_active();
}

std::size_t observer::prime_count() const {
    std::lock_guard lock(primes_mu_);
    return rules_.size();
}

std::vector<prime_info> observer::primes() const {
    std::lock_guard lock(primes_mu_);
    std::vector<prime_info> out;
    out.reserve(rules_.size());
    for (const auto& r : rules_) out.push_back({r->id, r->rule, r->rule.times > 0 ? r->left : 0});
    return out;
}

bool observer::remove_prime(std::uint64_t id) {
    std::lock_guard lock(primes_mu_);
    auto it = std::find_if(rules_.begin(), rules_.end(), [&](const auto& r) { return r->id == id; });
    if (it == rules_.end()) return false;
    rules_.erase(it);
    have_primes_.store(!rules_.empty() || !synth_.empty(), std::memory_order_relaxed);
    update_active();
    return true;
}

bool observer::resolve(proto::bytes_view id, std::string& query, std::vector<engine::bind_variable>& binds) const {
    if (id.size() == 16) {
        id16 key;
        std::copy(id.begin(), id.end(), key.begin());
        std::lock_guard lock(primes_mu_);
        if (auto it = synth_.find(key); it != synth_.end()) {
            query = it->second.query;
            binds = it->second.params;
            return true;
        }
    }
    auto info = db_.describe_prepared(id);
    if (!info) return false;
    query = std::move(info->query);
    binds = std::move(info->binds);
    return true;
}

std::optional<primed_response> observer::match(const request_origin& from, const proto::request& req,
                                               session_state& session) {
    // PREPARE: the engine's answer when it has one, else one built from the rule.
    if (auto* p = std::get_if<proto::prepare_request>(&req)) {
        std::shared_ptr<compiled_rule> rule;
        {
            std::lock_guard lock(primes_mu_);
            for (auto it = rules_.rbegin(); it != rules_.rend() && !rule; ++it)
                if ((*it)->text_matches(p->query)) rule = *it;
        }
        if (!rule) return std::nullopt;
        proto::byte_buffer scratch;
        proto::byte_writer w(scratch);
        execution_info info;
        if (db_.execute(from.node, session, req, w, info) == proto::opcode::result) return std::nullopt;
        const std::string ks = p->keyspace ? std::string(*p->keyspace) : session.keyspace;
        auto id = synth_id("prime:" + ks, p->query);
        proto::prepared_result pr;
        pr.id.assign(id.begin(), id.end());
        const std::string spec_ks = ks.empty() ? "primed" : ks;
        if (!rule->rule.params.empty()) pr.variables.global_table = proto::table_spec{spec_ks, "primed"};
        for (std::size_t i = 0; i < rule->param_types.size(); ++i)
            pr.variables.columns.push_back({spec_ks, "primed", rule->rule.params[i].name, rule->param_types[i]});
        if (std::holds_alternative<prime_rows>(rule->rule.then)) {
            pr.result = rule->meta;
        } else {
            pr.result.no_metadata = true;
            pr.result.column_count = 0;
        }
        auto mid = synth_id("prime-result", p->query);
        pr.result_metadata_id.assign(mid.begin(), mid.end());
        {
            std::lock_guard lock(primes_mu_);
            synth_statement st{std::string(p->query), {}};
            for (std::size_t i = 0; i < rule->param_types.size(); ++i)
                st.params.push_back({rule->rule.params[i].name, rule->param_types[i]});
            synth_[id] = std::move(st);
        }
        primed_response out;
        out.from_rule = true;
        proto::result_response rr;
        rr.value = std::move(pr);
        out.response = std::move(rr);
        return out;
    }

    // The statements to match, with their values and the request's consistency.
    struct candidate {
        std::string text;
        std::span<const proto::value_view> values;
    };
    std::vector<candidate> cands;
    proto::consistency cl = proto::consistency::one;
    bool synthesised_id = false;
    std::string text;
    std::vector<engine::bind_variable> binds;
    if (auto* q = std::get_if<proto::query_request>(&req)) {
        cands.push_back({std::string(q->query), q->params.values.span()});
        cl = q->params.cl;
    } else if (auto* e = std::get_if<proto::execute_request>(&req)) {
        if (!resolve(e->id, text, binds)) return std::nullopt;  // the engine answers UNPREPARED
        {
            std::lock_guard lock(primes_mu_);
            if (e->id.size() == 16) {
                id16 key;
                std::copy(e->id.begin(), e->id.end(), key.begin());
                synthesised_id = synth_.count(key) != 0;
            }
        }
        cands.push_back({text, e->params.values.span()});
        cl = e->params.cl;
    } else if (auto* b = std::get_if<proto::batch_request>(&req)) {
        for (const auto& s : b->statements) {
            std::string t;
            if (s.prepared) {
                if (!resolve(s.id, t, binds)) continue;
            } else {
                t = std::string(s.query);
            }
            cands.push_back({std::move(t), s.values.span()});
        }
        cl = b->cl;
    } else {
        return std::nullopt;
    }

    std::shared_ptr<compiled_rule> rule;
    {
        std::lock_guard lock(primes_mu_);
        for (auto it = rules_.rbegin(); it != rules_.rend() && !rule; ++it) {
            const auto& r = **it;
            if (r.rule.node && *r.rule.node != from.node) continue;
            if (r.rule.consistency && *r.rule.consistency != cl) continue;
            for (const auto& c : cands)
                if (r.text_matches(c.text) && r.values_match(c.values)) {
                    rule = *it;
                    break;
                }
        }
        if (rule && rule->rule.times > 0 && --rule->left == 0) {
            rules_.erase(std::find(rules_.begin(), rules_.end(), rule));
            // Ids prepared from primes still need an answer (see priming.hpp).
            have_primes_.store(!rules_.empty() || !synth_.empty(), std::memory_order_relaxed);
            update_active();
        }
    }
    if (!rule) {
        if (!synthesised_id) return std::nullopt;
        primed_response out;
        out.response = invalid("Statement '" + text + "' was prepared from a prime, and no prime answers it now on node " +
                               std::to_string(from.node) + " (consumed, cleared, or for another node or consistency)");
        return out;
    }

    primed_response out;
    out.from_rule = true;
    out.delay = rule->rule.delay;
    std::visit(
        [&](const auto& a) {
            using A = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<A, prime_void>) {
                out.response = proto::result_response{proto::void_result{}};
            } else if constexpr (std::is_same_v<A, prime_rows>) {
                proto::rows_result rows;
                rows.metadata = rule->meta;
                rows.row_count = static_cast<std::int32_t>(a.rows.size());
                rows.cells.reserve(rule->cells.size());
                for (const auto& cell : rule->cells)
                    rows.cells.push_back(cell ? proto::value_view::of(*cell) : proto::value_view::null());
                out.response = proto::result_response{std::move(rows)};
                out.keep_alive = rule;  // the cells borrow the rule's bytes until encoded
            } else if constexpr (std::is_same_v<A, prime_error>) {
                out.response = a;
            } else if constexpr (std::is_same_v<A, prime_close_connection>) {
                out.what = primed_response::action::close;
            } else {
                out.what = primed_response::action::no_answer;
            }
        },
        rule->rule.then);
    return out;
}

}  // namespace cqlpp::sim
