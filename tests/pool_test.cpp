// The pool runtime's own guarantees: work spreads over the workers, the
// cross-thread races (abort, JoinHandle release, channel close) are clean,
// shutdown with tasks everywhere, the shared paused clock, fairness per
// worker, bad input. (Every other test file also runs on a pool: the
// "pool2." tests.)
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <thread>
#include <vector>

#include "support/probe.hpp"

using namespace std::chrono_literals;
using weft::JoinHandle;
using weft::Task;
using namespace weft_test;

namespace {

weft::Runtime::Options pool(std::size_t n, bool paused_clock = true) {
    weft::Runtime::Options o;
    o.worker_threads = n;
    o.paused_clock = paused_clock;
    return o;
}

// Busy work the optimiser cannot drop.
std::uint64_t spin(std::uint64_t n) {
    volatile std::uint64_t x = n;
    for (std::uint64_t i = 0; i < n; ++i) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    return x;
}

Task<void> hold_forever(Probe) {
    co_await weft::sleep(std::chrono::hours(24));
}

}  // namespace

TEST(Pool, tasks_run_on_every_worker) {
    weft::Runtime rt(pool(2, false));
    std::mutex mu;
    std::set<std::thread::id> seen;
    rt.block_on([&]() -> Task<void> {
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < 200; ++i) {
            hs.push_back(weft::spawn_task([&]() -> Task<void> {
                (void)spin(200'000);  // long enough for the idle worker to steal
                std::lock_guard<std::mutex> lock(mu);
                seen.insert(std::this_thread::get_id());
                co_return;
            }));
        }
        for (auto& h : hs) {
            co_await h;
        }
    });
    EXPECT_EQ(seen.size(), 2U);
    EXPECT_EQ(seen.count(std::this_thread::get_id()), 0U);  // block_on's thread only waits
}

TEST(Pool, a_runtime_runs_block_on_again_and_its_workers_end_each_time) {
    weft::Runtime rt(pool(3));
    EXPECT_EQ(rt.worker_threads(), 3U);
    for (int round = 0; round < 3; ++round) {
        int v = rt.block_on([round]() -> Task<int> {
            auto h = weft::spawn_task([round]() -> Task<int> {
                co_await weft::sleep(10ms);
                co_return round * 2;
            });
            co_return co_await h + 1;
        });
        EXPECT_EQ(v, round * 2 + 1);
    }
}

TEST(Pool, a_million_spawns_from_many_tasks) {
    constexpr std::uint64_t kSpawners = 100;
    constexpr std::uint64_t kEach = 10'000;
    weft::Runtime rt(pool(2, false));
    std::uint64_t total = rt.block_on([]() -> Task<std::uint64_t> {
        std::vector<JoinHandle<std::uint64_t>> spawners;
        for (std::uint64_t s = 0; s < kSpawners; ++s) {
            spawners.push_back(weft::spawn_task([s]() -> Task<std::uint64_t> {
                std::vector<JoinHandle<std::uint64_t>> hs;
                hs.reserve(kEach);
                for (std::uint64_t i = 0; i < kEach; ++i) {
                    hs.push_back(weft::spawn_task([v = s * kEach + i]() -> Task<std::uint64_t> { co_return v; }));
                }
                std::uint64_t sum = 0;
                for (auto& h : hs) {
                    sum += co_await h;
                }
                co_return sum;
            }));
        }
        std::uint64_t sum = 0;
        for (auto& h : spawners) {
            sum += co_await h;
        }
        co_return sum;
    });
    const std::uint64_t n = kSpawners * kEach;
    EXPECT_EQ(total, n * (n - 1) / 2);
}

TEST(Pool, abort_racing_completion_either_cancels_or_yields_the_value) {
    weft::Runtime rt(pool(2, false));
    auto [done, cancelled] = rt.block_on([]() -> Task<std::pair<int, int>> {
        int done_count = 0;
        int cancelled_count = 0;
        for (int i = 0; i < 5000; ++i) {
            auto h = weft::spawn_task([i]() -> Task<int> {
                if (i % 3 == 0) {
                    co_await weft::yield_now();
                }
                co_return i;
            });
            if (i % 2 == 0) {
                co_await weft::yield_now();  // sometimes it runs (on the other worker) first
            }
            h.abort();
            try {
                EXPECT_EQ(co_await h, i);
                ++done_count;
            } catch (const weft::Cancelled&) {
                ++cancelled_count;
            }
            EXPECT_TRUE(h.is_finished());
        }
        co_return std::pair<int, int>(done_count, cancelled_count);
    });
    EXPECT_EQ(done + cancelled, 5000);
    EXPECT_GT(cancelled, 0);
}

