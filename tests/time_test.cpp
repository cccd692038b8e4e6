// sleep, sleep_until, now, yield_now: paused clock, ordering, one real-clock test.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <tuple>
#include <vector>

#include "support/probe.hpp"

using weft::JoinHandle;
using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

TEST(Time, paused_clock_jumps_to_the_next_timer) {
    run_paused([]() -> Task<void> {
        auto start = weft::now();
        co_await weft::sleep(10s);
        EXPECT_EQ(weft::now() - start, 10s);
        co_await weft::sleep(500ms);
        EXPECT_EQ(weft::now() - start, 10500ms);
    });
}

TEST(Time, sleep_until_uses_the_runtime_clock) {
    run_paused([]() -> Task<void> {
        auto deadline = weft::now() + 10s;
        co_await weft::sleep_until(deadline);
        EXPECT_EQ(weft::now(), deadline);
    });
}

TEST(Time, one_sleep_awaited_twice_waits_for_the_same_deadline) {
    const bool ok = run_paused([]() -> Task<bool> {
        const auto start = weft::now();
        const weft::Sleep s = weft::sleep(3s);
        co_await s;
        const bool first = weft::now() - start == 3s;
        co_await s;  // already due: completes at once
        const bool second = weft::now() - start == 3s;
        co_await weft::sleep(1s);
        co_await s;
        co_return first&& second&& weft::now() - start == 4s && s.deadline() == start + 3s;
    });
    EXPECT_TRUE(ok);
}

TEST(Time, no_timer_fires_before_its_deadline) {
    run_paused([]() -> Task<void> {
        auto start = weft::now();
        co_await weft::sleep(1500us);  // rounded up to the 1 ms tick
        EXPECT_GE(weft::now() - start, 1500us);
        EXPECT_LT(weft::now() - start, 3ms);
    });
}

TEST(Time, zero_and_negative_sleeps_complete_without_waiting) {
    run_paused([]() -> Task<void> {
        auto start = weft::now();
        co_await weft::sleep(0ms);
        co_await weft::sleep(-5s);
        co_await weft::sleep_until(start - 1h);
        EXPECT_EQ(weft::now(), start);
    });
}

// Equal deadlines on one thread (spawn_here: on a pool, timers of one tick
// armed on two workers fire on both at once).
TEST(Time, timers_with_equal_deadlines_fire_in_start_order) {
    weft::Runtime rt(paused());
    std::vector<int> order = rt.block_on([]() -> Task<std::vector<int>> {
        auto log = std::make_shared<std::vector<int>>();
        auto deadline = weft::now() + 3s;
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < 100; ++i) {
            hs.push_back(spawn_here([log, i, deadline]() -> Task<void> {
                // Arm in index order, but from staggered times so that the
                // timers sit in different wheel levels before they cascade.
                co_await weft::sleep(std::chrono::milliseconds(i * 20));
                co_await weft::sleep_until(deadline);
                EXPECT_EQ(weft::now(), deadline);
                log->push_back(i);
            }));
        }
        for (auto& h : hs) {
            co_await h;
        }
        co_return *log;
    });
    ASSERT_EQ(order.size(), 100U);
    EXPECT_TRUE(std::is_sorted(order.begin(), order.end()));
}

// On a pool the tasks (and their timers) spread over the workers; the one
// paused clock still moves to the next deadline only when every worker is
// idle, so timers of different ticks fire in deadline order across workers,
// and those of one tick (1 ms: deadlines round up to it) in any order.
TEST(Time, timers_fire_in_deadline_order_whatever_the_arming_order) {
    weft::Runtime rt(paused());
    std::vector<std::int64_t> fired = rt.block_on([]() -> Task<std::vector<std::int64_t>> {
        auto mu = std::make_shared<std::mutex>();
        auto log = std::make_shared<std::vector<std::int64_t>>();
        std::vector<JoinHandle<void>> hs;
        std::uint64_t x = 12345;
        for (int i = 0; i < 2000; ++i) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            auto us = static_cast<std::int64_t>((x >> 33) % 5'000'000'000ULL);  // up to ~83 min
            hs.push_back(weft::spawn_task([mu, log, us]() -> Task<void> {
                co_await weft::sleep(std::chrono::microseconds(us));
                const std::lock_guard<std::mutex> lock(*mu);
                log->push_back(us);
            }));
        }
        for (auto& h : hs) {
            co_await h;
        }
        co_return *log;
    });
    ASSERT_EQ(fired.size(), 2000U);
    if (on_pool()) {
        const auto tick = [](std::int64_t us) { return (us + 999) / 1000; };  // the 1 ms tick it fires in
        EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end(),
                                   [&](std::int64_t a, std::int64_t b) { return tick(a) < tick(b); }));
    } else {
        EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));
    }
}

