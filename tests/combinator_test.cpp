// join, join3, join_all, select/race, timeout: results, ordering, cancellation.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "support/probe.hpp"

using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

using Log = std::shared_ptr<std::vector<std::string>>;

Task<int> after(std::chrono::milliseconds d, int v) {
    co_await weft::sleep(d);
    co_return v;
}

Task<void> log_after(Log log, std::chrono::milliseconds d, std::string what) {
    log->push_back("start " + what);
    co_await weft::sleep(d);
    log->push_back("end " + what);
}

Task<int> guarded(Probe p, std::chrono::milliseconds d, int v) {
    (void)p;
    co_await weft::sleep(d);
    co_return v;
}

Task<int> fail_after(std::chrono::milliseconds d) {
    co_await weft::sleep(d);
    throw std::runtime_error("operand failed");
}

Task<int> ready(int v) {
    co_return v;
}

}  // namespace

TEST(Join, yields_results_in_argument_order_with_monostate_for_void) {
    run_paused([]() -> Task<void> {
        auto start = weft::now();
        auto [a, b, c] = co_await weft::join(after(30ms, 1), weft::sleep(10ms), after(20ms, 3));
        EXPECT_EQ(a, 1);
        EXPECT_EQ(b, std::monostate{});
        EXPECT_EQ(c, 3);
        EXPECT_EQ(ms_since(start), 30);
    });
}

TEST(Join, starts_in_argument_order_and_resumes_in_readiness_order) {
    auto log = run_paused([]() -> Task<std::vector<std::string>> {
        auto log = std::make_shared<std::vector<std::string>>();
        co_await weft::join(log_after(log, 30ms, "a"), log_after(log, 10ms, "b"), log_after(log, 20ms, "c"));
        co_return *log;
    });
    EXPECT_EQ(log, (std::vector<std::string>{"start a", "start b", "start c", "end b", "end c", "end a"}));
}

TEST(Join, join3_and_a_single_operand) {
    run_paused([]() -> Task<void> {
        auto [x, y, z] = co_await weft::join3(ready(1), after(1ms, 2), ready(3));
        EXPECT_EQ(x + y + z, 6);
        auto [only] = co_await weft::join(ready(4));
        EXPECT_EQ(only, 4);
    });
}

TEST(Join, accepts_lvalues_handles_and_nested_combinators) {
    run_paused([]() -> Task<void> {
        Task<int> t = after(5ms, 1);
        auto h = weft::spawn_task(after(7ms, 2));
        auto s = weft::sleep(3ms);
        auto [a, b, c, d] = co_await weft::join(t, h, s, weft::join(ready(3), ready(4)));
        EXPECT_EQ(a, 1);
        EXPECT_EQ(b, 2);
        EXPECT_EQ(c, std::monostate{});
        EXPECT_EQ(std::get<0>(d) + std::get<1>(d), 7);
        EXPECT_FALSE(t.valid());  // consumed by the join
    });
}

TEST(Join, a_failure_cancels_the_others_and_is_rethrown) {
    LifeCount c;
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<void> {
        auto start = weft::now();
        EXPECT_THROW(co_await weft::join(guarded(Probe(c), 1h, 1), fail_after(5ms), guarded(Probe(c), 2h, 2)),
                     std::runtime_error);
        EXPECT_EQ(ms_since(start), 5);
        EXPECT_EQ(c.alive, 0);
        EXPECT_EQ(rt.armed_timers(), 0U);
    });
}

TEST(Join, a_failure_while_starting_stops_the_rest_from_starting) {
    bool third_ran = false;
    run_paused([&]() -> Task<void> {
        auto throws_now = []() -> Task<int> {
            throw std::runtime_error("at once");
            co_return 0;
        };
        auto flag = [&]() -> Task<int> {
            third_ran = true;
            co_return 0;
        };
        EXPECT_THROW(co_await weft::join(after(1h, 0), throws_now(), flag()), std::runtime_error);
    });
    EXPECT_FALSE(third_ran);
}

TEST(JoinAll, yields_a_vector_in_input_order) {
    run_paused([]() -> Task<void> {
        std::vector<Task<int>> ts;
        for (int i = 0; i < 10; ++i) {
            ts.push_back(after(std::chrono::milliseconds(100 - i * 10), i));
        }
        std::vector<int> got = co_await weft::join_all(std::move(ts));
        EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
        std::vector<Task<int>> none;
        EXPECT_TRUE((co_await weft::join_all(std::move(none))).empty());
    });
}

