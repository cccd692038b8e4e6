// Shutdown: when block_on returns, every pending task is destroyed.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>
#include <weft/weft.hpp>

#include "support/probe.hpp"

using weft::JoinHandle;
using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

Task<void> sleeper(Probe p, std::chrono::hours d) {
    (void)p;
    co_await weft::sleep(d);
}

Task<int> joiner(Probe p, std::shared_ptr<JoinHandle<void>> h) {
    (void)p;
    co_await *h;
    co_return 1;
}

Task<void> in_join(Probe p) {
    Probe inner = p;
    co_await weft::join(weft::sleep(1h), weft::sleep(2h));
}

}  // namespace

TEST(Shutdown, pending_tasks_are_destroyed_when_block_on_returns) {
    LifeCount c;
    weft::Runtime rt(paused());
    std::shared_ptr<JoinHandle<void>> escaped;
    int got = rt.block_on([&]() -> Task<int> {
        auto sleeping = weft::spawn_task(sleeper(Probe(c), 1h));  // parked on a timer
        escaped = std::make_shared<JoinHandle<void>>(weft::spawn_task(sleeper(Probe(c), 2h)));
        { auto detached = weft::spawn_task(sleeper(Probe(c), 3h)); }
        { auto j = weft::spawn_task(joiner(Probe(c), escaped)); }  // parked on a JoinHandle
        { auto j = weft::spawn_task(in_join(Probe(c))); }          // parked inside a join
        co_await weft::sleep(1ms);
        EXPECT_EQ(c.alive, 6);  // in_join holds two probes
        EXPECT_EQ(rt.armed_timers(), 5U);
        { auto never_started = weft::spawn_task(sleeper(Probe(c), 4h)); }
        co_return 7;
    });
    EXPECT_EQ(got, 7);
    EXPECT_EQ(c.alive, 0);
    EXPECT_EQ(c.destroyed, 7);
    EXPECT_EQ(rt.armed_timers(), 0U);
    // A handle that outlived the runtime's run sees the cancellation.
    ASSERT_TRUE(escaped->is_finished());
    EXPECT_THROW(rt.block_on([&]() -> Task<void> { co_await *escaped; }), weft::Cancelled);
}

TEST(Shutdown, happens_when_the_main_task_throws_too) {
    LifeCount c;
    weft::Runtime rt(paused());
    EXPECT_THROW(rt.block_on([&]() -> Task<void> {
        { auto h = weft::spawn_task(sleeper(Probe(c), 1h)); }
        co_await weft::sleep(1ms);
        throw std::runtime_error("main failed");
    }),
                 std::runtime_error);
    EXPECT_EQ(c.alive, 0);
    EXPECT_EQ(rt.armed_timers(), 0U);
}

TEST(Shutdown, a_runtime_runs_again_after_block_on_returns) {
    weft::Runtime rt(paused());
    for (int i = 0; i < 3; ++i) {
        int got = rt.block_on([i]() -> Task<int> {
            auto h = weft::spawn_task([i]() -> Task<int> {
                co_await weft::sleep(1s);
                co_return i;
            });
            co_return co_await h;
        });
        EXPECT_EQ(got, i);
    }
}

TEST(Shutdown, a_completed_result_survives_in_an_escaped_handle) {
    weft::Runtime rt(paused());
    JoinHandle<int> h = rt.block_on([]() -> Task<JoinHandle<int>> {
        auto h = weft::spawn_task([]() -> Task<int> { co_return 11; });
        co_await until([&] { return h.is_finished(); });
        co_return h;
    });
    EXPECT_TRUE(h.is_finished());
    EXPECT_EQ(rt.block_on([&]() -> Task<int> { co_return co_await h; }), 11);
}

namespace {

// A busy scenario: producers, a consumer, joins, selects, timeouts, a
// bounded channel and a oneshot, all holding probes.
Task<void> scenario(LifeCount& c) {
    Probe p(c);
    auto [tx, rx] = weft::channel<int>();
    auto [btx, brx] = weft::bounded_channel<int>(2);
    auto [otx, orx] = weft::oneshot<int>();
    for (int i = 0; i < 3; ++i) {
        auto h = weft::spawn_task(weft::async_move([tx = tx, btx = btx, i, q = Probe(c)]() mutable -> Task<void> {
            for (int j = 0; j < 5; ++j) {
                (void)tx.send(i * 10 + j);
                (void)co_await btx.send(j);
                co_await weft::sleep(std::chrono::milliseconds(1 + i));
            }
        }));
    }
    auto closer = weft::spawn_task(weft::async_move([otx = std::move(otx), q = Probe(c)]() mutable -> Task<void> {
        co_await weft::sleep(7ms);
        (void)otx.send(1);
    }));
    { auto drop = std::move(tx); }
    { auto drop = std::move(btx); }
    auto consume = [](weft::Receiver<int>& r, LifeCount& lc) -> Task<int> {
        Probe q(lc);
        int n = 0;
        while (auto v = co_await r.recv()) {
            n += *v >= 0 ? 1 : 0;
            (void)co_await weft::select(weft::yield_now(), weft::sleep(1ms));
        }
        co_return n;
    };
    auto [a, b] = co_await weft::join(consume(rx, c), consume(brx, c));
    (void)co_await weft::timeout(3ms, orx);
    EXPECT_EQ(a, 15);
    EXPECT_EQ(b, 15);
}

}  // namespace

// Boost.Cobalt's habit: stop the runtime at every point of a run (here: after
// every millisecond of virtual time) and check that everything was destroyed.
TEST(Shutdown, tearing_a_busy_scenario_down_at_every_point_leaves_nothing) {
    for (int stop_ms = 0; stop_ms <= 40; ++stop_ms) {
        LifeCount c;
        weft::Runtime rt(paused());
        rt.block_on([&]() -> Task<void> {
            auto h = weft::spawn_task(scenario(c));
            co_await weft::sleep(std::chrono::milliseconds(stop_ms));
        });
        EXPECT_EQ(c.alive, 0) << "stopped at " << stop_ms << " ms";
        if (stop_ms > 0) {
            EXPECT_GT(c.destroyed, 0) << "the scenario should have started by " << stop_ms << " ms";
        }
        EXPECT_EQ(rt.armed_timers(), 0U);
    }
    // And the same scenario runs to completion when awaited.
    LifeCount c;
    run_paused([&]() -> Task<void> { co_await scenario(c); });
    EXPECT_EQ(c.alive, 0);
    EXPECT_GE(c.destroyed, 7);
}
