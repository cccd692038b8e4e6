// Channels: unbounded and bounded multi-producer, single-consumer queues.
#pragma once

#include <cassert>
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
    // Nothing is constructed but the core pointer: the waiter only when the
    // receive suspends, the value slot only when a slow path takes a value.
    // The mask is a no-op on the (aligned) pointer; it tells the compiler
    // that the state starts kReady, so the inline path tests nothing of it.
    explicit RecvAwaiter(ChanCore<T>* core) noexcept : bits_(reinterpret_cast<std::uintptr_t>(core) & ~kStateMask) {}
    RecvAwaiter(const RecvAwaiter&) = delete;
    RecvAwaiter& operator=(const RecvAwaiter&) = delete;
    // Inline: a completed receive holds nothing, so this is a test of the
    // state bits (finish() is out of line). The empty asm keeps g++ 12 from
    // moving the awaiting loop's next loads of its frame variables above
    // this point: it otherwise fetches a receive loop's two accumulators
    // (`sum += *v; ++count;`) as one 16-byte load that waits for the two
    // 8-byte stores of the iteration before to retire (store forwarding
    // cannot merge them): chan_spsc's receive side 29 -> 72 ms per 10^7
    // messages. The barrier costs what the out-of-line call it replaces
    // cost the compiler, without the call.
    WEFT_ALWAYS_INLINE ~RecvAwaiter() {
        if (state() >= kTaken) [[unlikely]] {
            finish();
        }
#if defined(__GNUC__) || defined(__clang__)
        asm volatile("" ::: "memory");
#endif
    }

    // The fast path: on the home thread, a home value queued, budget left
    // (taken here: one decrement that is also the check): await_resume takes
    // it (nothing can run in between), and the state stays kReady, so the
    // fast path stores nothing in the awaiter. A budget found spent is left
    // below zero, which still reads as spent (ready_slow yields).
    WEFT_ALWAYS_INLINE bool await_ready() {
        assert(state() == kReady);  // a fresh awaiter, or one whose last await completed
        ChanCore<T>* c = core();
        if (c->home_thread()) [[likely]] {
            if (c->has_local()) [[likely]] {
                if (take_budget()) [[likely]] {
                    return true;
                }
            } else if (!c->remote_may_have_values() && !budget_spent()) {
                set_state(c, kIdle);
                return false;  // nothing queued: await_suspend registers (or finds the channel finished)
            }
        }
        return ready_slow();
    }
    bool await_suspend(std::coroutine_handle<> h) {
        ::new (static_cast<void*>(&waiter_)) detail::RemoteWaiter();
        waiter_.arm(h);
        if (state() == kYield) {
            waiter_.sched->wake(&waiter_);
            return true;
        }
        ChanCore<T>* c = core();
        if (!c->register_receiver(waiter_)) {
            spend_budget();  // completes at once (arrived meanwhile, or finished): a ready await
            return false;
        }
        set_state(c, kRegistered);
        waiter_.sched->add_external_wait();
        return true;
    }
    WEFT_ALWAYS_INLINE std::optional<T> await_resume() {
        const unsigned st = state();
        ChanCore<T>* c = core();
        if (st == kReady) [[likely]] {
            return std::optional<T>(c->pop_local());  // its budget was taken by await_ready
        }
        if (st == kRegistered && c->has_local()) {  // woken by a home send
            // The core pointer stays in a register: reloading it after the
            // counter's store below would put a store-forwarding wait on
            // the hand-off path.
            set_state(c, kReady);
            waiter_.sched->remove_external_wait();
            return std::optional<T>(c->pop_local());
        }
        if (!resume_slow()) {
            return std::nullopt;
        }
        // From the value, not the whole optional: copying the optional just
        // written field by field would stall on store forwarding.
        std::optional<T> out(std::move(*value_));
        value_.~optional();
        set_state(kReady);
        return out;
    }

protected:
    // Move, for Recv (which is its own awaiter): only before it is awaited.
    RecvAwaiter(RecvAwaiter&& other) noexcept : bits_(other.bits_) {
        assert(other.state() == kReady);
    }

