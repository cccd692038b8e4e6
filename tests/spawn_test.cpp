// spawn_task, JoinHandle, async_move, detached failures, misuse errors.
#include <gtest/gtest.h>

#include <memory>
#include <numeric>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "support/probe.hpp"

using weft::JoinHandle;
using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

Task<int> after(std::chrono::milliseconds d, int v) {
    co_await weft::sleep(d);
    co_return v;
}

Task<void> throw_after(std::chrono::milliseconds d, std::string what) {
    co_await weft::sleep(d);
    throw std::runtime_error(what);
}

Task<void> hold_forever(Probe p) {
    (void)p;
    co_await weft::sleep(std::chrono::hours(1000));
}

Task<void> hold_forever_untimed() {
    co_await std::suspend_always{};
}

}  // namespace

TEST(Spawn, spawned_task_runs_concurrently_and_join_yields_its_value) {
    int got = run_paused([]() -> Task<int> {
        auto start = weft::now();
        JoinHandle<int> a = weft::spawn_task(after(100ms, 1));
        JoinHandle<int> b = weft::spawn_task(after(100ms, 2));
        int sum = co_await a + co_await b;
        EXPECT_EQ(ms_since(start), 100);  // concurrent, not 200
        co_return sum;
    });
    EXPECT_EQ(got, 3);
}

// FIFO order on one thread: spawn_task on a current-thread runtime,
// spawn_local on a pool (spawn_here; spawn_task on a pool starts tasks on
// several threads at once, in no defined order).
TEST(Spawn, spawned_tasks_start_in_spawn_order) {
    weft::Runtime rt(paused());
    std::vector<int> order = rt.block_on([]() -> Task<std::vector<int>> {
        auto log = std::make_shared<std::vector<int>>();
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < 5; ++i) {
            hs.push_back(spawn_here([log, i]() -> Task<void> {
                log->push_back(i);
                co_return;
            }));
        }
        for (auto& h : hs) {
            co_await h;
        }
        co_return *log;
    });
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Spawn, callable_captures_live_until_the_task_ends) {
    std::string got = run_paused([]() -> Task<std::string> {
        std::string greeting = "hello";
        auto h = weft::spawn_task([greeting, suffix = std::string(" world")]() -> Task<std::string> {
            co_await weft::sleep(10ms);  // the lambda object would be gone by now without ownership
            co_return greeting + suffix;
        });
        co_return co_await h;
    });
    EXPECT_EQ(got, "hello world");
}

TEST(Spawn, async_move_owns_its_captures_and_drops_them_when_done) {
    LifeCount c;
    run_paused([&]() -> Task<void> {
        Task<int> t = weft::async_move([p = Probe(c)]() -> Task<int> {
            co_await weft::sleep(5ms);
            co_return 7;
        });
        EXPECT_EQ(c.alive, 1);
        EXPECT_EQ(co_await t, 7);
        EXPECT_EQ(c.alive, 0);
    });
    EXPECT_EQ(c.alive, 0);
}

TEST(Spawn, join_handle_rethrows_the_tasks_exception) {
    std::string msg = run_paused([]() -> Task<std::string> {
        auto h = weft::spawn_task(throw_after(1ms, "task failed"));
        try {
            co_await h;
        } catch (const std::runtime_error& e) {
            co_return e.what();
        }
        co_return "";
    });
    EXPECT_EQ(msg, "task failed");
}

TEST(Spawn, is_finished_tracks_completion) {
    run_paused([]() -> Task<void> {
        auto h = weft::spawn_task(after(10ms, 1));
        EXPECT_FALSE(h.is_finished());
        co_await weft::sleep(20ms);
        EXPECT_TRUE(h.is_finished());
        EXPECT_EQ(co_await h, 1);
    });
}

