// The request engine's decisions (driver/src/request_decision.hpp) without a
// connection or a cluster: every kind of answer against idempotence, the retry
// budget, the deadline and the hosts left in the plan.
#include "request_decision.hpp"

#include "cqlpp/driver/retry.hpp"
#include "cqlpp/protocol/error_response.hpp"
#include "cqlpp/transport/error.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

namespace drv = cqlpp::driver;
namespace det = cqlpp::driver::detail;
namespace proto = cqlpp::protocol;
namespace tr = cqlpp::transport;
using det::action;
using det::answer_kind;
using det::fail_reason;
using rd = drv::retry_decision;

namespace {

// Answers what it is told; counts the questions and keeps the last one.
struct scripted_policy final : drv::retry_policy {
    rd answer = rd::rethrow;
    mutable int asked = 0;
    mutable drv::retry_context last{};
    rd decide(const drv::retry_context& c) const override {
        ++asked;
        last = c;
        return answer;
    }
};

// One answer as the engine would describe it.
struct answer_case {
    std::string name;
    answer_kind kind;
    std::error_code ec;
    std::optional<proto::error_response> se;
};

proto::error_response server(proto::server_errc code) {
    proto::error_response e;
    e.code = code;
    e.message = "injected";
    return e;
}

std::vector<answer_case> every_answer() {
    std::vector<answer_case> out;
    out.push_back({"success", answer_kind::success, {}, std::nullopt});
    for (auto code : proto::all_server_errcs) {
        auto e = server(code);
        if (code == proto::server_errc::read_timeout)  // enough replicas, no data: the retryable kind
            e.details = proto::read_timeout_info{proto::consistency::quorum, 2, 2, false};
        if (code == proto::server_errc::write_timeout)
            e.details = proto::write_timeout_info{proto::consistency::quorum, 1, 2, "BATCH_LOG", std::nullopt};
        out.push_back({"server " + std::string(proto::to_string(code)), answer_kind::server_error,
                       proto::make_error_code(code), e});
    }
    out.push_back({"connection closed", answer_kind::connection_closed, tr::errc::connection_closed, std::nullopt});
    out.push_back({"transport error", answer_kind::transport_error, tr::errc::framing_error, std::nullopt});
    out.push_back({"timeout", answer_kind::timeout, tr::errc::timeout, std::nullopt});
    out.push_back({"cancelled", answer_kind::cancelled, tr::errc::cancelled, std::nullopt});
    return out;
}

det::answer_facts facts_for(const answer_case& a, bool idempotent, int retries, bool deadline_left) {
    det::answer_facts f;
    f.kind = a.kind;
    f.ec = a.ec;
    f.server_error = a.se ? &*a.se : nullptr;
    f.idempotent = idempotent;
    f.is_write = true;
    f.retries = retries;
    f.deadline_left = deadline_left;
    return f;
}

// What default_retry_policy (retry.hpp) documents for one error, independently
// of its code: the matrix below checks decide() carries this out.
rd documented(const answer_case& a, bool idempotent, int retries) {
    if (retries >= 3) return rd::rethrow;
    if (!a.se) return idempotent ? rd::retry_next : rd::rethrow;  // closed or broken in flight
    switch (a.se->code) {
    case proto::server_errc::read_timeout: return retries == 0 ? rd::retry_same : rd::rethrow;
    case proto::server_errc::write_timeout: return retries == 0 && idempotent ? rd::retry_same : rd::rethrow;
    case proto::server_errc::unavailable: return retries == 0 ? rd::retry_next : rd::rethrow;
    case proto::server_errc::is_bootstrapping: return rd::retry_next;
    case proto::server_errc::overloaded:
    case proto::server_errc::server_error:
    case proto::server_errc::truncate_error: return idempotent ? rd::retry_next : rd::rethrow;
    default: return rd::rethrow;
    }
}

}  // namespace

