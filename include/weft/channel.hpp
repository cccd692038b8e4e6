// Channels: unbounded and bounded multi-producer, single-consumer queues.
#pragma once

#include <coroutine>
#include <cstddef>
#include <cstdint>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/detail/chan_core.hpp"
#include "weft/detail/config.hpp"

namespace weft {

template <class T>
class ReceiverStream;

/// The outcome of a send: true (`explicit operator bool`) when the value was
/// queued; false when the receiver is gone or closed, and then `value()`
/// hands the value back, so nothing is lost. Calling `value()` after a
/// successful send throws std::logic_error.
template <class T>
class [[nodiscard]] SendResult {
public:
    /// A successful send.
    SendResult() noexcept = default;
    /// A refused send, holding the value that was not delivered.
    explicit SendResult(T refused) : refused_(std::move(refused)) {}

    explicit operator bool() const noexcept { return !refused_.has_value(); }
    /// The value that could not be delivered.
    [[nodiscard]] T& value() & { return get(); }
    [[nodiscard]] T&& value() && { return std::move(get()); }

private:
    T& get() {
        if (!refused_) {
            throw std::logic_error("SendResult::value: the send succeeded, so there is no value to hand back");
        }
        return *refused_;
    }
    std::optional<T> refused_;
};

namespace detail {

[[noreturn]] inline void throw_moved_from(const char* what) {
    throw std::logic_error(std::string(what) +
                           ": the handle is empty (moved-from); use the one the channel "
                           "function returned, or a copy of it");
}

template <class T>
ChanCore<T>* require_core(ChanCore<T>* c, const char* what) {
    if (c == nullptr) {
        throw_moved_from(what);
    }
    return c;
}

template <class T>
class RecvAwaiter {
public:
    // The waiter is constructed only when the receive suspends (most
    // receives on a busy channel never do); state_ says whether it was.
    explicit RecvAwaiter(ChanCore<T>* core) noexcept : core_(core) {}
    RecvAwaiter(const RecvAwaiter&) = delete;
    RecvAwaiter& operator=(const RecvAwaiter&) = delete;
    // Out of line on purpose: g++ 12 merges a receive loop's accumulators
    // (`sum += *v; ++count;`, both in the coroutine frame) into one 16-byte
    // load when it can see through the whole receive, and that load stalls
    // on the two 8-byte stores before it (chan_spsc 8.0 -> 12.4 ns per
    // message with the destructor inline).
    [[gnu::noinline]] ~RecvAwaiter() {
        if (state_ > kTaken) [[unlikely]] {
            abandon();
        }
    }

    // The fast path: on the home thread, a home value queued, budget left
    // (taken here: one decrement that is also the check): taken by
    // await_resume (nothing can run in between). A budget found spent is
    // left below zero, which still reads as spent (ready_slow yields).
    WEFT_ALWAYS_INLINE bool await_ready() {
        ChanCore<T>* c = core_;
        if (c->home_thread()) [[likely]] {
            if (c->has_local()) [[likely]] {
                if (take_budget()) [[likely]] {
                    state_ = kFast;
                    return true;
                }
            } else if (!c->remote_may_have_values() && !budget_spent()) {
                state_ = kIdle;
                return false;  // nothing queued: await_suspend registers (or finds the channel finished)
            }
        }
        return ready_slow();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        ::new (static_cast<void*>(&waiter_)) detail::RemoteWaiter();
        waiter_.arm(h);
        if (state_ == kYield) {
            waiter_.sched->wake(&waiter_);
            return true;
        }
        if (!core_->register_receiver(waiter_)) {
            spend_budget();  // completes at once (arrived meanwhile, or finished): a ready await
            return false;
        }
        state_ = kRegistered;
        waiter_.sched->add_external_wait();
        return true;
    }
    WEFT_ALWAYS_INLINE std::optional<T> await_resume() {
        if (state_ == kFast) [[likely]] {
            return std::optional<T>(core_->pop_local());  // its budget was taken by await_ready
        }
        if (state_ == kRegistered && core_->has_local()) {  // woken by a home send
            state_ = kIdle;
            waiter_.sched->remove_external_wait();
            return std::optional<T>(core_->pop_local());
        }
        if (!resume_slow()) {
            return std::nullopt;
        }
        // From the value, not the whole optional: copying the optional just
        // written field by field would stall on store forwarding.
        return std::optional<T>(std::move(*value_));
    }

private:
    enum : std::uint8_t {
        kIdle,        // nothing taken yet; no waiter
        kFast,        // await_ready saw a home value; await_resume takes it
        kTaken,       // value_ holds the value
        kYield,       // yielding for the coop budget (waiter_ is in the ready list)
        kRegistered,  // waiting (waiter_ is registered with the channel)
    };