TEST(Pool, join_handles_dropped_racing_completion_free_every_task) {
    LifeCount c;
    {
        weft::Runtime rt(pool(2, false));
        rt.block_on([&]() -> Task<void> {
            for (int i = 0; i < 20'000; ++i) {
                auto h = weft::spawn_task([p = Probe(c), i]() -> Task<int> { co_return i; });
                if (i % 4 == 0) {
                    co_await weft::yield_now();
                }
                // h is dropped here, before, during or after the task's completion.
            }
            co_await until([&] { return c.alive.load() == 0; });
        });
    }
    EXPECT_EQ(c.alive.load(), 0);
    EXPECT_EQ(c.destroyed.load(), 20'000);
}

// The error of a task whose handle is dropped while it completes on the
// other worker is reported once: by the completion if the handle was gone,
// else by the handle's release (task_header.hpp rule 6).
TEST(Pool, errors_of_handles_dropped_racing_completion_are_reported_exactly_once) {
    constexpr int kTasks = 20'000;
    std::atomic<int> reported{0};
    std::atomic<int> thrown{0};
    {
        weft::Runtime::Options o = pool(2, false);
        o.on_unhandled_exception = [&](std::exception_ptr e) {
            try {
                std::rethrow_exception(std::move(e));
            } catch (const std::runtime_error&) {
                ++reported;
            }
        };
        weft::Runtime rt(std::move(o));
        rt.block_on([&]() -> Task<void> {
            for (int i = 0; i < kTasks; ++i) {
                auto h = weft::spawn_task([&thrown]() -> Task<int> {
                    ++thrown;
                    throw std::runtime_error("dropped");
                    co_return 0;
                });
                if (i % 3 == 0) {
                    co_await weft::yield_now();
                }
                // h is dropped here, before, during or after the task's completion.
            }
            co_await until([&] { return reported.load() >= kTasks; });  // a lost report hangs here (test timeout)
            for (int i = 0; i < 100; ++i) {
                co_await weft::yield_now();  // room for a second report of any of them
            }
        });
    }
    EXPECT_EQ(thrown.load(), kTasks);
    EXPECT_EQ(reported.load(), kTasks);
}

TEST(Pool, channel_close_racing_sends_loses_nothing_that_was_accepted) {
    weft::Runtime rt(pool(2, false));
    for (int round = 0; round < 20; ++round) {
        auto [accepted, received] = rt.block_on([]() -> Task<std::pair<int, int>> {
            auto [tx, rx] = weft::channel<int>();
            std::atomic<int> ok{0};
            std::vector<JoinHandle<void>> senders;
            for (int s = 0; s < 4; ++s) {
                senders.push_back(weft::spawn_task(weft::async_move([tx = tx, &ok]() mutable -> Task<void> {
                    for (int i = 0; i < 2000; ++i) {
                        if (tx.send(i)) {
                            ok.fetch_add(1);
                        }
                        if (i % 64 == 0) {
                            co_await weft::yield_now();
                        }
                    }
                })));
            }
            {
                auto drop = std::move(tx);  // only the senders' clones keep it open
            }
            int got = 0;
            while (got < 1000) {
                if (!co_await rx.recv()) {
                    break;
                }
                ++got;
            }
            rx.close();  // races with the sends still in flight
            while (co_await rx.recv()) {
                ++got;  // everything accepted before the close is still there
            }
            for (auto& h : senders) {
                co_await h;
            }
            co_return std::pair<int, int>(ok.load(), got);
        });
        EXPECT_EQ(accepted, received);
    }
}

TEST(Pool, shutdown_destroys_tasks_blocked_everywhere) {
    LifeCount c;
    weft::Runtime rt(pool(2, false));  // real clock: busy tasks keep paused time still
    rt.block_on([&]() -> Task<void> {
        auto [tx, rx] = weft::channel<int>();
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < 50; ++i) {
            hs.push_back(weft::spawn_task(hold_forever(Probe(c))));  // on timers
        }
        auto receiver = weft::spawn_task(weft::async_move([rx = std::move(rx), p = Probe(c)]() mutable -> Task<void> {
            (void)co_await rx.recv();  // on a channel nobody sends to
        }));
        auto blocked = weft::spawn_task([]() -> Task<int> {
            auto inner = weft::spawn_task([]() -> Task<int> {
                co_await weft::sleep(std::chrono::hours(1));
                co_return 1;
            });
            co_return co_await inner;  // on another task
        });
        for (int i = 0; i < 50; ++i) {
            hs.push_back(weft::spawn_task(weft::async_move([p = Probe(c)]() -> Task<void> {
                for (;;) {
                    co_await weft::yield_now();  // busy on some worker until shutdown
                }
            })));
        }
        co_await weft::sleep(10ms);
        EXPECT_EQ(c.alive.load(), 101);
        (void)tx;
        // Return with every task alive: block_on tears them all down.
    });
    EXPECT_EQ(c.alive.load(), 0);
    EXPECT_EQ(c.destroyed.load(), 101);
    EXPECT_EQ(rt.armed_timers(), 0U);
}