TEST_CASE("decision: answers map to kinds, cancellation and the deadline first", "[decision]") {
    CHECK(det::classify_answer({}, false) == answer_kind::success);
    CHECK(det::classify_answer(tr::errc::cancelled, false) == answer_kind::cancelled);
    CHECK(det::classify_answer(tr::errc::timeout, false) == answer_kind::timeout);
    CHECK(det::classify_answer(tr::errc::connection_closed, false) == answer_kind::connection_closed);
    CHECK(det::classify_answer(tr::errc::framing_error, false) == answer_kind::transport_error);
    CHECK(det::classify_answer(tr::errc::no_connection, false) == answer_kind::transport_error);
    CHECK(det::classify_answer(proto::make_error_code(proto::server_errc::overloaded), true) ==
          answer_kind::server_error);
}

TEST_CASE("decision: every answer x idempotent x retries left x deadline x hosts left, with the default policy",
          "[decision]") {
    const drv::default_retry_policy policy;  // 3 retries
    int combinations = 0;
    for (const auto& a : every_answer()) {
        for (bool idempotent : {false, true}) {
            for (int retries : {0, 1, 3}) {  // none used, some used, the budget spent
                for (bool deadline_left : {true, false}) {
                    for (bool hosts_left : {true, false}) {
                        ++combinations;
                        INFO(a.name << (idempotent ? ", idempotent" : ", not idempotent") << ", " << retries
                                    << " retries used" << (deadline_left ? "" : ", deadline passed")
                                    << (hosts_left ? "" : ", no host left"));
                        const auto f = facts_for(a, idempotent, retries, deadline_left);
                        int taken = 0;
                        const auto d = det::decide(f, policy, [&] {
                            ++taken;
                            return hosts_left;
                        });
                        if (a.kind == answer_kind::success) {
                            CHECK(d.act == action::deliver);
                            CHECK(!d.error);
                            CHECK(taken == 0);
                            continue;
                        }
                        if (a.kind == answer_kind::cancelled) {
                            CHECK(d.act == action::fail);
                            CHECK(d.why == fail_reason::cancelled);
                            CHECK(d.error == tr::errc::cancelled);
                            CHECK(taken == 0);
                            continue;
                        }
                        if (a.kind == answer_kind::timeout) {
                            CHECK(d.act == action::fail);
                            CHECK(d.why == fail_reason::timed_out);
                            CHECK(d.error == drv::errc::request_timeout);
                            CHECK(taken == 0);
                            continue;
                        }
                        // UNPREPARED with nothing to re-prepare is the policy's (rethrown).
                        const auto want = documented(a, idempotent, retries);
                        if (want == rd::rethrow) {
                            // The caller sees the answer's own error, whatever the deadline or hosts.
                            CHECK(d.act == action::fail);
                            CHECK(d.why == fail_reason::rethrown);
                            CHECK(d.error == a.ec);
                            CHECK(taken == 0);
                        } else if (!deadline_left) {
                            // No time for another try: never one past the deadline.
                            CHECK(d.act == action::fail);
                            CHECK(d.why == fail_reason::deadline_passed);
                            CHECK(d.error == drv::errc::request_timeout);
                            CHECK(taken == 0);
                        } else if (want == rd::retry_same) {
                            CHECK(d.act == action::retry_same_host);
                            CHECK(taken == 0);  // the plan's next host stays for whoever moves on
                        } else if (hosts_left) {
                            CHECK(d.act == action::retry_next_host);
                            CHECK(taken == 1);
                        } else {
                            CHECK(d.act == action::no_host_left);
                            CHECK(d.why == fail_reason::exhausted);
                            // The server's error is more useful than "no host" when there is one.
                            if (a.se) CHECK(d.error == a.ec);
                            else CHECK(d.error == drv::errc::no_host_available);
                            CHECK(taken == 1);
                        }
                    }
                }
            }
        }
    }
    CHECK(combinations == static_cast<int>(every_answer().size()) * 2 * 3 * 2 * 2);
}

