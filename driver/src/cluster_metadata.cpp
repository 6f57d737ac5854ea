// Lookups on a metadata snapshot (public types of session.hpp).
#include "cqlpp/driver/session.hpp"

namespace cqlpp::driver {

namespace proto = cqlpp::protocol;

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

}  // namespace cqlpp::driver
