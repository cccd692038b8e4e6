// Streams: the generator, sources, adaptors, and cancel safety.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <ranges>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/probe.hpp"

using weft::Stream;
using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

Stream<int> count_to(int n) {
    for (int i = 1; i <= n; ++i) {
        co_yield i;
    }
}

// Yields 1..n, sleeping `gap` before each item.
Stream<int> slow_count(int n, std::chrono::milliseconds gap) {
    for (int i = 1; i <= n; ++i) {
        co_await weft::sleep(gap);
        co_yield i;
    }
}

// A vector of strings without an initializer_list of std::string (which g++ 12
// miscompiles inside a coroutine: "array used as initializer").
template <class... A>
std::vector<std::string> strs(const A&... a) {
    std::vector<std::string> v;
    (v.emplace_back(a), ...);
    return v;
}

template <class S>
Task<std::vector<typename S::value_type>> drain(S& s) {
    std::vector<typename S::value_type> out;
    while (auto v = co_await s.next()) {
        out.push_back(std::move(*v));
    }
    co_return out;
}

}  // namespace

// ---- Stream<T>: the generator

TEST(Stream, generator_yields_in_order_then_ends_and_stays_ended) {
    run_paused([]() -> Task<> {
        auto s = count_to(3);
        EXPECT_EQ(co_await s.next(), 1);
        EXPECT_EQ(co_await s.next(), 2);
        EXPECT_EQ(co_await s.next(), 3);
        EXPECT_EQ(co_await s.next(), std::nullopt);
        EXPECT_EQ(co_await s.next(), std::nullopt);
    });
}

TEST(Stream, generator_is_lazy_and_runs_only_to_the_next_yield) {
    run_paused([]() -> Task<> {
        int steps = 0;
        auto gen = [](int& steps) -> Stream<int> {
            ++steps;
            co_yield 1;
            ++steps;
            co_yield 2;
            ++steps;
        };
        auto s = gen(steps);
        EXPECT_EQ(steps, 0);
        EXPECT_EQ(co_await s.next(), 1);
        EXPECT_EQ(steps, 1);
        EXPECT_EQ(co_await s.next(), 2);
        EXPECT_EQ(steps, 2);
        EXPECT_EQ(co_await s.next(), std::nullopt);
        EXPECT_EQ(steps, 3);
    });
}

TEST(Stream, generator_awaits_timers_between_items) {
    run_paused([]() -> Task<> {
        const auto start = weft::now();
        auto s = slow_count(3, 100ms);
        std::vector<long long> at;
        while (auto v = co_await s.next()) {
            at.push_back(ms_since(start));
        }
        EXPECT_EQ(at, (std::vector<long long>{100, 200, 300}));
    });
}

TEST(Stream, destroying_a_generator_mid_way_destroys_its_locals_and_timer) {
    LifeCount life;
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<> {
        auto gen = [](LifeCount& life) -> Stream<int> {
            Probe p(life);
            co_yield 1;
            co_await weft::sleep(10s);
            co_yield 2;
        };
        {
            auto s = gen(life);
            EXPECT_EQ(co_await s.next(), 1);
            EXPECT_EQ(life.alive, 1);
            auto r = co_await weft::timeout(10ms, s.next());  // the body now sleeps 10 s
            EXPECT_FALSE(r.has_value());
            EXPECT_EQ(rt.armed_timers(), 1U);  // the body's own sleep goes on
        }
        EXPECT_EQ(life.alive, 0);
        EXPECT_EQ(life.destroyed, 1);
        EXPECT_EQ(rt.armed_timers(), 0U);
    });
}

TEST(Stream, generator_exception_is_rethrown_once_then_the_stream_ends) {
    run_paused([]() -> Task<> {
        auto gen = []() -> Stream<int> {
            co_yield 1;
            throw std::runtime_error("boom");
        };
        auto s = gen();
        EXPECT_EQ(co_await s.next(), 1);
        bool threw = false;
        try {
            (void)co_await s.next();
        } catch (const std::runtime_error& e) {
            threw = std::string(e.what()) == "boom";
        }
        EXPECT_TRUE(threw);
        EXPECT_EQ(co_await s.next(), std::nullopt);
    });
}

