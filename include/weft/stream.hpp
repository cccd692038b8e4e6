// Streams: async sequences, the generator coroutine Stream<T>, and the
// adaptors every stream has (map, filter, take, timeout, throttle, merge,
// collect, boxed). The protocol underneath is in detail/stream_poll.hpp.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstddef>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "weft/detail/frame_pool.hpp"
#include "weft/detail/resume.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/stream_poll.hpp"
#include "weft/task.hpp"

namespace weft {

template <class T>
class Stream;
template <class S, class F>
class MapStream;
template <class S, class P>
class FilterStream;
template <class S>
class TakeStream;
template <class S>
class TimeoutStream;
template <class S>
class ThrottleStream;
template <class A, class B>
class MergeStream;

namespace detail {
template <class S>
Task<std::vector<typename S::value_type>> collect_stream(S s);
template <class S>
Stream<typename S::value_type> box_stream(S s);
// Converts a duration to nanoseconds, rounding up, for stream adaptors;
// throws std::invalid_argument naming `what` when it is negative (or, with
// `allow_zero` false, zero).
template <class Rep, class Period>
std::chrono::nanoseconds stream_period(std::chrono::duration<Rep, Period> d, const char* what, bool allow_zero);
}  // namespace detail

/// What every weft stream is: a move-only source of items of type `T`,
/// consumed with `while (auto v = co_await s.next()) { ... }`. `Derived` is
/// the concrete stream type (`Stream<T>`, `IterStream<R>`, `MapStream<S, F>`,
/// ...). Adaptors are member calls that consume the stream (call them on an
/// rvalue: `std::move(s).map(f)`), and nothing happens until the result is
/// polled; a chain of adaptors over a source that is ready costs one inlined
/// call per item, not a coroutine switch per stage. A stream is used by one
/// task at a time and must not be moved while a `next()` on it is waiting
/// (between items it may be moved freely). Not thread-safe.
template <class Derived, class T>
class StreamBase {
public:
    /// The type of the items.
    using value_type = T;

    /// `co_await s.next()` yields the next item, waiting for it if needed, or
    /// `std::nullopt` once the stream has ended (and again on every later
    /// call). Rethrows what the stream's source threw (a `Stream<T>` body's
    /// exception, once; the stream has ended after it). A stream has one
    /// consumer: awaiting a second next() while one is waiting throws
    /// std::logic_error (and leaves the first one waiting). Cancel safety: a
    /// `next()` destroyed while waiting (a lost `select`, a `timeout`, an
    /// abort, runtime shutdown) loses no item: every item stays in the stream
    /// for the next `next()`, and the stream keeps no timer or registration.
    [[nodiscard]] detail::Next<Derived> next() noexcept { return detail::Next<Derived>(self()); }

