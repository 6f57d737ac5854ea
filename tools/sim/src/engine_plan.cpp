// Statement planning: resolves an AST against the schema once (columns,
// literal bytes, bind-marker types and slots, result metadata) so that
// executing a prepared statement does no parsing and no name lookups.
#include "engine_internal.hpp"

#include "cqlpp/protocol/murmur3.hpp"

#include <algorithm>
#include <random>
#include <set>

namespace cqlpp::sim::detail {

namespace {

const char* const filtering_message =
    "Cannot execute this query as it might involve data filtering and thus may have unpredictable performance. "
    "If you want to execute this query despite the performance unpredictability, use ALLOW FILTERING";

cql_type int_type() { return cql_type(type_kind::int_); }
cql_type bigint_type() { return cql_type(type_kind::bigint); }

struct planner {
    engine_impl& e;
    prepared_stmt& p;

    void set_bind(int index, const std::string& name, const cql_type& t) {
        if (index < 0) return;
        auto i = static_cast<std::size_t>(index);
        if (i >= p.binds.size()) p.binds.resize(i + 1);
        p.binds[i].name = name;
        p.binds[i].type = t;
    }

    // Registers the markers nested in a dynamic term with their best-known types.
    void register_nested(const term& t, const cql_type& type, const std::string& column) {
        switch (t.kind) {
            case term_kind::bind_marker: set_bind(t.bind_index, t.name.empty() ? column : t.name, type); return;
            case term_kind::list:
            case term_kind::set:
                for (const auto& c : t.children)
                    register_nested(c, type.params.empty() ? cql_type() : type.params[0], column);
                return;
            case term_kind::map:
                for (std::size_t i = 0; i < t.children.size(); ++i)
                    register_nested(t.children[i], type.params.size() < 2 ? cql_type() : type.params[i % 2], column);
                return;
            case term_kind::tuple:
                for (std::size_t i = 0; i < t.children.size(); ++i)
                    register_nested(t.children[i], i < type.params.size() ? type.params[i] : cql_type(), column);
                return;
            case term_kind::udt:
                for (std::size_t i = 0; i + 1 < t.children.size(); i += 2) {
                    cql_type ft;
                    for (std::size_t f = 0; f < type.field_names.size(); ++f)
                        if (type.field_names[f] == t.children[i].name) ft = type.params[f];
                    register_nested(t.children[i + 1], ft, column);
                }
                return;
            case term_kind::function_call:
                // fromJson(?) takes the JSON text; the time functions a timeuuid.
                for (const auto& c : t.children)
                    register_nested(c, cql_type(t.name == "fromjson" ? type_kind::text : type_kind::timeuuid), column);
                return;
            case term_kind::type_cast:
                for (const auto& c : t.children) register_nested(c, type, column);
                return;
            default: return;
        }
    }

    value_src make_src(const term& t, const cql_type& type, const std::string& column, const std::string& bind_name) {
        value_src v;
        v.type = type;
        v.column = column;
        if (t.kind == term_kind::bind_marker) {
            v.k = value_src::kind::bind;
            v.bind = t.bind_index;
            set_bind(t.bind_index, t.name.empty() ? bind_name : t.name, type);
            return v;
        }
        if (t.is_constant()) {
            if (literal_bytes(type, t, column, v.constant)) v.k = value_src::kind::constant;
            else v.k = value_src::kind::null;
            return v;
        }
        v.k = value_src::kind::dynamic;
        v.expr = &t;
        register_nested(t, type, bind_name);
        return v;
    }

    std::string keyspace_of(const qualified_name& n) {
        std::string ks = n.keyspace.empty() ? p.keyspace : n.keyspace;
        if (ks.empty()) throw_invalid("No keyspace has been specified. USE a keyspace, or explicitly specify keyspace.tablename");
        return ks;
    }

    table_def& table_of(const qualified_name& n, keyspace_def*& ksp) {
        auto ks = keyspace_of(n);
        ksp = e.find_keyspace(ks);
        if (!ksp) throw_invalid("Keyspace '" + ks + "' does not exist");
        auto it = ksp->tables.find(n.name);
        if (it == ksp->tables.end()) throw_invalid("unconfigured table " + n.name);
        return *it->second;
    }

    const column_def& column_of(const table_def& t, const std::string& name) {
        auto* c = t.find(name);
        if (!c) throw_invalid("Undefined column name " + name);
        return *c;
    }

    // = / IN on one key column: fills values or the IN marker.
    void key_values(const relation& r, const column_def& c, std::vector<value_src>& vals, std::optional<value_src>& marker) {
        if (r.op == relation_op::eq) {
            vals.push_back(make_src(r.value, c.type, c.name, c.name));
            return;
        }
        if (r.in_list) {
            for (const auto& v : r.in_values) vals.push_back(make_src(v, c.type, c.name, c.name));
            return;
        }
        marker = make_src(r.value, cql_type::list_of(c.type, true), c.name, "in(" + c.name + ")");
    }

    filter make_filter(const table_def& t, const relation& r) {
        filter f;
        f.op = r.op;
        if (r.target == relation_target::multi_column) {
            std::vector<cql_type> types;
            for (const auto& name : r.columns) {
                const auto& c = column_of(t, name);
                if (c.kind != column_kind::clustering)
                    throw_invalid("Multi-column relations can only be applied to clustering columns but was applied to: " + name);
                f.columns.push_back(t.index_of(&c));
                types.push_back(c.type);
            }
            f.tuple_type = cql_type::tuple_of(types);
            std::string name = "(";
            for (std::size_t i = 0; i < r.columns.size(); ++i) name += (i ? "," : "") + r.columns[i];
            name += ")";
            if (r.op == relation_op::in) {
                f.in_list = r.in_list;
                if (r.in_list) {
                    for (const auto& v : r.in_values) f.in_values.push_back(make_src(v, f.tuple_type, name, name));
                } else {
                    f.list_type = cql_type::list_of(f.tuple_type, true);
                    f.value = make_src(r.value, f.list_type, name, "in" + name);
                }
            } else {
                f.value = make_src(r.value, f.tuple_type, name, name);
            }
            return f;
        }
        const auto& c = column_of(t, r.columns.at(0));
        f.columns.push_back(t.index_of(&c));
        if (r.op == relation_op::neq) throw_invalid("Unsupported \"!=\" relation: " + c.name + " != " + std::string(r.value.text));
        if (r.op == relation_op::like) throw_invalid("LIKE restriction is only supported on properly indexed columns. " + c.name + " LIKE " + std::string(r.value.text) + " is not valid.");
        if (r.op == relation_op::contains || r.op == relation_op::contains_key) {
            if (!c.type.is_collection())
                throw_invalid("Cannot use " + std::string(r.op == relation_op::contains ? "CONTAINS" : "CONTAINS KEY") +
                              " on non-collection column " + c.name);
            if (r.op == relation_op::contains_key && c.type.kind != type_kind::map)
                throw_invalid("Cannot use CONTAINS KEY on non-map column " + c.name);
            const auto& et = r.op == relation_op::contains_key ? c.type.params[0]
                                                               : (c.type.kind == type_kind::map ? c.type.params[1] : c.type.params[0]);
            f.value = make_src(r.value, et, c.name, c.name);
            return f;
        }
        if (r.op == relation_op::in) {
            f.in_list = r.in_list;
            if (r.in_list) {
                for (const auto& v : r.in_values) f.in_values.push_back(make_src(v, c.type, c.name, c.name));
            } else {
                f.list_type = cql_type::list_of(c.type, true);
                f.value = make_src(r.value, f.list_type, c.name, "in(" + c.name + ")");
            }
            return f;
        }
        f.value = make_src(r.value, c.type, c.name, c.name);
        return f;
    }