TEST(Stream, exception_thrown_after_a_wait_reaches_the_waiting_next) {
    run_paused([]() -> Task<> {
        auto gen = []() -> Stream<int> {
            co_await weft::sleep(5ms);
            throw std::runtime_error("late");
            co_yield 0;
        };
        auto s = gen();
        bool threw = false;
        try {
            (void)co_await s.next();
        } catch (const std::runtime_error& e) {
            threw = std::string(e.what()) == "late";
        }
        EXPECT_TRUE(threw);
        EXPECT_EQ(co_await s.next(), std::nullopt);
    });
}

TEST(Stream, polling_a_moved_from_stream_throws_logic_error) {
    run_paused([]() -> Task<> {
        auto s = count_to(2);
        auto t = std::move(s);
        EXPECT_FALSE(s.valid());  // NOLINT(bugprone-use-after-move): testing the moved-from state
        bool threw = false;
        try {
            (void)co_await s.next();  // NOLINT(bugprone-use-after-move)
        } catch (const std::logic_error& e) {
            threw = std::string(e.what()).find("moved-from") != std::string::npos;
        }
        EXPECT_TRUE(threw);
        EXPECT_EQ(co_await t.next(), 1);
    });
}

TEST(Stream, generator_may_move_between_items_and_while_its_body_waits) {
    run_paused([]() -> Task<> {
        auto s = slow_count(3, 10ms);
        EXPECT_EQ(co_await s.next(), 1);
        auto r = co_await weft::timeout(5ms, s.next());
        EXPECT_FALSE(r.has_value());
        auto moved = std::move(s);
        EXPECT_EQ(co_await moved.next(), 2);  // the item the body produced meanwhile is kept
        EXPECT_EQ(co_await moved.next(), 3);
    });
}

TEST(Stream, polling_a_waiting_body_from_another_task_throws_logic_error) {
    run_paused([]() -> Task<> {
        auto s = slow_count(2, 10ms);
        auto r = co_await weft::timeout(5ms, s.next());  // the body now waits, woken on this task
        EXPECT_FALSE(r.has_value());
        std::string msg;
        auto thief = weft::spawn_task([&s, &msg]() -> Task<> {
            try {
                (void)co_await s.next();
            } catch (const std::logic_error& e) {
                msg = e.what();
            }
        });
        co_await thief;
        EXPECT_NE(msg.find("another task"), std::string::npos) << msg;
        EXPECT_EQ(co_await s.next(), 1);  // the owning task still gets the item
    });
}

// ---- stream_from_iter, map, filter, take, collect, merge, boxed

TEST(StreamFromIter, yields_a_containers_elements_and_owns_a_copy) {
    run_paused([]() -> Task<> {
        std::vector<std::string> words(3);
        words[0] = "a";
        words[1] = "b";
        words[2] = "c";
        const std::vector<std::string> want = words;
        auto s = weft::stream_from_iter(words);
        words.clear();  // the stream holds its own copy
        EXPECT_EQ(co_await drain(s), want);
    });
}

TEST(StreamFromIter, takes_views_and_moves_between_items) {
    run_paused([]() -> Task<> {
        std::vector<int> values{1, 2, 3, 4};
        auto s = weft::stream_from_iter(values | std::views::transform([](int n) { return n * 10; }));
        EXPECT_EQ(co_await s.next(), 10);
        auto moved = std::move(s);  // iterators survive the move
        const std::vector<int> want{20, 30, 40};
        EXPECT_EQ(co_await drain(moved), want);
    });
}

TEST(StreamAdaptors, map_filter_take_compose_like_iterators) {
    run_paused([]() -> Task<> {
        auto s = weft::stream_from_iter(std::views::iota(1, 100))
                     .map([](int n) { return n * 2; })
                     .filter([](const int& n) { return n % 3 == 0; })
                     .map([](int n) { return std::to_string(n); })
                     .take(4);
        EXPECT_EQ(co_await drain(s), strs("6", "12", "18", "24"));
        EXPECT_EQ(co_await s.next(), std::nullopt);
    });
}

