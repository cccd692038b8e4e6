// The cooperative budget: a task looping over awaits that never wait still
// lets the other tasks run (task_header.hpp, "Cooperative budget").
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <vector>

#include "support/probe.hpp"

using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

// These check the budget on one thread, where the order is defined: the
// tasks share the main task's thread (spawn_here: spawn_local on a pool, whose
// workers keep the same budget; pool_test.cpp checks it across workers).
TEST(Fairness, draining_a_channel_that_never_empties_lets_others_run) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        for (int i = 0; i < 1000; ++i) {
            (void)tx.send(i);
        }
        int received_when_other_ran = -1;
        int received = 0;
        auto other = spawn_here([&]() -> Task<> {
            received_when_other_ran = received;
            co_return;
        });
        for (int i = 0; i < 1000; ++i) {
            EXPECT_EQ(co_await rx.recv(), i);  // every value, in order, despite the yields
            ++received;
        }
        co_await other;
        EXPECT_GE(received_when_other_ran, 0);
        EXPECT_LE(received_when_other_ran, weft::detail::kTurnBudget);  // not after all 1000
    });
}

TEST(Fairness, a_loop_of_receives_on_a_closed_channel_does_not_starve_the_others) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        { auto last = std::move(tx); }  // closed: every recv completes at once with nullopt
        bool stop = false;
        std::uint64_t spins = 0;
        auto spinner = spawn_here([&]() -> Task<> {
            while (!stop) {
                EXPECT_EQ(co_await rx.recv(), std::nullopt);  // never waits: only the budget yields
                ++spins;
            }
        });
        auto stopper = spawn_here([&]() -> Task<> {
            stop = true;
            co_return;
        });
        co_await stopper;
        co_await spinner;
        EXPECT_LE(spins, static_cast<std::uint64_t>(weft::detail::kTurnBudget) + 1);  // one turn, then stop
    });
}

TEST(Fairness, a_loop_of_due_sleeps_does_not_starve_the_others) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        bool stop = false;
        std::uint64_t spins = 0;
        auto spinner = spawn_here([&]() -> Task<> {
            while (!stop) {
                co_await weft::sleep(0ms);  // always due: would never suspend without the budget
                ++spins;
            }
        });
        auto stopper = spawn_here([&]() -> Task<> {
            stop = true;
            co_return;
        });
        co_await stopper;
        co_await spinner;
        EXPECT_LE(spins, static_cast<std::uint64_t>(weft::detail::kTurnBudget) + 1);  // one turn, then stop
    });
}

TEST(Fairness, awaiting_many_finished_handles_yields_now_and_then) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        std::vector<weft::JoinHandle<int>> handles;
        for (int i = 0; i < 500; ++i) {
            handles.push_back(spawn_here([i]() -> Task<int> { co_return i; }));
        }
        co_await weft::yield_now();  // every task has finished
        int awaited_when_other_ran = -1;
        int awaited = 0;
        auto other = spawn_here([&]() -> Task<> {
            awaited_when_other_ran = awaited;
            co_return;
        });
        long sum = 0;
        for (auto& h : handles) {
            sum += co_await h;
            ++awaited;
        }
        co_await other;
        EXPECT_EQ(sum, 500L * 499 / 2);
        EXPECT_GE(awaited_when_other_ran, 0);
        EXPECT_LT(awaited_when_other_ran, 500);
    });
}

// The budget is exact: a turn completes kTurnBudget ready receives, and the
// next one yields (the receive's check and spending are one decrement).
TEST(Fairness, a_turn_completes_exactly_the_budget_of_ready_receives) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        for (int i = 0; i < 1000; ++i) {
            (void)tx.send(i);
        }
        int taken = 0;
        auto drainer = spawn_here([&]() -> Task<> {
            while (taken < 1000) {
                EXPECT_EQ(co_await rx.recv(), taken);
                ++taken;
            }
        });
        co_await weft::yield_now();  // the drainer's first turn
        EXPECT_EQ(taken, weft::detail::kTurnBudget);
        co_await weft::yield_now();  // its second: the yielded receive, then a new budget
        EXPECT_GT(taken, weft::detail::kTurnBudget);
        EXPECT_LE(taken, 2 * weft::detail::kTurnBudget + 1);
        co_await drainer;
        EXPECT_EQ(taken, 1000);
    });
}

// One Receiver used by two tasks in turn: its home is their one thread.
TEST(Fairness, a_recv_cancelled_while_yielding_for_the_budget_loses_nothing) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        for (int i = 0; i < 1000; ++i) {
            (void)tx.send(i);
        }
        int taken = 0;
        auto drainer = spawn_here([&]() -> Task<> {
            for (;;) {
                (void)co_await rx.recv();
                ++taken;
            }
        });
        // The drainer takes kTurnBudget values in its first turn, then its
        // next recv yields; abort it there.
        while (taken < weft::detail::kTurnBudget) {
            co_await weft::yield_now();
        }
        const int before = taken;
        drainer.abort();
        co_await weft::yield_now();
        EXPECT_EQ(co_await rx.recv(), before);  // the value the cancelled recv was about to take
    });
}
