// Streams that use the runtime's clock: interval, and the timeout and
// throttle adaptors. Included by weft/stream.hpp; include that one.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/stream_poll.hpp"
#include "weft/detail/timer_wheel.hpp"
#include "weft/stream.hpp"
#include "weft/time.hpp"

namespace weft {

/// The error item of a `timeout` stream: the item did not come in time. An
/// exception type, so that `Timed<T>::value()` can throw it.
class Elapsed : public std::runtime_error {
public:
    Elapsed() : std::runtime_error("deadline has elapsed") {}
};

/// An item of `s.timeout(d)`: either the stream's item or `Elapsed` (the
/// item took longer than `d`; the stream goes on). Test it with `if (item)`.
template <class T>
class Timed {
public:
    /// An item that came in time.
    explicit Timed(T value) : value_(std::move(value)) {}
    /// An item that did not come in time.
    [[nodiscard]] static Timed elapsed() { return Timed(); }

    /// True when this holds the stream's item.
    [[nodiscard]] bool has_value() const noexcept { return value_.has_value(); }
    explicit operator bool() const noexcept { return has_value(); }
    /// The item; throws `Elapsed` when the item did not come in time.
    [[nodiscard]] T& value() & { return get(); }
    [[nodiscard]] const T& value() const& { return const_cast<Timed*>(this)->get(); }
    [[nodiscard]] T&& value() && { return std::move(get()); }
    /// As `value()`: the item, or throws `Elapsed`.
    [[nodiscard]] T& operator*() & { return get(); }
    /// As `value()`, for member access: throws `Elapsed` on an error item.
    [[nodiscard]] T* operator->() { return &get(); }
    /// The `Elapsed` error; throws std::logic_error when this holds an item.
    [[nodiscard]] Elapsed error() const {
        if (value_) {
            throw std::logic_error("Timed::error: the item came in time, so there is no error");
        }
        return Elapsed();
    }

private:
    Timed() = default;
    T& get() {
        if (!value_) {
            throw Elapsed();
        }
        return *value_;
    }
    std::optional<T> value_;
};

namespace detail {

// One timer a stream arms while it waits (stream rule 2), on the heap so that
// the stream stays movable. Arms, re-aims and disarms in O(1).
class StreamTimer {
public:
    // Waits until `deadline`, then wakes `w`.
    void arm(Scheduler& s, std::chrono::steady_clock::time_point deadline, const Waker& w) {
        if (!reg_) {
            reg_ = std::make_unique<Forwarder<TimerEntry>>();
        }
        TimerEntry& e = reg_->waiter;
        const std::int64_t ns = s.to_wheel_ns(deadline);
        reg_->aim(w);
        if (e.armed()) {
            if (e.deadline_ns == ns) {
                return;
            }
            sched_->disarm(&e);
        } else {
            e.unlink();  // fired but not run yet: forget that wake
        }
        e.deadline_ns = ns;
        sched_ = &s;
        s.arm(&e);
    }
    void disarm() noexcept {
        if (!reg_) {
            return;
        }
        TimerEntry& e = reg_->waiter;
        if (e.armed()) {
            sched_->disarm(&e);
        } else {
            e.unlink();
        }
        reg_->to = Waker{};
    }
    StreamTimer() = default;
    StreamTimer(StreamTimer&&) noexcept = default;
    StreamTimer& operator=(StreamTimer&& o) noexcept {
        disarm();
        reg_ = std::move(o.reg_);
        sched_ = o.sched_;
        return *this;
    }
    ~StreamTimer() { disarm(); }

private:
    std::unique_ptr<Forwarder<TimerEntry>> reg_;
    Scheduler* sched_ = nullptr;
};

}  // namespace detail

/// The stream `interval(period)` returns: tick numbers 1, 2, 3, ... where tick
/// n is due at `start() + n * period()` on the runtime's clock, so ticks never
/// drift however late they are consumed. Missed ticks are skipped: a
/// `next()` that comes after several ticks were due yields at once the
/// latest due tick's number (the numbers show the gap), and the following
/// tick is again on the grid. Never ends. Cancel safety: a `next()` destroyed
/// while waiting, or the stream destroyed, disarms its timer; no tick is
/// consumed. Polling it outside a runtime throws std::logic_error.
class IntervalStream : public StreamBase<IntervalStream, std::uint64_t> {
public:
    using value_type = std::uint64_t;

    IntervalStream(std::chrono::steady_clock::time_point start, std::chrono::nanoseconds period)
        : start_(start), period_(period) {}