TEST(StreamAdaptors, take_zero_never_polls_its_source) {
    run_paused([]() -> Task<> {
        bool ran = false;
        auto gen = [](bool& ran) -> Stream<int> {
            ran = true;
            co_yield 1;
        };
        auto s = gen(ran).take(0);
        EXPECT_EQ(co_await s.next(), std::nullopt);
        EXPECT_FALSE(ran);
    });
}

TEST(StreamAdaptors, take_stops_polling_after_n_items) {
    run_paused([]() -> Task<> {
        int produced = 0;
        auto gen = [](int& produced) -> Stream<int> {
            for (int i = 0;; ++i) {
                ++produced;
                co_yield i;
            }
        };
        auto s = gen(produced).take(3);
        const std::vector<int> want{0, 1, 2};
        EXPECT_EQ(co_await drain(s), want);
        EXPECT_EQ(produced, 3);
    });
}

TEST(StreamAdaptors, collect_drains_into_a_vector) {
    auto v = run_paused([]() -> Task<std::vector<int>> {
        co_return co_await slow_count(4, 1ms).map([](int n) { return n * n; }).collect();
    });
    EXPECT_EQ(v, (std::vector<int>{1, 4, 9, 16}));
}

TEST(StreamAdaptors, merge_alternates_fairly_between_ready_streams) {
    run_paused([]() -> Task<> {
        auto s = weft::stream_from_iter(std::vector<int>{1, 2, 3, 4})
                     .merge(weft::stream_from_iter(std::vector<int>{10, 20}));
        const std::vector<int> want{1, 10, 2, 20, 3, 4};
        EXPECT_EQ(co_await drain(s), want);
    });
}

TEST(StreamAdaptors, merge_yields_items_in_the_order_they_become_ready) {
    run_paused([]() -> Task<> {
        // At 60 ms both have an item: b's goes first, since a's item came last
        // but one (the stream polled first alternates).
        const auto start = weft::now();
        auto s = slow_count(3, 30ms).merge(slow_count(4, 20ms).map([](int n) { return n * 100; }));
        std::vector<std::pair<int, long long>> got;
        while (auto v = co_await s.next()) {
            got.emplace_back(*v, ms_since(start));
        }
        const std::vector<std::pair<int, long long>> want{{100, 20}, {1, 30},   {200, 40}, {300, 60},
                                                          {2, 60},   {400, 80}, {3, 90}};
        EXPECT_EQ(got, want);
    });
}

TEST(StreamAdaptors, boxed_gives_every_stream_of_t_one_type) {
    run_paused([]() -> Task<> {
        std::vector<Stream<int>> streams;
        streams.push_back(count_to(2));
        streams.push_back(weft::stream_from_iter(std::vector<int>{7, 8}).boxed());
        streams.push_back(slow_count(1, 1ms).map([](int n) { return -n; }).boxed());
        std::vector<int> all;
        for (auto& s : streams) {
            for (int v : co_await drain(s)) {
                all.push_back(v);
            }
        }
        EXPECT_EQ(all, (std::vector<int>{1, 2, 7, 8, -1}));
    });
}

// ---- interval

TEST(Interval, tick_n_is_due_at_start_plus_n_periods) {
    run_paused([]() -> Task<> {
        auto ticks = weft::interval(10ms);
        const auto start = ticks.start();
        for (std::uint64_t n = 1; n <= 5; ++n) {
            EXPECT_EQ(co_await ticks.next(), n);
            EXPECT_EQ(weft::now() - start, n * 10ms);
        }
    });
}

TEST(Interval, does_not_drift_when_the_consumer_is_a_little_late) {
    run_paused([]() -> Task<> {
        auto ticks = weft::interval(10ms);
        const auto start = ticks.start();
        EXPECT_EQ(co_await ticks.next(), 1U);
        co_await weft::sleep(7ms);             // late, but before tick 2 is due
        EXPECT_EQ(co_await ticks.next(), 2U);  // still due at 20 ms, not 27 ms
        EXPECT_EQ(weft::now() - start, 20ms);
    });
}

