// Channels: unbounded, bounded, oneshot — delivery, closing, misuse, cancel safety.
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

TEST(Channel, values_arrive_in_order_and_recv_ends_after_the_last_sender_is_dropped) {
    auto got = run_paused([]() -> Task<std::vector<std::string>> {
        auto [tx, rx] = weft::channel<std::string>();
        auto tx2 = tx;  // a clone: one more producer
        EXPECT_TRUE(tx.send("a"));
        EXPECT_TRUE(tx2.send("b"));
        { auto consumed = std::move(tx); }  // a moved-from sender counts for nothing
        EXPECT_TRUE(tx2.send("c"));
        EXPECT_EQ(rx.try_recv(), "a");
        { auto last = std::move(tx2); }
        co_return co_await drain(rx);
    });
    EXPECT_EQ(got, (std::vector<std::string>{"b", "c"}));
}

TEST(Channel, recv_waits_for_a_value) {
    run_paused([]() -> Task<void> {
        auto [tx, rx] = weft::channel<int>();
        auto start = weft::now();
        auto h = weft::spawn_task(weft::async_move([tx = std::move(tx)]() mutable -> Task<void> {
            co_await weft::sleep(10ms);
            (void)tx.send(7);
        }));
        EXPECT_EQ(co_await rx.recv(), 7);
        EXPECT_EQ(ms_since(start), 10);
        EXPECT_EQ(co_await rx.recv(), std::nullopt);  // the task ended: its sender is gone
    });
}

TEST(Channel, a_sender_moved_into_a_joined_future_closes_the_channel_when_it_ends) {
    auto got = run_paused([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::channel<int>();
        auto producer = weft::async_move([tx = std::move(tx)]() mutable -> Task<void> {
            for (int i = 0; i < 3; ++i) {
                (void)tx.send(i);
                co_await weft::sleep(1ms);
            }
        });
        auto [done, got] = co_await weft::join(std::move(producer), drain(rx));
        (void)done;
        co_return got;
    });
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2}));
}

TEST(Channel, a_sender_passed_by_value_to_a_task_closes_the_channel_when_the_task_ends) {
    auto got = run_paused([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::channel<int>();
        auto producer = [](weft::Sender<int> out) -> Task<int> {
            (void)out.send(1);
            co_await weft::yield_now();
            co_return 1;
        };
        auto h = weft::spawn_task(producer(std::move(tx)));
        auto got = co_await drain(rx);  // ends although `h` is still alive
        EXPECT_EQ(co_await h, 1);
        co_return got;
    });
    EXPECT_EQ(got, (std::vector<int>{1}));
}

TEST(Channel, a_sender_destroyed_by_runtime_shutdown_closes_the_channel) {
    weft::Runtime rt(paused());
    auto [tx, rx] = weft::channel<int>();
    std::atomic<bool> sent{false};
    rt.block_on([&]() -> Task<void> {
        auto holder = weft::spawn_task(weft::async_move([tx = std::move(tx), &sent]() mutable -> Task<void> {
            (void)tx.send(1);
            sent = true;
            co_await weft::sleep(1h);  // still holding the sender at shutdown
        }));
        co_await until([&] { return sent.load(); });
    });
    auto got = rt.block_on([&]() -> Task<std::vector<int>> { co_return co_await drain(rx); });
    EXPECT_EQ(got, (std::vector<int>{1}));
}

TEST(Channel, sends_after_close_or_after_the_receiver_is_gone_hand_the_value_back) {
    run_paused([]() -> Task<void> {
        auto [tx, rx] = weft::channel<std::string>();
        EXPECT_TRUE(tx.send("kept"));
        rx.close();
        EXPECT_TRUE(tx.is_closed());
        auto r = tx.send("refused");
        EXPECT_FALSE(r);
        EXPECT_EQ(r.value(), "refused");
        EXPECT_EQ(co_await rx.recv(), "kept");        // queued values survive close
        EXPECT_EQ(co_await rx.recv(), std::nullopt);  // then the end
        auto [tx2, rx2] = weft::channel<std::string>();
        { auto gone = std::move(rx2); }
        auto r2 = tx2.send("nobody");
        EXPECT_FALSE(r2);
        EXPECT_EQ(std::move(r2).value(), "nobody");
        EXPECT_TRUE(tx2.is_closed());
        weft::SendResult<std::string> delivered;  // what a successful send returns
        EXPECT_TRUE(delivered);
        EXPECT_THROW((void)delivered.value(), std::logic_error);
    });
}