TEST(Time, deadlines_beyond_the_wheel_span_fire_on_time) {
    run_paused([]() -> Task<void> {
        auto start = weft::now();
        co_await weft::sleep(std::chrono::hours(24 * 365 * 3));  // past the wheel's ~2.2 years
        EXPECT_EQ(weft::now() - start, std::chrono::hours(24 * 365 * 3));
    });
}

// The order of one thread (spawn_here: on a pool, spawn_local).
TEST(Time, yield_now_lets_every_other_ready_task_run_once) {
    weft::Runtime rt(paused());
    std::vector<int> order = rt.block_on([]() -> Task<std::vector<int>> {
        auto log = std::make_shared<std::vector<int>>();
        std::vector<JoinHandle<void>> hs;
        for (int id = 0; id < 3; ++id) {
            hs.push_back(spawn_here([log, id]() -> Task<void> {
                for (int round = 0; round < 3; ++round) {
                    log->push_back(id * 10 + round);
                    co_await weft::yield_now();
                }
            }));
        }
        for (auto& h : hs) {
            co_await h;
        }
        co_return *log;
    });
    EXPECT_EQ(order, (std::vector<int>{0, 10, 20, 1, 11, 21, 2, 12, 22}));
}

TEST(Time, a_million_concurrent_sleeps) {
    constexpr std::uint64_t kTasks = 1'000'000;
    weft::Runtime rt(paused());
    std::uint64_t sum = rt.block_on([&]() -> Task<std::uint64_t> {
        std::vector<JoinHandle<std::uint64_t>> hs;
        hs.reserve(kTasks);
        for (std::uint64_t i = 0; i < kTasks; ++i) {
            hs.push_back(weft::spawn_task([](std::uint64_t ms) -> Task<std::uint64_t> {
                co_await weft::sleep(std::chrono::milliseconds(ms));
                co_return 1;
            }(i % 1000)));
        }
        // Paused time stands still while this task runs: wait until every
        // task started (on a pool some start on the other worker).
        co_await until([&] { return rt.armed_timers() == kTasks - kTasks / 1000; });
        EXPECT_EQ(rt.armed_timers(), kTasks - kTasks / 1000);  // the zero-length sleeps never arm
        std::uint64_t s = 0;
        for (auto& h : hs) {
            s += co_await h;
        }
        co_return s;
    });
    EXPECT_EQ(sum, kTasks);
    EXPECT_EQ(rt.armed_timers(), 0U);
}

// The one real-clock test for sleep: it really waits.
TEST(TimeRealClock, sleep_waits_at_least_its_duration) {
    auto took = weft_test::run([]() -> Task<std::chrono::steady_clock::duration> {
        auto start = std::chrono::steady_clock::now();
        co_await weft::sleep(30ms);
        co_return std::chrono::steady_clock::now() - start;
    });
    EXPECT_GE(took, 30ms);
}

TEST(TimeRealClock, now_reads_steady_clock) {
    auto [before, during, after] = weft_test::run(
        []() -> Task<std::tuple<std::chrono::steady_clock::time_point, std::chrono::steady_clock::time_point,
                                std::chrono::steady_clock::time_point>> {
            auto b = std::chrono::steady_clock::now();
            auto d = weft::now();
            auto a = std::chrono::steady_clock::now();
            co_return std::make_tuple(b, d, a);
        });
    EXPECT_LE(before, during);
    EXPECT_LE(during, after);
}

// API.md's spelling of the options: designated initializers.
TEST(Time, runtime_options_take_designated_initializers) {
    weft::Runtime rt(weft::Runtime::Options{.worker_threads = 0, .paused_clock = true});
    EXPECT_TRUE(rt.paused_clock());
    auto waited = rt.block_on([]() -> Task<std::chrono::steady_clock::duration> {
        auto start = weft::now();
        co_await weft::sleep(10s);
        co_return weft::now() - start;
    });
    EXPECT_EQ(waited, 10s);
    weft::Runtime pool(weft::Runtime::Options{.worker_threads = 2, .paused_clock = false});
    EXPECT_EQ(pool.worker_threads(), 2U);
    EXPECT_FALSE(pool.paused_clock());
    EXPECT_THROW(weft::Runtime(weft::Runtime::Options{.worker_threads = 1025, .paused_clock = false}),
                 std::invalid_argument);
}
