// The clock that deadlines start from (include/weft/detail/deadline_clock.hpp):
// never behind the monotonic clock, at most a few microseconds ahead of it, and
// sleeps on the real clock are never short.
#include "weft/detail/deadline_clock.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <cstdio>

#include "support/probe.hpp"

using weft::detail::DeadlineClock;
using namespace std::chrono_literals;

TEST(DeadlineClock, never_behind_the_clock_and_at_most_microseconds_ahead) {
    DeadlineClock c;
    const std::int64_t start = DeadlineClock::monotonic_ns();
    std::int64_t worst_ahead = 0;
    std::uint64_t reads = 0;
    // Long enough (20 ms) for the calibration (2 ms) and many 100 us windows.
    while (DeadlineClock::monotonic_ns() - start < 20'000'000) {
        for (int i = 0; i < 1000; ++i) {
            const std::int64_t before = DeadlineClock::monotonic_ns();
            const std::int64_t estimate = c.now_ns();
            const std::int64_t after = DeadlineClock::monotonic_ns();
            ASSERT_GE(estimate, before) << "the estimate fell behind the clock after " << reads << " reads";
            worst_ahead = std::max(worst_ahead, estimate - after);
            ++reads;
        }
    }
    // 0.5% of the 100 us window, plus the pair's read gap (< 2,000 TSC ticks).
    EXPECT_LE(worst_ahead, 3000) << "ns ahead of the clock";
    std::printf("estimates %s; worst lead over the clock %lld ns over %llu reads\n",
                c.estimating() ? "on" : "off (this machine's TSC is not used)", static_cast<long long>(worst_ahead),
                static_cast<unsigned long long>(reads));
}

TEST(DeadlineClock, real_clock_sleeps_are_never_short) {
    weft::Runtime rt(weft_test::options());
    rt.block_on([]() -> weft::Task<> {
        co_await weft::sleep(3ms);  // past the calibration
        for (int i = 0; i < 300; ++i) {
            const auto start = weft::now();
            co_await weft::sleep(std::chrono::microseconds(50 + (i % 7) * 100));
            EXPECT_GE(weft::now() - start, std::chrono::microseconds(50 + (i % 7) * 100)) << "sleep " << i;
            const auto t0 = weft::now();
            const auto r = co_await weft::timeout(std::chrono::microseconds(300), weft::sleep(1h));
            EXPECT_FALSE(r.has_value());
            EXPECT_GE(weft::now() - t0, 300us) << "timeout " << i;
        }
    });
}