    void check_token_columns(const table_def& t, const relation& r) {
        bool ok = r.columns.size() == t.pk.size();
        for (std::size_t i = 0; ok && i < r.columns.size(); ++i)
            ok = t.columns[static_cast<std::size_t>(t.pk[i])].name == r.columns[i];
        if (!ok) {
            std::string names;
            for (std::size_t i = 0; i < t.pk.size(); ++i)
                names += (i ? ", " : "") + t.columns[static_cast<std::size_t>(t.pk[i])].name;
            throw_invalid("The token function arguments must be in the partition key order: " + names);
        }
    }

    // A selector as an expression, with its result column name (Cassandra's:
    // "system.max(v)", "cast(v as int)", "home.zip", "writetime(v)").
    sel_expr selector_expr(const table_def& t, const selector& sel, std::string& name, bool distinct, bool top) {
        sel_expr e;
        switch (sel.kind) {
            case selector_kind::column: {
                const auto& c = column_of(t, sel.name);
                if (distinct && c.kind != column_kind::partition_key && c.kind != column_kind::static_)
                    throw_invalid("SELECT DISTINCT queries must only request partition key columns and/or static columns (not " + c.name + ")");
                e.k = sel_expr::op::column;
                e.column = t.index_of(&c);
                e.type = c.type;
                name = c.name;
                return e;
            }
            case selector_kind::count_star:
                if (!top) throw_invalid("Aggregate functions inside other functions are not supported by the simulator");
                e.k = sel_expr::op::count_rows;
                e.type = bigint_type();
                name = "count";
                return e;
            case selector_kind::writetime:
            case selector_kind::max_writetime:
            case selector_kind::ttl: {
                if (sel.args.empty() || sel.args[0].kind != selector_kind::column) throw_invalid("Invalid selector " + std::string(sel.text));
                const auto& c = column_of(t, sel.args[0].name);
                const bool wt = sel.kind != selector_kind::ttl;
                const char* fname = sel.kind == selector_kind::ttl ? "ttl" : sel.kind == selector_kind::writetime ? "writetime" : "maxwritetime";
                if (c.is_key())
                    throw_invalid(std::string("Cannot use selection function ") + (wt ? (sel.kind == selector_kind::writetime ? "writeTime" : "maxWritetime") : "ttl") +
                                  " on PRIMARY KEY part " + c.name);
                if (c.multi_cell)
                    throw_invalid(std::string("Cannot use selection function ") + (wt ? "writeTime" : "ttl") + " on non-frozen collection " + c.name);
                e.k = sel.kind == selector_kind::ttl ? sel_expr::op::ttl : sel_expr::op::writetime;
                e.column = t.index_of(&c);
                e.type = wt ? bigint_type() : int_type();
                name = std::string(fname) + "(" + c.name + ")";
                return e;
            }
            case selector_kind::cast: {
                std::string inner;
                e.args.push_back(selector_expr(t, sel.args.at(0), inner, distinct, false));
                auto to = proto::parse_type_name(sel.cast_type);
                if (!to) throw_invalid("Unknown type " + std::string(sel.cast_type));
                check_cast(e.args[0].type, *to, inner);
                e.k = sel_expr::op::cast;
                e.type = *to;
                name = "cast(" + inner + " as " + type_display(*to) + ")";
                return e;
            }
            case selector_kind::field: {
                std::string inner;
                e.args.push_back(selector_expr(t, sel.args.at(0), inner, distinct, false));
                const auto& ut = e.args[0].type;
                if (ut.kind != type_kind::udt)
                    throw_invalid("Invalid field selection: " + inner + " of type " + type_display(ut) + " is not a user type");
                auto f = std::find(ut.field_names.begin(), ut.field_names.end(), sel.name);
                if (f == ut.field_names.end()) throw_invalid(ut.name + " has no field " + sel.name);
                e.k = sel_expr::op::field;
                e.index = static_cast<int>(f - ut.field_names.begin());
                e.type = ut.params[static_cast<std::size_t>(e.index)];
                name = inner + "." + sel.name;
                return e;
            }
            case selector_kind::function_call: break;
            default: throw_invalid("Selector " + std::string(sel.text) + " is not supported by the simulator");
        }
        const std::string& fn = sel.name;
        if (fn == "token" && sel.keyspace.empty()) {
            std::string names;
            bool ok = sel.args.size() == t.pk.size();
            for (std::size_t i = 0; ok && i < sel.args.size(); ++i) {
                ok = sel.args[i].kind == selector_kind::column && sel.args[i].name == t.columns[static_cast<std::size_t>(t.pk[i])].name;
                names += (i ? ", " : "") + sel.args[i].name;
            }
            if (!ok) throw_invalid("Invalid arguments for token(): the partition key columns in order are expected");
            e.k = sel_expr::op::token;
            e.type = bigint_type();
            name = "system.token(" + names + ")";
            return e;
        }
        if (!sel.keyspace.empty() && sel.keyspace != "system") throw_invalid("Unknown function '" + sel.keyspace + "." + fn + "'");
        const bool aggregate = fn == "min" || fn == "max" || fn == "sum" || fn == "avg" || fn == "count";
        std::vector<std::string> arg_names;
        std::vector<std::optional<cql_type>> arg_types;
        std::vector<const term*> literal_args;
        for (const auto& a : sel.args) {
            if (a.kind == selector_kind::term) {
                arg_names.emplace_back(a.value.text);
                arg_types.emplace_back(std::nullopt);
                literal_args.push_back(&a.value);
                e.args.emplace_back();
                continue;
            }
            std::string inner;
            e.args.push_back(selector_expr(t, a, inner, distinct, false));
            arg_names.push_back(inner);
            arg_types.emplace_back(e.args.back().type);
            literal_args.push_back(nullptr);
        }
        std::string joined;
        for (std::size_t i = 0; i < arg_names.size(); ++i) joined += (i ? ", " : "") + arg_names[i];
        name = "system." + fn + "(" + joined + ")";
        if (aggregate) {
            if (!top) throw_invalid("Aggregate functions inside other functions are not supported by the simulator");
            if (e.args.size() != 1) bad_arity_agg(fn, e.args.size());
            if (!arg_types[0]) {
                // count(1) is count(*); other literals are counted too.
                if (fn == "count") {
                    e.k = sel_expr::op::count_rows;
                    e.type = bigint_type();
                    return e;
                }
                throw_invalid("Ambiguous call to function " + fn + ": use type casts to disambiguate");
            }
            e.k = sel_expr::op::aggregate;
            e.fn = fn;
            e.type = aggregate_return_type(fn, *arg_types[0]);
            return e;
        }
        e.k = sel_expr::op::call;
        e.fn = fn;
        e.type = function_return_type(fn, arg_types, arg_names);
        // Literal arguments take the type the signature gives them.
        for (std::size_t i = 0; i < literal_args.size(); ++i) {
            if (!literal_args[i]) continue;
            auto& a = e.args[i];
            a.type = *arg_types[i];
            if (literal_args[i]->kind == term_kind::bind_marker) {
                a.k = sel_expr::op::bind;
                a.index = literal_args[i]->bind_index;
                set_bind(a.index, literal_args[i]->name.empty() ? arg_names[i] : literal_args[i]->name, a.type);
            } else {
                a.k = sel_expr::op::constant;
                if (!literal_bytes(a.type, *literal_args[i], arg_names[i], a.constant)) a.index = 1;  // null literal
            }
        }
        return e;
    }