TEST(Spawn, abort_destroys_the_task_at_its_suspension_point) {
    LifeCount c;
    weft::Runtime rt(paused());
    rt.block_on([&]() -> Task<void> {
        auto h = weft::spawn_task(hold_forever(Probe(c)));
        co_await until([&] { return rt.armed_timers() == 1; });  // it started and parks on its timer
        EXPECT_EQ(c.alive, 1);
        EXPECT_EQ(rt.armed_timers(), 1U);
        h.abort();
        EXPECT_THROW(co_await h, weft::Cancelled);
        EXPECT_TRUE(h.is_finished());
        EXPECT_EQ(c.alive, 0);
        EXPECT_EQ(rt.armed_timers(), 0U);
    });
}

TEST(Spawn, abort_of_a_task_that_never_started_destroys_it) {
    LifeCount c;
    run_paused([&]() -> Task<void> {
        auto h = weft::spawn_task(hold_forever(Probe(c)));
        h.abort();
        EXPECT_THROW(co_await h, weft::Cancelled);
        EXPECT_EQ(c.alive, 0);
    });
}

TEST(Spawn, abort_after_completion_keeps_the_result) {
    int got = run_paused([]() -> Task<int> {
        auto h = weft::spawn_task(after(1ms, 9));
        co_await weft::sleep(5ms);
        h.abort();
        co_return co_await h;
    });
    EXPECT_EQ(got, 9);
}

TEST(Spawn, dropping_the_handle_detaches_the_task) {
    int done = run_paused([]() -> Task<int> {
        auto flag = std::make_shared<int>(0);
        {
            auto h = weft::spawn_task([flag]() -> Task<void> {
                co_await weft::sleep(10ms);
                *flag = 1;
            });
        }
        co_await weft::sleep(20ms);
        co_return *flag;
    });
    EXPECT_EQ(done, 1);
}

TEST(Spawn, detached_failure_reaches_on_unhandled_exception) {
    std::vector<std::string> seen;
    weft::Runtime::Options o = paused();
    o.on_unhandled_exception = [&](std::exception_ptr e) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& ex) {
            seen.emplace_back(ex.what());
        }
    };
    weft::Runtime rt(std::move(o));
    rt.block_on([]() -> Task<void> {
        { auto detached = weft::spawn_task(throw_after(1ms, "detached")); }
        auto unobserved = weft::spawn_task(throw_after(1ms, "dropped after failing"));
        co_await weft::sleep(5ms);
        EXPECT_TRUE(unobserved.is_finished());
        unobserved = JoinHandle<void>();  // drops the failed task's handle unobserved
        co_await weft::sleep(1ms);
    });
    EXPECT_EQ(seen, (std::vector<std::string>{"detached", "dropped after failing"}));
}

TEST(Spawn, default_unhandled_handler_prints_the_exception) {
    testing::internal::CaptureStderr();
    run_paused([]() -> Task<void> {
        { auto h = weft::spawn_task(throw_after(1ms, "printed by default")); }
        co_await weft::sleep(2ms);
    });
    std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("printed by default"), std::string::npos) << err;
}

TEST(Spawn, a_throwing_handler_ends_block_on_and_the_runtime_stays_usable) {
    weft::Runtime::Options o = paused();
    o.on_unhandled_exception = [](std::exception_ptr e) { std::rethrow_exception(e); };
    weft::Runtime rt(std::move(o));
    EXPECT_THROW(rt.block_on([]() -> Task<void> {
        { auto h = weft::spawn_task(throw_after(1ms, "fatal")); }
        co_await weft::sleep(1h);
    }),
                 std::runtime_error);
    EXPECT_EQ(rt.armed_timers(), 0U);
    EXPECT_EQ(rt.block_on(after(1ms, 5)), 5);
}