    [[gnu::noinline]] bool ready_slow() {
        state_ = kIdle;  // before anything can throw: the destructor reads it
        require_scheduler("Receiver::recv");
        if (!core_->claim_home()) {
            throw std::logic_error(
                "Receiver::recv: a Receiver must be used on its channel's home thread: the thread that created "
                "it (current-thread runtime) or, on a pool runtime, the worker of its first receive, while that "
                "thread runs; receive from one task, spawn the tasks that share a Receiver with spawn_local, or "
                "move the Receiver only before its first receive");
        }
        if (budget_spent() && core_->ready_now()) {
            state_ = kYield;  // coop budget (task_header.hpp): yield first, take after
            return false;
        }
        if (core_->take_into(value_)) {
            state_ = kTaken;
            spend_budget();
            return true;
        }
        // Nothing queued. Whether the channel is finished is checked once,
        // by the registration in await_suspend, which then does not suspend.
        return false;
    }
    // After a wait, a yield or a take in ready_slow: true with value_ set,
    // false when the channel is finished.
    [[gnu::noinline]] bool resume_slow() {
        if (state_ == kRegistered) {
            waiter_.sched->remove_external_wait();
        }
        state_ = kIdle;
        return value_.has_value() || core_->take_into(value_);  // woken: a value arrived, or the channel closed
    }
    [[gnu::noinline]] void abandon() noexcept {
        if (state_ == kYield) {
            waiter_.unlink();  // cancelled while yielding for the budget: nothing was taken
        } else {
            core_->cancel_receive_wait(waiter_);  // chan rule 3: nothing is consumed
            waiter_.sched->remove_external_wait();
        }
    }

    ChanCore<T>* core_;
    static_assert(std::is_trivially_destructible_v<detail::RemoteWaiter>);
    union {
        detail::RemoteWaiter waiter_;  // trivially destructible: nothing to end
    };
    std::optional<T> value_;
    // Set by await_ready on every path (an awaiter is always awaited once
    // made), so the fast path writes it once.
    std::uint8_t state_;
};

template <class T>
class BoundedSendAwaiter {
public:
    BoundedSendAwaiter(ChanCore<T>* core, T& value) noexcept : core_(core), value_(&value) {}
    BoundedSendAwaiter(const BoundedSendAwaiter&) = delete;
    BoundedSendAwaiter& operator=(const BoundedSendAwaiter&) = delete;
    ~BoundedSendAwaiter() {
        if (registered_) {
            core_->cancel_send_wait(waiter_);
            waiter_.sched->remove_external_wait();
        }
    }

