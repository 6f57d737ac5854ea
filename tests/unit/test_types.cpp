// Type names: CQL text form and marshal-class form.
#include "cqlpp/protocol/types.hpp"

#include "test_support.hpp"

#include <catch2/catch.hpp>

#include <string>

using namespace cqlpp::protocol;

namespace {

cql_type parse_ok(std::string_view s) {
    errc e = errc::ok;
    auto t = parse_type_name(s, &e);
    INFO("type name: " << s << " error: " << to_string(e));
    REQUIRE(t.has_value());
    REQUIRE(e == errc::ok);
    return *t;
}

errc parse_error(std::string_view s) {
    errc e = errc::ok;
    auto t = parse_type_name(s, &e);
    INFO("type name: " << s);
    REQUIRE_FALSE(t.has_value());
    return e;
}

cql_type marshal_ok(std::string_view s) {
    errc e = errc::ok;
    auto t = parse_marshal_class(s, &e);
    INFO("marshal class: " << s << " error: " << to_string(e));
    REQUIRE(t.has_value());
    REQUIRE(e == errc::ok);
    return *t;
}

errc marshal_error(std::string_view s) {
    errc e = errc::ok;
    auto t = parse_marshal_class(s, &e);
    INFO("marshal class: " << s);
    REQUIRE_FALSE(t.has_value());
    return e;
}

std::string m(std::string_view cls) { return "org.apache.cassandra.db.marshal." + std::string(cls); }

}  // namespace

TEST_CASE("native type names parse and print", "[types]") {
    const std::pair<const char*, type_kind> natives[] = {
        {"ascii", type_kind::ascii},     {"bigint", type_kind::bigint},       {"blob", type_kind::blob},
        {"boolean", type_kind::boolean}, {"counter", type_kind::counter},     {"decimal", type_kind::decimal},
        {"double", type_kind::double_},  {"float", type_kind::float_},        {"int", type_kind::int_},
        {"timestamp", type_kind::timestamp}, {"uuid", type_kind::uuid},       {"text", type_kind::text},
        {"varint", type_kind::varint},   {"timeuuid", type_kind::timeuuid},   {"inet", type_kind::inet},
        {"date", type_kind::date},       {"time", type_kind::time},           {"smallint", type_kind::smallint},
        {"tinyint", type_kind::tinyint}, {"duration", type_kind::duration},
    };
    for (const auto& [name, kind] : natives) {
        INFO(name);
        auto t = parse_ok(name);
        CHECK(t.kind == kind);
        CHECK(to_cql_name(t) == name);
        // And through the marshal form.
        auto back = marshal_ok(to_marshal_class(t));
        CHECK(back == t);
    }
    CHECK(parse_ok("varchar").kind == type_kind::text);
    CHECK(parse_ok("VARCHAR").kind == type_kind::text);
    CHECK(parse_ok("  BigInt ").kind == type_kind::bigint);
}