TEST(Interval, skips_missed_ticks_and_stays_on_the_grid) {
    run_paused([]() -> Task<> {
        auto ticks = weft::interval(10ms);
        const auto start = ticks.start();
        EXPECT_EQ(co_await ticks.next(), 1U);
        co_await weft::sleep(35ms);            // now 45 ms: ticks 2, 3, 4 were due
        EXPECT_EQ(co_await ticks.next(), 4U);  // at once: the latest due tick
        EXPECT_EQ(weft::now() - start, 45ms);
        EXPECT_EQ(co_await ticks.next(), 5U);  // then back on the grid
        EXPECT_EQ(weft::now() - start, 50ms);
    });
}

TEST(Interval, one_ms_over_ten_seconds_of_paused_time_is_exactly_10000_ticks) {
    run_paused([]() -> Task<> {
        auto ticks = weft::interval(1ms);
        const auto start = ticks.start();
        std::uint64_t count = 0;
        std::uint64_t last = 0;
        bool consecutive = true;
        while (weft::now() - start < 10s) {
            auto n = co_await ticks.next();
            consecutive = consecutive && *n == last + 1;
            last = *n;
            ++count;
        }
        EXPECT_EQ(count, 10000U);
        EXPECT_TRUE(consecutive);
        EXPECT_EQ(weft::now() - start, 10s);
    });
}

TEST(Interval, zero_or_negative_period_throws_invalid_argument) {
    run_paused([]() -> Task<> {
        EXPECT_THROW((void)weft::interval(0ms), std::invalid_argument);
        EXPECT_THROW((void)weft::interval(-5ms), std::invalid_argument);
        co_return;
    });
}

TEST(Interval, outside_a_runtime_throws_logic_error) {
    EXPECT_FALSE(logic_error_of([] { (void)weft::interval(1ms); }).empty());
}

TEST(Interval, cancelled_next_and_destroyed_interval_leave_no_timer) {
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<> {
        {
            auto ticks = weft::interval(100ms);
            auto r = co_await weft::timeout(30ms, ticks.next());
            EXPECT_FALSE(r.has_value());
            EXPECT_EQ(rt.armed_timers(), 0U);      // the cancelled next() disarmed it
            EXPECT_EQ(co_await ticks.next(), 1U);  // no tick consumed by the cancelled next()
            auto r2 = co_await weft::select(ticks.next(), weft::sleep(10ms));
            EXPECT_EQ(r2.index(), 1U);
        }
        EXPECT_EQ(rt.armed_timers(), 0U);
    });
    EXPECT_EQ(rt.armed_timers(), 0U);
}

// ---- timeout

TEST(StreamTimeout, late_items_yield_elapsed_and_then_still_arrive) {
    run_paused([]() -> Task<> {
        const auto start = weft::now();
        auto gen = []() -> Stream<std::string> {
            co_await weft::sleep(10ms);
            co_yield "quick";
            co_await weft::sleep(250ms);
            co_yield "slow";
        };
        auto s = gen().timeout(100ms);
        std::vector<std::string> got;
        while (auto item = co_await s.next()) {
            got.push_back((*item ? item->value() : std::string("elapsed")) + "@" + std::to_string(ms_since(start)));
        }
        EXPECT_EQ(got, strs("quick@10", "elapsed@110", "elapsed@210", "slow@260"));
    });
}

TEST(StreamTimeout, timed_item_accessors_report_misuse) {
    auto ok = weft::Timed<int>(5);
    auto late = weft::Timed<int>::elapsed();
    EXPECT_TRUE(ok);
    EXPECT_EQ(ok.value(), 5);
    EXPECT_THROW((void)ok.error(), std::logic_error);
    EXPECT_FALSE(late);
    EXPECT_THROW((void)late.value(), weft::Elapsed);
    EXPECT_STREQ(late.error().what(), "deadline has elapsed");
}

