// The shared state of a channel (channel.hpp), and its rules.
//
// Pieces
//   local_    values sent on the channel's home thread (the thread that
//             created it, where its Receiver must be used): no lock, no
//             atomic read-modify-write on that path.
//   remote_   values sent from any other thread, under mu_; remote_pending_
//             tells the home thread, with one plain load, that there are some.
//   waiting_  the receiver's registration while it waits (atomic).
//   senders_  live Senders; the channel closes when it drops to zero.
//   refs_     live handles (senders and the receiver); the last one deletes.
//   Bounded channels keep every value in remote_ (all under mu_), with the
//   senders that wait for room in send_waiters_ (FIFO).
//
// Rules (cited as "chan rule N")
//   1. local_ is touched only on the home thread; Receiver operations run
//      there (others throw std::logic_error), so receiving never races with
//      home-thread sends.
//   2. A home-thread send first moves remote_ behind local_ when
//      remote_pending_ is set: one Sender that moved between threads keeps its
//      values in order (values of different senders may interleave).
//   3. The receiver is woken by whoever takes waiting_ with an exchange. A
//      waker on another thread than the receiver's runtime does it under mu_
//      and hands the waiter to that runtime's inbox before unlocking; a waker
//      on the receiver's runtime thread wakes it locally. A receive awaiter
//      destroyed while waiting takes mu_ and either takes waiting_ back itself
//      or finds its waiter in its runtime's inbox or its task's ready list and
//      removes it: a cancelled receive never consumes a value (values are only
//      taken when the receive completes).
//   4. Registration against remote senders is a Dekker pair: the receiver
//      stores waiting_ then reads remote_pending_/senders_; a remote sender
//      stores remote_pending_ (or drops senders_) then exchanges waiting_ (all
//      seq_cst), so at least one of them sees the other.
#pragma once

#include <atomic>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "weft/detail/block_queue.hpp"
#include "weft/detail/list.hpp"
#include "weft/detail/resume.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

// Identifies the calling thread: the address of a thread-local, one
// instruction away (std::this_thread::get_id() is a library call).
inline thread_local const char tls_thread_tag = 0;
inline const void* this_thread_tag() noexcept {
    return &tls_thread_tag;
}

// A waiter that remembers its runtime, so that other threads can wake it.
struct RemoteWaiter : Waiter {
    Scheduler* sched = nullptr;

    void arm(std::coroutine_handle<> h) noexcept {
        task = current_task();
        set_handle(h);
        sched = current_scheduler();
    }
    // Wakes this waiter from any thread (chan rule 3: a caller off the
    // waiter's runtime thread holds the primitive's lock).
    void wake_from_anywhere() {
        if (sched == current_scheduler()) {
            sched->wake(this);
        } else {
            sched->wake_remote(this);
        }
    }
    // Undoes a wake that was delivered but not yet run (the awaiter is being
    // destroyed on its runtime's thread).
    void cancel_delivered_wake() noexcept {
        sched->cancel_remote(this);
        unlink();
    }
};

// A sender waiting for room in a bounded channel.
template <class T>
struct SendWaiter : RemoteWaiter {
    T* value = nullptr;  // moved into the channel when room is handed over
    bool handed_over = false;
    bool refused = false;  // the channel closed first: the value stays here
};

template <class T>
class ChanCore {
public:
    explicit ChanCore(std::size_t capacity) : home_(this_thread_tag()), capacity_(capacity) {}
    ChanCore(const ChanCore&) = delete;
    ChanCore& operator=(const ChanCore&) = delete;
    ~ChanCore() = default;