TEST(JoinAll, works_for_void_tasks_and_rethrows_failures) {
    auto log = run_paused([]() -> Task<std::vector<std::string>> {
        auto log = std::make_shared<std::vector<std::string>>();
        std::vector<Task<void>> ts;
        ts.push_back(log_after(log, 2ms, "x"));
        ts.push_back(log_after(log, 1ms, "y"));
        co_await weft::join_all(std::move(ts));
        std::vector<Task<int>> failing;
        failing.push_back(after(1h, 1));
        failing.push_back(fail_after(1ms));
        EXPECT_THROW(co_await weft::join_all(std::move(failing)), std::runtime_error);
        co_return *log;
    });
    EXPECT_EQ(log, (std::vector<std::string>{"start x", "start y", "end y", "end x"}));
}

TEST(Select, the_first_to_finish_wins_and_the_loser_is_cancelled_before_it_returns) {
    LifeCount c;
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<void> {
        auto r = co_await weft::select(guarded(Probe(c), 50ms, 1), after(10ms, 2));
        EXPECT_EQ(r.index(), 1U);
        EXPECT_EQ(std::get<1>(r), 2);
        EXPECT_EQ(c.alive, 0);
        EXPECT_EQ(rt.armed_timers(), 0U);
        weft::Either<int, std::monostate> e = co_await weft::race(after(1ms, 7), weft::sleep(1s));
        EXPECT_EQ(e.index(), 0U);
        EXPECT_EQ(std::get<0>(e), 7);
    });
}

TEST(Select, is_biased_to_the_left_when_both_are_ready) {
    run_paused([]() -> Task<void> {
        auto r = co_await weft::select(ready(1), ready(2));
        EXPECT_EQ(r.index(), 0U);
        // Equal deadlines: the left timer was armed first, so it fires first.
        auto s = co_await weft::select(weft::sleep(5ms), weft::sleep(5ms));
        EXPECT_EQ(s.index(), 0U);
    });
}

TEST(Select, a_ready_right_operand_cancels_an_armed_left_timer) {
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<void> {
        for (int i = 0; i < 1000; ++i) {
            auto r = co_await weft::select(weft::sleep(10s), ready(i));
            EXPECT_EQ(r.index(), 1U);
        }
        EXPECT_EQ(rt.armed_timers(), 0U);
    });
}

TEST(Select, a_losing_lvalue_sleep_can_be_awaited_again_but_a_losing_task_cannot) {
    run_paused([]() -> Task<void> {
        auto start = weft::now();
        auto s = weft::sleep(20ms);
        Task<int> slow = after(1h, 1);
        auto r = co_await weft::select(s, after(5ms, 2));
        EXPECT_EQ(r.index(), 1U);
        co_await s;  // same deadline as before
        EXPECT_EQ(ms_since(start), 20);
        auto r2 = co_await weft::select(slow, ready(3));
        EXPECT_EQ(r2.index(), 1U);
        EXPECT_THROW(co_await slow, std::logic_error);
    });
}

TEST(Select, rethrows_the_first_finishers_exception) {
    run_paused([]() -> Task<void> {
        EXPECT_THROW(co_await weft::select(fail_after(1ms), after(2ms, 0)), std::runtime_error);
    });
}

TEST(Timeout, yields_the_value_when_in_time_and_nullopt_when_late) {
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<void> {
        auto start = weft::now();
        std::optional<int> fast = co_await weft::timeout(10ms, after(5ms, 1));
        EXPECT_EQ(fast, 1);
        EXPECT_EQ(ms_since(start), 5);
        LifeCount c;
        std::optional<int> late = co_await weft::timeout(10ms, guarded(Probe(c), 1h, 2));
        EXPECT_EQ(late, std::nullopt);
        EXPECT_EQ(ms_since(start), 15);
        EXPECT_EQ(c.alive, 0);
        EXPECT_EQ(rt.armed_timers(), 0U);
        std::optional<std::monostate> v = co_await weft::timeout(1s, weft::sleep(1ms));
        EXPECT_TRUE(v.has_value());
        auto h = weft::spawn_task(after(50ms, 9));
        EXPECT_EQ(co_await weft::timeout(1ms, h), std::nullopt);
        EXPECT_EQ(co_await weft::timeout(1s, h), 9);  // a handle survives a lost timeout
    });
}

TEST(Timeout, rethrows_the_operands_exception) {
    run_paused([]() -> Task<void> { EXPECT_THROW(co_await weft::timeout(1s, fail_after(1ms)), std::runtime_error); });
}

// The one real-clock test for timeout.
TEST(TimeoutRealClock, gives_up_after_the_real_duration) {
    auto r = weft_test::run([]() -> Task<std::pair<bool, std::chrono::steady_clock::duration>> {
        auto start = std::chrono::steady_clock::now();
        auto v = co_await weft::timeout(20ms, weft::sleep(10s));
        co_return std::make_pair(v.has_value(), std::chrono::steady_clock::now() - start);
    });
    EXPECT_FALSE(r.first);
    EXPECT_GE(r.second, 20ms);
    EXPECT_LT(r.second, 5s);
}
