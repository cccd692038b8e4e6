// The stream protocol: how a consumer's `co_await s.next()` reaches an item
// through a chain of stream adaptors without a coroutine switch per stage.
//
// Pieces
//   poll_next(out, waker)  every stream type's one operation. `out` is empty
//                on entry. Returns true when the next item is decided: `out`
//                holds it, or stays empty for the end of the stream. Returns
//                false when the stream must wait: it has then registered so
//                that `waker` runs (on its task's turn) once polling again may
//                make progress. Adaptors call their inner streams' poll_next
//                directly, so a chain such as `stream_from_iter(v).map(f)
//                .filter(p)` is one inlined call per item: the synchronous
//                case costs what the loop it replaces costs, plus the await.
//   unregister() drops every registration the stream holds (its consumer
//                stopped waiting) and keeps every item.
//   Waker        who to tell: a WakeCallback, run on the turn of the task
//                that polled (NextAwaiter's, which polls again and resumes the
//                awaiting coroutine when the item is decided).
//   NextAwaiter  what `next()` returns; the only place that suspends.
//
// Rules (cited as "stream rule N")
//   1. A poll that returns true leaves no registration behind: nothing will
//      call the waker it was given (an adaptor that polled several inner
//      streams unregisters the ones still waiting).
//   2. A poll that returns false holds registrations that call the waker of
//      its latest poll; a later poll with another waker replaces it.
//   3. Items are taken from a source only inside poll_next and handed to the
//      caller at once, so a consumer that stops waiting (unregister) loses
//      nothing: cancel safety is rule 2 plus this.
//   4. A stream is not moved while registered; NextAwaiter unregisters when it
//      is destroyed while waiting, so between next() calls every stream may
//      be moved freely.
//   5. After the end (an empty `out`), polls keep returning the end.
#pragma once

#include <coroutine>
#include <exception>
#include <optional>
#include <stdexcept>
#include <utility>

#include "weft/detail/config.hpp"
#include "weft/detail/resume.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

// The callback runs on the turn of the task that polled (the registering
// source reads current_task() then; the ready path never touches it).
struct Waker {
    WakeCallback* cb = nullptr;
};

// A registration a stream keeps while it waits for one wake source: a Waiter
// whose own callback marks it fired and forwards to the latest Waker (stream
// rule 2). `W` is the waiter type the source needs (a TimerEntry, a channel's
// RemoteWaiter).
template <class W>
struct Forwarder : WakeCallback {
    W waiter;
    Waker to;
    bool fired = false;

    Forwarder() noexcept {
        fn = &forward;
        waiter.set_callback(this);
    }
    Forwarder(const Forwarder&) = delete;
    Forwarder& operator=(const Forwarder&) = delete;

    // Points the registration at `w`'s task and callback.
    void aim(const Waker& w) noexcept {
        to = w;
        waiter.task = current_task();
        fired = false;
    }

private:
    static void forward(WakeCallback* cb) {
        auto* self = static_cast<Forwarder*>(cb);
        self->fired = true;
        if (self->to.cb != nullptr) {
            self->to.cb->fn(self->to.cb);
        }
    }
};

// A second next() while one waits (StreamBase::next).
[[noreturn]] inline void throw_second_next() {
    throw std::logic_error(
        "Stream::next: a next() is already waiting on this stream; a stream has one consumer, so await one "
        "next() at a time (merge two streams instead of polling one from two places)");
}

template <class S>
class NextAwaiter : private WakeCallback {
public:
    using value_type = typename S::value_type;

    explicit NextAwaiter(S& s) noexcept : s_(&s) { fn = &on_wake; }
    NextAwaiter(const NextAwaiter&) = delete;
    NextAwaiter& operator=(const NextAwaiter&) = delete;
    ~NextAwaiter() {
        if (pending_) {
            s_->next_waiting_ = false;
            s_->unregister();  // stream rules 3 and 4
        }
    }

    WEFT_ALWAYS_INLINE bool await_ready() {
        if (s_->next_waiting_) [[unlikely]] {
            throw_second_next();  // before polling: the waiting next() keeps its registration
        }
        return s_->poll_next(item_, Waker{this});
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        h_ = h;
        pending_ = true;
        s_->next_waiting_ = true;
    }
    WEFT_ALWAYS_INLINE std::optional<value_type> await_resume() {
        if (error_) [[unlikely]] {
            std::rethrow_exception(std::exchange(error_, nullptr));
        }
        // From the value, not the whole optional: copying an optional just
        // written field by field would stall on store forwarding.
        if (item_) {
            return std::optional<value_type>(std::move(*item_));
        }
        return std::nullopt;
    }

private:
    static void on_wake(WakeCallback* cb) {
        auto* self = static_cast<NextAwaiter*>(cb);
        try {
            if (!self->s_->poll_next(self->item_, Waker{self})) {
                return;  // still waiting (a spurious wake)
            }
        } catch (...) {
            self->s_->unregister();
            self->error_ = std::current_exception();
        }
        self->pending_ = false;
        self->s_->next_waiting_ = false;
        run_from(self->h_);  // resume.hpp
    }

    S* s_;
    std::optional<value_type> item_;
    std::coroutine_handle<> h_;
    std::exception_ptr error_;
    bool pending_ = false;
};

// What `next()` returns: a movable handle on the stream (select and timeout
// store their operands), which makes a NextAwaiter when awaited.
template <class S>
class Next {
public:
    explicit Next(S& s) noexcept : s_(&s) {}
    [[nodiscard]] NextAwaiter<S> operator co_await() const noexcept { return NextAwaiter<S>(*s_); }

private:
    S* s_;
};

}  // namespace weft::detail
