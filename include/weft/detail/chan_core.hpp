// The shared state of a channel (channel.hpp), and its rules.
//
// Pieces
//   home_     the channel's home thread, where its Receiver is used: the
//             thread that created it on a current-thread runtime; on a pool
//             runtime (or when made outside any runtime) the thread of the
//             Receiver's first operation, which claims it (claim_home).
//             Named by the thread's ThreadLife (thread_life.hpp); once that
//             thread has ended, the next thread to use the Receiver takes
//             the home over (a pool's next block_on runs on new workers).
//   rx_home_  home_ as the Receiver's side last set it: a plain copy,
//             written (claim_home) and read (the receive fast path) only by
//             the thread using the Receiver (chan rule 1; a Receiver handed
//             to another thread is handed with a happens-before). A plain
//             load lets g++ keep what it knows about the awaiting frame
//             across the check; an atomic one, even relaxed, makes it reload.
//   fast_home_ the home thread's ThreadLife while a home-thread send may
//             take the inline path (the channel is open and no remote values
//             wait to be spliced), kNoFastHome otherwise: one load and one
//             compare decide a send. Written under mu_ (chan rule 5).
//   local_    values sent on the channel's home thread: no lock, no atomic
//             read-modify-write on that path. A channel used as a hand-off
//             (ping-pong, a request and its reply) keeps reusing one block.
//   remote_   values sent from any other thread, under mu_; remote_pending_
//             tells the home thread, with one plain load, that there are some.
//   waiting_  the receiver's registration while it waits: a plain pointer,
//             touched only on the home thread (no atomic read-modify-write
//             on the wake path).
//   rx_ep_    the endpoint of the runtime the receiver last waited in
//             (counted; set under mu_ by the home thread): where other
//             threads post a poke.
//   poke_     a callback waiter posted to rx_ep_ by other threads ("values
//             or a close arrived"); it runs on the receiver's runtime thread
//             between task turns and wakes the receiver if it waits. At most
//             one is queued at a time (poke_queued_, under mu_); a queued
//             poke holds a reference to the channel.
//   senders_  live Senders; the channel closes when it drops to zero.
//   refs_     live handles (senders and the receiver) and a queued poke; the
//             last one deletes.
//   Bounded channels keep every value in remote_ (all under mu_; their
//   count in bounded_count_), with the senders that wait for room in
//   send_waiters_ (FIFO).
//
// Rules (cited as "chan rule N")
//   1. local_ is touched only on the home thread; Receiver operations run
//      there (others throw std::logic_error), so receiving never races with
//      home-thread sends.
//   2. A home-thread send first moves remote_ behind local_ when
//      remote_pending_ is set: one Sender that moved between threads keeps its
//      values in order (values of different senders may interleave).
//   3. Only the home thread touches waiting_: it wakes the receiver directly
//      (a home-thread send, a close). Another thread never touches the
//      receiver's waiter: after queueing its value (or dropping the last
//      sender) under mu_, it posts poke_ to rx_ep_ unless one is queued, and
//      the poke wakes the receiver on its own thread. So a receive awaiter
//      destroyed while waiting only clears waiting_ (or unlinks its wake from
//      its task's ready list): a cancelled receive never consumes a value
//      (values are only taken when the receive completes).
//   4. No lost wakeup: the receiver sets rx_ep_ (under mu_) before it first
//      waits, then sets waiting_ and checks for values; a remote send made
//      after that check posts a poke (or finds one queued that has not run
//      yet), and the poke checks for values again, on the home thread, after
//      taking mu_.
//   5. fast_home_ equals home_ only while rx_closed_ and remote_pending_ are
//      both false; every write of home_, rx_closed_ or remote_pending_
//      happens under mu_ and refreshes it there. A home-thread send that
//      reads a stale fast_home_ (a remote send just set remote_pending_)
//      queues its value ahead of that remote value, which is allowed: only
//      the values of one Sender are ordered, and a Sender that moved between
//      threads did so with a happens-before that shows it the refresh.
#pragma once

