// The awaiters behind Receiver::recv (RecvAwaiter, which Recv is) and
// BoundedSender::send (BoundedSendAwaiter), and the moved-from checks of the
// channel handles (channel.hpp). Their rules are those of the channel core
// (chan_core.hpp); docs/channels.md, "Cost", says why the receive is built
// the way it is.
#pragma once

#include <cassert>
#include <coroutine>
#include <cstdint>
#include <new>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/detail/chan_core.hpp"
#include "weft/detail/config.hpp"
#include "weft/send_result.hpp"

namespace weft {

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
    // The mask is a no-op on the (aligned) pointer; with it g++ knows the
    // low bits are clear and uses the pointer as it is on the inline path
    // (g++ 12 still tests the state in await_resume).
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

}  // namespace weft
