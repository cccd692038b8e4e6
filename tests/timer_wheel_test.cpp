// The timing wheel on its own: O(1) arm/cancel, order, nothing left behind.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <memory>
#include <vector>
#include <weft/detail/timer_wheel.hpp>

using weft::detail::TimerEntry;
using weft::detail::TimerWheel;

namespace {
constexpr std::int64_t kMs = TimerWheel::kTickNs;

std::vector<TimerEntry*> advance(TimerWheel& w, std::uint64_t tick) {
    std::vector<TimerEntry*> out;
    w.advance(tick, [&](TimerEntry* e) { out.push_back(e); });
    return out;
}
}  // namespace

TEST(TimerWheel, fires_only_due_entries_and_in_deadline_order) {
    TimerWheel w;
    std::vector<std::unique_ptr<TimerEntry>> es;
    for (std::int64_t ns : {5 * kMs, 1 * kMs + 1, 70 * kMs, 1 * kMs, 5000 * kMs, 64 * kMs}) {
        es.push_back(std::make_unique<TimerEntry>());
        es.back()->deadline_ns = ns;
        w.insert(es.back().get());
    }
    EXPECT_EQ(w.size(), 6U);
    auto f = advance(w, 1);
    ASSERT_EQ(f.size(), 1U);
    EXPECT_EQ(f[0]->deadline_ns, 1 * kMs);
    f = advance(w, 64);  // 1ms+1ns rounds up to tick 2
    ASSERT_EQ(f.size(), 3U);
    EXPECT_EQ(f[0]->deadline_ns, 1 * kMs + 1);
    EXPECT_EQ(f[1]->deadline_ns, 5 * kMs);
    EXPECT_EQ(f[2]->deadline_ns, 64 * kMs);
    f = advance(w, 6000);
    ASSERT_EQ(f.size(), 2U);
    EXPECT_EQ(f[1]->deadline_ns, 5000 * kMs);
    EXPECT_EQ(w.size(), 0U);
    for (auto& e : es) {
        EXPECT_FALSE(e->armed());
        EXPECT_FALSE(e->linked());
    }
}

TEST(TimerWheel, cancelled_entries_leave_nothing_behind) {
    TimerWheel w;
    std::vector<std::unique_ptr<TimerEntry>> es;
    std::uint64_t x = 99;
    for (int i = 0; i < 100000; ++i) {
        x = x * 6364136223846793005ULL + 1;
        es.push_back(std::make_unique<TimerEntry>());
        es.back()->deadline_ns = static_cast<std::int64_t>((x >> 20) % (1ULL << 40));
        w.insert(es.back().get());
    }
    for (std::size_t i = 0; i < es.size(); i += 2) {
        w.remove(es[i].get());
        EXPECT_FALSE(es[i]->linked());
    }
    EXPECT_EQ(w.size(), 50000U);
    for (std::size_t i = 1; i < es.size(); i += 2) {
        w.remove(es[i].get());
    }
    EXPECT_EQ(w.size(), 0U);
    std::uint64_t next = 0;
    EXPECT_FALSE(w.next_tick(next));  // no slot is left marked occupied
    EXPECT_TRUE(advance(w, ~std::uint64_t{0} >> 8).empty());
}

TEST(TimerWheel, random_workload_matches_a_sorted_reference) {
    TimerWheel w;
    std::vector<std::unique_ptr<TimerEntry>> es;
    std::vector<std::int64_t> expected;
    std::uint64_t x = 7;
    std::uint64_t now = 0;
    std::vector<std::int64_t> fired;
    for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 50; ++i) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            es.push_back(std::make_unique<TimerEntry>());
            auto* e = es.back().get();
            e->deadline_ns = static_cast<std::int64_t>(now) * kMs + static_cast<std::int64_t>((x >> 30) % (1ULL << 33));
            w.insert(e);
            expected.push_back(e->deadline_ns);
        }
        now += (x >> 50) % 3000;
        for (auto* e : advance(w, now)) {
            EXPECT_LE(TimerWheel::tick_of(e->deadline_ns), now);
            fired.push_back(e->deadline_ns);
        }
    }
    for (auto* e : advance(w, ~std::uint64_t{0} >> 8)) {
        fired.push_back(e->deadline_ns);
    }
    std::sort(expected.begin(), expected.end());
    std::vector<std::int64_t> sorted_fired = fired;
    std::sort(sorted_fired.begin(), sorted_fired.end());
    EXPECT_EQ(sorted_fired, expected);  // each fired exactly once
    EXPECT_EQ(w.size(), 0U);
}
