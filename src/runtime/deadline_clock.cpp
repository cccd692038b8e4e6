// DeadlineClock (include/weft/detail/deadline_clock.hpp): calibration.
#include "weft/detail/deadline_clock.hpp"

#include <atomic>
#include <cstdio>
#include <cstring>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace weft::detail {

namespace {

// Process-wide: the TSC ticks at one rate on every core (an invariant TSC),
// so one measurement serves every scheduler.
enum : int { kUnknown = 0, kMeasuring = 1, kOn = 2, kOff = 3 };
std::atomic<int> g_state{kUnknown};
std::atomic<std::uint64_t> g_first_tsc{0};
std::atomic<std::int64_t> g_first_ns{0};
std::atomic<std::uint64_t> g_ns_per_tick_q32{0};
std::atomic<std::uint64_t> g_window_ticks{0};

#if defined(__x86_64__)
bool invariant_tsc() noexcept {
    unsigned a = 0;
    unsigned b = 0;
    unsigned c = 0;
    unsigned d = 0;
    if (__get_cpuid(0x80000000U, &a, &b, &c, &d) == 0 || a < 0x80000007U) {
        return false;
    }
    __get_cpuid(0x80000007U, &a, &b, &c, &d);
    return (d & (1U << 8U)) != 0;  // "invariant TSC": constant rate, runs in every C-state
}

// True when the kernel itself keeps time with the TSC: it does so only when
// it found the cores' counters synchronized and stable, which is what an
// estimate taken on one core and extended on another relies on.
bool kernel_trusts_tsc() noexcept {
    std::FILE* f = std::fopen("/sys/devices/system/clocksource/clocksource0/current_clocksource", "r");
    if (f == nullptr) {
        return false;
    }
    char name[32] = {};
    const bool ok = std::fgets(name, sizeof name, f) != nullptr && std::strncmp(name, "tsc\n", 4) == 0;
    std::fclose(f);
    return ok;
}

// True when reading the TSC is clearly cheaper than reading the clock (it is
// not where a hypervisor traps the instruction).
bool tsc_is_cheap() noexcept {
    constexpr int kReads = 64;
    const std::int64_t t0 = DeadlineClock::monotonic_ns();
    std::uint64_t sink = 0;
    for (int i = 0; i < kReads; ++i) {
        sink += __rdtsc();
    }
    const std::int64_t t1 = DeadlineClock::monotonic_ns();
    for (int i = 0; i < kReads; ++i) {
        sink += static_cast<std::uint64_t>(DeadlineClock::monotonic_ns());
    }
    const std::int64_t t2 = DeadlineClock::monotonic_ns();
    asm volatile("" : : "r"(sink));
    return (t1 - t0) * 10 < (t2 - t1) * 7;
}
#endif

#if defined(__x86_64__)
// A (tsc, ns) pair for the calibration whose clock read followed the TSC read
// by at most kTightTicks (retried otherwise): an interrupt between the two
// reads would skew the measured rate.
constexpr std::uint64_t kTightTicks = 2000;  // ~0.7 us at 3 GHz, 2 us at 1 GHz
bool tight_pair(std::uint64_t& tsc, std::int64_t& ns) noexcept {
    for (int attempt = 0; attempt < 16; ++attempt) {
        const std::uint64_t a = __rdtsc();
        const std::int64_t n = DeadlineClock::monotonic_ns();
        const std::uint64_t b = __rdtsc();
        if (b - a <= kTightTicks) {
            tsc = a;
            ns = n;
            return true;
        }
    }
    return false;
}
#endif

// Called at each clock read of a scheduler until the state is decided.
void calibrate() noexcept {
#if defined(__x86_64__)
    std::uint64_t tsc = 0;
    std::int64_t ns = 0;
    int state = g_state.load(std::memory_order_acquire);
    if (state == kUnknown) {
        if (!invariant_tsc() || !kernel_trusts_tsc() || !tsc_is_cheap() || !tight_pair(tsc, ns)) {
            g_state.store(kOff, std::memory_order_release);
            return;
        }
        g_first_tsc.store(tsc, std::memory_order_relaxed);
        g_first_ns.store(ns, std::memory_order_relaxed);
        if (g_state.compare_exchange_strong(state, kMeasuring, std::memory_order_acq_rel)) {
            return;
        }
        // Another thread started first: its first pair stands.
    }
    if (state != kMeasuring) {
        return;
    }
    const std::uint64_t first_tsc = g_first_tsc.load(std::memory_order_relaxed);
    const std::int64_t first_ns = g_first_ns.load(std::memory_order_relaxed);
    if (DeadlineClock::monotonic_ns() - first_ns < DeadlineClock::kCalibrateNs) {
        return;
    }
    if (!tight_pair(tsc, ns) || tsc <= first_tsc) {
        return;  // try again at the next read
    }
    const std::int64_t span_ns = ns - first_ns;
    // ns per tick, as 32.32 fixed point, raised by 0.5%: each pair's clock
    // read follows its TSC read by at most kTightTicks (under 2 us), which
    // over 2 ms is at most 0.1%, and NTP slews the monotonic clock by at most
    // 0.05%; the margin keeps the estimate ahead of the clock. Over a window
    // of 100 us it is at most 0.5 us ahead: a deadline that late.
    const auto ticks = static_cast<double>(tsc - first_tsc);
    const double ns_per_tick = static_cast<double>(span_ns) / ticks;
    if (!(ns_per_tick > 0.0) || ns_per_tick > 1000.0) {
        g_state.store(kOff, std::memory_order_release);
        return;
    }
    const double q32 = ns_per_tick * 4294967296.0 * 1.005 + 1.0;
    g_ns_per_tick_q32.store(static_cast<std::uint64_t>(q32), std::memory_order_relaxed);
    g_window_ticks.store(static_cast<std::uint64_t>(static_cast<double>(DeadlineClock::kWindowNs) / ns_per_tick),
                         std::memory_order_relaxed);
    g_state.store(kOn, std::memory_order_release);
#else
    g_state.store(kOff, std::memory_order_relaxed);
#endif
}

}  // namespace

std::int64_t DeadlineClock::refresh() noexcept {
#if defined(__x86_64__)
    const std::uint64_t tsc = __rdtsc();
    const std::int64_t ns = monotonic_ns();  // read after the TSC: not behind it
    const std::uint64_t after = __rdtsc();
    base_tsc_ = tsc;
    base_ns_ = ns;
    if (after - tsc > kTightTicks) {
        // Interrupted between the reads: `ns` is late for `tsc`, and every
        // estimate of this window would be as late. No window this time.
        window_ticks_ = 0;
        return ns;
    }
    if (window_ticks_ == 0) {
        const int state = g_state.load(std::memory_order_acquire);
        if (state == kOn) {
            ns_per_tick_q32_ = g_ns_per_tick_q32.load(std::memory_order_relaxed);
            window_ticks_ = g_window_ticks.load(std::memory_order_relaxed);
        } else if (state != kOff) {
            calibrate();
        }
    }
    return ns;
#else
    return monotonic_ns();
#endif
}

}  // namespace weft::detail