TEST(Misuse, spawn_task_outside_a_runtime_throws_logic_error) {
    std::string msg = logic_error_of([] { auto h = weft::spawn_task(after(1ms, 1)); });
    EXPECT_NE(msg.find("spawn_task"), std::string::npos) << msg;
    EXPECT_NE(msg.find("outside a weft runtime"), std::string::npos) << msg;
    msg = logic_error_of([] { auto h = weft::spawn_task([]() -> Task<void> { co_return; }); });
    EXPECT_NE(msg.find("spawn_task"), std::string::npos) << msg;
}

TEST(Misuse, runtime_functions_outside_a_runtime_name_themselves) {
    EXPECT_NE(logic_error_of([] { (void)weft::now(); }).find("weft::now"), std::string::npos);
    EXPECT_NE(logic_error_of([] { (void)weft::sleep(1ms); }).find("weft::now"), std::string::npos);
    EXPECT_NE(logic_error_of([] { (void)weft::timeout(1ms, weft::yield_now()); }).find("weft::now"), std::string::npos);
}

TEST(Misuse, spawning_an_empty_task_throws_and_the_runtime_goes_on) {
    int got = run_paused([]() -> Task<int> {
        Task<int> empty;
        std::string msg = logic_error_of([&] { auto h = weft::spawn_task(std::move(empty)); });
        EXPECT_NE(msg.find("spawn_task"), std::string::npos) << msg;
        co_return co_await after(1ms, 3);
    });
    EXPECT_EQ(got, 3);
}

TEST(Misuse, awaiting_a_moved_from_handle_throws_logic_error) {
    std::string msg = run_paused([]() -> Task<std::string> {
        auto h = weft::spawn_task(after(1ms, 1));
        auto moved = std::move(h);
        try {
            co_await h;  // NOLINT(bugprone-use-after-move): the misuse under test
        } catch (const std::logic_error& e) {
            co_return e.what();
        }
        co_return "";
    });
    EXPECT_NE(msg.find("JoinHandle"), std::string::npos) << msg;
    EXPECT_NE(msg.find("moved-from"), std::string::npos) << msg;
}

TEST(Misuse, awaiting_a_handle_twice_throws_logic_error) {
    std::string msg = run_paused([]() -> Task<std::string> {
        auto h = weft::spawn_task(after(1ms, 1));
        co_await h;
        try {
            co_await h;
        } catch (const std::logic_error& e) {
            co_return e.what();
        }
        co_return "";
    });
    EXPECT_NE(msg.find("already taken"), std::string::npos) << msg;
}

TEST(Misuse, abort_and_is_finished_on_a_moved_from_handle_throw) {
    JoinHandle<int> empty;
    EXPECT_THROW((void)empty.is_finished(), std::logic_error);
    EXPECT_THROW(empty.abort(), std::logic_error);
}

TEST(Misuse, nested_block_on_throws_instead_of_blocking_the_runtime) {
    std::string msg =
        run_paused([]() -> Task<std::string> { co_return logic_error_of([] { weft_test::run(after(1ms, 1)); }); });
    EXPECT_NE(msg.find("block_on"), std::string::npos) << msg;
    EXPECT_NE(msg.find("inside a running weft runtime"), std::string::npos) << msg;
}

TEST(Misuse, more_than_1024_worker_threads_names_the_limit) {
    weft::Runtime::Options o;
    o.worker_threads = 5000;
    try {
        weft::Runtime rt(std::move(o));
        FAIL() << "expected std::invalid_argument";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("5000 is more than the 1024"), std::string::npos) << e.what();
    }
}

TEST(Misuse, a_deadlock_is_reported_instead_of_hanging) {
    weft::Runtime rt(paused());
    std::string msg = logic_error_of([&] {
        rt.block_on([]() -> Task<void> {
            auto parked = weft::spawn_task(hold_forever_untimed());
            // An awaitable that registers nowhere: nothing can ever resume main.
            co_await std::suspend_always{};
        });
    });
    EXPECT_NE(msg.find("deadlock"), std::string::npos) << msg;
    EXPECT_EQ(rt.armed_timers(), 0U);
}

