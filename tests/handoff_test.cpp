// The scheduler's hand-off slot (scheduler.hpp, rule 7 in task_header.hpp):
// a task woken while the run queue is empty waits there, outside the run
// queue, with its woken waiter. These check that the slot keeps the FIFO
// order of turns, merges a second wake, and is emptied when its task is
// aborted, completes or is torn down, and when its waiter is destroyed.
#include <gtest/gtest.h>

#include <chrono>
#include <optional>
#include <string>
#include <variant>

#include "support/probe.hpp"

using weft::Task;
using namespace weft_test;

namespace {

// A task that waits for one value on `rx` and appends `name` to `log`.
Task<void> log_on_value(weft::Receiver<int>& rx, std::string& log, char name) {
    auto v = co_await rx.recv();
    EXPECT_TRUE(v.has_value());
    log += name;
}

}  // namespace

TEST(Handoff, turns_keep_the_order_of_their_wakes) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        std::string log;
        auto [ta, ra] = weft::channel<int>();
        auto [tb, rb] = weft::channel<int>();
        auto a = spawn_here(log_on_value(ra, log, 'A'));
        auto b = spawn_here(log_on_value(rb, log, 'B'));
        co_await weft::yield_now();  // both wait now; the run queue is empty
        (void)ta.send(1);            // A: into the slot
        (void)tb.send(2);            // B: queued behind A (the slot moves to the queue first)
        auto c = spawn_here([&]() -> Task<> {
            log += 'C';
            co_return;
        });
        co_await weft::yield_now();  // this task goes last
        log += 'M';
        co_await a;
        co_await b;
        co_await c;
        EXPECT_EQ(log, "ABCM");
    });
}

TEST(Handoff, a_yield_after_a_wake_runs_after_the_woken_task) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        std::string log;
        auto [ta, ra] = weft::channel<int>();
        auto a = spawn_here(log_on_value(ra, log, 'A'));
        co_await weft::yield_now();
        (void)ta.send(1);            // A: into the slot
        co_await weft::yield_now();  // behind A
        log += 'M';
        co_await a;
        EXPECT_EQ(log, "AM");
    });
}

TEST(Handoff, a_task_spawned_after_a_wake_runs_after_the_woken_task) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        std::string log;
        auto [ta, ra] = weft::channel<int>();
        auto a = spawn_here(log_on_value(ra, log, 'A'));
        co_await weft::yield_now();
        (void)ta.send(1);  // A: into the slot
        auto c = spawn_here([&]() -> Task<> {
            log += 'C';
            co_return;
        });
        co_await a;
        co_await c;
        EXPECT_EQ(log, "AC");
    });
}

TEST(Handoff, a_task_woken_twice_before_its_turn_resumes_both_waiters) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [t1, r1] = weft::channel<int>();
        auto [t2, r2] = weft::channel<int>();
        auto both = spawn_here([&]() -> Task<int> {
            auto [x, y] = co_await weft::join(r1.recv(), r2.recv());
            co_return x.value_or(-100) + y.value_or(-1000);
        });
        co_await weft::yield_now();  // both receives wait
        (void)t1.send(1);            // the slot
        (void)t2.send(20);           // the same task again: slot and second waiter, in order
        EXPECT_EQ(co_await both, 21);
    });
}

TEST(Handoff, aborting_a_task_in_the_slot_cancels_it_and_keeps_the_value) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        LifeCount c;
        bool received = false;
        auto h = spawn_here([&, p = Probe(c)]() -> Task<> {
            auto v = co_await rx.recv();
            received = v.has_value();
        });
        co_await weft::yield_now();  // it waits
        (void)tx.send(7);            // woken: into the slot
        h.abort();                   // before its turn
        bool cancelled = false;
        try {
            co_await h;
        } catch (const weft::Cancelled&) {
            cancelled = true;
        }
        EXPECT_TRUE(cancelled);
        EXPECT_FALSE(received);
        EXPECT_EQ(c.alive, 0);
        EXPECT_EQ(rx.try_recv(), 7);  // the woken receive took nothing
    });
}

TEST(Handoff, a_task_that_wakes_itself_and_completes_in_the_same_turn) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        int winner = -1;
        {
            // Detached, so that its memory goes when it completes (no handle
            // keeps it): a slot left pointing at it would be a use after free.
            auto h = spawn_here([&]() -> Task<> {
                // The receive waits, then the other branch's send wakes it:
                // this task (running, not queued) goes into the slot. The send
                // branch wins the select, which destroys the woken receive, and
                // the task completes in the same turn, with itself in the slot.
                auto r = co_await weft::select(rx.recv(), [&]() -> Task<int> {
                    (void)tx.send(5);
                    co_return 1;
                }());
                winner = static_cast<int>(r.index());
            });
        }
        // Sleep rather than yield: with this task out of the run queue, the
        // queue is empty when the receive is woken, so the slot is used.
        co_await weft::sleep(std::chrono::milliseconds(1));
        EXPECT_EQ(winner, 1);
        EXPECT_EQ(rx.try_recv(), 5);  // the value stayed in the channel
        // The runtime goes on: more wakes through the slot.
        auto h2 = spawn_here([&]() -> Task<int> { co_return (co_await rx.recv()).value_or(-1); });
        co_await weft::yield_now();
        (void)tx.send(6);
        EXPECT_EQ(co_await h2, 6);
    });
}

TEST(Handoff, a_receive_woken_into_the_slot_by_its_own_task_completes) {
    weft::Runtime rt(paused());
    rt.block_on([]() -> Task<> {
        auto [tx, rx] = weft::channel<int>();
        auto h = spawn_here([&]() -> Task<int> {
            auto [v, unit] = co_await weft::join(rx.recv(), [&]() -> Task<int> {
                (void)tx.send(9);  // wakes this task's own receive
                co_return 0;
            }());
            co_return v.value_or(-1) + unit;
        });
        EXPECT_EQ(co_await h, 9);
    });
}

TEST(Handoff, shutdown_destroys_a_task_left_in_the_slot) {
    LifeCount c;
    {
        weft::Runtime rt(paused());
        auto [tx, rx] = weft::channel<int>();
        rt.block_on([&, &tx = tx, &rx = rx]() -> Task<> {
            auto h = spawn_here([&rx, p = Probe(c)]() -> Task<> { (void)co_await rx.recv(); });
            co_await weft::yield_now();  // it waits
            (void)tx.send(1);            // into the slot; block_on returns before its turn
        });
        EXPECT_EQ(c.alive, 0);  // destroyed at its suspension point by the shutdown
        if (!on_pool()) {       // (on a pool the Receiver's home is a worker thread)
            EXPECT_EQ(rx.try_recv(), 1);
        }
    }
    EXPECT_EQ(c.destroyed, 1);
}