TEST_CASE("composite type names round trip in canonical form", "[types]") {
    // {input, canonical output}
    const std::pair<const char*, const char*> cases[] = {
        {"list<int>", "list<int>"},
        {"set<text>", "set<text>"},
        {"map<text,int>", "map<text, int>"},
        {"MAP < varchar , FROZEN < LIST < INT > > >", "map<text, frozen<list<int>>>"},
        {"frozen<map<text, frozen<list<int>>>>", "frozen<map<text, frozen<list<int>>>>"},
        {"tuple<int,double,text>", "tuple<int, double, text>"},
        {"frozen<tuple<int, text>>", "frozen<tuple<int, text>>"},
        {"vector<float, 3>", "vector<float, 3>"},
        {"vector<vector<float,2>,2>", "vector<vector<float, 2>, 2>"},
        {"vector<text, 2147483647>", "vector<text, 2147483647>"},
        {"frozen<vector<float, 3>>", "vector<float, 3>"},  // frozen is implicit for vectors
        {"address", "address"},
        {"frozen<ks.address>", "frozen<ks.address>"},
        {"\"MyKs\".\"My Type\"", "\"MyKs\".\"My Type\""},
        {"\"say \"\"hi\"\"\"", "\"say \"\"hi\"\"\""},
        {"\"list\"", "\"list\""},  // a UDT named like a keyword stays quoted
        {"'org.example.MyType'", "'org.example.MyType'"},
        {"'it''s'", "'it''s'"},
        {"list<frozen<map<uuid, frozen<set<inet>>>>>", "list<frozen<map<uuid, frozen<set<inet>>>>>"},
        {"map<frozen<tuple<int, vector<double, 4>>>, ks.udt>", "map<frozen<tuple<int, vector<double, 4>>>, ks.udt>"},
    };
    for (const auto& [in, canon] : cases) {
        INFO(in);
        auto t = parse_ok(in);
        CHECK(to_cql_name(t) == canon);
        auto again = parse_ok(to_cql_name(t));
        CHECK(again == t);
        if (t.kind != type_kind::vector) CHECK(again.frozen == t.frozen);
    }
    auto udt = parse_ok("\"MyKs\".\"My Type\"");
    CHECK(udt.kind == type_kind::udt);
    CHECK(udt.keyspace == "MyKs");
    CHECK(udt.name == "My Type");
    auto lowered = parse_ok("Ks.Address");
    CHECK(lowered.keyspace == "ks");
    CHECK(lowered.name == "address");
    auto custom = parse_ok("'it''s'");
    CHECK(custom.kind == type_kind::custom);
    CHECK(custom.custom_class == "it's");
    auto vec = parse_ok("vector<float, 3>");
    CHECK(vec.kind == type_kind::vector);
    CHECK(vec.dimension == 3);
    CHECK(vec.params.at(0).kind == type_kind::float_);
    CHECK(parse_ok("frozen<list<int>>").frozen);
    CHECK_FALSE(parse_ok("list<int>").frozen);
}

TEST_CASE("bad type names are rejected", "[types]") {
    const char* bad[] = {
        "",        "list",      "list<",          "list<int",      "list<int>>",  "map<int>",
        "map<int,>", "tuple<>", "vector<float>",  "vector<float, 0>", "vector<float, -1>", "vector<float, x>",
        "vector<float, 2147483648>", "frozen<int>", "frozen<>", "int int", "'unterminated", "''", "ks.",
        "\"unterminated", "list<int,int>", "1abc", "<int>",
    };
    for (const char* s : bad) {
        INFO(s);
        CHECK(parse_error(s) == errc::bad_type_name);
    }
}

TEST_CASE("type name nesting is bounded", "[types]") {
    std::string ok_name, deep_name;
    for (int i = 0; i < max_type_depth; ++i) ok_name += "list<";
    ok_name += "int";
    for (int i = 0; i < max_type_depth; ++i) ok_name += ">";
    CHECK(parse_type_name(ok_name).has_value());

    // Far deeper than the bound: must fail cleanly, not overflow the stack.
    for (int i = 0; i < 100000; ++i) deep_name += "list<";
    CHECK(parse_error(deep_name) == errc::type_nesting_too_deep);
    std::string deep_frozen;
    for (int i = 0; i < 100000; ++i) deep_frozen += "frozen<";
    CHECK(parse_error(deep_frozen) == errc::type_nesting_too_deep);
}

TEST_CASE("marshal classes of native types", "[types]") {
    const std::pair<const char*, type_kind> classes[] = {
        {"AsciiType", type_kind::ascii},       {"LongType", type_kind::bigint},
        {"BytesType", type_kind::blob},        {"BooleanType", type_kind::boolean},
        {"CounterColumnType", type_kind::counter}, {"DecimalType", type_kind::decimal},
        {"DoubleType", type_kind::double_},    {"FloatType", type_kind::float_},
        {"Int32Type", type_kind::int_},        {"TimestampType", type_kind::timestamp},
        {"DateType", type_kind::timestamp},    {"UUIDType", type_kind::uuid},
        {"UTF8Type", type_kind::text},         {"IntegerType", type_kind::varint},
        {"TimeUUIDType", type_kind::timeuuid}, {"InetAddressType", type_kind::inet},
        {"SimpleDateType", type_kind::date},   {"TimeType", type_kind::time},
        {"ShortType", type_kind::smallint},    {"ByteType", type_kind::tinyint},
        {"DurationType", type_kind::duration},
    };
    for (const auto& [cls, kind] : classes) {
        INFO(cls);
        CHECK(marshal_ok(m(cls)).kind == kind);
        CHECK(marshal_ok(cls).kind == kind);  // short names resolve to the marshal package
    }
    CHECK(to_marshal_class(cql_type(type_kind::timestamp)) == m("TimestampType"));
    CHECK(to_marshal_class(cql_type(type_kind::text)) == m("UTF8Type"));
    CHECK(to_marshal_class(cql_type(type_kind::varint)) == m("IntegerType"));
}