// ---- spawn_local: the tasks stay on the spawner's thread (on a pool, its
// worker; on a current-thread runtime every task does anyway).
TEST(SpawnLocal, tasks_stay_on_the_spawners_thread_through_sleeps_and_yields) {
    run_paused([]() -> Task<> {
        const auto me = std::this_thread::get_id();
        std::vector<JoinHandle<bool>> hs;
        for (int i = 0; i < 200; ++i) {
            hs.push_back(weft::spawn_local([me, i]() -> Task<bool> {
                bool same = std::this_thread::get_id() == me;
                co_await weft::sleep(std::chrono::milliseconds(i % 7));
                same = same && std::this_thread::get_id() == me;
                co_await weft::yield_now();
                co_return (same && std::this_thread::get_id() == me);
            }));
        }
        int on_my_thread = 0;
        for (auto& h : hs) {
            on_my_thread += co_await h ? 1 : 0;
        }
        EXPECT_EQ(on_my_thread, 200);
    });
}

TEST(SpawnLocal, from_a_spawned_task_they_share_its_thread_and_start_in_spawn_order) {
    auto log = run_paused([]() -> Task<std::vector<int>> {
        auto outer = weft::spawn_task([]() -> Task<std::vector<int>> {
            const auto me = std::this_thread::get_id();
            std::vector<int> started;  // one thread: no lock
            std::vector<JoinHandle<void>> hs;
            for (int i = 0; i < 50; ++i) {
                hs.push_back(weft::spawn_local([&started, me, i]() -> Task<void> {
                    EXPECT_EQ(std::this_thread::get_id(), me);
                    started.push_back(i);
                    co_return;
                }));
            }
            for (auto& h : hs) {
                co_await h;
            }
            co_return started;
        });
        co_return co_await outer;
    });
    std::vector<int> want(50);
    std::iota(want.begin(), want.end(), 0);
    EXPECT_EQ(log, want);
}

TEST(SpawnLocal, its_handles_are_awaited_and_aborted_from_any_task) {
    int got = run_paused([]() -> Task<int> {
        auto value = weft::spawn_local(after(1s, 7));
        LifeCount life;
        auto parked = weft::spawn_local([p = Probe(life)]() -> Task<void> { co_await weft::sleep(1h); });
        // The handles move into a task that any worker may run.
        auto user = weft::spawn_task([value = std::move(value), parked = std::move(parked)]() mutable -> Task<int> {
            parked.abort();
            bool cancelled = false;
            try {
                co_await parked;
            } catch (const weft::Cancelled&) {
                cancelled = true;
            }
            EXPECT_TRUE(cancelled);
            co_return co_await value;
        });
        const int v = co_await user;
        EXPECT_EQ(life.alive, 0);
        co_return v;
    });
    EXPECT_EQ(got, 7);
}

TEST(SpawnLocalMisuse, outside_a_task_it_throws_logic_error_and_the_runtime_goes_on) {
    const std::string outside = logic_error_of([] { (void)weft::spawn_local([]() -> Task<int> { co_return 1; }); });
    EXPECT_NE(outside.find("weft::spawn_local"), std::string::npos) << outside;
    EXPECT_NE(outside.find("block_on"), std::string::npos) << outside;
    int got = run_paused([]() -> Task<int> {
        // A blocking job runs on no worker: spawn_local has no thread to keep the task on.
        std::string in_job = co_await weft::spawn_blocking(
            [] { return logic_error_of([] { (void)weft::spawn_local([]() -> Task<int> { co_return 1; }); }); });
        EXPECT_NE(in_job.find("weft::spawn_local"), std::string::npos) << in_job;
        Task<int> empty;
        std::string msg = logic_error_of([&] { auto h = weft::spawn_local(std::move(empty)); });
        EXPECT_NE(msg.find("spawn_local"), std::string::npos) << msg;
        co_return co_await weft::spawn_local(after(1ms, 3));
    });
    EXPECT_EQ(got, 3);
}