TEST(Channel, moved_from_handles_throw_logic_error) {
    auto [tx, rx] = weft::channel<int>();
    auto tx2 = std::move(tx);
    auto rx2 = std::move(rx);
    EXPECT_NE(logic_error_of([&] { (void)tx.send(1); }).find("Sender::send"), std::string::npos);   // NOLINT
    EXPECT_NE(logic_error_of([&] { (void)rx.try_recv(); }).find("moved-from"), std::string::npos);  // NOLINT
    EXPECT_NE(logic_error_of([&] { (void)rx.recv(); }).find("Receiver::recv"), std::string::npos);  // NOLINT
    EXPECT_THROW(rx.close(), std::logic_error);                                                     // NOLINT
}

TEST(Channel, a_receiver_used_off_its_thread_throws_logic_error) {
    auto [tx, rx] = weft::channel<int>();
    EXPECT_EQ(rx.try_recv(), std::nullopt);  // the first receive claims this thread as the home
    std::string msg;
    std::thread t([&, &rx = rx] { msg = logic_error_of([&] { (void)rx.try_recv(); }); });
    t.join();
    EXPECT_NE(msg.find("home thread"), std::string::npos) << msg;
}

TEST(Channel, a_plain_thread_can_send_listing_17_25_style) {
    auto got = run_paused([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::channel<int>();
        std::thread worker([tx = std::move(tx)]() mutable {
            for (int i = 0; i < 5; ++i) {
                (void)tx.send(i);
                std::this_thread::sleep_for(1ms);
            }
        });
        auto got = co_await drain(rx);
        worker.join();
        co_return got;
    });
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3, 4}));
}

// ---- cancel safety
TEST(ChannelCancel, a_recv_that_loses_a_select_after_being_woken_keeps_the_value) {
    run_paused([]() -> Task<void> {
        auto [tx, rx] = weft::channel<int>();
        auto deadline = weft::now() + 10ms;
        // Same tick, earlier deadline: the sender runs first and wakes the
        // receive, then the select's sleep (already due) wins in the same turn.
        auto sender = weft::spawn_task(weft::async_move([tx = std::move(tx), deadline]() mutable -> Task<void> {
            co_await weft::sleep_until(deadline - 100us);
            (void)tx.send(42);
        }));
        auto r = co_await weft::select(weft::sleep_until(deadline), rx.recv());
        EXPECT_EQ(r.index(), 0U);
        EXPECT_EQ(co_await rx.recv(), 42);  // not swallowed by the cancelled recv
        EXPECT_EQ(co_await rx.recv(), std::nullopt);
    });
}

// One Receiver used by three tasks in turn (on one thread: spawn_here) and
// then by this thread (on a pool, once the workers have ended: it takes the
// home over).
TEST(ChannelCancel, recv_under_timeout_abort_and_shutdown_loses_nothing) {
    weft::Runtime rt(paused());
    auto [tx, rx] = weft::channel<int>();
    rt.block_on([&]() -> Task<void> {
        EXPECT_EQ(co_await weft::timeout(5ms, rx.recv()), std::nullopt);  // timed out, nothing lost
        auto waiter = spawn_here([&rx]() -> Task<void> { (void)co_await rx.recv(); });
        co_await weft::yield_now();
        waiter.abort();
        EXPECT_THROW(co_await waiter, weft::Cancelled);
        (void)tx.send(1);
        auto parked = spawn_here([&rx]() -> Task<void> {
            (void)co_await rx.recv();
            (void)co_await rx.recv();  // waits here when the runtime shuts down
        });
        co_await weft::yield_now();
        (void)tx.send(2);  // sent while nobody waits
    });
    // The first recv of `parked` took 1; 2 is still there.
    EXPECT_EQ(rx.try_recv(), 2);
}

// ---- stress (also run under TSan in CI)
TEST(ChannelStress, four_threads_each_send_100000_and_every_value_arrives_once_in_order) {
    constexpr int kThreads = 4;
    constexpr int kPer = 100'000;
    auto last = weft_test::run([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::channel<std::pair<int, int>>();
        std::vector<std::thread> ts;
        for (int t = 0; t < kThreads; ++t) {
            ts.emplace_back([tx = tx, t]() mutable {
                for (int i = 0; i < kPer; ++i) {
                    (void)tx.send({t, i});
                }
            });
        }
        { auto original = std::move(tx); }
        std::vector<int> next(kThreads, 0);
        while (auto v = co_await rx.recv()) {
            EXPECT_EQ(v->second, next[static_cast<std::size_t>(v->first)]) << "producer " << v->first;
            ++next[static_cast<std::size_t>(v->first)];
        }
        for (auto& t : ts) {
            t.join();
        }
        co_return next;
    });
    EXPECT_EQ(last, std::vector<int>(kThreads, kPer));
}