TEST(StreamTimeout, zero_or_negative_duration_throws_invalid_argument) {
    EXPECT_THROW((void)count_to(1).timeout(0ms), std::invalid_argument);
    EXPECT_THROW((void)count_to(1).timeout(-1ms), std::invalid_argument);
}

// ---- throttle

TEST(StreamThrottle, at_most_one_item_per_period_and_nothing_dropped) {
    run_paused([]() -> Task<> {
        const auto start = weft::now();
        auto s = weft::stream_from_iter(std::vector<int>{1, 2, 3, 4}).throttle(100ms);
        std::vector<std::pair<int, long long>> got;
        while (auto v = co_await s.next()) {
            got.emplace_back(*v, ms_since(start));
        }
        const std::vector<std::pair<int, long long>> want{{1, 0}, {2, 100}, {3, 200}, {4, 300}};
        EXPECT_EQ(got, want);
    });
}

TEST(StreamThrottle, throttled_interval_skips_ticks_without_drift) {
    run_paused([]() -> Task<> {
        auto s = weft::interval(1ms).throttle(100ms).take(3);
        const std::vector<std::uint64_t> want{1, 101, 201};
        EXPECT_EQ(co_await drain(s), want);
    });
}

TEST(StreamThrottle, zero_passes_through_and_negative_throws) {
    run_paused([]() -> Task<> {
        auto s = count_to(3).throttle(0ms);
        const auto start = weft::now();
        const std::vector<int> want{1, 2, 3};
        EXPECT_EQ(co_await drain(s), want);
        EXPECT_EQ(weft::now(), start);
        EXPECT_THROW((void)count_to(1).throttle(-1ms), std::invalid_argument);
    });
}

TEST(StreamThrottle, destroyed_while_waiting_leaves_no_timer) {
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<> {
        {
            auto s = count_to(5).throttle(1s);
            EXPECT_EQ(co_await s.next(), 1);
            auto r = co_await weft::timeout(10ms, s.next());
            EXPECT_FALSE(r.has_value());
            EXPECT_EQ(rt.armed_timers(), 0U);
            EXPECT_EQ(co_await s.next(), 2);  // not lost, and on the throttle's schedule
        }
        EXPECT_EQ(rt.armed_timers(), 0U);
    });
}

// ---- ReceiverStream

TEST(ReceiverStream, yields_every_value_and_ends_when_the_senders_are_gone) {
    run_paused([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        auto producer = weft::spawn_task([tx = std::move(tx)]() mutable -> Task<> {
            for (int i = 0; i < 5; ++i) {
                co_await weft::sleep(10ms);
                (void)tx.send(i);
            }
        });
        weft::ReceiverStream<int> s(std::move(rx));
        const std::vector<int> want{0, 1, 2, 3, 4};
        EXPECT_EQ(co_await drain(s), want);
        co_await producer;
    });
}

TEST(ReceiverStream, values_from_a_plain_thread_arrive) {
    weft_test::run([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        std::thread t([tx = std::move(tx)]() mutable {
            for (int i = 0; i < 1000; ++i) {
                (void)tx.send(i);
            }
        });
        auto s = weft::ReceiverStream<int>(std::move(rx)).filter([](const int& n) { return n % 100 == 0; });
        const std::vector<int> want{0, 100, 200, 300, 400, 500, 600, 700, 800, 900};
        EXPECT_EQ(co_await drain(s), want);
        t.join();
    });
}

TEST(ReceiverStream, cancelled_next_loses_no_value) {
    run_paused([]() -> Task<> {
        auto [tx, rx] = weft::channel<std::string>();
        weft::ReceiverStream<std::string> s(std::move(rx));
        auto r = co_await weft::timeout(10ms, s.next());
        EXPECT_FALSE(r.has_value());
        (void)tx.send("kept");
        auto lost = co_await weft::select(weft::sleep(1ms), s.next());  // sleep 1ms loses: the value is ready
        EXPECT_EQ(lost.index(), 1U);
        EXPECT_EQ(std::get<1>(lost), "kept");
        auto r2 = co_await weft::timeout(5ms, s.next());  // times out again, registered and withdrawn
        EXPECT_FALSE(r2.has_value());
        (void)tx.send("second");
        { auto gone = std::move(tx); }
        EXPECT_EQ(co_await drain(s), strs("second"));
    });
}