    bool await_ready() {
        require_scheduler("BoundedSender::send");
        return core_->try_send_bounded(*value_, refused_);
    }
    bool await_suspend(std::coroutine_handle<> h) {
        waiter_.arm(h);
        waiter_.value = value_;
        if (!core_->wait_to_send(waiter_)) {
            refused_ = waiter_.refused;
            return false;
        }
        registered_ = true;
        return true;
    }
    SendResult<T> await_resume() {
        if (registered_) {
            registered_ = false;
            waiter_.sched->remove_external_wait();
            refused_ = waiter_.refused;
        }
        if (refused_) {
            return SendResult<T>(std::move(*value_));
        }
        return SendResult<T>();
    }

private:
    ChanCore<T>* core_;
    T* value_;
    SendWaiter<T> waiter_;
    bool refused_ = false;
    bool registered_ = false;
};

}  // namespace detail

namespace detail {

// What Sender and BoundedSender share: a counted claim on the channel as a
// producer (a copy is one more producer; moved-from counts for nothing).
template <class T>
class SenderHandle {
public:
    explicit SenderHandle(ChanCore<T>* core) noexcept : core_(core) {}
    SenderHandle(const SenderHandle& o) : core_(o.core_) {
        if (core_ != nullptr) {
            core_->add_sender();
        }
    }
    SenderHandle(SenderHandle&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
    SenderHandle& operator=(SenderHandle o) noexcept {
        std::swap(core_, o.core_);
        return *this;
    }
    ~SenderHandle() {
        if (core_ != nullptr) {
            core_->drop_sender();
        }
    }

protected:
    ChanCore<T>* core(const char* what) const { return require_core(core_, what); }
    ChanCore<T>* core_;
};

// A move-only claim on a shared core that lets go through `Drop` (Receiver,
// OneshotSender, OneshotReceiver).
template <class Core, void (Core::*Drop)()>
class UniqueCore {
public:
    explicit UniqueCore(Core* core) noexcept : core_(core) {}
    UniqueCore(UniqueCore&& o) noexcept : core_(std::exchange(o.core_, nullptr)) {}
    UniqueCore& operator=(UniqueCore&& o) noexcept {
        if (this != &o) {
            reset();
            core_ = std::exchange(o.core_, nullptr);
        }
        return *this;
    }
    UniqueCore(const UniqueCore&) = delete;
    UniqueCore& operator=(const UniqueCore&) = delete;
    ~UniqueCore() { reset(); }

protected:
    void reset() noexcept {
        if (core_ != nullptr) {
            (std::exchange(core_, nullptr)->*Drop)();
        }
    }
    Core* core(const char* what) const {
        if (core_ == nullptr) {
            throw_moved_from(what);
        }
        return core_;
    }
    Core* core_;
};

}  // namespace detail

/// The awaitable `Receiver::recv()` returns; see there.
template <class T>
class [[nodiscard]] Recv {
public:
    explicit Recv(detail::ChanCore<T>* core) noexcept : core_(core) {}
    [[nodiscard]] detail::RecvAwaiter<T> operator co_await() const noexcept { return detail::RecvAwaiter<T>(core_); }

private:
    detail::ChanCore<T>* core_;
};

/// The sending half of `channel<T>()`. Copyable: a copy is a clone, one more
/// producer; the channel closes when the last Sender is destroyed (a
/// moved-from Sender counts for nothing). Thread-safe: a Sender may be used
/// from any thread, including a plain std::thread; each Sender object is used
/// by one thread at a time. Sends from the channel's own thread take no lock.
template <class T>
class Sender : private detail::SenderHandle<T> {
public:
    explicit Sender(detail::ChanCore<T>* core) noexcept : detail::SenderHandle<T>(core) {}

    /// Queues `value` without waiting (the channel is unbounded). Returns a
    /// true SendResult when queued; a false one holding `value` when the
    /// receiver is gone or closed. Throws std::logic_error on a moved-from
    /// Sender. Values sent through one Sender arrive in order.
    WEFT_ALWAYS_INLINE SendResult<T> send(T value) {
        if (this->core("Sender::send")->send(value)) {
            return SendResult<T>();
        }
        return SendResult<T>(std::move(value));
    }
    /// True when the receiver is gone or closed (a send would fail).
    [[nodiscard]] bool is_closed() const { return this->core("Sender::is_closed")->rx_closed(); }
    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }
};

/// The sending half of `bounded_channel<T>(capacity)`: as `Sender`, but
/// `co_await tx.send(v)` waits while the channel holds `capacity` values.
/// Waiting senders are served first-come, first-served: when the receiver
/// takes a value, the oldest waiting sender's value moves into the freed room.
/// Cancel safety: a send destroyed while waiting has either queued its value
/// (the room was handed over) or not, in which case the value is destroyed
/// with the send and was never in the channel; nothing is queued twice.
/// Copyable (one more producer) and usable from any runtime's thread.
template <class T>
class BoundedSender : private detail::SenderHandle<T> {
public:
    explicit BoundedSender(detail::ChanCore<T>* core) noexcept : detail::SenderHandle<T>(core) {}

    /// The awaitable `send` returns: holds the value until it is queued.
    class [[nodiscard]] Send {
    public:
        Send(detail::ChanCore<T>* core, T value) : core_(core), value_(std::move(value)) {}
        [[nodiscard]] detail::BoundedSendAwaiter<T> operator co_await() & noexcept {
            return detail::BoundedSendAwaiter<T>(core_, value_);
        }
        [[nodiscard]] detail::BoundedSendAwaiter<T> operator co_await() && noexcept {
            return detail::BoundedSendAwaiter<T>(core_, value_);
        }

