#include "cqlpp/driver/error.hpp"

#include <string>

namespace cqlpp::driver {

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.driver"; }
    std::string message(int v) const override {
        switch (static_cast<errc>(v)) {
        case errc::ok: return "success";
        case errc::no_host_available: return "no host available";
        case errc::request_timeout: return "request timed out";
        case errc::session_closed: return "session closed";
        case errc::no_contact_point: return "no contact point could be reached";
        case errc::bad_contact_point: return "bad contact point";
        case errc::bind_count_mismatch: return "wrong number of bound values";
        case errc::no_such_marker: return "no such bind marker";
        case errc::bind_type_mismatch: return "bound value does not match the marker's type";
        case errc::needs_protocol_v5: return "feature needs protocol v5";
        case errc::unexpected_response: return "unexpected response";
        case errc::metadata_error: return "cluster metadata could not be read";
        case errc::paging_state_mismatch: return "paging state does not belong to this statement";
        }
        return "unknown driver error " + std::to_string(v);
    }
};
}  // namespace

const std::error_category& driver_category() noexcept {
    static const category c;
    return c;
}

}  // namespace cqlpp::driver
