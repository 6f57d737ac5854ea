#include "codec.hpp"

#include "cqlpp/protocol/value.hpp"

#include <datetime.h>

#include <bit>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>

namespace cqlpy {

namespace proto = cqlpp::protocol;
using proto::type_kind;

py_types& types() {
    static py_types t;
    return t;
}

void init_datetime() { PyDateTime_IMPORT; }

decode_ctx::~decode_ctx() {
    for (auto& [k, v] : udt_classes) Py_XDECREF(v);
}

std::string type_name(const proto::cql_type& t) { return proto::to_cql_name(t); }

namespace {

constexpr std::int64_t ms_per_day = 86'400'000;
constexpr std::int64_t ns_per_day = 86'400'000'000'000;

std::uint64_t be(const std::uint8_t* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) v = (v << 8) | p[i];
    return v;
}
void put_be(proto::byte_buffer& out, std::uint64_t v, std::size_t n) {
    for (std::size_t i = n; i-- > 0;) out.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
}
void put_i32(proto::byte_buffer& out, std::int32_t v) { put_be(out, static_cast<std::uint32_t>(v), 4); }

PyObject* bad(const proto::cql_type& t, const char* why) {
    PyErr_Format(PyExc_ValueError, "malformed %s value: %s", type_name(t).c_str(), why);
    return nullptr;
}

bool type_error(const proto::cql_type& t, PyObject* v, const char* expected) {
    PyErr_Format(PyExc_TypeError, "%s value expected (%s), got %s", type_name(t).c_str(), expected,
                 Py_TYPE(v)->tp_name);
    return false;
}

// Cassandra's unsigned vint: leading one bits of the first byte = extra bytes.
bool read_uvint(const std::uint8_t*& p, const std::uint8_t* end, std::uint64_t& out) noexcept {
    if (p >= end) return false;
    const std::uint8_t first = *p++;
    const int extra = std::countl_one(first);
    if (end - p < extra) return false;
    std::uint64_t v = extra >= 8 ? 0 : (first & (0xFFu >> extra));
    for (int i = 0; i < extra; ++i) v = (v << 8) | *p++;
    out = v;
    return true;
}
void write_uvint(proto::byte_buffer& out, std::uint64_t v) {
    const int bits = 64 - std::countl_zero(v | 1);
    int size = 1;
    while (size < 9 && bits > 7 * size) ++size;  // `size` bytes carry 7*size bits (9 bytes: 64)
    const int extra = size - 1;
    const std::size_t pos = out.size();
    put_be(out, v, static_cast<std::size_t>(size) > 8 ? 8 : static_cast<std::size_t>(size));
    if (size == 9) {
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(pos), 0xFF);
    } else {
        out[pos] |= static_cast<std::uint8_t>(~(0xFFu >> extra));
    }
}
std::int64_t unzigzag(std::uint64_t v) noexcept { return static_cast<std::int64_t>((v >> 1) ^ (~(v & 1) + 1)); }
std::uint64_t zigzag(std::int64_t v) noexcept {
    return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}

