// DeadlineClock: the clock reading that a sleep's deadline starts from.
//
// `sleep(d)` needs "now" to place its deadline, and on the machines weft is
// measured on, a vDSO clock_gettime(CLOCK_MONOTONIC) costs ~24 ns — about
// half of arming and cancelling a timer (`timer_churn`). The time stamp
// counter reads in ~10 ns. So a scheduler keeps a recent (TSC, monotonic ns)
// pair and, for up to kWindowNs after it, estimates now from the TSC with an
// upper bound of the TSC's rate: the estimate is never behind the monotonic
// clock, so a deadline taken from it is never early (at most about a
// microsecond late: the rate bound's 0.5% margin over the window, plus the
// time between the two reads of the pair, which must be short or the window
// is skipped). Past the window, or when the
// TSC went backwards (a thread moved to a core whose counter lags), it reads
// the monotonic clock again and starts a new window.
//
// It is used only where an estimate that is slightly late is harmless — a
// sleep's or a timeout's deadline — never for `weft::now()`, which reads the
// clock. It is off (every call reads the clock) until the TSC's rate has
// been measured over at least kCalibrateNs of monotonic time, and stays off
// where the processor does not promise an invariant TSC, where the kernel
// does not keep time with the TSC itself (it does only when the cores'
// counters agree), or where reading it is not clearly cheaper than reading
// the clock (deadline_clock.cpp).
// Not thread-safe: one per scheduler, used on its thread.
#pragma once

#include <cstdint>
#include <ctime>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace weft::detail {

class DeadlineClock {
public:
    static constexpr std::int64_t kWindowNs = 100'000;       // extrapolate at most 100 us
    static constexpr std::int64_t kCalibrateNs = 2'000'000;  // measure the rate over >= 2 ms

    // CLOCK_MONOTONIC nanoseconds, or an estimate that is not behind it.
    std::int64_t now_ns() noexcept {
#if defined(__x86_64__)
        if (window_ticks_ != 0) {
            const std::uint64_t d = __rdtsc() - base_tsc_;
            if (d < window_ticks_) {
                return base_ns_ + static_cast<std::int64_t>((d * ns_per_tick_q32_) >> 32U);
            }
        }
#endif
        return refresh();
    }

    // CLOCK_MONOTONIC, read (a vDSO call on Linux).
    static std::int64_t monotonic_ns() noexcept {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC, &ts);
        return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
    }

    // True while estimates are on (for tests and diagnostics).
    [[nodiscard]] bool estimating() const noexcept {
        return window_ticks_ != 0;
    }

private:
    // Reads the clock, starts a new window; calibrates while that is pending.
    std::int64_t refresh() noexcept;

    std::uint64_t base_tsc_ = 0;
    std::int64_t base_ns_ = 0;           // read right after base_tsc_: not behind it
    std::uint64_t window_ticks_ = 0;     // 0: no estimates (not calibrated, or off)
    std::uint64_t ns_per_tick_q32_ = 0;  // upper bound of the TSC's period, 32.32 fixed point
};

}  // namespace weft::detail