    [[noreturn]] void bad_arity_agg(const std::string& fn, std::size_t got) {
        throw_invalid("Invalid number of arguments in call to function system." + fn + ": 1 required but " + std::to_string(got) + " provided");
    }

    // ---- SELECT --------------------------------------------------------------

    void plan_select(const select_statement& s, select_plan& out) {
        auto& t = table_of(s.table, out.ks);
        out.table = &t;
        const bool lenient = t.is_virtual();  // generated tables: filter freely
        out.distinct = s.distinct;

        // Selection and result metadata.
        proto::result_metadata meta;
        meta.global_table = proto::table_spec{t.keyspace, t.name};
        auto add_col = [&](std::string name, cql_type type) {
            proto::column_spec cs;
            cs.keyspace = t.keyspace;
            cs.table = t.name;
            cs.name = std::move(name);
            cs.type = std::move(type);
            meta.columns.push_back(std::move(cs));
        };
        if (s.select_all) {
            for (std::size_t i = 0; i < t.columns.size(); ++i) {
                const auto& c = t.columns[i];
                if (s.distinct && c.kind != column_kind::partition_key && c.kind != column_kind::static_) continue;
                out.selection.push_back({sel_kind::column, static_cast<int>(i), {}, nullptr});
                add_col(c.name, c.type);
            }
        }
        for (const auto& sel : s.selectors) {
            std::string name;
            sel_expr e = selector_expr(t, sel, name, s.distinct, true);
            if (!sel.alias.empty()) name = sel.alias;
            add_col(name, e.type);
            switch (e.k) {
                case sel_expr::op::column: out.selection.push_back({sel_kind::column, e.column, {}, nullptr}); break;
                case sel_expr::op::writetime: out.selection.push_back({sel_kind::writetime, e.column, {}, nullptr}); break;
                case sel_expr::op::ttl: out.selection.push_back({sel_kind::ttl, e.column, {}, nullptr}); break;
                case sel_expr::op::token: out.selection.push_back({sel_kind::token, -1, {}, nullptr}); break;
                default:
                    if (e.is_aggregate()) out.count = true;
                    out.selection.push_back({sel_kind::expr, -1, {}, std::make_shared<const sel_expr>(std::move(e))});
            }
        }
        // WHERE.
        const std::size_t npk = t.pk.size(), nck = t.ck.size();
        std::vector<std::vector<value_src>> pk(npk);
        std::vector<std::optional<value_src>> pk_marker(npk);
        std::vector<bool> pk_set(npk, false);
        std::vector<std::vector<value_src>> ck(nck);
        std::vector<std::optional<value_src>> ck_marker(nck);
        std::vector<bool> ck_eq(nck, false);
        std::vector<const relation*> ck_slices;
        std::size_t indexed_filters = 0;  // filters an index serves (no ALLOW FILTERING needed)
        bool legacy_used = false;         // a legacy index serves one restriction at most
        bool has_token = false;
        for (const auto& r : s.where) {
            if (r.target == relation_target::token) {
                check_token_columns(t, r);
                has_token = true;
                auto v = make_src(r.value, bigint_type(), "partition key token", "partition key token");
                switch (r.op) {
                    case relation_op::eq: out.token_eq = v; break;
                    case relation_op::gt:
                    case relation_op::gte:
                        out.token_lo = v;
                        out.token_lo_incl = r.op == relation_op::gte;
                        break;
                    case relation_op::lt:
                    case relation_op::lte:
                        out.token_hi = v;
                        out.token_hi_incl = r.op == relation_op::lte;
                        break;
                    default: throw_invalid("Unsupported relation on token()");
                }
                continue;
            }
            if (r.target == relation_target::element || r.target == relation_target::field)
                throw_invalid("Restrictions on collection elements or fields are not supported by the simulator");
            if (r.target == relation_target::multi_column) {
                out.filters.push_back(make_filter(t, r));
                // A multi-column relation starting at the first clustering column is a key range, no filtering.
                const auto& first = t.columns[static_cast<std::size_t>(out.filters.back().columns[0])];
                if (first.position != 0 && !std::all_of(ck_eq.begin(), ck_eq.begin() + first.position, [](bool b) { return b; }))
                    out.needs_filtering = true;
                continue;
            }
            const auto& c = column_of(t, r.columns.at(0));
            const bool eq_or_in = r.op == relation_op::eq || r.op == relation_op::in;
            if (c.kind == column_kind::partition_key && eq_or_in) {
                auto pos = static_cast<std::size_t>(c.position);
                if (pk_set[pos]) throw_invalid(c.name + " cannot be restricted by more than one relation if it includes an Equal");
                pk_set[pos] = true;
                key_values(r, c, pk[pos], pk_marker[pos]);
                continue;
            }
            if (c.kind == column_kind::clustering && eq_or_in) {
                auto pos = static_cast<std::size_t>(c.position);
                if (ck_eq[pos]) throw_invalid(c.name + " cannot be restricted by more than one relation if it includes an Equal");
                ck_eq[pos] = true;
                key_values(r, c, ck[pos], ck_marker[pos]);
                continue;
            }
            if (c.kind == column_kind::clustering &&
                (r.op == relation_op::gt || r.op == relation_op::gte || r.op == relation_op::lt || r.op == relation_op::lte)) {
                ck_slices.push_back(&r);
                continue;
            }
            if (c.kind == column_kind::partition_key && !lenient && !s.allow_filtering &&
                r.op != relation_op::contains && r.op != relation_op::contains_key)
                throw_invalid("Only EQ and IN relation are supported on the partition key (unless you use the token() function or ALLOW FILTERING)");
            out.filters.push_back(make_filter(t, r));
            // An index answers the restriction without ALLOW FILTERING: SAI for = and
            // ranges on any of its columns, a legacy index for = on one column;
            // on collections CONTAINS through values(c), CONTAINS KEY through
            // keys(m), = on a frozen collection through full(c).
            if (c.kind == column_kind::regular || c.kind == column_kind::static_) {
                const bool range = r.op == relation_op::lt || r.op == relation_op::lte || r.op == relation_op::gt ||
                                   r.op == relation_op::gte;
                bool served = false;
                for (const auto& ix : t.indexes) {
                    if (ix.column != c.name) continue;
                    const auto& target = ix.options.at("target");
                    bool ok = false;
                    if (target == c.name) ok = r.op == relation_op::eq || (ix.sai && range);
                    else if (target == "values(" + c.name + ")") ok = r.op == relation_op::contains;
                    else if (target == "keys(" + c.name + ")") ok = r.op == relation_op::contains_key;
                    else if (target == "full(" + c.name + ")") ok = r.op == relation_op::eq;
                    if (!ok) continue;
                    if (ix.sai) served = true;
                    else if (!legacy_used) served = legacy_used = true;
                }
                if (served) {
                    ++indexed_filters;
                    continue;
                }
            }
            out.needs_filtering = true;
        }
        const std::size_t pk_count = static_cast<std::size_t>(std::count(pk_set.begin(), pk_set.end(), true));
        out.full_pk = pk_count == npk && npk > 0;
        // Without the whole partition key every row restriction is a filter over many
        // partitions, unless an index serves it.
        if (!out.full_pk && out.filters.size() > indexed_filters) out.needs_filtering = true;
        if (out.full_pk && has_token) throw_invalid("Cannot use token() together with partition key restrictions");
        if (!out.full_pk) {
            // Partial partition keys are checked row by row.
            if (pk_count > 0) {
                if (!lenient && !s.allow_filtering) {
                    std::string missing;
                    for (std::size_t i = 0; i < npk; ++i)
                        if (!pk_set[i]) missing += (missing.empty() ? "" : ", ") + t.columns[static_cast<std::size_t>(t.pk[i])].name;
                    throw_invalid("Partition key parts: " + missing + " must be restricted as other parts are");
                }
                for (std::size_t i = 0; i < npk; ++i) {
                    if (!pk_set[i]) continue;
                    filter f;
                    f.columns.push_back(t.pk[i]);
                    f.op = pk_marker[i] || pk[i].size() != 1 ? relation_op::in : relation_op::eq;
                    if (pk_marker[i]) {
                        f.value = *pk_marker[i];
                        f.list_type = f.value.type;
                    } else if (pk[i].size() == 1) {
                        f.value = pk[i][0];
                    } else {
                        f.in_list = true;
                        f.in_values = pk[i];
                    }
                    out.filters.push_back(std::move(f));
                }
                out.needs_filtering = true;
            }
        } else {
            out.pk_values = std::move(pk);
            out.pk_in_marker = std::move(pk_marker);
        }

        // Clustering: the = / IN prefix is a key lookup; everything else filters.
        std::size_t prefix = 0;
        while (prefix < nck && ck_eq[prefix]) ++prefix;
        for (std::size_t i = 0; i < nck; ++i) {
            if (!ck_eq[i]) continue;
            if (i < prefix && out.full_pk) continue;
            if (!out.full_pk || i >= prefix) {
                if (i >= prefix && !lenient && !s.allow_filtering) {
                    const auto& prev = t.columns[static_cast<std::size_t>(t.ck[prefix])];
                    throw_invalid("PRIMARY KEY column \"" + t.columns[static_cast<std::size_t>(t.ck[i])].name +
                                  "\" cannot be restricted as preceding column \"" + prev.name + "\" is not restricted");
                }
                filter f;
                f.columns.push_back(t.ck[i]);
                f.op = ck_marker[i] || ck[i].size() != 1 ? relation_op::in : relation_op::eq;
                if (ck_marker[i]) {
                    f.value = *ck_marker[i];
                    f.list_type = f.value.type;
                } else if (ck[i].size() == 1) {
                    f.value = ck[i][0];
                } else {
                    f.in_list = true;
                    f.in_values = ck[i];
                }
                out.filters.push_back(std::move(f));
                out.needs_filtering = true;
            }
        }
        if (out.full_pk) {
            for (std::size_t i = 0; i < prefix; ++i) {
                out.ck_prefix.push_back(std::move(ck[i]));
                out.ck_in_marker.push_back(std::move(ck_marker[i]));
            }
        } else if (prefix > 0) {
            out.needs_filtering = true;
        }
        for (const auto* r : ck_slices) {
            const auto& c = column_of(t, r->columns[0]);
            if (static_cast<std::size_t>(c.position) != prefix || !out.full_pk) {
                if (!out.full_pk) out.needs_filtering = true;
                else if (!lenient && !s.allow_filtering) {
                    if (static_cast<std::size_t>(c.position) > prefix) {
                        const auto& prev = t.columns[static_cast<std::size_t>(t.ck[prefix])];
                        throw_invalid("Clustering column \"" + c.name + "\" cannot be restricted (preceding column \"" +
                                      prev.name + "\" is restricted by a non-EQ relation)");
                    }
                    throw_invalid(c.name + " cannot be restricted by more than one relation if it includes an Equal");
                }
                out.needs_filtering = true;
            }
            out.filters.push_back(make_filter(t, *r));
        }
        if (out.needs_filtering && !s.allow_filtering && !lenient) throw_invalid(filtering_message);

        // GROUP BY: primary key columns in order; a skipped column must be restricted by =.
        if (!s.group_by.empty()) {
            std::vector<int> key_cols(t.pk.begin(), t.pk.end());
            key_cols.insert(key_cols.end(), t.ck.begin(), t.ck.end());
            std::size_t next = 0;
            int ck_prefix = 0;
            const char* order_msg = "Group by currently only support groups of columns following their declared order in the PRIMARY KEY";
            for (const auto& g : s.group_by) {
                const auto& c = column_of(t, g);
                if (!c.is_key()) throw_invalid("Group by is currently only supported on the columns of the PRIMARY KEY, got " + c.name);
                for (;;) {
                    if (next >= key_cols.size()) throw_invalid(order_msg);
                    const auto& kc = t.columns[static_cast<std::size_t>(key_cols[next++])];
                    if (kc.kind == column_kind::clustering) ++ck_prefix;
                    if (&kc == &c) break;
                    const bool eq = kc.kind == column_kind::partition_key ? out.full_pk : ck_eq[static_cast<std::size_t>(kc.position)];
                    if (!eq) throw_invalid(order_msg);
                }
            }
            // Groups are whole partitions plus a clustering prefix (as Cassandra's group makers).
            out.group_by.assign(t.pk.begin(), t.pk.end());
            for (int i = 0; i < ck_prefix; ++i) out.group_by.push_back(t.ck[static_cast<std::size_t>(i)]);
            out.count = true;
        }

        // ORDER BY v ANN OF [...]: nearest rows first, through the column's SAI index.
        if (s.ann_of) {
            if (s.order_by.size() > 1) throw_invalid("ANN ordering does not support any other ordering");
            const auto& c = column_of(t, s.order_by[0].column);
            const index_def* ix = nullptr;
            for (const auto& i : t.indexes)
                if (i.sai && i.column == c.name) ix = &i;
            if (!ix || c.type.kind != type_kind::vector) throw_invalid("ANN ordering by vector requires the column to be indexed");
            std::string lim = "NONE";
            if (s.limit && s.limit->kind == term_kind::integer) lim = std::string(s.limit->text);
            if (!s.limit || (s.limit->kind == term_kind::integer && (lim.size() > 4 || std::stoi(lim) > 1000)))
                throw_invalid("Use of ANN OF in an ORDER BY clause requires a LIMIT that is not greater than 1000. LIMIT was " + lim);
            if (s.ann_of->kind == term_kind::list && s.ann_of->children.size() != c.type.dimension)
                throw_invalid("Invalid vector literal for " + c.name + " of type " + type_display(c.type) + "; expected " +
                              std::to_string(c.type.dimension) + " elements, but given " + std::to_string(s.ann_of->children.size()));
            out.ann_column = t.index_of(&c);
            out.ann_vector = make_src(*s.ann_of, c.type, c.name, c.name);
            auto f = ix->options.find("similarity_function");
            out.ann_similarity = f == ix->options.end() ? "cosine" : f->second;
            for (auto& ch : out.ann_similarity) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        } else if (!s.order_by.empty()) {
            if (!out.full_pk) throw_invalid("ORDER BY is only supported when the partition key is restricted by an EQ or an IN.");
            std::optional<bool> rev;
            for (std::size_t i = 0; i < s.order_by.size(); ++i) {
                const auto& c = column_of(t, s.order_by[i].column);
                if (c.kind != column_kind::clustering)
                    throw_invalid("Order by is currently only supported on the clustered columns of the PRIMARY KEY, got " + c.name);
                if (static_cast<std::size_t>(c.position) != i)
                    throw_invalid("Order by currently only supports the ordering of columns following their declared order in the PRIMARY KEY");
                bool r = s.order_by[i].descending != c.descending;
                if (rev && *rev != r) throw_invalid("Unsupported order by relation");
                rev = r;
            }
            out.reversed = rev.value_or(false);
            out.ordered = true;
        }

        if (s.limit) out.limit = make_src(*s.limit, int_type(), "[limit]", "[limit]");
        if (s.per_partition_limit)
            out.per_partition_limit = make_src(*s.per_partition_limit, int_type(), "[per_partition_limit]", "[per_partition_limit]");

        // Bind metadata: pk indices when every pk column is `= ?`.
        p.bind_table = proto::table_spec{t.keyspace, t.name};
        if (out.full_pk) fill_pk_indices(t, s.where);

        if (s.json) {
            // One text column "[json]"; the object's keys are the result column names.
            out.json = true;
            out.inner_meta = meta;
            meta.columns.clear();
            add_col("[json]", cql_type(type_kind::text));
        }
        out.meta = meta;
        out.column_count = static_cast<std::int32_t>(meta.columns.size());
        out.metadata.clear();
        proto::byte_writer w(out.metadata);
        meta.encode(w, proto::protocol_version::v5);
        out.metadata_id = hash16("result-metadata", proto::as_chars(out.metadata));
    }