std::int64_t floor_div(std::int64_t a, std::int64_t b) noexcept {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

PyObject* call1(PyObject* f, PyObject* arg) {  // steals arg
    if (!arg) return nullptr;
    PyObject* r = PyObject_CallOneArg(f, arg);
    Py_DECREF(arg);
    return r;
}

PyObject* decode_date_days(std::int64_t days) {
    using namespace std::chrono;
    const year_month_day ymd{sys_days{std::chrono::days{days}}};
    const int y = static_cast<int>(ymd.year());
    if (y < 1 || y > 9999) return PyLong_FromLongLong(days);  // beyond datetime.date: the day count
    return PyDate_FromDate(y, static_cast<int>(static_cast<unsigned>(ymd.month())),
                           static_cast<int>(static_cast<unsigned>(ymd.day())));
}

PyObject* decode_timestamp(std::int64_t ms) {
    using namespace std::chrono;
    const std::int64_t days = floor_div(ms, ms_per_day);
    std::int64_t rem = ms - days * ms_per_day;
    const year_month_day ymd{sys_days{std::chrono::days{days}}};
    const int y = static_cast<int>(ymd.year());
    if (y < 1 || y > 9999) return PyLong_FromLongLong(ms);
    const int h = static_cast<int>(rem / 3'600'000);
    rem %= 3'600'000;
    const int mi = static_cast<int>(rem / 60'000);
    rem %= 60'000;
    return PyDateTime_FromDateAndTime(y, static_cast<int>(static_cast<unsigned>(ymd.month())),
                                      static_cast<int>(static_cast<unsigned>(ymd.day())), h, mi,
                                      static_cast<int>(rem / 1000), static_cast<int>(rem % 1000) * 1000);
}

std::int64_t days_of(int y, int m, int d) {
    using namespace std::chrono;
    return sys_days{year{y} / month{static_cast<unsigned>(m)} / day{static_cast<unsigned>(d)}}.time_since_epoch().count();
}

bool as_int64(PyObject* v, std::int64_t& out) {
    int overflow = 0;
    out = PyLong_AsLongLongAndOverflow(v, &overflow);
    if (overflow) {
        PyErr_SetString(PyExc_OverflowError, "integer out of range for a 64-bit CQL type");
        return false;
    }
    return !(out == -1 && PyErr_Occurred());
}

bool encode_varint(PyObject* v, proto::byte_buffer& out) {
    const std::int64_t bits = static_cast<std::int64_t>(_PyLong_NumBits(v));
    if (bits < 0) return false;
    const std::size_t n = static_cast<std::size_t>(bits / 8 + 1);
    const std::size_t pos = out.size();
    out.resize(pos + n);
    if (_PyLong_AsByteArray(reinterpret_cast<PyLongObject*>(v), out.data() + pos, n, 0, 1) < 0) {
        out.resize(pos);
        return false;
    }
    return true;
}

// Elements of a list/set/vector argument as a new list (any iterable).
PyObject* as_seq(PyObject* v) { return PySequence_Fast(v, "an iterable is required"); }

bool encode_element(const proto::cql_type& t, PyObject* v, proto::byte_buffer& out, bool null_ok) {
    if (v == Py_None) {
        if (!null_ok) {
            PyErr_Format(PyExc_ValueError, "collection elements of %s cannot be None", type_name(t).c_str());
            return false;
        }
        put_i32(out, -1);
        return true;
    }
    const std::size_t pos = out.size();
    out.resize(pos + 4);
    if (!encode(t, v, out)) return false;
    const std::size_t len = out.size() - pos - 4;
    if (len > static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max())) {
        PyErr_SetString(PyExc_OverflowError, "value too large");
        return false;
    }
    proto::detail::store_be32(out.data() + pos, static_cast<std::uint32_t>(len));
    return true;
}

// Struct-like field of a UDT: mapping key, attribute, or None when missing.
PyObject* udt_field(PyObject* v, const std::string& name) {  // new reference
    if (PyDict_Check(v)) {
        PyObject* r = PyDict_GetItemString(v, name.c_str());
        Py_XINCREF(r);
        if (!r) Py_RETURN_NONE;
        return r;
    }
    PyObject* r = PyObject_GetAttrString(v, name.c_str());
    if (!r) {
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return r;
}

}  // namespace

PyObject* decode(const proto::cql_type& t, const std::uint8_t* p, std::size_t n, decode_ctx& ctx) {
    if (!p || (n == 0 && proto::zero_length_is_empty(t))) Py_RETURN_NONE;
    switch (t.kind) {
        case type_kind::ascii:
        case type_kind::text:
            return PyUnicode_DecodeUTF8(reinterpret_cast<const char*>(p), static_cast<Py_ssize_t>(n), "strict");
        case type_kind::bigint:
        case type_kind::counter:
            if (n != 8) return bad(t, "expected 8 bytes");
            return PyLong_FromLongLong(static_cast<std::int64_t>(be(p, 8)));
        case type_kind::int_:
            if (n != 4) return bad(t, "expected 4 bytes");
            return PyLong_FromLong(static_cast<std::int32_t>(be(p, 4)));
        case type_kind::smallint:
            if (n != 2) return bad(t, "expected 2 bytes");
            return PyLong_FromLong(static_cast<std::int16_t>(be(p, 2)));
        case type_kind::tinyint:
            if (n != 1) return bad(t, "expected 1 byte");
            return PyLong_FromLong(static_cast<std::int8_t>(p[0]));
        case type_kind::blob:
        case type_kind::custom:
            return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(p), static_cast<Py_ssize_t>(n));
        case type_kind::boolean:
            if (n != 1) return bad(t, "expected 1 byte");
            return PyBool_FromLong(p[0] != 0);
        case type_kind::double_: {
            if (n != 8) return bad(t, "expected 8 bytes");
            return PyFloat_FromDouble(std::bit_cast<double>(be(p, 8)));
        }
        case type_kind::float_: {
            if (n != 4) return bad(t, "expected 4 bytes");
            return PyFloat_FromDouble(std::bit_cast<float>(static_cast<std::uint32_t>(be(p, 4))));
        }
        case type_kind::varint:
            return _PyLong_FromByteArray(p, n, 0, 1);
        case type_kind::decimal: {
            if (n < 5) return bad(t, "expected a scale and an unscaled value");
            const auto scale = static_cast<std::int32_t>(be(p, 4));
            PyObject* unscaled = _PyLong_FromByteArray(p + 4, n - 4, 0, 1);
            if (!unscaled) return nullptr;
            // Through text, so the value is exact whatever the context's precision.
            PyObject* s = PyUnicode_FromFormat("%SE%lld", unscaled, -static_cast<long long>(scale));
            Py_DECREF(unscaled);
            return call1(types().decimal_cls, s);
        }
        case type_kind::timestamp:
            if (n != 8) return bad(t, "expected 8 bytes");
            return decode_timestamp(static_cast<std::int64_t>(be(p, 8)));
        case type_kind::date:
            if (n != 4) return bad(t, "expected 4 bytes");
            return decode_date_days(static_cast<std::int64_t>(be(p, 4)) - (std::int64_t{1} << 31));
        case type_kind::time: {
            if (n != 8) return bad(t, "expected 8 bytes");
            const auto ns = static_cast<std::int64_t>(be(p, 8));
            if (ns < 0 || ns >= ns_per_day) return bad(t, "time of day out of range");
            const std::int64_t us = ns / 1000;
            return PyTime_FromTime(static_cast<int>(us / 3'600'000'000), static_cast<int>(us / 60'000'000 % 60),
                                   static_cast<int>(us / 1'000'000 % 60), static_cast<int>(us % 1'000'000));
        }
        case type_kind::uuid:
        case type_kind::timeuuid: {
            if (n != 16) return bad(t, "expected 16 bytes");
            PyObject* b = PyBytes_FromStringAndSize(reinterpret_cast<const char*>(p), 16);
            if (!b) return nullptr;
            static PyObject* kw = Py_BuildValue("(s)", "bytes");
            PyObject* args[] = {nullptr, b};
            PyObject* r = PyObject_Vectorcall(types().uuid_cls, args + 1, PY_VECTORCALL_ARGUMENTS_OFFSET, kw);
            Py_DECREF(b);
            // A UUID holds an int and an enum member and refuses attribute assignment:
            // it cannot be part of a cycle, so the collector need not traverse it
            // (nor the row holding it: see row_builder).
            if (r && Py_TYPE(r) == reinterpret_cast<PyTypeObject*>(types().uuid_cls) && PyObject_IS_GC(r))
                PyObject_GC_UnTrack(r);
            return r;
        }
        case type_kind::inet:
            if (n != 4 && n != 16) return bad(t, "expected 4 or 16 bytes");
            return call1(types().ip_address,
                         PyBytes_FromStringAndSize(reinterpret_cast<const char*>(p), static_cast<Py_ssize_t>(n)));
        case type_kind::duration: {
            const std::uint8_t* q = p;
            const std::uint8_t* end = p + n;
            std::uint64_t m = 0, d = 0, ns = 0;
            if (!read_uvint(q, end, m) || !read_uvint(q, end, d) || !read_uvint(q, end, ns) || q != end)
                return bad(t, "bad vints");
            return PyObject_CallFunction(types().duration_cls, "LLL", static_cast<long long>(unzigzag(m)),
                                         static_cast<long long>(unzigzag(d)), static_cast<long long>(unzigzag(ns)));
        }
        case type_kind::list:
        case type_kind::set:
        case type_kind::map: {
            if (t.params.empty() || (t.kind == type_kind::map && t.params.size() < 2)) return bad(t, "no element type");
            if (n < 4) return bad(t, "truncated count");
            const auto count = static_cast<std::int32_t>(be(p, 4));
            const std::size_t per = t.kind == type_kind::map ? 8 : 4;
            if (count < 0 || static_cast<std::size_t>(count) > (n - 4) / per) return bad(t, "bad element count");
            const std::uint8_t* q = p + 4;
            const std::uint8_t* end = p + n;
            auto next = [&](const proto::cql_type& et) -> PyObject* {
                if (end - q < 4) return bad(t, "truncated element");
                const auto len = static_cast<std::int32_t>(be(q, 4));
                q += 4;
                if (len < 0) return bad(t, "null element");
                if (end - q < len) return bad(t, "truncated element");
                PyObject* r = decode(et, q, static_cast<std::size_t>(len), ctx);
                q += len;
                return r;
            };
            if (t.kind == type_kind::map) {
                PyObject* d = PyDict_New();
                PyObject* pairs = nullptr;  // unhashable keys: a list of (k, v) pairs instead
                for (std::int32_t i = 0; d && i < count; ++i) {
                    PyObject* k = next(t.params[0]);
                    PyObject* v = k ? next(t.params[1]) : nullptr;
                    if (!v) {
                        Py_XDECREF(k);
                        Py_CLEAR(d);
                        Py_CLEAR(pairs);
                        break;
                    }
                    if (!pairs && PyDict_SetItem(d, k, v) < 0) {
                        PyErr_Clear();
                        pairs = PyList_New(0);
                        PyObject *dk, *dv;
                        Py_ssize_t pos = 0;
                        while (PyDict_Next(d, &pos, &dk, &dv)) PyList_Append(pairs, PyTuple_Pack(2, dk, dv));
                    }
                    if (pairs) {
                        PyObject* tup = PyTuple_Pack(2, k, v);
                        PyList_Append(pairs, tup);
                        Py_DECREF(tup);
                    }
                    Py_DECREF(k);
                    Py_DECREF(v);
                }
                if (pairs) {
                    Py_XDECREF(d);
                    return pairs;
                }
                return d;
            }
            PyObject* list = PyList_New(count);
            if (!list) return nullptr;
            for (std::int32_t i = 0; i < count; ++i) {
                PyObject* e = next(t.params[0]);
                if (!e) {
                    Py_DECREF(list);
                    return nullptr;
                }
                PyList_SET_ITEM(list, i, e);
            }
            if (t.kind == type_kind::set) {
                PyObject* s = PySet_New(list);
                if (s) {
                    Py_DECREF(list);
                    return s;
                }
                PyErr_Clear();  // unhashable elements (frozen lists): keep the list
            }
            return list;
        }
        case type_kind::tuple:
        case type_kind::udt: {
            const std::size_t fields = t.params.size();
            PyObject* tup = PyTuple_New(static_cast<Py_ssize_t>(fields));
            if (!tup) return nullptr;
            const std::uint8_t* q = p;
            const std::uint8_t* end = p + n;
            for (std::size_t i = 0; i < fields; ++i) {
                PyObject* e;
                if (q >= end) {  // missing trailing fields read as null
                    e = Py_NewRef(Py_None);
                } else if (end - q < 4) {
                    e = bad(t, "truncated field");
                } else {
                    const auto len = static_cast<std::int32_t>(be(q, 4));
                    q += 4;
                    if (len < 0) {
                        e = Py_NewRef(Py_None);
                    } else if (end - q < len) {
                        e = bad(t, "truncated field");
                    } else {
                        e = decode(t.params[i], q, static_cast<std::size_t>(len), ctx);
                        q += len;
                    }
                }
                if (!e) {
                    Py_DECREF(tup);
                    return nullptr;
                }
                PyTuple_SET_ITEM(tup, static_cast<Py_ssize_t>(i), e);
            }
            if (t.kind == type_kind::tuple) return tup;
            auto it = ctx.udt_classes.find(&t);
            PyObject* cls;
            if (it != ctx.udt_classes.end()) {
                cls = it->second;
            } else {
                PyObject* names = PyTuple_New(static_cast<Py_ssize_t>(t.field_names.size()));
                for (std::size_t i = 0; i < t.field_names.size(); ++i)
                    PyTuple_SET_ITEM(names, static_cast<Py_ssize_t>(i), PyUnicode_FromString(t.field_names[i].c_str()));
                cls = PyObject_CallFunction(types().udt_class, "ssN", t.keyspace.c_str(), t.name.c_str(), names);
                if (!cls) {
                    Py_DECREF(tup);
                    return nullptr;
                }
                ctx.udt_classes.emplace(&t, cls);
            }
            PyObject* r = PyObject_Call(cls, tup, nullptr);
            Py_DECREF(tup);
            return r;
        }
        case type_kind::vector: {
            if (t.params.empty()) return bad(t, "no element type");
            const auto& et = t.params[0];
            const auto fixed = proto::fixed_value_size(et);
            PyObject* list = PyList_New(static_cast<Py_ssize_t>(t.dimension));
            if (!list) return nullptr;
            const std::uint8_t* q = p;
            const std::uint8_t* end = p + n;
            for (std::uint32_t i = 0; i < t.dimension; ++i) {
                std::uint64_t len = 0;
                PyObject* e;
                if (fixed) {
                    len = *fixed;
                } else if (!read_uvint(q, end, len)) {
                    len = ~std::uint64_t{0};
                }
                if (len > static_cast<std::uint64_t>(end - q)) {
                    e = bad(t, "truncated element");
                } else {
                    e = decode(et, q, static_cast<std::size_t>(len), ctx);
                    q += len;
                }
                if (!e) {
                    Py_DECREF(list);
                    return nullptr;
                }
                PyList_SET_ITEM(list, i, e);
            }
            if (q != end) {
                Py_DECREF(list);
                return bad(t, "trailing bytes");
            }
            return list;
        }
    }
    return PyBytes_FromStringAndSize(reinterpret_cast<const char*>(p), static_cast<Py_ssize_t>(n));
}

bool encode(const proto::cql_type& t, PyObject* v, proto::byte_buffer& out) {
    switch (t.kind) {
        case type_kind::ascii:
        case type_kind::text: {
            if (!PyUnicode_Check(v)) return type_error(t, v, "str");
            Py_ssize_t len = 0;
            const char* s = PyUnicode_AsUTF8AndSize(v, &len);
            if (!s) return false;
            if (t.kind == type_kind::ascii) {
                for (Py_ssize_t i = 0; i < len; ++i)
                    if (static_cast<unsigned char>(s[i]) > 127) {
                        PyErr_SetString(PyExc_ValueError, "non-ASCII character in an ascii value");
                        return false;
                    }
            }
            out.insert(out.end(), s, s + len);
            return true;
        }
        case type_kind::bigint:
        case type_kind::counter:
        case type_kind::int_:
        case type_kind::smallint:
        case type_kind::tinyint: {
            if (!PyLong_Check(v)) return type_error(t, v, "int");
            std::int64_t x = 0;
            if (!as_int64(v, x)) return false;
            const std::size_t w = t.kind == type_kind::int_ ? 4 : t.kind == type_kind::smallint ? 2 : t.kind == type_kind::tinyint ? 1 : 8;
            if (w < 8) {
                const std::int64_t lim = std::int64_t{1} << (8 * w - 1);
                if (x < -lim || x >= lim) {
                    PyErr_Format(PyExc_OverflowError, "%lld out of range for %s", static_cast<long long>(x),
                                 type_name(t).c_str());
                    return false;
                }
            }
            put_be(out, static_cast<std::uint64_t>(x), w);
            return true;
        }
        case type_kind::varint:
            if (!PyLong_Check(v)) return type_error(t, v, "int");
            return encode_varint(v, out);
        case type_kind::blob:
        case type_kind::custom: {
            Py_buffer b;
            if (PyUnicode_Check(v) || PyObject_GetBuffer(v, &b, PyBUF_SIMPLE) < 0) {
                PyErr_Clear();
                return type_error(t, v, "bytes");
            }
            const auto* s = static_cast<const std::uint8_t*>(b.buf);
            out.insert(out.end(), s, s + b.len);
            PyBuffer_Release(&b);
            return true;
        }
        case type_kind::boolean:
            if (!PyBool_Check(v) && !PyLong_Check(v)) return type_error(t, v, "bool");
            out.push_back(PyObject_IsTrue(v) ? 1 : 0);
            return true;
        case type_kind::double_:
        case type_kind::float_: {
            if (!PyFloat_Check(v) && !PyLong_Check(v)) return type_error(t, v, "float");
            const double d = PyFloat_AsDouble(v);
            if (d == -1.0 && PyErr_Occurred()) return false;
            if (t.kind == type_kind::double_) put_be(out, std::bit_cast<std::uint64_t>(d), 8);
            else put_be(out, std::bit_cast<std::uint32_t>(static_cast<float>(d)), 4);
            return true;
        }
        case type_kind::decimal: {
            PyObject* dec = nullptr;
            if (PyObject_IsInstance(v, types().decimal_cls) == 1) {
                dec = Py_NewRef(v);
            } else if (PyLong_Check(v)) {
                dec = PyObject_CallOneArg(types().decimal_cls, v);
            } else if (PyFloat_Check(v)) {
                dec = call1(types().decimal_cls, PyObject_Str(v));  // 0.1 -> Decimal('0.1'), as written
            } else {
                return type_error(t, v, "decimal.Decimal");
            }
            if (!dec) return false;
            // as_tuple(): (sign, digits, exponent)
            PyObject* tup = PyObject_CallMethod(dec, "as_tuple", nullptr);
            Py_DECREF(dec);
            if (!tup) return false;
            PyObject* exp = PyTuple_GetItem(tup, 2);
            if (!PyLong_Check(exp)) {
                Py_DECREF(tup);
                PyErr_SetString(PyExc_ValueError, "NaN and Infinity are not CQL decimals");
                return false;
            }
            const long e = PyLong_AsLong(exp);
            // unscaled = int(''.join(digits)) with the sign
            PyObject* digits = PyTuple_GetItem(tup, 1);
            PyObject* unscaled = PyLong_FromLong(0);
            PyObject* ten = PyLong_FromLong(10);
            for (Py_ssize_t i = 0; unscaled && i < PyTuple_GET_SIZE(digits); ++i) {
                PyObject* m = PyNumber_Multiply(unscaled, ten);
                Py_DECREF(unscaled);
                unscaled = m ? PyNumber_Add(m, PyTuple_GET_ITEM(digits, i)) : nullptr;
                Py_XDECREF(m);
            }
            Py_DECREF(ten);
            if (unscaled && PyLong_AsLong(PyTuple_GetItem(tup, 0)) == 1) {
                PyObject* neg = PyNumber_Negative(unscaled);
                Py_DECREF(unscaled);
                unscaled = neg;
            }
            Py_DECREF(tup);
            if (!unscaled) return false;
            put_i32(out, static_cast<std::int32_t>(-e));
            const bool ok = encode_varint(unscaled, out);
            Py_DECREF(unscaled);
            return ok;
        }
        case type_kind::timestamp: {
            std::int64_t ms = 0;
            if (PyDateTime_Check(v)) {
                ms = days_of(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v)) * ms_per_day +
                     PyDateTime_DATE_GET_HOUR(v) * 3'600'000LL + PyDateTime_DATE_GET_MINUTE(v) * 60'000LL +
                     PyDateTime_DATE_GET_SECOND(v) * 1000LL + PyDateTime_DATE_GET_MICROSECOND(v) / 1000;
                PyObject* off = PyObject_CallMethod(v, "utcoffset", nullptr);
                if (!off) return false;
                if (off != Py_None) {
                    ms -= (static_cast<std::int64_t>(PyDateTime_DELTA_GET_DAYS(off)) * 86400 +
                           PyDateTime_DELTA_GET_SECONDS(off)) * 1000 +
                          PyDateTime_DELTA_GET_MICROSECONDS(off) / 1000;
                }
                Py_DECREF(off);
            } else if (PyDate_Check(v)) {
                ms = days_of(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v)) * ms_per_day;
            } else if (PyLong_Check(v)) {
                if (!as_int64(v, ms)) return false;
            } else if (PyFloat_Check(v)) {  // seconds since the epoch, as time.time()
                ms = static_cast<std::int64_t>(std::llround(PyFloat_AS_DOUBLE(v) * 1000.0));
            } else {
                return type_error(t, v, "datetime, or int milliseconds");
            }
            put_be(out, static_cast<std::uint64_t>(ms), 8);
            return true;
        }
        case type_kind::date: {
            std::int64_t days = 0;
            if (PyDate_Check(v)) {
                days = days_of(PyDateTime_GET_YEAR(v), PyDateTime_GET_MONTH(v), PyDateTime_GET_DAY(v));
            } else if (PyLong_Check(v)) {
                if (!as_int64(v, days)) return false;
            } else {
                return type_error(t, v, "datetime.date, or int days since 1970-01-01");
            }
            if (days < std::numeric_limits<std::int32_t>::min() || days > std::numeric_limits<std::int32_t>::max()) {
                PyErr_SetString(PyExc_OverflowError, "date out of range");
                return false;
            }
            put_be(out, static_cast<std::uint64_t>(days + (std::int64_t{1} << 31)), 4);
            return true;
        }
        case type_kind::time: {
            std::int64_t ns = 0;
            if (PyTime_Check(v)) {
                ns = ((PyDateTime_TIME_GET_HOUR(v) * 60LL + PyDateTime_TIME_GET_MINUTE(v)) * 60 +
                      PyDateTime_TIME_GET_SECOND(v)) * 1'000'000'000LL +
                     PyDateTime_TIME_GET_MICROSECOND(v) * 1000LL;
            } else if (PyLong_Check(v)) {
                if (!as_int64(v, ns)) return false;
            } else {
                return type_error(t, v, "datetime.time, or int nanoseconds since midnight");
            }
            if (ns < 0 || ns >= ns_per_day) {
                PyErr_SetString(PyExc_ValueError, "time of day out of range");
                return false;
            }
            put_be(out, static_cast<std::uint64_t>(ns), 8);
            return true;
        }
        case type_kind::uuid:
        case type_kind::timeuuid: {
            PyObject* b = nullptr;
            if (PyUnicode_Check(v)) {
                PyObject* u = PyObject_CallOneArg(types().uuid_cls, v);
                if (!u) return false;
                b = PyObject_GetAttrString(u, "bytes");
                Py_DECREF(u);
            } else {
                b = PyObject_GetAttrString(v, "bytes");
            }
            if (!b || !PyBytes_Check(b) || PyBytes_GET_SIZE(b) != 16) {
                Py_XDECREF(b);
                PyErr_Clear();
                return type_error(t, v, "uuid.UUID");
            }
            const auto* s = reinterpret_cast<const std::uint8_t*>(PyBytes_AS_STRING(b));
            if (t.kind == type_kind::timeuuid && (s[6] >> 4) != 1) {
                Py_DECREF(b);
                PyErr_SetString(PyExc_ValueError, "a timeuuid value must be a version 1 UUID");
                return false;
            }
            out.insert(out.end(), s, s + 16);
            Py_DECREF(b);
            return true;
        }
        case type_kind::inet: {
            PyObject* a = PyUnicode_Check(v) ? PyObject_CallOneArg(types().ip_address, v) : Py_NewRef(v);
            if (!a) return false;
            PyObject* b = PyObject_GetAttrString(a, "packed");
            Py_DECREF(a);
            if (!b || !PyBytes_Check(b)) {
                Py_XDECREF(b);
                PyErr_Clear();
                return type_error(t, v, "ipaddress.IPv4Address/IPv6Address or str");
            }
            const auto* s = reinterpret_cast<const std::uint8_t*>(PyBytes_AS_STRING(b));
            out.insert(out.end(), s, s + PyBytes_GET_SIZE(b));
            Py_DECREF(b);
            return true;
        }
        case type_kind::duration: {
            std::int64_t f[3] = {0, 0, 0};
            static const char* names[] = {"months", "days", "nanoseconds"};
            for (int i = 0; i < 3; ++i) {
                PyObject* x = PyObject_GetAttrString(v, names[i]);
                if (!x) {
                    PyErr_Clear();
                    return type_error(t, v, "cqlpp.Duration");
                }
                const bool ok = PyLong_Check(x) && as_int64(x, f[i]);
                Py_DECREF(x);
                if (!ok) {
                    if (!PyErr_Occurred()) type_error(t, v, "cqlpp.Duration with int fields");
                    return false;
                }
            }
            for (auto x : f) write_uvint(out, zigzag(x));
            return true;
        }
        case type_kind::list:
        case type_kind::set: {
            if (t.params.empty() || PyUnicode_Check(v) || PyBytes_Check(v) || PyDict_Check(v))
                return type_error(t, v, "list, set or tuple");
            PyObject* seq = as_seq(v);
            if (!seq) return false;
            const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
            put_i32(out, static_cast<std::int32_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i)
                if (!encode_element(t.params[0], PySequence_Fast_GET_ITEM(seq, i), out, false)) {
                    Py_DECREF(seq);
                    return false;
                }
            Py_DECREF(seq);
            return true;
        }
        case type_kind::map: {
            if (t.params.size() < 2) return type_error(t, v, "dict");
            PyObject* items = PyMapping_Check(v) && !PySequence_Check(v) ? PyMapping_Items(v) : as_seq(v);
            if (!items) {
                PyErr_Clear();
                return type_error(t, v, "dict");
            }
            PyObject* seq = as_seq(items);
            Py_DECREF(items);
            if (!seq) return false;
            const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
            put_i32(out, static_cast<std::int32_t>(n));
            for (Py_ssize_t i = 0; i < n; ++i) {
                PyObject* kv = PySequence_Fast_GET_ITEM(seq, i);
                if (!PyTuple_Check(kv) || PyTuple_GET_SIZE(kv) != 2) {
                    Py_DECREF(seq);
                    return type_error(t, v, "dict or (key, value) pairs");
                }
                if (!encode_element(t.params[0], PyTuple_GET_ITEM(kv, 0), out, false) ||
                    !encode_element(t.params[1], PyTuple_GET_ITEM(kv, 1), out, false)) {
                    Py_DECREF(seq);
                    return false;
                }
            }
            Py_DECREF(seq);
            return true;
        }
        case type_kind::tuple: {
            if (!PyTuple_Check(v) && !PyList_Check(v)) return type_error(t, v, "tuple");
            PyObject* seq = as_seq(v);
            if (!seq) return false;
            const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
            if (static_cast<std::size_t>(n) > t.params.size()) {
                Py_DECREF(seq);
                PyErr_Format(PyExc_ValueError, "%zd values for %s", n, type_name(t).c_str());
                return false;
            }
            for (Py_ssize_t i = 0; i < n; ++i)
                if (!encode_element(t.params[static_cast<std::size_t>(i)], PySequence_Fast_GET_ITEM(seq, i), out, true)) {
                    Py_DECREF(seq);
                    return false;
                }
            Py_DECREF(seq);
            return true;
        }
        case type_kind::udt: {
            if (PyTuple_Check(v) && !PyObject_HasAttrString(v, "_fields")) {  // plain tuple: fields in order
                return encode(proto::cql_type::tuple_of(t.params), v, out);
            }
            for (std::size_t i = 0; i < t.params.size(); ++i) {
                PyObject* f = udt_field(v, t.field_names[i]);
                const bool ok = encode_element(t.params[i], f, out, true);
                Py_DECREF(f);
                if (!ok) return false;
            }
            return true;
        }
        case type_kind::vector: {
            if (t.params.empty() || PyUnicode_Check(v) || PyBytes_Check(v)) return type_error(t, v, "list");
            PyObject* seq = as_seq(v);
            if (!seq) return false;
            const Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
            if (static_cast<std::uint64_t>(n) != t.dimension) {
                Py_DECREF(seq);
                PyErr_Format(PyExc_ValueError, "%s needs %u elements, got %zd", type_name(t).c_str(), t.dimension, n);
                return false;
            }
            const auto& et = t.params[0];
            const bool fixed = proto::fixed_value_size(et).has_value();
            proto::byte_buffer tmp;
            for (Py_ssize_t i = 0; i < n; ++i) {
                PyObject* e = PySequence_Fast_GET_ITEM(seq, i);
                if (e == Py_None) {
                    Py_DECREF(seq);
                    PyErr_SetString(PyExc_ValueError, "vector elements cannot be None");
                    return false;
                }
                bool ok;
                if (fixed) {
                    ok = encode(et, e, out);
                } else {
                    tmp.clear();
                    ok = encode(et, e, tmp);
                    if (ok) {
                        write_uvint(out, tmp.size());
                        out.insert(out.end(), tmp.begin(), tmp.end());
                    }
                }
                if (!ok) {
                    Py_DECREF(seq);
                    return false;
                }
            }
            Py_DECREF(seq);
            return true;
        }
    }
    return type_error(t, v, "a supported value");
}

}  // namespace cqlpy