TEST(ChannelStress, eight_producer_tasks_each_send_100000_in_order) {
    constexpr int kTasks = 8;
    constexpr int kPer = 100'000;
    auto last = run_paused([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::channel<std::pair<int, int>>();
        for (int t = 0; t < kTasks; ++t) {
            auto h = weft::spawn_task([tx = tx, t]() mutable -> Task<void> {
                for (int i = 0; i < kPer; ++i) {
                    (void)tx.send({t, i});
                    if (i % 1000 == 0) {
                        co_await weft::yield_now();
                    }
                }
            });
        }
        { auto original = std::move(tx); }
        std::vector<int> next(kTasks, 0);
        while (auto v = co_await rx.recv()) {
            EXPECT_EQ(v->second, next[static_cast<std::size_t>(v->first)]);
            ++next[static_cast<std::size_t>(v->first)];
        }
        co_return next;
    });
    EXPECT_EQ(last, std::vector<int>(kTasks, kPer));
}

TEST(ChannelStress, a_sender_moving_between_threads_keeps_its_order) {
    auto got = weft_test::run([]() -> Task<std::vector<int>> {
        auto [tx, rx] = weft::channel<int>();
        (void)tx.send(0);  // home thread
        std::thread t([&tx] {
            (void)tx.send(1);  // another thread
            (void)tx.send(2);
        });
        t.join();
        (void)tx.send(3);  // home again: must come after 1 and 2
        { auto last = std::move(tx); }
        co_return co_await drain(rx);
    });
    EXPECT_EQ(got, (std::vector<int>{0, 1, 2, 3}));
}

// A value sent into an empty channel is kept in the channel core itself (no
// block); it stays the oldest: values queued after it, from this thread or
// another, come after it, and dropping the Receiver destroys it with the rest.
TEST(Channel, the_value_sent_into_an_empty_channel_stays_first_and_is_destroyed_with_the_receiver) {
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
    auto got = weft_test::run([]() -> Task<std::vector<int>> {
        std::vector<int> order;
        {
            auto [tx, rx] = weft::channel<Counted>();
            (void)tx.send(Counted(1));  // into the empty channel
            std::thread t([other = tx]() mutable { (void)other.send(Counted(2)); });
            t.join();
            (void)tx.send(Counted(3));
            order.push_back(rx.try_recv()->v);
            (void)tx.send(Counted(4));  // the channel is not empty: queued behind 2 and 3
            order.push_back((co_await rx.recv())->v);
            order.push_back((co_await rx.recv())->v);
            order.push_back((co_await rx.recv())->v);
            (void)tx.send(Counted(5));  // into the empty channel again
            (void)tx.send(Counted(6));
            EXPECT_EQ(live.load(), 2);  // 5 and 6 wait in the channel
            { auto gone = std::move(rx); }
            EXPECT_EQ(live.load(), 0);  // destroyed with the Receiver
            auto back = tx.send(Counted(7));
            EXPECT_FALSE(back);
            EXPECT_EQ(std::move(back).value().v, 7);
        }
        co_return order;
    });
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(live.load(), 0);
}

// rx.recv() returns its own awaiter: movable until awaited (into a variable,
// a select or a join), destroyed unawaited without taking anything, and
// awaitable again once an await of it completed — on the inline path, after
// a wait, after a value taken from another thread, and after the end.
TEST(Channel, a_recv_moves_before_it_is_awaited_and_can_be_awaited_again) {
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
    auto got = run_paused([]() -> Task<std::vector<int>> {
        std::vector<int> out;
        auto [tx, rx] = weft::channel<Counted>();
        (void)tx.send(Counted(1));
        { auto unawaited = rx.recv(); }  // takes nothing
        auto first = rx.recv();
        auto r = std::move(first);
        out.push_back((co_await r)->v);  // inline path: 1
        auto h = weft::spawn_task([](weft::Sender<Counted>& out) -> Task<void> {
            co_await weft::sleep(5ms);
            (void)out.send(Counted(2));
        }(tx));
        out.push_back((co_await r)->v);  // waits: 2
        co_await h;
        std::thread t([other = tx]() mutable { (void)other.send(Counted(3)); });
        t.join();
        out.push_back((co_await r)->v);  // from another thread: 3
        (void)tx.send(Counted(4));
        out.push_back((co_await r)->v);  // inline again: 4
        EXPECT_EQ(live.load(), 0);
        { auto last = std::move(tx); }
        EXPECT_EQ(co_await r, std::nullopt);
        EXPECT_EQ(co_await r, std::nullopt);  // still the end
        co_return out;
    });
    EXPECT_EQ(got, (std::vector<int>{1, 2, 3, 4}));
    EXPECT_EQ(live.load(), 0);
}

TEST(Channel, two_concurrent_recvs_on_one_receiver_throw_instead_of_hanging) {
    std::string msg = run_paused([]() -> Task<std::string> {
        auto [tx, rx] = weft::channel<int>();
        try {
            co_await weft::join(rx.recv(), rx.recv());
        } catch (const std::logic_error& e) {
            co_return e.what();
        }
        co_return "";
    });
    EXPECT_NE(msg.find("single consumer"), std::string::npos) << msg;
}

