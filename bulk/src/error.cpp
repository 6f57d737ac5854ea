#include "cqlpp/bulk/error.hpp"

namespace cqlpp::bulk {

std::string_view to_string(errc e) noexcept {
    switch (e) {
        case errc::ok: return "ok";
        case errc::bad_csv: return "bad_csv";
        case errc::bad_json: return "bad_json";
        case errc::bad_value: return "bad_value";
        case errc::field_count: return "field_count";
        case errc::unknown_column: return "unknown_column";
        case errc::duplicate_column: return "duplicate_column";
        case errc::bad_token_range: return "bad_token_range";
        case errc::bad_journal: return "bad_journal";
        case errc::bad_checksum: return "bad_checksum";
        case errc::io_error: return "io_error";
        case errc::range_conflict: return "range_conflict";
        case errc::no_such_table: return "no_such_table";
        case errc::request_failed: return "request_failed";
        case errc::too_many_errors: return "too_many_errors";
        case errc::interrupted: return "interrupted";
        case errc::journal_exists: return "journal_exists";
        case errc::bad_parquet: return "bad_parquet";
        case errc::bad_iceberg: return "bad_iceberg";
        case errc::commit_conflict: return "commit_conflict";
    }
    return "unknown";
}

namespace {
class category final : public std::error_category {
public:
    const char* name() const noexcept override { return "cqlpp.bulk"; }
    std::string message(int ev) const override { return std::string(to_string(static_cast<errc>(ev))); }
};
}  // namespace

const std::error_category& bulk_category() noexcept {
    static const category c;
    return c;
}

}  // namespace cqlpp::bulk