#include <atomic>
#include <cassert>
#include <cstddef>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>

#include "weft/detail/block_queue.hpp"
#include "weft/detail/config.hpp"
#include "weft/detail/list.hpp"
#include "weft/detail/resume.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/thread_life.hpp"

namespace weft::detail {

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
    explicit ChanCore(std::size_t capacity)
        : home_(initial_home()), rx_home_(home_.load(std::memory_order_relaxed)), capacity_(capacity) {
        refresh_fast_home_locked();  // nobody else sees the core yet
        poke_cb_.core = this;
        poke_.set_callback(&poke_cb_);  // no task: run as the inbox is drained
    }
    ChanCore(const ChanCore&) = delete;
    ChanCore& operator=(const ChanCore&) = delete;
    ~ChanCore() {
        if (rx_ep_ != nullptr) {
            rx_ep_->release();
        }
        if (ThreadLife* h = home_.load(std::memory_order_relaxed)) {
            h->release();
        }
    }

    [[nodiscard]] bool bounded() const noexcept { return capacity_ != 0; }
    [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }
    // relaxed: home_ is written by the Receiver's thread only; a sender that
    // reads it stale (nullptr, or an ended home) takes the remote lane, which
    // is always right.
    [[nodiscard]] bool on_home_thread() const noexcept {
        return this_thread_life() == home_.load(std::memory_order_relaxed);
    }
    // Receiver side: true when this thread is (or has just become) the home.
    // A Receiver is used by one task at a time, so only one thread claims.
    // A home whose thread has ended is taken over (thread_life.hpp: the
    // acquire in ended() makes the values it left in local_ visible here).
    bool claim_home() noexcept {
        ThreadLife* const me = this_thread_life();
        if (home_.load(std::memory_order_relaxed) == me) [[likely]] {
            return true;  // every receive after the first: inline
        }
        return claim_home_slow(me);
    }
    [[gnu::noinline]] bool claim_home_slow(ThreadLife* me) noexcept {
        ThreadLife* const h = home_.load(std::memory_order_relaxed);
        if (h != nullptr && !h->ended()) {
            return false;
        }
        me->retain();
        {
            std::lock_guard<std::mutex> lock(mu_);
            home_.store(me, std::memory_order_relaxed);
            refresh_fast_home_locked();  // chan rule 5
        }
        rx_home_ = me;
        if (h != nullptr) {
            h->release();
        }
        return true;
    }
    // Receive fast path: this thread is the home. Also true on a thread
    // without a ThreadLife (outside any runtime) for an unclaimed home
    // (both nullptr), so the caller then proves with the budget that a task's
    // turn runs here: a positive budget exists only inside one, on a runtime
    // thread, which always has a ThreadLife.
    [[nodiscard]] WEFT_ALWAYS_INLINE bool home_thread() const noexcept { return tls_thread_life == rx_home_; }
    // Receive fast path, after home_thread(): a home value is queued.
    [[nodiscard]] WEFT_ALWAYS_INLINE bool has_local() const noexcept { return !local_.empty(); }
    // Receive fast path, after has_local(): takes it.
    [[nodiscard]] WEFT_ALWAYS_INLINE T pop_local() { return local_.pop(); }
    // Receive fast path, after home_thread() found nothing local: whether
    // another thread may have queued values (take_into then splices them).
    [[nodiscard]] WEFT_ALWAYS_INLINE bool remote_may_have_values() const noexcept {
        return remote_pending_.load(std::memory_order_acquire);
    }