    void fill_pk_indices(const table_def& t, const std::vector<relation>& where) {
        std::vector<int> idx(t.pk.size(), -1);
        for (const auto& r : where) {
            if (r.target != relation_target::column || r.op != relation_op::eq || r.value.kind != term_kind::bind_marker) continue;
            const auto* c = t.find(r.columns[0]);
            if (c && c->kind == column_kind::partition_key) idx[static_cast<std::size_t>(c->position)] = r.value.bind_index;
        }
        p.pk_indices.clear();
        for (int i : idx) {
            if (i < 0) {
                p.pk_indices.clear();
                return;
            }
            p.pk_indices.push_back(static_cast<std::uint16_t>(i));
        }
    }

    // ---- INSERT / UPDATE / DELETE ----------------------------------------------

    void attributes(const update_attributes& a, modify_plan& out) {
        if (a.ttl) out.ttl = make_src(*a.ttl, int_type(), "[ttl]", "[ttl]");
        if (a.timestamp) out.timestamp = make_src(*a.timestamp, bigint_type(), "[timestamp]", "[timestamp]");
    }

    void check_modifiable(const keyspace_def& ks, const table_def& t, bool sim_update_ok) {
        if (ks.is_system && !(sim_update_ok && ks.name == "sim" && (t.name == "nodes" || t.name == "primes" ||
                                                                     t.name == "activity" || t.name == "settings")))
            throw_invalid(ks.name + " keyspace is not user-modifiable.");
    }