TEST_CASE("marshal classes of composite types", "[types]") {
    SECTION("VectorType as Cassandra writes it") {
        std::string cls = m("VectorType(") + m("FloatType") + " , 3)";
        auto t = marshal_ok(cls);
        CHECK(t == cql_type::vector_of(cql_type(type_kind::float_), 3));
        CHECK(to_marshal_class(t) == cls);
        CHECK(marshal_ok(m("VectorType(") + m("FloatType") + ",3)") == t);
        CHECK(marshal_ok("VectorType(FloatType, 3)") == t);
        CHECK(to_cql_name(t) == "vector<float, 3>");
    }
    SECTION("vector elements are frozen, as VectorType.getInstance freezes them") {
        auto t = parse_ok("vector<list<int>, 2>");
        std::string cls = to_marshal_class(t);
        CHECK(cls == m("VectorType(") + m("FrozenType(") + m("ListType(") + m("Int32Type)) , 2)"));
        CHECK(marshal_ok(cls) == t);
    }
    SECTION("collections, frozen and reversed") {
        auto t = marshal_ok(m("MapType(") + m("UTF8Type,") + m("FrozenType(") + m("ListType(") + m("Int32Type)))"));
        CHECK(to_cql_name(t) == "map<text, frozen<list<int>>>");
        CHECK(to_marshal_class(t) == m("MapType(") + m("UTF8Type,") + m("FrozenType(") + m("ListType(") +
                                         m("Int32Type)))"));
        // Inside a frozen type nothing more is wrapped (AbstractType.toString(ignoreFreezing)).
        auto frozen_outer = parse_ok("frozen<list<frozen<set<int>>>>");
        CHECK(to_marshal_class(frozen_outer) ==
              m("FrozenType(") + m("ListType(") + m("SetType(") + m("Int32Type)))"));
        CHECK(marshal_ok(to_marshal_class(frozen_outer)) == frozen_outer);

        auto rev = marshal_ok(m("ReversedType(") + m("TimestampType)"));
        CHECK(rev.kind == type_kind::timestamp);
        auto rev_list = marshal_ok(m("ReversedType(") + m("FrozenType(") + m("ListType(") + m("UTF8Type)))"));
        CHECK(rev_list == cql_type::list_of(cql_type(type_kind::text)));
        CHECK(rev_list.frozen);
        CHECK(marshal_ok(m("TupleType(") + m("Int32Type,") + m("UTF8Type,") + m("DoubleType)")) ==
              parse_ok("tuple<int, text, double>"));
        CHECK(marshal_ok(" SetType ( UUIDType ) ") == parse_ok("set<uuid>"));
    }
    SECTION("UserType with hex names") {
        // UserType(ks,hex(name),hex(field):type,...): "address" = 61646472657373.
        std::string cls = m("UserType(ks,61646472657373,") + "737472656574:" + m("UTF8Type,") + "7a6970:" +
                          m("Int32Type,") + "70686f6e6573:" + m("SetType(") + m("UTF8Type))");
        auto t = marshal_ok(cls);
        REQUIRE(t.kind == type_kind::udt);
        CHECK(t.keyspace == "ks");
        CHECK(t.name == "address");
        CHECK(t.field_names == std::vector<std::string>{"street", "zip", "phones"});
        REQUIRE(t.params.size() == 3);
        CHECK(t.params[0].kind == type_kind::text);
        CHECK(t.params[1].kind == type_kind::int_);
        CHECK(t.params[2] == cql_type::set_of(cql_type(type_kind::text)));
        CHECK(to_marshal_class(t) == cls);
        CHECK(to_cql_name(t) == "ks.address");
        auto frozen = marshal_ok(m("FrozenType(") + cls + ")");
        CHECK(frozen == t);
        CHECK(frozen.frozen);
        CHECK(to_marshal_class(frozen) == m("FrozenType(") + cls + ")");
        // Names with bytes that need quoting in CQL survive both forms.
        auto odd = cql_type::udt_of("ks", "Odd \"Name\"", {"A b", ""}, {cql_type(type_kind::int_), cql_type(type_kind::text)});
        CHECK(marshal_ok(to_marshal_class(odd)) == odd);
        CHECK(to_cql_name(odd) == "ks.\"Odd \"\"Name\"\"\"");
        CHECK(parse_ok(to_cql_name(odd)).name == "Odd \"Name\"");
    }
    SECTION("unknown classes are custom, not errors") {
        auto t = marshal_ok("org.example.MyType");
        CHECK(t.kind == type_kind::custom);
        CHECK(t.custom_class == "org.example.MyType");
        auto comp = marshal_ok(m("CompositeType(") + m("Int32Type,") + m("UTF8Type)"));
        CHECK(comp.kind == type_kind::custom);
        CHECK(comp.custom_class == m("CompositeType(") + m("Int32Type,") + m("UTF8Type)"));
        auto dyn = marshal_ok(m("DynamicCompositeType(a=>") + m("Int32Type,b=>") + m("UTF8Type)"));
        CHECK(dyn.kind == type_kind::custom);
        auto nested = marshal_ok(m("ListType(org.example.Thing)"));
        CHECK(nested == cql_type::list_of(cql_type::custom_of("org.example.Thing")));
        CHECK(to_marshal_class(nested) == m("ListType(org.example.Thing)"));
        CHECK(to_cql_name(nested) == "list<'org.example.Thing'>");
        CHECK(parse_ok(to_cql_name(nested)) == nested);
    }
}