    /// A stream of `f(item)` for each item (`f` runs as each item is polled).
    template <class F>
    [[nodiscard]] MapStream<Derived, F> map(F f) && {
        return MapStream<Derived, F>(std::move(self()), std::move(f));
    }
    /// A stream of the items for which `p(item)` (taking `const T&`) is true;
    /// the others are dropped as they are polled.
    template <class P>
    [[nodiscard]] FilterStream<Derived, P> filter(P p) && {
        return FilterStream<Derived, P>(std::move(self()), std::move(p));
    }
    /// The first `n` items, then the end; `take(0)` ends at once without
    /// polling this stream at all.
    [[nodiscard]] TakeStream<Derived> take(std::size_t n) && { return TakeStream<Derived>(std::move(self()), n); }
    /// Each item as `Timed<T>`; when an item takes longer than `d` (counted
    /// from the first poll that had to wait for it), yields an error item
    /// (`Elapsed`) instead and goes on waiting for that item with a fresh
    /// `d`. Nothing is lost: the late item still comes. Throws
    /// std::invalid_argument for a zero or negative `d`.
    template <class Rep, class Period>
    [[nodiscard]] TimeoutStream<Derived> timeout(std::chrono::duration<Rep, Period> d) && {
        return TimeoutStream<Derived>(std::move(self()), detail::stream_period(d, "Stream::timeout", false));
    }
    /// At most one item per `d`: after an item is yielded, this stream is not
    /// polled again until `d` has passed (items are delayed, never dropped;
    /// drop-or-skip is the source's business, see `interval`). `d` of zero
    /// passes items through; a negative `d` throws std::invalid_argument.
    template <class Rep, class Period>
    [[nodiscard]] ThrottleStream<Derived> throttle(std::chrono::duration<Rep, Period> d) && {
        return ThrottleStream<Derived>(std::move(self()), detail::stream_period(d, "Stream::throttle", true));
    }
    /// Items of both streams as they come; fair: when both have items ready,
    /// they alternate, and the stream polled first alternates on every item.
    /// Ends when both have ended. `Other` must yield the same `value_type`.
    template <class Other>
    [[nodiscard]] MergeStream<Derived, Other> merge(Other other) && {
        return MergeStream<Derived, Other>(std::move(self()), std::move(other));
    }
    /// A task that drains the stream into a vector (completes when the stream
    /// ends; rethrows what the stream throws).
    [[nodiscard]] Task<std::vector<T>> collect() && { return detail::collect_stream(std::move(self())); }
    /// This stream as a `Stream<T>`: one type for every stream of `T` (to
    /// store different streams in one container, or return them from one
    /// function), at the price of a coroutine switch per item.
    [[nodiscard]] Stream<T> boxed() && { return detail::box_stream(std::move(self())); }

protected:
    StreamBase() = default;
    StreamBase(const StreamBase&) = default;
    StreamBase(StreamBase&&) noexcept {}  // a moved stream has no next() waiting (stream rule 4)
    StreamBase& operator=(const StreamBase&) = default;
    StreamBase& operator=(StreamBase&&) noexcept { return *this; }
    ~StreamBase() = default;

private:
    friend class detail::NextAwaiter<Derived>;
    Derived& self() noexcept { return static_cast<Derived&>(*this); }
    bool next_waiting_ = false;  // a next() is suspended on this stream (one consumer at a time)
};

namespace detail {

template <class T>
class StreamPromise {
public:
    StreamPromise() noexcept = default;
    StreamPromise(const StreamPromise&) = delete;
    StreamPromise& operator=(const StreamPromise&) = delete;
    ~StreamPromise() { notify_.unlink(); }

    // Suspends the body at a co_yield or at its end; tells a waiting
    // consumer when the body got there on its own (resumed by a wake).
    struct Suspend {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        void await_suspend(std::coroutine_handle<StreamPromise> h) const noexcept { h.promise().reached_item(); }
        void await_resume() const noexcept {}
    };

    Stream<T> get_return_object() noexcept;
    std::suspend_always initial_suspend() const noexcept { return {}; }
    Suspend final_suspend() noexcept {
        done_ = true;
        return {};
    }
    Suspend yield_value(const T& v) {
        item_.emplace(v);
        return {};
    }
    Suspend yield_value(T&& v) {
        item_.emplace(std::move(v));
        return {};
    }
    void return_void() const noexcept {}
    void unhandled_exception() noexcept { error_ = std::current_exception(); }

    static void* operator new(std::size_t n) { return frame_allocate(n); }
    static void operator delete(void* p, std::size_t n) noexcept { frame_deallocate(p, n); }

    bool poll(std::optional<T>& out, const Waker& w) {
        if (!item_ && !done_) {
            if (in_body_wait_) {
                if (current_task() != body_task_) {
                    throw std::logic_error(
                        "Stream::next: polled from another task while the stream's body waits; the body is "
                        "woken on the task that polled it, so poll it from that task until it yields");
                }
                aim(w);  // the body waits on something of its own (stream rule 2)
                return false;
            }
            polling_ = true;
            run_from(std::coroutine_handle<StreamPromise>::from_promise(*this));
            polling_ = false;
            if (!item_ && !done_) {
                in_body_wait_ = true;
                body_task_ = current_task();
                aim(w);
                return false;
            }
        }
        unregister();
        if (item_) {
            out.emplace(std::move(*item_));
            item_.reset();
        } else if (error_) {
            std::rethrow_exception(std::exchange(error_, nullptr));  // once; then the stream has ended
        }
        return true;
    }
    void unregister() noexcept {
        notify_.unlink();
        notify_.task = nullptr;
    }

private:
    void aim(const Waker& w) noexcept {
        notify_.task = current_task();
        notify_.set_callback(w.cb);
    }
    void reached_item() noexcept {
        in_body_wait_ = false;
        if (!polling_ && notify_.task != nullptr && !notify_.linked()) {
            if (Scheduler* s = current_scheduler()) {
                s->wake(&notify_);  // the consumer polls again on its task's turn
            }
        }
    }