    static modify_plan::sim_table sim_table_of(const keyspace_def& ks, const table_def& t) {
        using S = modify_plan::sim_table;
        if (ks.name != "sim") return S::none;
        if (t.name == "primes") return S::primes;
        if (t.name == "activity") return S::activity;
        if (t.name == "settings") return S::settings;
        return S::none;
    }

    void missing_pk(const table_def& t, const std::vector<bool>& set) {
        std::string missing;
        for (std::size_t i = 0; i < set.size(); ++i)
            if (!set[i]) missing += (missing.empty() ? "" : ", ") + t.columns[static_cast<std::size_t>(t.pk[i])].name;
        if (!missing.empty()) throw_invalid("Some partition key parts are missing: " + missing);
    }

    void plan_insert(const insert_statement& s, modify_plan& out) {
        out.k = modify_plan::kind::insert;
        auto& t = table_of(s.table, out.ks);
        out.table = &t;
        out.sim_nodes = out.ks->name == "sim" && t.name == "nodes";
        out.sim = sim_table_of(*out.ks, t);
        check_modifiable(*out.ks, t, true);
        if (t.is_counter) throw_invalid("INSERT statements are not allowed on counter tables, use UPDATE instead");
        out.pk_values.resize(t.pk.size());
        out.pk_in_marker.resize(t.pk.size());
        out.ck_values.resize(t.ck.size());
        out.ck_in_marker.resize(t.ck.size());
        std::set<std::string> seen;
        std::vector<bool> pk_set(t.pk.size(), false), ck_set(t.ck.size(), false);
        auto place = [&](const column_def& c, value_src v) {
            if (c.kind == column_kind::partition_key) {
                out.pk_values[static_cast<std::size_t>(c.position)].push_back(std::move(v));
                pk_set[static_cast<std::size_t>(c.position)] = true;
            } else if (c.kind == column_kind::clustering) {
                out.ck_values[static_cast<std::size_t>(c.position)].push_back(std::move(v));
                ck_set[static_cast<std::size_t>(c.position)] = true;
            } else {
                assignment_plan a;
                a.column = &c;
                a.column_index = t.index_of(&c);
                a.op = assignment_op::set;
                a.value = std::move(v);
                a.value_type = c.type;
                out.assignments.push_back(std::move(a));
            }
        };
        if (s.json) {
            // Every column takes its value from the decoded document at execution.
            out.json = make_src(*s.json, cql_type(type_kind::text), "[json]", "[json]");
            out.json_default_unset = s.json_default_unset;
            for (std::size_t i = 0; i < t.columns.size(); ++i) {
                value_src v;
                v.k = value_src::kind::json;
                v.bind = static_cast<int>(i);
                v.type = t.columns[i].type;
                v.column = t.columns[i].name;
                place(t.columns[i], std::move(v));
            }
        }
        for (std::size_t i = 0; i < s.columns.size() && i < s.values.size(); ++i) {
            const auto& c = column_of(t, s.columns[i]);
            if (!seen.insert(c.name).second) throw_invalid("Multiple definitions found for column " + c.name);
            place(c, make_src(s.values[i], c.type, c.name, c.name));
        }
        // A prime's id is the sim's to give: the INSERT names none.
        const bool prime = out.sim == modify_plan::sim_table::primes;
        if (prime && s.if_not_exists) throw_invalid("IF NOT EXISTS is not supported on sim.primes");
        if (!prime) missing_pk(t, pk_set);
        std::string missing;
        for (std::size_t i = 0; i < ck_set.size(); ++i)
            if (!ck_set[i]) missing += (missing.empty() ? "" : ", ") + t.columns[static_cast<std::size_t>(t.ck[i])].name;
        // Only static columns may be written without the clustering key.
        bool only_static = !out.assignments.empty() && std::none_of(ck_set.begin(), ck_set.end(), [](bool b) { return b; });
        for (const auto& a : out.assignments) only_static = only_static && a.column->kind == column_kind::static_;
        if (only_static) {
            out.ck_values.clear();
            out.ck_in_marker.clear();
        } else if (!missing.empty()) {
            throw_invalid("Some clustering keys are missing: " + missing);
        }
        out.if_not_exists = s.if_not_exists;
        attributes(s.attributes, out);
        if (out.if_not_exists && out.timestamp) throw_invalid("Cannot provide custom timestamp for conditional updates");
        p.bind_table = proto::table_spec{t.keyspace, t.name};
        // pk indices: every pk column bound by a marker.
        p.pk_indices.clear();
        for (std::size_t i = 0; i < t.pk.size(); ++i) {
            if (out.pk_values[i].empty()) {
                p.pk_indices.clear();
                break;
            }
            const auto& v = out.pk_values[i][0];
            if (v.k != value_src::kind::bind) {
                p.pk_indices.clear();
                break;
            }
            p.pk_indices.push_back(static_cast<std::uint16_t>(v.bind));
        }
    }