    /// When tick 0 was (the creation time); tick n is due at start() + n * period().
    [[nodiscard]] std::chrono::steady_clock::time_point start() const noexcept { return start_; }
    /// The time between two ticks.
    [[nodiscard]] std::chrono::nanoseconds period() const noexcept { return period_; }

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<std::uint64_t>& out, const detail::Waker& w) {
        detail::Scheduler& s = detail::require_scheduler("IntervalStream::next");
        const auto due = start_ + period_ * static_cast<std::int64_t>(next_);
        const auto t = s.now();
        if (t < due) {
            timer_.arm(s, due, w);
            return false;
        }
        timer_.disarm();
        const auto latest = static_cast<std::uint64_t>((t - start_) / period_);  // >= next_: skip missed ticks
        out.emplace(latest);
        next_ = latest + 1;
        return true;
    }
    /// Stream protocol.
    void unregister() noexcept { timer_.disarm(); }

private:
    std::chrono::steady_clock::time_point start_;
    std::chrono::nanoseconds period_;
    std::uint64_t next_ = 1;
    detail::StreamTimer timer_;
};

/// A stream of ticks every `period` from now on the runtime's clock (paused
/// or real); see `IntervalStream` for the numbering and the missed-tick
/// policy. Throws std::invalid_argument for a zero or negative period and
/// std::logic_error outside a runtime.
template <class Rep, class Period>
[[nodiscard]] IntervalStream interval(std::chrono::duration<Rep, Period> period) {
    const auto p = detail::stream_period(period, "weft::interval", false);
    return IntervalStream(now(), p);
}

/// The stream `s.timeout(d)` returns; see `StreamBase::timeout`. Cancel
/// safety: as the inner stream's, and its timer is disarmed.
template <class S>
class TimeoutStream : public StreamBase<TimeoutStream<S>, Timed<typename S::value_type>> {
public:
    using value_type = Timed<typename S::value_type>;

    TimeoutStream(S inner, std::chrono::nanoseconds d) : inner_(std::move(inner)), d_(d) {}

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<value_type>& out, const detail::Waker& w) {
        std::optional<typename S::value_type> in;
        if (inner_.poll_next(in, w)) {
            deadline_.reset();
            timer_.disarm();
            if (in) {
                out.emplace(std::move(*in));
            }
            return true;
        }
        detail::Scheduler& s = detail::require_scheduler("TimeoutStream::next");
        if (!deadline_) {
            deadline_ = s.now() + d_;
        } else if (s.now() >= *deadline_) {
            deadline_.reset();  // the next poll waits a fresh d_ for the same item
            timer_.disarm();
            inner_.unregister();  // stream rule 1; the item stays in inner_ (rule 3)
            out.emplace(value_type::elapsed());
            return true;
        }
        timer_.arm(s, *deadline_, w);
        return false;
    }
    /// Stream protocol.
    void unregister() noexcept {
        inner_.unregister();
        timer_.disarm();
    }

private:
    S inner_;
    std::chrono::nanoseconds d_;
    std::optional<std::chrono::steady_clock::time_point> deadline_;
    detail::StreamTimer timer_;
};

/// The stream `s.throttle(d)` returns; see `StreamBase::throttle`. Cancel
/// safety: as the inner stream's, and its timer is disarmed.
template <class S>
class ThrottleStream : public StreamBase<ThrottleStream<S>, typename S::value_type> {
public:
    using value_type = typename S::value_type;

    ThrottleStream(S inner, std::chrono::nanoseconds d) : inner_(std::move(inner)), d_(d) {}

    /// Stream protocol (detail/stream_poll.hpp).
    bool poll_next(std::optional<value_type>& out, const detail::Waker& w) {
        if (next_allowed_) {
            detail::Scheduler& s = detail::require_scheduler("ThrottleStream::next");
            if (s.now() < *next_allowed_) {
                timer_.arm(s, *next_allowed_, w);
                return false;
            }
            timer_.disarm();
            next_allowed_.reset();
        }
        if (!inner_.poll_next(out, w)) {
            return false;
        }
        if (out && d_.count() > 0) {
            next_allowed_ = detail::require_scheduler("ThrottleStream::next").now() + d_;
        }
        return true;
    }
    /// Stream protocol.
    void unregister() noexcept {
        inner_.unregister();
        timer_.disarm();
    }

private:
    S inner_;
    std::chrono::nanoseconds d_;
    std::optional<std::chrono::steady_clock::time_point> next_allowed_;
    detail::StreamTimer timer_;
};

}  // namespace weft