    std::optional<T> item_;
    std::exception_ptr error_;
    Waiter notify_;                    // the consumer's waker while it waits for the body
    TaskHeader* body_task_ = nullptr;  // the task whose turns wake the waiting body
    bool done_ = false;
    bool polling_ = false;
    bool in_body_wait_ = false;
};

}  // namespace detail

/// An async generator: a coroutine returning `Stream<T>` produces items with
/// `co_yield value` and may `co_await` anything in between (sleeps, channel
/// receives, other tasks); `co_return;` (or falling off the end) ends the
/// stream. Lazy: the body runs only while a consumer polls it with
/// `co_await s.next()`, on the consumer's task, until its next `co_yield`.
/// Move-only (it may be moved at any time). Destroying it destroys the body
/// at its suspension point (its locals' destructors run), which cancels
/// whatever it was waiting for. An exception thrown by the body is rethrown
/// by the `next()` that was waiting for the item, once; the stream has then
/// ended. Cancel safety: if a `next()` is cancelled while the body waits,
/// the body's own wait goes on, and an item it yields meanwhile is kept for
/// the next `next()`. While its body waits, the stream must be polled from
/// the task that polled it last (the body is woken on that task's turns);
/// polling it from another task then throws std::logic_error. Not
/// thread-safe.
template <class T>
class [[nodiscard]] Stream : public StreamBase<Stream<T>, T> {
public:
    using promise_type = detail::StreamPromise<T>;
    using handle_type = std::coroutine_handle<promise_type>;

    /// An empty stream (as if moved-from); polling it throws std::logic_error.
    Stream() noexcept = default;
    Stream(Stream&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    Stream& operator=(Stream&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;
    ~Stream() { reset(); }

    /// True unless empty (moved-from).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }

    /// Stream protocol (detail/stream_poll.hpp): what `next()` calls.
    bool poll_next(std::optional<T>& out, const detail::Waker& w) {
        if (!h_) {
            throw std::logic_error("Stream::next: the Stream is empty (moved-from)");
        }
        return h_.promise().poll(out, w);
    }
    /// Stream protocol: drops the consumer's registration, keeps the items.
    void unregister() noexcept {
        if (h_) {
            h_.promise().unregister();
        }
    }

private:
    friend class detail::StreamPromise<T>;
    explicit Stream(handle_type h) noexcept : h_(h) {}
    void reset() noexcept {
        if (h_) {
            std::exchange(h_, {}).destroy();
        }
    }

    handle_type h_;
};

namespace detail {

template <class T>
Stream<T> StreamPromise<T>::get_return_object() noexcept {
    return Stream<T>(std::coroutine_handle<StreamPromise>::from_promise(*this));
}

template <class S>
Task<std::vector<typename S::value_type>> collect_stream(S s) {
    std::vector<typename S::value_type> out;
    while (auto v = co_await s.next()) {
        out.push_back(std::move(*v));
    }
    co_return out;
}

template <class S>
Stream<typename S::value_type> box_stream(S s) {
    while (auto v = co_await s.next()) {
        co_yield std::move(*v);
    }
}

template <class Rep, class Period>
std::chrono::nanoseconds stream_period(std::chrono::duration<Rep, Period> d, const char* what, bool allow_zero) {
    if (d < d.zero() || (!allow_zero && d == d.zero())) {
        throw std::invalid_argument(
            std::string(what) + ": the duration must be " + (allow_zero ? "zero or positive" : "positive") + " (got " +
            std::to_string(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count()) + " ns)");
    }
    return std::chrono::ceil<std::chrono::nanoseconds>(d);
}

}  // namespace detail

}  // namespace weft

#include "weft/stream_ops.hpp"   // IWYU pragma: export
#include "weft/stream_time.hpp"  // IWYU pragma: export