    void where_keys(const table_def& t, const std::vector<relation>& where, modify_plan& out, bool is_delete) {
        out.pk_values.resize(t.pk.size());
        out.pk_in_marker.resize(t.pk.size());
        out.ck_values.resize(t.ck.size());
        out.ck_in_marker.resize(t.ck.size());
        std::vector<bool> pk_set(t.pk.size(), false), ck_set(t.ck.size(), false);
        std::vector<const relation*> slices;
        for (const auto& r : where) {
            if (r.target != relation_target::column) {
                if (r.target == relation_target::multi_column && is_delete) {
                    slices.push_back(&r);
                    continue;
                }
                throw_invalid("Only column restrictions are supported in the WHERE clause of modification statements");
            }
            const auto& c = column_of(t, r.columns.at(0));
            if (!c.is_key()) throw_invalid("Non PRIMARY KEY columns found in where clause: " + c.name);
            if (r.op == relation_op::eq || r.op == relation_op::in) {
                if (c.kind == column_kind::partition_key) {
                    auto pos = static_cast<std::size_t>(c.position);
                    pk_set[pos] = true;
                    key_values(r, c, out.pk_values[pos], out.pk_in_marker[pos]);
                } else {
                    auto pos = static_cast<std::size_t>(c.position);
                    ck_set[pos] = true;
                    key_values(r, c, out.ck_values[pos], out.ck_in_marker[pos]);
                }
                continue;
            }
            if (c.kind == column_kind::partition_key)
                throw_invalid("Only EQ and IN relation are supported on the partition key (unless you use the token() function)");
            if (!is_delete) throw_invalid("Slice restrictions are not supported on the clustering columns in UPDATE statements");
            slices.push_back(&r);
        }
        missing_pk(t, pk_set);
        std::size_t prefix = 0;
        while (prefix < ck_set.size() && ck_set[prefix]) ++prefix;
        for (std::size_t i = prefix; i < ck_set.size(); ++i)
            if (ck_set[i])
                throw_invalid("PRIMARY KEY column \"" + t.columns[static_cast<std::size_t>(t.ck[i])].name +
                              "\" cannot be restricted as preceding column \"" +
                              t.columns[static_cast<std::size_t>(t.ck[prefix])].name + "\" is not restricted");
        out.ck_values.resize(prefix);
        out.ck_in_marker.resize(prefix);
        bool only_static = !out.assignments.empty() && prefix == 0;
        for (const auto& a : out.assignments) only_static = only_static && a.column->kind == column_kind::static_;
        if (!is_delete && prefix < t.ck.size() && !only_static) {
            std::string missing;
            for (std::size_t i = prefix; i < t.ck.size(); ++i)
                missing += (missing.empty() ? "" : ", ") + t.columns[static_cast<std::size_t>(t.ck[i])].name;
            throw_invalid("Some clustering keys are missing: " + missing);
        }
        for (const auto* r : slices) out.ck_slices.push_back(make_filter(t, *r));
        p.bind_table = proto::table_spec{t.keyspace, t.name};
        fill_pk_indices(t, where);
    }