TEST_CASE("decision: the policy is asked only about errors a retry could cure, with the request's facts",
          "[decision]") {
    for (const auto& a : every_answer()) {
        INFO(a.name);
        scripted_policy p;
        p.answer = rd::retry_next;
        auto f = facts_for(a, true, 2, true);
        f.consistency = proto::consistency::local_quorum;
        int taken = 0;
        (void)det::decide(f, p, [&] {
            ++taken;
            return true;
        });
        const bool curable = a.kind == answer_kind::server_error || a.kind == answer_kind::connection_closed ||
                             a.kind == answer_kind::transport_error;
        CHECK(p.asked == (curable ? 1 : 0));
        if (!curable) continue;
        CHECK(p.last.ec == a.ec);
        CHECK(p.last.idempotent);
        CHECK(p.last.is_write);
        CHECK(p.last.retry_count == 2);
        CHECK(p.last.consistency == proto::consistency::local_quorum);
        // A transport failure is not presented as a server error.
        CHECK((p.last.server_error != nullptr) == a.se.has_value());
    }
}

TEST_CASE("decision: each policy answer x deadline x hosts left", "[decision]") {
    const auto e = server(proto::server_errc::overloaded);
    const answer_case a{"overloaded", answer_kind::server_error, proto::make_error_code(e.code), e};
    for (auto verdict : {rd::rethrow, rd::retry_same, rd::retry_next, rd::ignore}) {
        for (bool deadline_left : {true, false}) {
            for (bool hosts_left : {true, false}) {
                INFO(static_cast<int>(verdict) << (deadline_left ? "" : ", deadline passed")
                                              << (hosts_left ? "" : ", no host left"));
                scripted_policy p;
                p.answer = verdict;
                int taken = 0;
                const auto d = det::decide(facts_for(a, false, 0, deadline_left), p, [&] {
                    ++taken;
                    return hosts_left;
                });
                switch (verdict) {
                case rd::rethrow:
                    CHECK(d.act == action::fail);
                    CHECK(d.error == proto::server_errc::overloaded);
                    break;
                case rd::ignore:
                    // A tolerated error answers at once: no further try, so no deadline to mind.
                    CHECK(d.act == action::deliver_empty);
                    CHECK(!d.error);
                    break;
                case rd::retry_same:
                    CHECK(d.act == (deadline_left ? action::retry_same_host : action::fail));
                    break;
                case rd::retry_next:
                    CHECK(d.act == (!deadline_left ? action::fail
                                    : hosts_left   ? action::retry_next_host
                                                   : action::no_host_left));
                    break;
                }
                CHECK(taken == (verdict == rd::retry_next && deadline_left ? 1 : 0));
            }
        }
    }
}

TEST_CASE("decision: UNPREPARED re-prepares while it may and time is left, then the policy decides",
          "[decision]") {
    const auto e = server(proto::server_errc::unprepared);
    const answer_case a{"unprepared", answer_kind::server_error, proto::make_error_code(e.code), e};
    for (bool idempotent : {false, true}) {
        for (bool target : {false, true}) {
            for (bool left : {false, true}) {
                for (bool deadline_left : {true, false}) {
                    INFO((idempotent ? "idempotent" : "not idempotent")
                         << (target ? ", statement known" : ", statement unknown")
                         << (left ? ", may re-prepare" : ", re-prepared enough")
                         << (deadline_left ? "" : ", deadline passed"));
                    scripted_policy p;
                    p.answer = rd::retry_next;
                    auto f = facts_for(a, idempotent, 0, deadline_left);
                    f.unprepared_target = target;
                    f.reprepare_left = left;
                    int taken = 0;
                    const auto d = det::decide(f, p, [&] {
                        ++taken;
                        return true;
                    });
                    if (target && left) {
                        // Re-preparing is not a retry: the policy is not asked, the host is kept.
                        CHECK(p.asked == 0);
                        CHECK(taken == 0);
                        if (deadline_left) {
                            CHECK(d.act == action::reprepare);
                        } else {
                            CHECK(d.act == action::fail);
                            CHECK(d.error == drv::errc::request_timeout);
                        }
                    } else {
                        CHECK(p.asked == 1);
                        CHECK(d.act == (deadline_left ? action::retry_next_host : action::fail));
                    }
                }
            }
        }
    }
    // With the default policy an UNPREPARED it cannot cure is the caller's error.
    auto f = facts_for(a, true, 0, true);
    f.unprepared_target = true;
    f.reprepare_left = false;
    const auto d = det::decide(f, drv::default_retry_policy(), [] { return true; });
    CHECK(d.act == action::fail);
    CHECK(d.error == proto::server_errc::unprepared);
}