TEST_CASE("bad marshal classes are rejected", "[types]") {
    const std::string bad[] = {
        "",
        "(",
        m("ListType("),
        m("ListType()"),
        m("ListType(") + m("Int32Type"),
        m("MapType(") + m("Int32Type)"),
        m("VectorType(") + m("FloatType)"),
        m("VectorType(") + m("FloatType , 0)"),
        m("VectorType(") + m("FloatType , x)"),
        m("VectorType(") + m("FloatType , 2147483648)"),
        m("UserType(ks,6g,") + "61:" + m("Int32Type)"),
        m("UserType(ks,616,") + "61:" + m("Int32Type)"),
        m("UserType(ks,61,") + "61" + m("Int32Type)"),
        m("Int32Type(x)"),
        m("Int32Type) "),
        "org.example.Unbalanced(a(b)",
    };
    for (const auto& s : bad) {
        INFO(s);
        CHECK(marshal_error(s) == errc::bad_custom_type);
    }
    std::string deep;
    for (int i = 0; i < 10000; ++i) deep += m("ListType(");
    CHECK(marshal_error(deep) == errc::type_nesting_too_deep);
}

TEST_CASE("read_option maps custom VectorType and keeps unknown classes", "[types]") {
    byte_buffer buf;
    byte_writer w(buf);
    w.u16(0x0000);
    w.string(m("VectorType(") + m("FloatType") + " , 3)");
    w.u16(0x0000);
    w.string("org.example.MyType");
    w.u16(0x0000);
    w.string(m("ListType("));  // malformed: stays custom
    byte_reader r(buf);
    auto v = read_option(r);
    auto c = read_option(r);
    auto bad = read_option(r);
    REQUIRE(r.ok());
    CHECK(r.empty());
    CHECK(v == cql_type::vector_of(cql_type(type_kind::float_), 3));
    CHECK(c == cql_type::custom_of("org.example.MyType"));
    CHECK(bad.kind == type_kind::custom);

    // And write_option writes the vector back as the same custom class.
    byte_buffer out;
    byte_writer w2(out);
    write_option(w2, v);
    byte_reader r2(out);
    CHECK(r2.u16() == 0);
    CHECK(r2.string() == m("VectorType(") + m("FloatType") + " , 3)");
}

TEST_CASE("every type survives name -> marshal -> name", "[types]") {
    const char* names[] = {
        "int", "list<frozen<map<text, frozen<set<uuid>>>>>", "tuple<int, text, vector<float, 8>>",
        "frozen<ks.address>", "vector<frozen<tuple<int, smallint>>, 3>", "map<timeuuid, duration>",
        "'org.example.Foo'",
    };
    for (const char* n : names) {
        INFO(n);
        auto t = parse_ok(n);
        if (t.kind == type_kind::udt) {
            // CQL names carry no fields; give it some so the marshal form is complete.
            t.field_names = {"street"};
            t.params = {cql_type(type_kind::text)};
        }
        auto back = marshal_ok(to_marshal_class(t));
        CHECK(back == t);  // frozen-ness inside a frozen type is implicit in the marshal form
        CHECK(back.frozen == t.frozen);
    }
}