    // ---- lifetime
    void add_sender() noexcept {
        // relaxed: a new handle is made from an existing one, which keeps the core alive.
        senders_.fetch_add(1, std::memory_order_relaxed);
        refs_.fetch_add(1, std::memory_order_relaxed);
    }
    void drop_sender() noexcept {
        // acq_rel: the receiver that sees zero also sees the values sent before.
        if (senders_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            if (on_home_thread()) {
                wake_local();  // chan rule 3
            } else {
                std::lock_guard<std::mutex> lock(mu_);
                post_poke_locked();
            }
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
            bounded_count_ = 0;
        }
        release();
    }
    // Stops further sends; values already queued stay receivable.
    void close() {
        std::lock_guard<std::mutex> lock(mu_);
        rx_closed_.store(true, std::memory_order_seq_cst);
        refresh_fast_home_locked();       // chan rule 5
        while (!send_waiters_.empty()) {  // bounded: refuse every waiting sender
            auto* w = static_cast<SendWaiter<T>*>(send_waiters_.pop_front());
            w->refused = true;
            w->wake_from_anywhere();
        }
    }
    [[nodiscard]] bool rx_closed() const noexcept { return rx_closed_.load(std::memory_order_acquire); }
    [[nodiscard]] bool no_senders() const noexcept { return senders_.load(std::memory_order_seq_cst) == 0; }

    // ---- unbounded send (Sender::send)
    // Inline: a home-thread send to an open channel with no remote values
    // pending (the common case). fast_send() is its test: one load and one
    // compare (chan rule 5).
    [[nodiscard]] WEFT_ALWAYS_INLINE bool fast_send() const noexcept {
        return reinterpret_cast<std::uintptr_t>(tls_thread_life) == fast_home_.load(std::memory_order_relaxed);
    }
    // The inline path, after fast_send().
    WEFT_ALWAYS_INLINE void push_fast(T&& v) {
        local_.push(std::move(v));
        wake_local();  // chan rule 3
    }
    // Every other send: true when queued; on false `v` is untouched.
    [[gnu::noinline]] bool send_slow(T& v) {
        if (on_home_thread()) {
            if (rx_closed_.load(std::memory_order_relaxed)) {  // set on this thread (chan rule 1)
                return false;
            }
            // acquire: pairs with the release in the remote branch (chan rule 2).
            if (remote_pending_.load(std::memory_order_acquire)) {
                splice_remote();
            }
            local_.push(std::move(v));
            wake_local();  // chan rule 3
            return true;
        }
        std::lock_guard<std::mutex> lock(mu_);
        if (rx_closed_.load(std::memory_order_relaxed)) {  // written under mu_
            return false;
        }
        remote_.push(std::move(v));
        if (!remote_pending_.load(std::memory_order_relaxed)) {  // written under mu_
            // release: the home thread's acquire load sees the values pushed
            // before; values pushed while the flag stays set are seen through
            // mu_, which the home thread takes to splice them. Set only when
            // clear, so that a stream of remote sends writes neither the flag
            // nor fast_home_ (read by the home thread) again.
            remote_pending_.store(true, std::memory_order_release);
            fast_home_.store(kNoFastHome, std::memory_order_relaxed);  // chan rule 5
        }
        post_poke_locked();  // chan rule 3
        return true;
    }