    void conditions(const table_def& t, const std::vector<relation>& conds, modify_plan& out) {
        for (const auto& r : conds) {
            if (r.target != relation_target::column && r.target != relation_target::element)
                throw_invalid("Only column and element conditions are supported by the simulator");
            const auto& c = column_of(t, r.columns.at(0));
            if (c.is_key()) throw_invalid("PRIMARY KEY column '" + c.name + "' cannot have IF conditions");
            condition_plan cp;
            cp.column = t.index_of(&c);
            cp.op = r.op;
            cp.value_type = c.type;
            if (r.target == relation_target::element) {
                if (c.type.kind == type_kind::map) {
                    cp.element = make_src(*r.element, c.type.params[0], c.name, "key(" + c.name + ")");
                    cp.value_type = c.type.params[1];
                } else if (c.type.kind == type_kind::list) {
                    cp.element = make_src(*r.element, int_type(), c.name, "idx(" + c.name + ")");
                    cp.value_type = c.type.params[0];
                } else {
                    throw_invalid("Invalid element access on non-collection column " + c.name);
                }
            }
            if (r.op == relation_op::in) {
                cp.in_list = r.in_list;
                if (r.in_list)
                    for (const auto& v : r.in_values) cp.in_values.push_back(make_src(v, cp.value_type, c.name, c.name));
                else
                    cp.value = make_src(r.value, cql_type::list_of(cp.value_type, true), c.name, "in(" + c.name + ")");
            } else {
                cp.value = make_src(r.value, cp.value_type, c.name, c.name);
            }
            out.conditions.push_back(std::move(cp));
        }
    }

    void plan_update(const update_statement& s, modify_plan& out) {
        out.k = modify_plan::kind::update;
        auto& t = table_of(s.table, out.ks);
        out.table = &t;
        out.sim_nodes = out.ks->name == "sim" && t.name == "nodes";
        out.sim = sim_table_of(*out.ks, t);
        check_modifiable(*out.ks, t, true);
        for (const auto& a : s.assignments) {
            const auto& c = column_of(t, a.column);
            if (c.is_key()) throw_invalid("PRIMARY KEY part " + c.name + " found in SET part");
            assignment_plan ap;
            ap.column = &c;
            ap.column_index = t.index_of(&c);
            ap.op = a.op;
            ap.value_type = c.type;
            const bool counter = c.type.kind == type_kind::counter;
            switch (a.op) {
                case assignment_op::set:
                    if (counter)
                        throw_invalid("Cannot set the value of counter column " + c.name +
                                      " (counters can only be incremented/decremented, not set)");
                    break;
                case assignment_op::add:
                case assignment_op::subtract:
                    if (counter) {
                        ap.value_type = bigint_type();
                        break;
                    }
                    if (!c.type.is_collection())
                        throw_invalid("Invalid operation (" + c.name + " = " + c.name + (a.op == assignment_op::add ? " + " : " - ") +
                                      std::string(a.value.text) + ") for non counter column " + c.name);
                    if (!c.multi_cell) throw_invalid("Invalid operation (" + c.name + " = " + c.name + " + ...) for frozen collection column " + c.name);
                    if (a.op == assignment_op::subtract && c.type.kind == type_kind::map)
                        ap.value_type = cql_type::set_of(c.type.params[0], true);
                    break;
                case assignment_op::prepend:
                    if (c.type.kind != type_kind::list || !c.multi_cell)
                        throw_invalid("Invalid operation (" + c.name + " = " + std::string(a.value.text) + " + " + c.name +
                                      ") for non list column " + c.name);
                    break;
                case assignment_op::set_element:
                    if (!c.multi_cell || (c.type.kind != type_kind::map && c.type.kind != type_kind::list))
                        throw_invalid("Invalid operation (" + c.name + "[..] = ...) for non collection column " + c.name);
                    if (c.type.kind == type_kind::map) {
                        ap.element = make_src(*a.element, c.type.params[0], c.name, "key(" + c.name + ")");
                        ap.value_type = c.type.params[1];
                    } else {
                        ap.element = make_src(*a.element, int_type(), c.name, "idx(" + c.name + ")");
                        ap.value_type = c.type.params[0];
                    }
                    break;
                case assignment_op::set_field:
                    throw_invalid("Setting a single field of a user type is not supported by the simulator");
            }
            if (!counter && t.is_counter) throw_invalid("Cannot mix counter and non counter columns in the same table");
            ap.value = make_src(a.value, ap.value_type, c.name, ap.element ? "value(" + c.name + ")" : c.name);
            out.assignments.push_back(std::move(ap));
        }
        where_keys(t, s.where, out, false);
        attributes(s.attributes, out);
        out.if_exists = s.if_exists;
        conditions(t, s.conditions, out);
        if (t.is_counter && (out.if_exists || !out.conditions.empty()))
            throw_invalid("Conditional updates are not supported on counter tables");
        if ((out.if_exists || !out.conditions.empty()) && out.timestamp)
            throw_invalid("Cannot provide custom timestamp for conditional updates");
        if (t.is_counter && out.ttl) throw_invalid("Cannot provide custom TTL for counter updates");
    }