TEST_CASE("decision: a cancelled request never starts a new attempt, whatever else holds", "[decision]") {
    const auto overloaded = server(proto::server_errc::overloaded);
    for (auto verdict : {rd::rethrow, rd::retry_same, rd::retry_next, rd::ignore}) {
        for (bool idempotent : {false, true}) {
            for (bool deadline_left : {true, false}) {
                for (bool target : {false, true}) {
                    scripted_policy p;
                    p.answer = verdict;
                    det::answer_facts f;
                    f.kind = answer_kind::cancelled;
                    f.ec = tr::errc::cancelled;
                    f.server_error = &overloaded;  // even with a server error in hand
                    f.idempotent = idempotent;
                    f.deadline_left = deadline_left;
                    f.unprepared_target = f.reprepare_left = target;
                    int taken = 0;
                    const auto d = det::decide(f, p, [&] {
                        ++taken;
                        return true;
                    });
                    CHECK(d.act == action::fail);
                    CHECK(d.error == tr::errc::cancelled);
                    CHECK(p.asked == 0);
                    CHECK(taken == 0);
                }
            }
        }
    }
}

// The walk over the plan between answers: run_attempt and the re-preparation
// ask these, never the retry policy (nothing reached the server as a statement).
TEST_CASE("decision: before sending, the deadline; a host that cannot take it, the next", "[decision]") {
    CHECK(det::before_send(true).act == action::send);
    const auto late = det::before_send(false);
    CHECK(late.act == action::fail);
    CHECK(late.why == fail_reason::deadline_passed);
    CHECK(late.error == drv::errc::request_timeout);

    for (int hosts_left : {0, 1, 3}) {
        INFO("hosts left " << hosts_left);
        int taken = 0;
        const auto d = det::after_unsent([&] {
            ++taken;
            return hosts_left-- > 0;
        });
        CHECK(taken == 1);  // exactly one host taken from the shared plan per move
        if (d.act == action::retry_next_host) {
            CHECK(d.why == fail_reason::none);
            CHECK_FALSE(d.error);
        } else {
            CHECK(d.act == action::no_host_left);
            CHECK(d.why == fail_reason::exhausted);
            CHECK(d.error == drv::errc::no_host_available);
        }
        CHECK((d.act == action::retry_next_host) == (hosts_left >= 0));
    }
}

TEST_CASE("decision: after re-preparing, the same host, the deadline, or the next host", "[decision]") {
    using det::reprepare_result;
    for (bool host_left : {false, true}) {
        INFO("host left " << host_left);
        int taken = 0;
        auto take = [&] {
            ++taken;
            return host_left;
        };
        const auto ok = det::after_reprepare(reprepare_result::prepared, take);
        CHECK(ok.act == action::retry_same_host);
        CHECK(taken == 0);  // the same host: nothing taken from the plan

        const auto late = det::after_reprepare(reprepare_result::timed_out, take);
        CHECK(late.act == action::fail);
        CHECK(late.why == fail_reason::timed_out);
        CHECK(late.error == drv::errc::request_timeout);
        CHECK(taken == 0);  // a request past its deadline starts nothing

        const auto moved = det::after_reprepare(reprepare_result::failed, take);
        CHECK(taken == 1);
        CHECK(moved.act == (host_left ? action::retry_next_host : action::no_host_left));
        if (!host_left) CHECK(moved.error == drv::errc::no_host_available);
    }
}