    // ---- bounded send (under mu_): true when done (queued, or refused)
    bool try_send_bounded(T& v, bool& refused) {
        std::lock_guard<std::mutex> lock(mu_);
        if (rx_closed_.load(std::memory_order_relaxed)) {
            refused = true;
            return true;
        }
        if (send_waiters_.empty() && bounded_count_ < capacity_) {
            remote_.push(std::move(v));
            ++bounded_count_;
            notify_receiver_locked();
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
        if (send_waiters_.empty() && bounded_count_ < capacity_) {
            remote_.push(std::move(*w.value));
            ++bounded_count_;
            w.handed_over = true;
            notify_receiver_locked();
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
    // Inline: the head of local_; remote values, an empty channel and
    // bounded channels out of line. (Only bounded channels use remote_ for
    // everything, so local_ holds values only on an unbounded one.)
    WEFT_ALWAYS_INLINE bool take_into(std::optional<T>& out) {
        if (!local_.empty()) {
            out.emplace(local_.pop());
            return true;
        }
        return take_slow_into(out);
    }
    [[gnu::noinline]] bool take_slow_into(std::optional<T>& out) {
        if (!bounded()) [[likely]] {
            if (local_.empty() && remote_pending_.load(std::memory_order_acquire)) {
                splice_remote();
            }
            if (local_.empty()) {
                local_.release_if_drained();  // a drained backlog's last chunk goes back
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
            --bounded_count_;
            if (!send_waiters_.empty()) {  // hand the freed room to the first waiting sender
                auto* w = static_cast<SendWaiter<T>*>(send_waiters_.pop_front());
                remote_.push(std::move(*w->value));
                ++bounded_count_;
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
    [[nodiscard]] WEFT_ALWAYS_INLINE bool finished() const noexcept { return no_senders() || rx_closed(); }

    // Publishes the receiver's waiter (home thread); false if it must not
    // suspend after all (something arrived or the channel closed: chan rule 4).
    // Called right after take_into found nothing on this thread, so only what
    // other threads change is checked again: their values (remote_pending_;
    // under mu_ for a bounded channel) and the senders and the close.
    WEFT_ALWAYS_INLINE bool register_receiver(RemoteWaiter& w) {
        if (waiting_ != nullptr) [[unlikely]] {
            throw_second_receiver();
        }
        RemoteEndpoint* ep = w.sched->endpoint();
        if (ep != rx_ep_) [[unlikely]] {  // rx_ep_ is written only here, on this thread
            set_endpoint(ep);
        }
        waiting_ = &w;
        waiting_task_ = w.task;
        waiting_target_ = w.target();
        // remote_pending_ is always set on a bounded channel, which looks under mu_.
        if (remote_pending_.load(std::memory_order_acquire) ? !bounded() || ready_now() : finished()) {
            waiting_ = nullptr;
            return false;
        }
        return true;
    }
    [[noreturn, gnu::noinline]] static void throw_second_receiver() {
        throw std::logic_error(
            "Receiver::recv: another recv is already waiting on this Receiver; a Receiver has a single "
            "consumer, so await one recv at a time");
    }
    [[gnu::noinline]] void set_endpoint(RemoteEndpoint* ep) {
        ep->retain();
        std::lock_guard<std::mutex> lock(mu_);
        if (rx_ep_ != nullptr) {
            rx_ep_->release();
        }
        rx_ep_ = ep;
    }
    // The receiver's awaiter is destroyed while registered (chan rule 3).
    void cancel_receive_wait(RemoteWaiter& w) noexcept {
        if (waiting_ == &w) {
            waiting_ = nullptr;
        } else {
            w.unlink();  // woken on this thread but not resumed: drop the wake
        }
    }

private:
    // Home thread: moves the remote values behind the home ones (chan rule 2).
    void splice_remote() {
        std::lock_guard<std::mutex> lock(mu_);
        local_.splice_back(remote_);
        remote_pending_.store(false, std::memory_order_relaxed);
        refresh_fast_home_locked();  // chan rule 5
    }
    // Under mu_ (or before the core is shared): chan rule 5.
    void refresh_fast_home_locked() noexcept {
        ThreadLife* const h = home_.load(std::memory_order_relaxed);
        const bool open =
            !rx_closed_.load(std::memory_order_relaxed) && !remote_pending_.load(std::memory_order_relaxed);
        fast_home_.store(h != nullptr && open ? reinterpret_cast<std::uintptr_t>(h) : kNoFastHome,
                         std::memory_order_relaxed);
    }
    void release() {
        // acq_rel: the last owner sees every other owner's writes before deleting.
        if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }
    // Home thread: wakes the receiver if it waits (chan rule 3).
    void wake_local() noexcept {
        if (waiting_ != nullptr) {
            RemoteWaiter* w = std::exchange(waiting_, nullptr);
            // The receiver waits on this thread, so its scheduler is the one
            // running here: block_on and a pool worker destroy their tasks
            // inside their context, and a runtime's own destructor finds no
            // task waiting. The thread's scheduler and the copies kept at
            // registration spare the wake the loads of the waiter just
            // written (ping_pong: ~6%; comparing with w->sched here, even
            // only to branch, gave half of that back).
            Scheduler* s = current_scheduler();
            if (s == nullptr) [[unlikely]] {
                w->sched->wake(w);  // not expected (see above); kept safe
                return;
            }
            assert(s == w->sched);
            s->wake_known(w, waiting_task_, waiting_target_);
        }
    }
    // Under mu_ (bounded sends): wakes the receiver from whichever thread.
    void notify_receiver_locked() {
        if (on_home_thread()) {
            wake_local();
        } else {
            post_poke_locked();
        }
    }
    // Under mu_, off the home thread: asks the receiver's runtime to look.
    void post_poke_locked() noexcept {
        if (rx_ep_ == nullptr || poke_queued_) {
            return;  // no receiver has waited yet, or a poke is on its way (chan rule 4)
        }
        poke_queued_ = true;
        // relaxed: the poke's reference is made from the caller's.
        refs_.fetch_add(1, std::memory_order_relaxed);
        if (!rx_ep_->post(&poke_)) {
            poke_queued_ = false;                           // the runtime is gone: nobody waits there
            refs_.fetch_sub(1, std::memory_order_relaxed);  // the caller's reference remains
        }
    }
    // The poke, on the receiver's runtime thread (chan rule 4).
    static void on_poke(WakeCallback* cb) {
        ChanCore* c = static_cast<PokeCallback*>(cb)->core;
        {
            std::lock_guard<std::mutex> lock(c->mu_);
            c->poke_queued_ = false;
        }
        if (c->waiting_ != nullptr && c->ready_now()) {
            c->wake_local();
        }
        c->release();
    }

    struct PokeCallback : WakeCallback {
        PokeCallback() noexcept { fn = &ChanCore::on_poke; }
        ChanCore* core = nullptr;
    };

    // The creating thread on a current-thread runtime; unclaimed (nullptr)
    // on a pool runtime or outside any runtime, where the Receiver's task may
    // run on any worker.
    static ThreadLife* initial_home() {
        Scheduler* s = current_scheduler();
        if (s == nullptr || s->pool() != nullptr) {
            return nullptr;
        }
        ThreadLife* me = this_thread_life();
        me->retain();
        return me;
    }

    // fast_home_ when no send may take the inline path: matches no thread
    // (a thread without a ThreadLife reads nullptr there).
    static constexpr std::uintptr_t kNoFastHome = 1;

    std::atomic<ThreadLife*> home_;
    ThreadLife* rx_home_;
    std::atomic<std::uintptr_t> fast_home_{kNoFastHome};  // chan rule 5
    const std::size_t capacity_;
    BlockQueue<T> local_;
    std::mutex mu_;
    BlockQueue<T> remote_{false};    // guarded by mu_; heap blocks only (block_queue.hpp)
    std::size_t bounded_count_ = 0;  // guarded by mu_: values in remote_ of a bounded channel
    ListHead send_waiters_;          // guarded by mu_
    // Always true on a bounded channel, whose values all live in remote_.
    std::atomic<bool> remote_pending_{capacity_ != 0};
    RemoteWaiter* waiting_ = nullptr;     // home thread only (chan rule 3)
    TaskHeader* waiting_task_ = nullptr;  // waiting_->task and target() while it waits
    std::uintptr_t waiting_target_ = 0;
    RemoteEndpoint* rx_ep_ = nullptr;  // written by the home thread under mu_
    PokeCallback poke_cb_;
    Waiter poke_;
    bool poke_queued_ = false;  // guarded by mu_
    std::atomic<std::size_t> senders_{1};
    std::atomic<bool> rx_closed_{false};
    std::atomic<std::size_t> refs_{2};
};

}  // namespace weft::detail
