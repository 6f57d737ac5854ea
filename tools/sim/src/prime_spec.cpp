// prime_spec <-> prime_rule: the flat form of a rule that sim.primes (CQL)
// and `cqlpp sim --prime` (JSON) share.
#include "cqlpp/sim/priming.hpp"

#include <cctype>
#include <charconv>
#include <stdexcept>

namespace cqlpp::sim {

namespace proto = cqlpp::protocol;

namespace {

[[noreturn]] void bad(const std::string& what) { throw std::invalid_argument("prime: " + what); }

std::string upper(std::string_view s) {
    std::string out(s);
    for (auto& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    return out;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
}

// "name type": the name is the first word, the type the rest (it may hold spaces).
prime_column column(const std::string& s, const std::string& field) {
    auto t = trim(s);
    auto sp = t.find_first_of(" \t");
    if (sp == std::string_view::npos || trim(t.substr(sp)).empty())
        bad(field + ": expected 'name type', got '" + s + "'");
    return {std::string(t.substr(0, sp)), std::string(trim(t.substr(sp)))};
}

proto::consistency consistency_of(const std::string& s, const std::string& field) {
    auto cl = proto::parse_consistency(upper(trim(s)));
    if (!cl) bad(field + ": unknown consistency level '" + s + "' (ONE, QUORUM, LOCAL_QUORUM, ALL, ...)");
    return *cl;
}

proto::server_errc error_code(const std::string& s) {
    const auto u = upper(trim(s));
    for (auto c : proto::all_server_errcs)
        if (proto::to_string(c) == u) return c;
    // A number, decimal or 0x hex, for codes by their wire value.
    std::int32_t v = 0;
    const bool hex = u.starts_with("0X");
    const char* b = u.data() + (hex ? 2 : 0);
    const char* e = u.data() + u.size();
    auto [end, ec] = std::from_chars(b, e, v, hex ? 16 : 10);
    if (b != e && ec == std::errc() && end == e && proto::is_known_server_errc(v)) return static_cast<proto::server_errc>(v);
    std::string names;
    for (auto c : proto::all_server_errcs) names += (names.empty() ? "" : ", ") + std::string(proto::to_string(c));
    bad("error: unknown error code '" + s + "' (" + names + ")");
}

}  // namespace

prime_rule to_prime_rule(const prime_spec& s) {
    prime_rule r;
    if (trim(s.query).empty()) bad("query is required");
    r.query = s.query;
    const auto m = s.match.empty() ? std::string("EXACT") : upper(s.match);
    if (m == "EXACT") r.match = prime_match::exact;
    else if (m == "PREFIX") r.match = prime_match::prefix;
    else if (m == "REGEX") r.match = prime_match::regex;
    else bad("match: '" + s.match + "' is not exact, prefix or regex");
    r.node = s.node;
    if (!s.consistency.empty()) r.consistency = consistency_of(s.consistency, "consistency");
    for (std::size_t i = 0; i < s.params.size(); ++i) r.params.push_back(column(s.params[i], "params[" + std::to_string(i) + "]"));
    r.values = s.values;
    if (s.delay_ms < 0) bad("delay_ms must be >= 0");
    r.delay = std::chrono::milliseconds(s.delay_ms);
    r.times = s.times;

    auto then = upper(s.then);
    const bool has_fields = s.required || s.alive || s.received || s.block_for || s.data_present ||
                            !s.write_type.empty() || !s.error_consistency.empty();
    if (then.empty())
        then = !s.columns.empty() || !s.rows.empty()                ? "ROWS"
               : !s.error.empty() || !s.message.empty() || has_fields ? "ERROR"
                                                                      : "VOID";
    if (then != "ROWS" && (!s.columns.empty() || !s.rows.empty())) bad("columns and rows go with then = 'rows'");
    if (then != "ERROR" && (!s.error.empty() || !s.message.empty() || has_fields))
        bad("error, message and error fields go with then = 'error'");
    if (then == "VOID") {
        r.then = prime_void{};
    } else if (then == "CLOSE") {
        r.then = prime_close_connection{};
    } else if (then == "NO_ANSWER") {
        r.then = prime_no_answer{};
    } else if (then == "ROWS") {
        if (s.columns.empty()) bad("then = 'rows' needs columns ('name type', ...)");
        prime_rows rows;
        for (std::size_t i = 0; i < s.columns.size(); ++i) rows.columns.push_back(column(s.columns[i], "columns[" + std::to_string(i) + "]"));
        rows.rows = s.rows;
        r.then = std::move(rows);
    } else if (then == "ERROR") {
        if (s.error.empty()) bad("then = 'error' needs error (a code name such as 'UNAVAILABLE', or a number)");
        const auto code = error_code(s.error);
        const auto cl = !s.error_consistency.empty() ? consistency_of(s.error_consistency, "error_consistency")
                                                     : r.consistency.value_or(proto::consistency::one);
        auto only = [&](bool given, const char* field, proto::server_errc owner) {
            if (given && code != owner)
                bad(std::string(field) + " is a field of " + std::string(proto::to_string(owner)) + ", not of " +
                    std::string(proto::to_string(code)));
        };
        using E = proto::server_errc;
        if (code != E::unavailable && code != E::read_timeout && code != E::write_timeout && !s.error_consistency.empty())
            bad("error_consistency is a field of UNAVAILABLE, READ_TIMEOUT and WRITE_TIMEOUT only");
        only(s.required.has_value(), "required", E::unavailable);
        only(s.alive.has_value(), "alive", E::unavailable);
        only(s.data_present.has_value(), "data_present", E::read_timeout);
        only(!s.write_type.empty(), "write_type", E::write_timeout);
        if ((s.received || s.block_for) && code != E::read_timeout && code != E::write_timeout)
            bad("received and block_for are fields of READ_TIMEOUT and WRITE_TIMEOUT only");
        prime_error err;
        if (code == E::unavailable) {
            err = unavailable_error(cl, s.required.value_or(1), s.alive.value_or(0));
        } else if (code == E::read_timeout) {
            err = read_timeout_error(cl, s.received.value_or(0), s.block_for.value_or(1), s.data_present.value_or(false));
        } else if (code == E::write_timeout) {
            err = write_timeout_error(cl, s.received.value_or(0), s.block_for.value_or(1),
                                      s.write_type.empty() ? std::string("SIMPLE") : upper(s.write_type));
        } else {
            err = server_error(code, std::string(proto::to_string(code)));
        }
        if (!s.message.empty()) err.message = s.message;
        r.then = std::move(err);
    } else {
        bad("then: '" + s.then + "' is not void, rows, error, close or no_answer");
    }
    return r;
}

prime_spec to_prime_spec(const prime_rule& r) {
    prime_spec s;
    s.query = r.query;
    s.match = r.match == prime_match::exact ? "exact" : r.match == prime_match::prefix ? "prefix" : "regex";
    s.node = r.node;
    if (r.consistency) s.consistency = std::string(proto::to_string(*r.consistency));
    for (const auto& p : r.params) s.params.push_back(p.name + " " + p.type);
    s.values = r.values;
    s.delay_ms = static_cast<int>(r.delay.count());
    s.times = r.times;
    std::visit(
        [&](const auto& a) {
            using A = std::decay_t<decltype(a)>;
            if constexpr (std::is_same_v<A, prime_void>) {
                s.then = "void";
            } else if constexpr (std::is_same_v<A, prime_rows>) {
                s.then = "rows";
                for (const auto& c : a.columns) s.columns.push_back(c.name + " " + c.type);
                s.rows = a.rows;
            } else if constexpr (std::is_same_v<A, prime_error>) {
                s.then = "error";
                s.error = std::string(proto::to_string(a.code));
                s.message = a.message;
                if (auto* u = std::get_if<proto::unavailable_info>(&a.details)) {
                    s.error_consistency = std::string(proto::to_string(u->cl));
                    s.required = u->required;
                    s.alive = u->alive;
                } else if (auto* rt = std::get_if<proto::read_timeout_info>(&a.details)) {
                    s.error_consistency = std::string(proto::to_string(rt->cl));
                    s.received = rt->received;
                    s.block_for = rt->block_for;
                    s.data_present = rt->data_present;
                } else if (auto* wt = std::get_if<proto::write_timeout_info>(&a.details)) {
                    s.error_consistency = std::string(proto::to_string(wt->cl));
                    s.received = wt->received;
                    s.block_for = wt->block_for;
                    s.write_type = wt->write_type;
                }
            } else if constexpr (std::is_same_v<A, prime_close_connection>) {
                s.then = "close";
            } else {
                s.then = "no_answer";
            }
        },
        r.then);
    return s;
}

}  // namespace cqlpp::sim