private:
    // The state, in the low bits of bits_ beside the core pointer.
    enum : unsigned {
        kReady,       // holds nothing: not awaited yet, its last await completed, or
                      // await_ready saw a home value that await_resume takes
        kIdle,        // a slow path found nothing to take; no waiter
        kTaken,       // value_ holds the value (value_ is alive in this state only)
        kYield,       // yielding for the coop budget (waiter_ is in the ready list)
        kRegistered,  // waiting (waiter_ is registered with the channel)
    };
    static constexpr std::uintptr_t kStateMask = 7;
    static_assert(alignof(ChanCore<T>) > kStateMask);

    [[nodiscard]] ChanCore<T>* core() const noexcept {
        return reinterpret_cast<ChanCore<T>*>(bits_ & ~kStateMask);
    }
    [[nodiscard]] unsigned state() const noexcept {
        return static_cast<unsigned>(bits_ & kStateMask);
    }
    void set_state(unsigned st) noexcept {
        set_state(core(), st);
    }
    void set_state(ChanCore<T>* c, unsigned st) noexcept {
        bits_ = reinterpret_cast<std::uintptr_t>(c) | st;
    }

    [[gnu::noinline]] bool ready_slow() {
        require_scheduler("Receiver::recv");
        ChanCore<T>* c = core();
        if (!c->claim_home()) {
            throw std::logic_error(
                "Receiver::recv: a Receiver must be used on its channel's home thread: the thread that created "
                "it (current-thread runtime) or, on a pool runtime, the worker of its first receive, while that "
                "thread runs; receive from one task, spawn the tasks that share a Receiver with spawn_local, or "
                "move the Receiver only before its first receive");
        }
        if (budget_spent() && c->ready_now()) {
            set_state(kYield);  // coop budget (task_header.hpp): yield first, take after
            return false;
        }
        if (take()) {
            spend_budget();
            return true;
        }
        // Nothing queued. Whether the channel is finished is checked once,
        // by the registration in await_suspend, which then does not suspend.
        set_state(kIdle);
        return false;
    }
    // Takes a value into value_ (state kTaken) if one is queued; else
    // leaves the state as it was.
    bool take() {
        ::new (static_cast<void*>(&value_)) std::optional<T>();
        bool taken = false;
        try {
            taken = core()->take_into(value_);
        } catch (...) {
            value_.~optional();
            throw;
        }
        if (!taken) {
            value_.~optional();
            return false;
        }
        set_state(kTaken);
        return true;
    }
    // After a wait, a yield or a take in ready_slow: true with value_ set
    // (state kTaken), false when the channel is finished (state kReady).
    [[gnu::noinline]] bool resume_slow() {
        const unsigned st = state();
        if (st == kTaken) {
            return true;
        }
        if (st == kRegistered) {
            waiter_.sched->remove_external_wait();
        }
        set_state(kReady);  // the waiter is done with
        return take();      // woken: a value arrived, or the channel closed
    }
    [[gnu::noinline]] void finish() noexcept {
        switch (state()) {
            case kTaken:
                value_.~optional();  // taken but never resumed: the awaiting coroutine was destroyed
                break;
            case kYield:
                waiter_.unlink();  // cancelled while yielding for the budget: nothing was taken
                break;
            default:
                core()->cancel_receive_wait(waiter_);  // chan rule 3: nothing is consumed
                waiter_.sched->remove_external_wait();
                break;
        }
    }

    std::uintptr_t bits_;  // the core, and the state in the low bits
    static_assert(std::is_trivially_destructible_v<detail::RemoteWaiter>);
    union {
        detail::RemoteWaiter waiter_;  // trivially destructible: nothing to end
    };
    union {
        std::optional<T> value_;  // alive in state kTaken only
    };
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

/// The awaitable `Receiver::recv()` returns; see there. It is its own
/// awaiter (one object in the awaiting coroutine's frame, nothing allocated):
/// movable until it is awaited, not copyable. Awaiting the same Recv again
/// after an await of it completed receives the next value.
template <class T>
class [[nodiscard]] Recv : public detail::RecvAwaiter<T> {
public:
    explicit Recv(detail::ChanCore<T>* core) noexcept : detail::RecvAwaiter<T>(core) {}
    /// Moves a receive that has not been awaited yet (into a select, join or
    /// timeout, say). Moving one while it is awaited is a bug (asserted in
    /// debug builds); nothing can, as its awaiting coroutine is suspended.
    Recv(Recv&& other) noexcept = default;
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
        detail::ChanCore<T>* c = this->core("Sender::send");
        if (c->fast_send()) [[likely]] {
            c->push_fast(std::move(value));
            return SendResult<T>();
        }
        std::optional<T> refused;  // touched on this path only
        if (send_cold(c, std::move(value), refused)) {
            return SendResult<T>();
        }
        return SendResult<T>(std::move(*refused));
    }
    /// True when the receiver is gone or closed (a send would fail).
    [[nodiscard]] bool is_closed() const { return this->core("Sender::is_closed")->rx_closed(); }
    /// True unless moved-from.
    [[nodiscard]] bool valid() const noexcept { return this->core_ != nullptr; }

private:
    // Every send but the inline one: true when queued, else the value is
    // handed back in `refused`. `value` is its own object here: were the
    // inline path to hand its parameter over by reference, that parameter's
    // address would escape and g++ would keep it in memory on the inline
    // path too (a store and a reload on every send). The result is a bool in
    // a register, not a SendResult: one returned through memory is reloaded
    // as words right after its flag byte was stored, which stalls on store
    // forwarding (a remote-lane send took ~20% longer that way).
    [[gnu::noinline]] static bool send_cold(detail::ChanCore<T>* c, T value, std::optional<T>& refused) {
        if (c->send_slow(value)) {
            return true;
        }
        refused.emplace(std::move(value));
        return false;
    }
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