    [[nodiscard]] bool bounded() const noexcept { return capacity_ != 0; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    [[nodiscard]] bool on_home_thread() const noexcept { return this_thread_tag() == home_; }

    // ---- lifetime
    void add_sender() noexcept {
        // relaxed: a new handle is made from an existing one, which keeps the core alive.
        senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void drop_sender() noexcept {
        // seq_cst: chan rule 4 (the closing side of the Dekker pair).
        if (senders_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
            notify_receiver();
        }
        release();
    }
    void drop_receiver() noexcept {
        close();
        if (on_home_thread()) {
            local_.clear();  // chan rule 1; values are freed now rather than with the last sender
        }
        {
            std::lock_guard<std::mutex> lock(mu_);
            remote_.clear();
        }
        release();
    }
    // Stops further sends; values already queued stay receivable.
    void close() {
        std::lock_guard<std::mutex> lock(mu_);
        rx_closed_.store(true, std::memory_order_seq_cst);
        while (!send_waiters_.empty()) {  // bounded: refuse every waiting sender
            auto* w = static_cast<SendWaiter<T>*>(send_waiters_.pop_front());
            w->refused = true;
            w->wake_from_anywhere();
        }
    }
    [[nodiscard]] bool rx_closed() const noexcept { return rx_closed_.load(std::memory_order_acquire); }
    [[nodiscard]] bool no_senders() const noexcept { return senders_.load(std::memory_order_seq_cst) == 0; }

    // ---- unbounded send: true when queued; on false `v` is untouched
    bool send(T& v) {
        if (on_home_thread()) {
            if (rx_closed_.load(std::memory_order_relaxed)) {  // set on this thread (chan rule 1)
                return false;
            }
            // acquire: pairs with the release in the remote branch (chan rule 2).
            if (remote_pending_.load(std::memory_order_acquire)) {
                std::lock_guard<std::mutex> lock(mu_);
                local_.splice_back(remote_);
                remote_pending_.store(false, std::memory_order_relaxed);
            }
            local_.push(std::move(v));
            if (waiting_.load(std::memory_order_relaxed) != nullptr) {
                notify_receiver();
            }
            return true;
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (rx_closed_.load(std::memory_order_relaxed)) {  // written under mu_
            return false;
        }
        remote_.push(std::move(v));
        remote_pending_.store(true, std::memory_order_seq_cst);  // chan rule 4
        wake_receiver_locked();
        return true;
    }

    // ---- bounded send (under mu_): true when done (queued, or refused)
    bool try_send_bounded(T& v, bool& refused) {
        std::lock_guard<std::mutex> lock(mu_);
        if (rx_closed_.load(std::memory_order_relaxed)) {
            refused = true;
            return true;
        }
        if (send_waiters_.empty() && remote_.size() < capacity_) {
            remote_.push(std::move(v));
            wake_receiver_locked();
            return true;
        }
        return false;
    }
    // Registers `w` to be handed room in FIFO order; false if it can complete now.
    bool wait_to_send(SendWaiter<T>& w) {
        std::lock_guard<std::mutex> lock(mu_);
        if (rx_closed_.load(std::memory_order_relaxed)) {
            w.refused = true;
            return false;
        }
        if (send_waiters_.empty() && remote_.size() < capacity_) {
            remote_.push(std::move(*w.value));
            w.handed_over = true;
            wake_receiver_locked();
            return false;
        }
        send_waiters_.push_back(&w);
        w.sched->add_external_wait();
        return true;
    }
    // A waiting sender's awaiter is destroyed (chan rule 3's twin for senders).
    void cancel_send_wait(SendWaiter<T>& w) noexcept {
        std::lock_guard<std::mutex> lock(mu_);
        if (!w.handed_over && !w.refused) {
            w.unlink();  // still in send_waiters_: its value was never taken
        } else {
            w.cancel_delivered_wake();
        }
    }

    // ---- receive (home thread; chan rule 1)
    // Moves the next value into `out` (which must be empty); false if none.
    bool take_into(std::optional<T>& out) {
        if (!bounded()) [[likely]] {
            if (local_.empty() && remote_pending_.load(std::memory_order_acquire)) {
                std::lock_guard<std::mutex> lock(mu_);
                local_.splice_back(remote_);
                remote_pending_.store(false, std::memory_order_relaxed);
            }
            if (local_.empty()) {
                return false;
            }
            out.emplace(local_.pop());
            return true;
        }
        return take_bounded_into(out);
    }

private:
    bool take_bounded_into(std::optional<T>& out) {
        {
            std::lock_guard<std::mutex> lock(mu_);
            if (remote_.empty()) {
                return false;
            }
            out.emplace(remote_.pop());
            if (!send_waiters_.empty()) {  // hand the freed room to the first waiting sender
                auto* w = static_cast<SendWaiter<T>*>(send_waiters_.pop_front());
                remote_.push(std::move(*w->value));
                w->handed_over = true;
                w->wake_from_anywhere();
            }
        }
        return true;
    }

public:
    // True when a receive would complete at once (a value is queued, or the
    // channel is finished), without taking anything (home thread).
    [[nodiscard]] bool ready_now() {
        if (!bounded()) {
            return !local_.empty() || remote_pending_.load(std::memory_order_acquire) || finished();
        }
        std::lock_guard<std::mutex> lock(mu_);
        return !remote_.empty() || finished();
    }
    // True when nothing more can arrive (checked after try_take found nothing).
    [[nodiscard]] bool finished() const noexcept { return no_senders() || rx_closed(); }

    // Publishes the receiver's waiter; false if it must not suspend after all
    // (something arrived or the channel closed meanwhile: chan rule 4).
    bool register_receiver(RemoteWaiter& w) {
        // Only this (home) thread stores a waiter; others only take it away.
        if (waiting_.load(std::memory_order_relaxed) != nullptr) {
            throw std::logic_error(
                "Receiver::recv: another recv is already waiting on this Receiver; a Receiver has a single "
                "consumer, so await one recv at a time");
        }
        waiting_.store(&w, std::memory_order_seq_cst);
        bool maybe_ready = no_senders() || rx_closed();
        if (bounded()) {
            std::lock_guard<std::mutex> lock(mu_);
            maybe_ready = maybe_ready || !remote_.empty();
        } else {
            maybe_ready = maybe_ready || remote_pending_.load(std::memory_order_seq_cst) || !local_.empty();
        }
        if (maybe_ready) {
            RemoteWaiter* expected = &w;
            if (waiting_.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst)) {
                return false;
            }
            // Someone already took it: its wake is on the way, so suspend.
        }
        return true;
    }
    // The receiver's awaiter is destroyed while registered (chan rule 3).
    void cancel_receive_wait(RemoteWaiter& w) noexcept {
        std::lock_guard<std::mutex> lock(mu_);
        RemoteWaiter* expected = &w;
        if (!waiting_.compare_exchange_strong(expected, nullptr, std::memory_order_seq_cst)) {
            w.cancel_delivered_wake();
        }
    }

private:
    void release() {
        // acq_rel: the last owner sees every other owner's writes before deleting.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }
    void notify_receiver() {
        if (waiting_.load(std::memory_order_seq_cst) == nullptr) {
            return;
        }
        if (on_home_thread()) {
            // The receiver waits on this thread's runtime, which is running
            // this code: a local wake (chan rules 1 and 3). Off the home thread
            // the waiter may not be touched without mu_.
            if (RemoteWaiter* w = waiting_.exchange(nullptr, std::memory_order_seq_cst)) {
                w->sched->wake(w);
            }
            return;
        }
        std::lock_guard<std::mutex> lock(mu_);
        wake_receiver_locked();
    }
    void wake_receiver_locked() {
        if (waiting_.load(std::memory_order_seq_cst) == nullptr) {
            return;
        }
        if (RemoteWaiter* w = waiting_.exchange(nullptr, std::memory_order_seq_cst)) {
            w->wake_from_anywhere();
        }
    }

    const void* const home_;
    const std::size_t capacity_;
    BlockQueue<T> local_;
    std::mutex mu_;
    BlockQueue<T> remote_;   // guarded by mu_
    ListHead send_waiters_;  // guarded by mu_
    std::atomic<bool> remote_pending_{false};
    std::atomic<RemoteWaiter*> waiting_{nullptr};
    std::atomic<std::size_t> senders_{1};
    std::atomic<bool> rx_closed_{false};
    std::atomic<std::size_t> refs_{2};
};

}  // namespace weft::detail