    private:
        detail::ChanCore<T>* core_;
        T value_;
    };

    /// `co_await tx.send(v)`: completes when `v` is queued (true SendResult)
    /// or the receiver is gone or closed (false, `value()` hands `v` back).
    /// Throws std::logic_error on a moved-from sender.
    Send send(T value) { return Send(this->core("BoundedSender::send"), std::move(value)); }
    /// True when the receiver is gone or closed (a send would fail).
    [[nodiscard]] bool is_closed() const { return this->core("BoundedSender::is_closed")->rx_closed(); }
    /// The capacity the channel was created with.
    [[nodiscard]] std::size_t capacity() const { return this->core("BoundedSender::capacity")->capacity(); }
    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }
};

/// The receiving half of a channel. Move-only, single consumer, used on the
/// channel's home thread: the thread that created the channel on a
/// current-thread runtime; on a pool runtime (or for a channel made outside
/// any runtime) the thread of its first operation, which claims it — move it
/// into another task only before its first receive, or share it between
/// tasks spawned with `spawn_local`. Once the home thread has ended (a pool's
/// workers end with each block_on), the next thread to use it takes the home
/// over. Elsewhere its operations throw std::logic_error. Destroying it closes the channel and frees the
/// values still queued.
template <class T>
class Receiver : private detail::UniqueCore<detail::ChanCore<T>, &detail::ChanCore<T>::drop_receiver> {
    using Base = detail::UniqueCore<detail::ChanCore<T>, &detail::ChanCore<T>::drop_receiver>;

public:
    explicit Receiver(detail::ChanCore<T>* core) noexcept : Base(core) {}

    /// `co_await rx.recv()` yields the next value, waiting for one if needed,
    /// or std::nullopt once the channel is closed (every Sender destroyed, or
    /// close() called) and drained. Cancel safety: a recv destroyed while
    /// waiting (a lost select, a timeout, an abort, shutdown) consumes
    /// nothing: every value stays in the channel for the next recv. A recv
    /// that completes at once counts against the task's cooperative budget
    /// (a task draining a channel that never empties still lets the others
    /// run every 128 values). Throws
    /// std::logic_error on a moved-from Receiver, outside a runtime, or off
    /// the channel's thread.
    [[nodiscard]] Recv<T> recv() const { return Recv<T>(this->core("Receiver::recv")); }

    /// The next value if one is queued, without waiting; std::nullopt
    /// otherwise (use `recv` to tell "empty" from "closed").
    std::optional<T> try_recv() {
        auto* c = this->core("Receiver::try_recv");
        if (!c->claim_home()) {
            throw std::logic_error(
                "Receiver::try_recv: a Receiver must be used on its channel's home thread (see Receiver::recv)");
        }
        std::optional<T> out;
        c->take_into(out);
        return out;
    }

    /// Stops further sends (they fail and hand their value back; waiting
    /// bounded senders are refused); values already queued can still be
    /// received, then recv yields std::nullopt.
    void close() { this->core("Receiver::close")->close(); }

    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }

private:
    friend class ReceiverStream<T>;
};

/// An unbounded multi-producer, single-consumer channel:
/// `auto [tx, rx] = weft::channel<std::string>();`. May be created anywhere,
/// inside a runtime or not; the Receiver is then used on this thread.
template <class T>
[[nodiscard]] std::pair<Sender<T>, Receiver<T>> channel() {
    auto* core = new detail::ChanCore<T>(0);
    return {Sender<T>(core), Receiver<T>(core)};
}

/// A channel holding at most `capacity` values: `co_await tx.send(v)` waits
/// while it is full. Throws std::invalid_argument for a capacity of 0 (weft
/// has no rendezvous channel; use `oneshot` or a capacity of 1).
template <class T>
[[nodiscard]] std::pair<BoundedSender<T>, Receiver<T>> bounded_channel(std::size_t capacity) {
    if (capacity == 0) {
        throw std::invalid_argument("weft::bounded_channel: capacity must be at least 1 (got 0)");
    }
    auto* core = new detail::ChanCore<T>(capacity);
    return {BoundedSender<T>(core), Receiver<T>(core)};
}

}  // namespace weft