TEST(Pool, the_paused_clock_is_one_clock_for_every_worker) {
    weft::Runtime rt(pool(2));
    std::mutex mu;
    std::vector<int> fired;
    auto elapsed = rt.block_on([&]() -> Task<std::chrono::steady_clock::duration> {
        const auto start = weft::now();
        std::vector<JoinHandle<void>> hs;
        for (int i = 0; i < 200; ++i) {
            const int ms = ((i * 37) % 200 + 1) * 5;  // distinct deadlines, 5 ms apart
            hs.push_back(weft::spawn_task([&, ms]() -> Task<void> {
                co_await weft::sleep(std::chrono::milliseconds(ms));
                std::lock_guard<std::mutex> lock(mu);
                fired.push_back(ms);
            }));
        }
        for (auto& h : hs) {
            co_await h;
        }
        co_return weft::now() - start;
    });
    EXPECT_EQ(elapsed, 1000ms);  // the last deadline, exactly, in virtual time
    ASSERT_EQ(fired.size(), 200U);
    EXPECT_TRUE(std::is_sorted(fired.begin(), fired.end()));  // in deadline order across workers
}

TEST(Pool, a_real_clock_sleep_on_a_worker_takes_its_time) {
    weft::Runtime rt(pool(2, false));
    const auto start = std::chrono::steady_clock::now();
    rt.block_on([]() -> Task<void> {
        auto h = weft::spawn_task([]() -> Task<void> { co_await weft::sleep(30ms); });
        co_await weft::sleep(20ms);
        co_await h;
    });
    EXPECT_GE(std::chrono::steady_clock::now() - start, 30ms);
}

TEST(Pool, a_task_that_loops_on_ready_awaits_does_not_starve_its_worker) {
    weft::Runtime rt(pool(1));  // one worker: the spinner and the other share it
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> spins{0};
    rt.block_on([&]() -> Task<void> {
        auto spinner = weft::spawn_task([&]() -> Task<void> {
            while (!stop) {
                co_await weft::sleep(0ms);  // always due: yields only for the budget
                ++spins;
            }
        });
        auto stopper = weft::spawn_task([&]() -> Task<void> {
            stop = true;
            co_return;
        });
        co_await stopper;
        co_await spinner;
    });
    // The stopper starts within a few budgets of the spinner's turns
    // (unstarted tasks are taken every 61 turns).
    EXPECT_LE(spins.load(), 63U * weft::detail::kTurnBudget);
}

TEST(Pool, unhandled_exceptions_reach_the_handler_one_at_a_time) {
    std::atomic<int> inside{0};
    std::atomic<int> calls{0};
    std::atomic<bool> overlapped{false};
    weft::Runtime::Options o = pool(2, false);
    o.on_unhandled_exception = [&](std::exception_ptr) {
        if (inside.fetch_add(1) != 0) {
            overlapped = true;
        }
        std::this_thread::sleep_for(1ms);
        inside.fetch_sub(1);
        calls.fetch_add(1);
    };
    weft::Runtime rt(std::move(o));
    rt.block_on([]() -> Task<void> {
        for (int i = 0; i < 20; ++i) {
            (void)weft::spawn_task([]() -> Task<void> {
                throw std::runtime_error("detached failure");
                co_return;
            });  // detached at once
        }
        co_await weft::sleep(100ms);
    });
    EXPECT_EQ(calls.load(), 20);
    EXPECT_FALSE(overlapped.load());
}

TEST(Pool, a_throwing_handler_ends_block_on_with_its_exception) {
    weft::Runtime::Options o = pool(2, false);
    o.on_unhandled_exception = [](std::exception_ptr e) { std::rethrow_exception(e); };
    weft::Runtime rt(std::move(o));
    EXPECT_THROW(rt.block_on([]() -> Task<void> {
        (void)weft::spawn_task([]() -> Task<void> {
            throw std::runtime_error("escalated");
            co_return;
        });
        co_await weft::sleep(std::chrono::hours(1));
    }),
                 std::runtime_error);
}

