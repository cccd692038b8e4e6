// Bounded channels and oneshot: waiting sends, their cancel safety, misuse.
#include <gtest/gtest.h>

#include <atomic>
#include <coroutine>
#include <exception>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "support/probe.hpp"

using weft::JoinHandle;
using weft::Task;
using namespace std::chrono_literals;
using namespace weft_test;

namespace {

template <class T>
Task<std::vector<T>> drain(weft::Receiver<T>& rx) {
    std::vector<T> got;
    while (auto v = co_await rx.recv()) {
        got.push_back(std::move(*v));
    }
    co_return got;
}

}  // namespace

// ---- bounded
TEST(Bounded, send_waits_while_full_and_waiting_senders_are_served_in_order) {
    auto got = run_paused([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::bounded_channel<int>(2);
        EXPECT_EQ(tx.capacity(), 2U);
        EXPECT_TRUE(co_await tx.send(0));
        EXPECT_TRUE(co_await tx.send(1));
        std::vector<JoinHandle<void>> hs;
        for (int i = 2; i < 5; ++i) {
            hs.push_back(weft::spawn_task([tx = tx, i]() mutable -> Task<void> {
                co_await weft::sleep(std::chrono::milliseconds(i));  // queue up in order 2, 3, 4
                EXPECT_TRUE(co_await tx.send(i));
            }));
        }
        co_await weft::sleep(10ms);
        EXPECT_FALSE(hs[0].is_finished());  // full: they wait
        { auto last = std::move(tx); }
        std::vector<int> got = co_await drain(rx);
        for (auto& h : hs) {
            co_await h;
        }
        co_return got;
    });
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(Bounded, a_cancelled_waiting_send_never_queues_its_value) {
    run_paused([]() -> Task<void> {
        auto [tx, rx] = weft::bounded_channel<std::string>(1);
        EXPECT_TRUE(co_await tx.send("first"));
        auto r = co_await weft::timeout(5ms, tx.send("too late"));
        EXPECT_EQ(r, std::nullopt);  // timed out while full
        EXPECT_EQ(co_await rx.recv(), "first");
        EXPECT_EQ(rx.try_recv(), std::nullopt);  // "too late" was never queued
    });
}

// A bounded send destroyed while it waits: aborted, or destroyed by the
// runtime's shutdown, its value was never queued and is destroyed with it;
// aborted after the receiver handed it room, its value is already queued and
// stays there. Nothing is lost or queued twice (live-object counts).
TEST(BoundedCancel, a_waiting_send_aborted_or_shut_down_never_queues_and_one_handed_room_keeps_its_value) {
    static std::atomic<int> live{0};
    struct Counted {
        int v;
        explicit Counted(int x) : v(x) { ++live; }
        Counted(Counted&& o) noexcept : v(o.v) { ++live; }
        Counted(const Counted&) = delete;
        Counted& operator=(const Counted&) = delete;
        Counted& operator=(Counted&&) = delete;
        ~Counted() { --live; }
    };
    {
        weft::Runtime rt(paused());
        auto [tx, rx] = weft::bounded_channel<Counted>(1);
        rt.block_on([&]() -> Task<void> {
            EXPECT_TRUE(co_await tx.send(Counted(1)));  // full from here on
            auto aborted = spawn_here([&tx]() -> Task<void> { (void)co_await tx.send(Counted(2)); });
            co_await weft::yield_now();  // it waits for room
            aborted.abort();
            EXPECT_THROW(co_await aborted, weft::Cancelled);
            EXPECT_EQ(live.load(), 1);  // 2 was destroyed with its send, never queued
            auto handed = spawn_here([&tx]() -> Task<void> { (void)co_await tx.send(Counted(3)); });
            co_await weft::yield_now();             // it waits for room
            EXPECT_EQ((co_await rx.recv())->v, 1);  // the room goes to the waiting send: 3 is queued
            handed.abort();                         // before it ran again
            EXPECT_THROW(co_await handed, weft::Cancelled);
            EXPECT_EQ(live.load(), 1);  // 3, in the channel
            auto parked = spawn_here([&tx]() -> Task<void> { (void)co_await tx.send(Counted(4)); });
            co_await weft::yield_now();  // waits for room when block_on ends and the runtime shuts down
        });
        EXPECT_EQ(live.load(), 1);  // 4 was destroyed with its send
        auto third = rx.try_recv();
        ASSERT_TRUE(third.has_value());
        EXPECT_EQ(third->v, 3);
        EXPECT_FALSE(rx.try_recv().has_value());
    }
    EXPECT_EQ(live.load(), 0);
}

TEST(Bounded, close_refuses_waiting_senders_and_hands_their_values_back) {
    run_paused([]() -> Task<void> {
        auto [tx, rx] = weft::bounded_channel<std::string>(1);
        EXPECT_TRUE(co_await tx.send("in"));
        auto h = weft::spawn_task([tx = tx]() mutable -> Task<std::string> {
            auto r = co_await tx.send("waiting");
            co_return r ? std::string("sent") : std::move(r).value();
        });
        co_await weft::yield_now();
        rx.close();
        EXPECT_EQ(co_await h, "waiting");
        EXPECT_EQ(co_await rx.recv(), "in");
    });
}

TEST(Bounded, capacity_zero_is_rejected) {
    try {
        (void)weft::bounded_channel<int>(0);
        ADD_FAILURE() << "no exception";
    } catch (const std::invalid_argument& e) {
        EXPECT_NE(std::string(e.what()).find("capacity must be at least 1"), std::string::npos) << e.what();
    }
}

TEST(Bounded, a_moved_from_bounded_sender_throws_logic_error) {
    auto [tx, rx] = weft::bounded_channel<int>(1);
    auto tx2 = std::move(tx);
    EXPECT_NE(logic_error_of([&] { (void)tx.send(1); }).find("BoundedSender::send"), std::string::npos);  // NOLINT
    EXPECT_THROW((void)tx.is_closed(), std::logic_error);                                                 // NOLINT
    EXPECT_TRUE(tx2.valid());
    EXPECT_FALSE(tx.valid());  // NOLINT
}

// ---- oneshot
TEST(Oneshot, delivers_one_value_or_nullopt_when_the_sender_is_dropped) {
    run_paused([]() -> Task<void> {
        auto [tx, rx] = weft::oneshot<std::string>();
        auto h = weft::spawn_task(weft::async_move([tx = std::move(tx)]() mutable -> Task<void> {
            co_await weft::sleep(1ms);
            EXPECT_TRUE(tx.send("once"));
            EXPECT_THROW((void)tx.send("twice"), std::logic_error);
        }));
        EXPECT_EQ(co_await rx, "once");
        EXPECT_THROW((void)co_await rx, std::logic_error);
        auto [tx2, rx2] = weft::oneshot<int>();
        { auto dropped = std::move(tx2); }
        EXPECT_EQ(co_await rx2, std::nullopt);
        auto [tx3, rx3] = weft::oneshot<int>();
        { auto gone = std::move(rx3); }
        auto r = tx3.send(5);
        EXPECT_FALSE(r);
        EXPECT_EQ(r.value(), 5);
    });
}

TEST(Oneshot, a_thread_can_send_and_a_cancelled_await_keeps_the_value) {
    run_paused([]() -> Task<void> {
        auto [tx, rx] = weft::oneshot<int>();
        EXPECT_EQ(co_await weft::timeout(1ms, rx), std::nullopt);
        std::thread t([tx = std::move(tx)]() mutable { (void)tx.send(9); });
        EXPECT_EQ(co_await rx, 9);
        t.join();
    });
}