TEST(ReceiverStream, merged_with_a_timer_stream_keeps_every_value) {
    run_paused([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        auto producer = weft::spawn_task([tx = std::move(tx)]() mutable -> Task<> {
            for (int i = 1; i <= 3; ++i) {
                co_await weft::sleep(25ms);
                (void)tx.send(i * 1000);
            }
        });
        auto s = weft::ReceiverStream<int>(std::move(rx))
                     .merge(weft::interval(10ms).map([](std::uint64_t n) { return static_cast<int>(n); }))
                     .take(10);
        const std::vector<int> want{1, 2, 1000, 3, 4, 5, 2000, 6, 7, 3000};
        EXPECT_EQ(co_await drain(s), want);
        co_await producer;
    });
}

TEST(ReceiverStream, moved_from_receiver_is_refused) {
    auto [tx, rx] = weft::channel<int>();
    auto keep = std::move(rx);
    EXPECT_FALSE(logic_error_of([&] { weft::ReceiverStream<int> s(std::move(rx)); }).empty());  // NOLINT
}

// ---- shutdown

TEST(StreamShutdown, tasks_waiting_on_streams_are_destroyed_with_no_timer_left) {
    LifeCount life;
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<> {
        auto waiter = [](LifeCount& life) -> Task<> {
            Probe p(life);
            auto ticks = weft::interval(1h).throttle(1ms).timeout(2h);
            (void)co_await ticks.next();
        };
        auto a = weft::spawn_task(waiter(life));
        auto b = weft::spawn_task([&life]() -> Task<> {
            Probe p(life);
            auto s = slow_count(3, 1h);
            (void)co_await s.next();
        });
        co_await weft::sleep(1ms);
        EXPECT_EQ(life.alive, 2);
    });
    EXPECT_EQ(life.alive, 0);
    EXPECT_EQ(life.destroyed, 2);
    EXPECT_EQ(rt.armed_timers(), 0U);
}

// ---- misuse, and the members not exercised above

// One stream polled by two tasks on purpose: on one thread (a stream is not
// thread-safe; spawn_here keeps the two on one worker of a pool).
TEST(StreamMisuse, a_second_next_while_one_waits_throws_and_the_first_still_gets_its_item) {
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<> {
        auto ticks = weft::interval(10ms);
        EXPECT_EQ(ticks.period(), 10ms);
        auto first = spawn_here([&ticks]() -> Task<std::uint64_t> { co_return *co_await ticks.next(); });
        co_await weft::yield_now();  // first now waits for tick 1
        std::string msg;
        try {
            (void)co_await ticks.next();
        } catch (const std::logic_error& e) {
            msg = e.what();
        }
        EXPECT_NE(msg.find("already waiting"), std::string::npos) << msg;
        EXPECT_EQ(co_await first, 1U);         // its registration was left alone
        EXPECT_EQ(co_await ticks.next(), 2U);  // and the stream is usable again
    });
    EXPECT_EQ(rt.armed_timers(), 0U);
}

TEST(ReceiverStream, close_stops_senders_and_into_inner_gives_the_receiver_back) {
    run_paused([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        weft::ReceiverStream<int> s(std::move(rx));
        (void)tx.send(1);
        s.close();
        auto refused = tx.send(2);
        EXPECT_FALSE(refused);
        EXPECT_EQ(refused.value(), 2);  // handed back: nothing lost
        EXPECT_EQ(co_await s.next(), 1);
        EXPECT_EQ(co_await s.next(), std::nullopt);

        auto [tx2, rx2] = weft::channel<int>();
        weft::ReceiverStream<int> s2(std::move(rx2));
        (void)tx2.send(7);
        (void)tx2.send(8);
        EXPECT_EQ(co_await s2.next(), 7);
        weft::Receiver<int> back = std::move(s2).into_inner();
        EXPECT_EQ(co_await back.recv(), 8);  // the rest stayed in the channel
    });
}