    void plan_delete(const delete_statement& s, modify_plan& out) {
        out.k = modify_plan::kind::delete_;
        auto& t = table_of(s.table, out.ks);
        out.table = &t;
        out.sim_nodes = out.ks->name == "sim" && t.name == "nodes";
        out.sim = sim_table_of(*out.ks, t);
        check_modifiable(*out.ks, t, true);
        for (const auto& d : s.columns) {
            const auto& c = column_of(t, d.column);
            if (c.is_key()) throw_invalid("Invalid identifier " + c.name + " for deletion (should not be a PRIMARY KEY part)");
            if (!d.field.empty()) throw_invalid("Deleting a single field of a user type is not supported by the simulator");
            if (d.element) {
                if (!c.multi_cell || (c.type.kind != type_kind::map && c.type.kind != type_kind::list && c.type.kind != type_kind::set))
                    throw_invalid("Invalid deletion operation for non collection column " + c.name);
                const cql_type et = c.type.kind == type_kind::list ? int_type() : c.type.params[0];
                out.deleted_elements.emplace_back(t.index_of(&c), make_src(*d.element, et, c.name, "key(" + c.name + ")"));
            } else {
                out.deleted_columns.push_back(t.index_of(&c));
            }
        }
        where_keys(t, s.where, out, true);
        if ((!out.deleted_columns.empty() || !out.deleted_elements.empty()) && (out.ck_values.size() < t.ck.size() || !out.ck_slices.empty())) {
            bool only_static = true;
            for (int ci : out.deleted_columns)
                if (t.columns[static_cast<std::size_t>(ci)].kind != column_kind::static_) only_static = false;
            if (!only_static || !out.deleted_elements.empty() || !out.ck_slices.empty())
                throw_invalid("Range deletions are not supported for specific columns");
        }
        if (s.attributes.ttl) throw_invalid("TTL attribute is not allowed for DELETE statements");
        attributes(s.attributes, out);
        out.if_exists = s.if_exists;
        conditions(t, s.conditions, out);
        if ((out.if_exists || !out.conditions.empty()) && (out.ck_values.size() < t.ck.size() || !out.ck_slices.empty()))
            throw_invalid("DELETE statements must restrict all PRIMARY KEY columns with equality relations in order to use IF conditions");
    }
};

}  // namespace

void engine_impl::plan_statement(prepared_stmt& p) {
    planner pl{*this, p};
    p.binds.assign(p.parsed.bind_marker_count(), bind_info{});
    for (std::size_t i = 0; i < p.parsed.bind_markers.size(); ++i) p.binds[i].name = p.parsed.bind_markers[i].name;
    p.pk_indices.clear();
    p.bind_table.reset();
    p.plan = std::monostate{};
    const auto& s = p.parsed.stmt();
    if (auto* sel = std::get_if<select_statement>(&s)) {
        select_plan sp;
        pl.plan_select(*sel, sp);
        p.plan = std::move(sp);
    } else if (auto* ins = std::get_if<insert_statement>(&s)) {
        modify_plan mp;
        pl.plan_insert(*ins, mp);
        p.plan = std::move(mp);
    } else if (auto* up = std::get_if<update_statement>(&s)) {
        modify_plan mp;
        pl.plan_update(*up, mp);
        p.plan = std::move(mp);
    } else if (auto* del = std::get_if<delete_statement>(&s)) {
        modify_plan mp;
        pl.plan_delete(*del, mp);
        p.plan = std::move(mp);
    } else if (auto* b = std::get_if<batch_statement>(&s)) {
        auto bp = std::make_shared<batch_plan>();
        bp->type = b->type;
        if (b->attributes.ttl) throw_invalid("Global TTL on the BATCH statement is not supported.");
        if (b->attributes.timestamp)
            bp->timestamp = pl.make_src(*b->attributes.timestamp, bigint_type(), "[timestamp]", "[timestamp]");
        for (const auto& child : b->statements) {
            modify_plan mp;
            std::visit(
                [&](const auto& c) {
                    using T = std::decay_t<decltype(c)>;
                    if constexpr (std::is_same_v<T, insert_statement>) pl.plan_insert(c, mp);
                    else if constexpr (std::is_same_v<T, update_statement>) pl.plan_update(c, mp);
                    else pl.plan_delete(c, mp);
                },
                child);
            if (mp.timestamp && bp->timestamp) throw_invalid("Timestamp must be set either on BATCH or individual statements");
            bp->children.push_back(std::move(mp));
        }
        p.pk_indices.clear();
        p.plan = std::move(bp);
    }
    for (auto& b : p.binds)
        if (b.name.empty()) b.name = "?";
}

std::shared_ptr<prepared_stmt> engine_impl::compile(std::string_view query, const std::string& keyspace, bool) {
    auto p = std::make_shared<prepared_stmt>();
    p->query = std::string(query);
    p->keyspace = keyspace;
    p->id = hash16(keyspace, query);
    p->parsed = parse_statement(query);
    if (!p->parsed.ok()) {
        const auto& err = p->parsed.error();
        throw_error(err.kind == parse_error_kind::syntax_error ? proto::server_errc::syntax_error : proto::server_errc::invalid,
                    err.message);
    }
    plan_statement(*p);
    return p;
}

}  // namespace cqlpp::sim::detail