// The home rule of a Receiver on a pool (chan_core.hpp): the worker of its
// first receive, while that thread runs; then whoever uses it next.
TEST(Pool, a_receiver_is_refused_off_its_home_while_that_runs_and_taken_over_after) {
    auto [tx, rx] = weft::channel<int>();
    weft::Runtime rt(pool(2));
    rt.block_on([&]() -> Task<> {
        (void)tx.send(1);
        EXPECT_EQ(co_await rx.recv(), 1);  // claims this worker
        (void)tx.send(2);
        std::string msg;
        std::thread other([&] { msg = logic_error_of([&] { (void)rx.try_recv(); }); });
        other.join();
        EXPECT_NE(msg.find("home thread"), std::string::npos) << msg;
    });
    // The workers have ended: this thread takes the home over, 2 is still there.
    EXPECT_EQ(rx.try_recv(), 2);
    (void)tx.send(3);
    // Now this (running) thread is the home: a worker of the next block_on is refused.
    EXPECT_THROW(rt.block_on([&]() -> Task<std::optional<int>> { co_return co_await rx.recv(); }), std::logic_error);
    EXPECT_EQ(rx.try_recv(), 3);
}

TEST(PoolMisuse, block_on_inside_a_worker_throws_logic_error) {
    weft::Runtime rt(pool(2));
    std::string msg = rt.block_on([&]() -> Task<std::string> {
        weft::Runtime inner(pool(1));
        co_return logic_error_of([&] { inner.block_on([]() -> Task<void> { co_return; }); });
    });
    EXPECT_NE(msg.find("weft::block_on"), std::string::npos) << msg;
    EXPECT_NE(msg.find("worker"), std::string::npos) << msg;
}

TEST(PoolMisuse, a_deadlock_is_reported_instead_of_hanging) {
    weft::Runtime rt(pool(2));
    std::string msg = logic_error_of([&] {
        rt.block_on([]() -> Task<void> {
            // Registers nowhere: nothing can ever resume it, nor main, which
            // waits for it (maybe from the other worker).
            auto h = weft::spawn_task([]() -> Task<void> { co_await std::suspend_always{}; });
            co_await h;
        });
    });
    EXPECT_NE(msg.find("deadlock"), std::string::npos) << msg;
}

// Threads of this process, from /proc/self/status.
int thread_count() {
    std::ifstream status("/proc/self/status");
    std::string line;
    while (std::getline(status, line)) {
        if (line.rfind("Threads:", 0) == 0) {
            return std::stoi(line.substr(8));
        }
    }
    return -1;
}

TEST(PoolMisuse, a_failed_thread_start_leaves_nothing_running) {
    LifeCount c;
    weft::Runtime rt(pool(4));
    // A full block_on first, so that whatever starts with the first thread
    // (a sanitizer's helper thread, say) exists before the count is taken.
    EXPECT_EQ(rt.block_on([]() -> Task<int> { co_return 1; }), 1);
    const int threads_before = thread_count();
    weft::detail::testing::fail_worker_start_at = 2;
    std::string what;
    try {
        rt.block_on([p = Probe(c)]() -> Task<void> { co_await weft::sleep(1h); });
    } catch (const std::system_error& e) {
        what = e.what();
    }
    weft::detail::testing::fail_worker_start_at = -1;
    EXPECT_NE(what.find("could not start worker thread 3 of 4"), std::string::npos) << what;
    EXPECT_EQ(thread_count(), threads_before);  // the two workers that started were joined
    EXPECT_EQ(c.alive.load(), 0);               // the main task (and its callable) destroyed
    // The runtime is still usable.
    EXPECT_EQ(rt.block_on([]() -> Task<int> { co_return 7; }), 7);
}

TEST(PoolMisuse, more_than_1024_workers_is_invalid) {
    weft::Runtime::Options o;
    o.worker_threads = 1025;
    std::string msg;
    try {
        weft::Runtime rt(std::move(o));
    } catch (const std::invalid_argument& e) {
        msg = e.what();
    }
    EXPECT_NE(msg.find("1025"), std::string::npos) << msg;  // names the value
    EXPECT_NE(msg.find("1024"), std::string::npos) << msg;  // and the limit
    weft::Runtime::Options most;
    most.worker_threads = 1024;  // the limit itself is fine (no thread starts before block_on)
    weft::Runtime at_limit(std::move(most));
    EXPECT_EQ(at_limit.worker_threads(), 1024U);
}
