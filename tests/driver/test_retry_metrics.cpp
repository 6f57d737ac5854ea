// Retry decisions (sans-I/O) and the latency histogram.
#include "cqlpp/driver/retry.hpp"
#include "cqlpp/driver/session.hpp"
#include "cqlpp/transport/error.hpp"

#include <catch2/catch.hpp>

#include <random>

namespace drv = cqlpp::driver;
namespace proto = cqlpp::protocol;

namespace {
drv::retry_context server(proto::error_response& e, bool idempotent, int retries = 0) {
    drv::retry_context c;
    c.ec = proto::make_error_code(e.code);
    c.server_error = &e;
    c.idempotent = idempotent;
    c.retry_count = retries;
    return c;
}
}  // namespace

TEST_CASE("default retry policy follows Cassandra's safe rules", "[driver][retry]") {
    drv::default_retry_policy p;
    using d = drv::retry_decision;

    auto rt = proto::error_response::make(proto::server_errc::read_timeout, "t",
                                          proto::read_timeout_info{proto::consistency::quorum, 2, 2, false});
    CHECK(p.decide(server(rt, false)) == d::retry_same);      // enough replicas, data missing: once
    CHECK(p.decide(server(rt, false, 1)) == d::rethrow);
    auto rt_data = proto::error_response::make(proto::server_errc::read_timeout, "t",
                                               proto::read_timeout_info{proto::consistency::quorum, 2, 2, true});
    CHECK(p.decide(server(rt_data, true)) == d::rethrow);
    auto rt_few = proto::error_response::make(proto::server_errc::read_timeout, "t",
                                              proto::read_timeout_info{proto::consistency::quorum, 1, 2, false});
    CHECK(p.decide(server(rt_few, true)) == d::rethrow);

    proto::write_timeout_info wt{proto::consistency::quorum, 1, 2, "BATCH_LOG", std::nullopt};
    auto wte = proto::error_response::make(proto::server_errc::write_timeout, "w", wt);
    CHECK(p.decide(server(wte, true)) == d::retry_same);
    CHECK(p.decide(server(wte, false)) == d::rethrow);  // the write may have happened
    wt.write_type = "SIMPLE";
    auto wts = proto::error_response::make(proto::server_errc::write_timeout, "w", wt);
    CHECK(p.decide(server(wts, true)) == d::rethrow);

    auto un = proto::error_response::make(proto::server_errc::unavailable, "u",
                                          proto::unavailable_info{proto::consistency::quorum, 2, 1});
    CHECK(p.decide(server(un, false)) == d::retry_next);
    CHECK(p.decide(server(un, false, 1)) == d::rethrow);

    auto boot = proto::error_response::make(proto::server_errc::is_bootstrapping, "b");
    CHECK(p.decide(server(boot, false)) == d::retry_next);  // nothing ran
    for (auto code : {proto::server_errc::overloaded, proto::server_errc::server_error, proto::server_errc::truncate_error}) {
        auto e = proto::error_response::make(code, "x");
        CHECK(p.decide(server(e, true)) == d::retry_next);
        CHECK(p.decide(server(e, false)) == d::rethrow);
    }
    for (auto code : {proto::server_errc::syntax_error, proto::server_errc::invalid, proto::server_errc::unauthorized,
                      proto::server_errc::read_failure, proto::server_errc::write_failure,
                      proto::server_errc::cas_write_unknown, proto::server_errc::function_failure}) {
        auto e = proto::error_response::make(code, "x");
        CHECK(p.decide(server(e, true)) == d::rethrow);
    }

    // A broken connection: only idempotent requests move on.
    drv::retry_context broken;
    broken.ec = cqlpp::transport::errc::connection_closed;
    broken.idempotent = true;
    CHECK(p.decide(broken) == d::retry_next);
    broken.idempotent = false;
    CHECK(p.decide(broken) == d::rethrow);

    // The cap on retries wins over everything.
    drv::default_retry_policy capped(2);
    CHECK(capped.decide(server(boot, true, 2)) == d::rethrow);
    CHECK(drv::fallthrough_retry_policy().decide(server(boot, true)) == d::rethrow);
}

TEST_CASE("latency histogram: percentiles within the bucket precision", "[driver][metrics]") {
    drv::latency_histogram h;
    CHECK(h.percentile(0.5).count() == 0);
    std::vector<std::int64_t> values;
    std::mt19937_64 rng(3);
    std::lognormal_distribution<double> dist(12.0, 1.5);  // ~160 us median, long tail
    for (int i = 0; i < 100000; ++i) {
        auto v = static_cast<std::int64_t>(dist(rng));
        values.push_back(v);
        h.record(std::chrono::nanoseconds(v));
    }
    std::sort(values.begin(), values.end());
    CHECK(h.count() == values.size());
    for (double q : {0.5, 0.9, 0.99, 0.999}) {
        const double exact = static_cast<double>(values[static_cast<std::size_t>(q * values.size())]);
        const double got = static_cast<double>(h.percentile(q).count());
        INFO("q " << q << " exact " << exact << " got " << got);
        CHECK(std::abs(got - exact) / exact < 0.07);  // 1/16 buckets: within ~6%
    }
    CHECK(h.max().count() == values.back());
    drv::latency_histogram other;
    other.record(std::chrono::seconds(2));
    h.merge(other);
    CHECK(h.count() == values.size() + 1);
    CHECK(h.max() == std::chrono::seconds(2));
}
