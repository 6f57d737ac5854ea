// Python objects <-> CQL value bytes, driven by the column / marker types.
// Every function here runs with the GIL held. Decoders never throw: on bad
// bytes they return null with a Python ValueError set.
#pragma once

#include "cqlpp/protocol/bytes.hpp"
#include "cqlpp/protocol/types.hpp"

#include <Python.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace cqlpy {

// Python helpers the codec calls (set once at import by cqlpp/__init__.py).
struct py_types {
    PyObject* uuid_cls = nullptr;      // uuid.UUID
    PyObject* decimal_cls = nullptr;   // decimal.Decimal
    PyObject* ip_address = nullptr;    // ipaddress.ip_address
    PyObject* duration_cls = nullptr;  // cqlpp.Duration
    PyObject* udt_class = nullptr;     // cqlpp._udt_class(keyspace, name, fields) -> named tuple class
    PyObject* unset = nullptr;         // cqlpp.UNSET_VALUE
};
py_types& types();
void init_datetime();

// Per page: caches the named tuple class of each UDT type met.
struct decode_ctx {
    std::unordered_map<const cqlpp::protocol::cql_type*, PyObject*> udt_classes;
    ~decode_ctx();
};

// New reference, or null with an exception set. `p == nullptr` means null.
PyObject* decode(const cqlpp::protocol::cql_type& t, const std::uint8_t* p, std::size_t n, decode_ctx& ctx);

// Appends the value's bytes (no length prefix). False with an exception set
// (TypeError / ValueError / OverflowError) when the object does not fit the type.
bool encode(const cqlpp::protocol::cql_type& t, PyObject* v, cqlpp::protocol::byte_buffer& out);

// "int", "map<text, frozen<list<int>>>"
std::string type_name(const cqlpp::protocol::cql_type& t);

}  // namespace cqlpy