TEST(Oneshot, awaiting_from_two_places_at_once_throws) {
    EXPECT_THROW(run_paused([]() -> Task<void> {
                     auto [tx, rx] = weft::oneshot<int>();
                     co_await weft::join(rx, rx);
                 }),
                 std::logic_error);
}

TEST(Channel, a_receiver_outlives_its_runtime_and_waits_again_in_the_next) {
    auto [tx, rx] = weft::channel<int>();
    std::thread first([tx]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        (void)tx.send(1);
    });
    {
        weft::Runtime rt(options());
        EXPECT_EQ(rt.block_on([&rx]() -> Task<std::optional<int>> { co_return co_await rx.recv(); }), 1);
    }  // the runtime is gone (on a pool, with the worker that was rx's home); the channel still points at its endpoint
    first.join();
    std::thread late([tx]() mutable { (void)tx.send(2); });  // posts to the dead endpoint: dropped
    late.join();
    std::thread third([tx = std::move(tx)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        (void)tx.send(3);
    });
    weft::Runtime rt2(options());
    auto got = rt2.block_on([&rx]() -> Task<std::vector<int>> {
        std::vector<int> out;
        while (auto v = co_await rx.recv()) {  // waits in the new runtime (a new worker takes the home over)
            out.push_back(*v);
        }
        co_return out;
    });
    third.join();
    EXPECT_EQ(got, (std::vector<int>{2, 3}));
}

TEST(Oneshot, sender_is_closed_once_the_receiver_is_gone) {
    auto [tx, rx] = weft::oneshot<int>();
    EXPECT_FALSE(tx.is_closed());
    { auto gone = std::move(rx); }
    EXPECT_TRUE(tx.is_closed());
    auto r = tx.send(5);
    EXPECT_FALSE(r);
    EXPECT_EQ(r.value(), 5);
    EXPECT_FALSE(logic_error_of([&] { (void)tx.is_closed(); }).empty());  // used up
}

namespace {

// A coroutine that is not a weft Task: it starts at once, on whatever thread
// calls it, inside a runtime or not, and leaves what its body throws in
// `error` (its frame ends normally).
struct Eager {
    static inline std::exception_ptr error;
    struct promise_type {
        Eager get_return_object() noexcept { return {}; }
        std::suspend_never initial_suspend() noexcept { return {}; }
        std::suspend_never final_suspend() noexcept { return {}; }
        void return_void() noexcept {}
        void unhandled_exception() noexcept { error = std::current_exception(); }
    };
};

}  // namespace

// The receive's inline path (a value queued on the home thread) is taken
// only inside a task's turn: the same receive on the home thread, after the
// runtime is gone, still reports that it runs outside a runtime, and the
// value stays in the channel.
TEST(Channel, a_recv_with_a_value_queued_outside_a_runtime_throws_and_keeps_the_value) {
    auto [tx, rx] = weft::channel<int>();
    {
        weft::Runtime rt(options());
        rt.block_on([&]() -> Task<void> {
            (void)tx.send(7);
            (void)tx.send(8);
            EXPECT_EQ(co_await rx.recv(), 7);  // claims the home (on a pool: a worker)
            co_return;
        });
    }
    std::string msg;
    std::optional<int> got;
    auto outside = [&]() -> Eager { got = co_await rx.recv(); };
    msg = logic_error_of([&] {
        Eager::error = nullptr;
        outside();
        if (Eager::error) {
            std::rethrow_exception(std::exchange(Eager::error, nullptr));
        }
    });
    EXPECT_NE(msg.find("Receiver::recv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("outside a weft runtime"), std::string::npos) << msg;
    EXPECT_EQ(got, std::nullopt);
    weft::Runtime rt2(options());
    EXPECT_EQ(rt2.block_on([&]() -> Task<std::optional<int>> { co_return co_await rx.recv(); }), 8);
}

// A channel made outside any runtime has no home yet, and a plain thread has
// no thread identity either: the receive's fast path must not take "both
// unset" for "on the home thread". On an empty channel it throws instead of
// registering a waiter with no runtime to wake it.
TEST(Channel, a_recv_on_a_plain_thread_outside_a_runtime_throws) {
    std::string msg;
    std::thread([&] {
        auto [tx, rx] = weft::channel<int>();
        auto outside = [&]() -> Eager { (void)co_await rx.recv(); };
        msg = logic_error_of([&] {
            Eager::error = nullptr;
            outside();
            if (Eager::error) {
                std::rethrow_exception(std::exchange(Eager::error, nullptr));
            }
        });
    }).join();
    EXPECT_NE(msg.find("Receiver::recv"), std::string::npos) << msg;
    EXPECT_NE(msg.find("outside a weft runtime"), std::string::npos) << msg;
}
