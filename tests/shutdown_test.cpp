// Shutdown: when block_on returns, every pending task is destroyed.
#include <gtest/gtest.h>

#include <memory>
#include <stdexcept>
#include <vector>

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
        { auto j = weft::spawn_task(in_join(Probe(c))); }            // parked inside a join
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
        co_await weft::yield_now();
        co_return h;
    });
    EXPECT_TRUE(h.is_finished());
    EXPECT_EQ(rt.block_on([&]() -> Task<int> { co_return co_await h; }), 11);
}
