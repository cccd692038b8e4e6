// Time: the runtime's clock, sleep, sleep_until and yield_now.
#pragma once

#include <chrono>
#include <coroutine>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/timer_wheel.hpp"

namespace weft {

/// Reads the current runtime's clock: `steady_clock::now()`, or the virtual
/// time of a runtime built with `paused_clock = true`. Throws
/// std::logic_error when no runtime runs on this thread.
[[nodiscard]] inline std::chrono::steady_clock::time_point now() {
    return detail::require_scheduler("weft::now").now();
}

namespace detail {

// Saturating `t + d`, so that sleep(hours::max()) means "practically never".
template <class Rep, class Period>
std::chrono::steady_clock::time_point add_saturating(std::chrono::steady_clock::time_point t,
                                                     std::chrono::duration<Rep, Period> d) {
    using namespace std::chrono;
    constexpr auto kCap = hours(24 * 365 * 100);  // a century
    if (d <= d.zero()) {
        return t;
    }
    if (d >= kCap) {
        return t + duration_cast<steady_clock::duration>(kCap);
    }
    return t + ceil<steady_clock::duration>(d);
}

// Lives in the sleeping coroutine's frame, so it is kept small: the
// deadline waits in the entry (as steady_clock ticks, converted to wheel
// time by await_ready) and a budget yield is marked there too (kYieldMark).
class SleepAwaiter {
public:
    explicit SleepAwaiter(std::chrono::steady_clock::time_point deadline) noexcept {
        entry_.deadline_ns = deadline.time_since_epoch().count();
    }
    SleepAwaiter(const SleepAwaiter&) = delete;
    SleepAwaiter& operator=(const SleepAwaiter&) = delete;
    ~SleepAwaiter() {
        if (entry_.armed()) {
            current_scheduler()->disarm(&entry_);
        } else {
            entry_.unlink();  // fired, but its task was cancelled before it resumed
        }
    }

    // Ready at once when the deadline's tick has already been processed by
    // the timers (no clock read: `sleep(d)` read it already). A deadline that
    // passed only since then is armed and fires at the next timer poll.
    bool await_ready() {
        Scheduler& s = require_scheduler("weft::sleep");
        using steady = std::chrono::steady_clock;
        entry_.deadline_ns = s.to_wheel_ns(steady::time_point(steady::duration(entry_.deadline_ns)));
        if (!s.expired(entry_.deadline_ns)) {
            return false;
        }
        if (budget_spent()) {
            entry_.deadline_ns = kYieldMark;  // coop budget (task_header.hpp): yield once, then complete
            return false;
        }
        spend_budget();
        return true;
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        entry_.task = current_task();
        entry_.set_handle(h);
        if (entry_.deadline_ns == kYieldMark) {
            current_scheduler()->wake(&entry_);
            return;
        }
        current_scheduler()->arm(&entry_);
    }
    void await_resume() const noexcept {}

private:
    // An expired deadline that yields for the budget; a deadline that is
    // armed is never expired, so it cannot be this value.
    static constexpr std::int64_t kYieldMark = std::numeric_limits<std::int64_t>::min();

    TimerEntry entry_;
};
static_assert(std::is_same_v<std::chrono::steady_clock::rep, std::int64_t>,
              "SleepAwaiter keeps steady_clock ticks in TimerEntry::deadline_ns");

class YieldAwaiter {
public:
    YieldAwaiter() noexcept = default;
    YieldAwaiter(const YieldAwaiter&) = delete;
    YieldAwaiter& operator=(const YieldAwaiter&) = delete;
    ~YieldAwaiter() { waiter_.unlink(); }

    bool await_ready() const {
        require_scheduler("weft::yield_now");
        return false;
    }
    void await_suspend(std::coroutine_handle<> h) noexcept {
        const Context& c = tls_context;
        waiter_.task = c.task;
        waiter_.set_handle(h);
        c.scheduler->wake_running(&waiter_);
    }
    void await_resume() const noexcept {}

private:
    Waiter waiter_;
};

}  // namespace detail

/// A timer: awaiting it suspends the calling task until `deadline()` on the
/// runtime's clock, then completes with no value; if the deadline has passed
/// it completes at once without suspending. Only the awaiting task waits:
/// the others keep running. May be awaited more than once (each await waits
/// for the same deadline). Timers with equal deadlines fire in the order they
/// were awaited. Cancel safety: if the awaiting coroutine is destroyed while
/// waiting (a lost `select`, a `timeout`, an abort, runtime shutdown), the
/// timer is removed in O(1) and leaves nothing behind. A sleep that is
/// already due counts against the task's cooperative budget (a loop of
/// `sleep(0ms)` still lets other tasks run). Awaiting outside a runtime
/// throws std::logic_error.
class [[nodiscard]] Sleep {
public:
    explicit Sleep(std::chrono::steady_clock::time_point deadline) noexcept : deadline_(deadline) {}
    [[nodiscard]] std::chrono::steady_clock::time_point deadline() const noexcept { return deadline_; }
    [[nodiscard]] detail::SleepAwaiter operator co_await() const noexcept { return detail::SleepAwaiter(deadline_); }

private:
    std::chrono::steady_clock::time_point deadline_;
};

/// A `Sleep` that completes `d` after now (`weft::now() + d`, so it follows
/// the paused clock too). On the real clock the start is read from the time
/// stamp counter where that is reliable: an estimate never behind
/// `weft::now()` and at most about a microsecond ahead, so a sleep is never
/// short (include/weft/detail/deadline_clock.hpp). Zero or negative
/// durations complete at once; durations beyond a century are capped there.
/// Throws std::logic_error when called outside a runtime (the deadline is
/// taken from its clock).
template <class Rep, class Period>
[[nodiscard]] Sleep sleep(std::chrono::duration<Rep, Period> d) {
    return Sleep(detail::add_saturating(detail::require_scheduler("weft::now").deadline_base(), d));
}

/// A `Sleep` that completes at `deadline` on the runtime's clock
/// (`sleep_until(weft::now() + 10s)` works under the paused clock).
[[nodiscard]] inline Sleep sleep_until(std::chrono::steady_clock::time_point deadline) noexcept {
    return Sleep(deadline);
}

/// The awaitable `yield_now()` returns; see there.
struct [[nodiscard]] YieldNow {
    [[nodiscard]] detail::YieldAwaiter operator co_await() const noexcept { return detail::YieldAwaiter(); }
};

/// Suspends the calling task and lets every other ready task run once before
/// it continues (it goes to the back of the run queue). Use it to break up
/// long computations. Cancel safety: nothing to lose; a destroyed yield
/// leaves the run queue clean. Awaiting outside a runtime throws
/// std::logic_error.
[[nodiscard]] inline YieldNow yield_now() noexcept {
    return {};
}

}  // namespace weft
