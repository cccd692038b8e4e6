// Hierarchical timing wheel: O(1) arm and cancel for any number of timers.
//
// Design
//   Six levels of 64 slots; a level-L slot spans 64^L ticks of 1 ms, so the
//   wheel covers 64^6 ms (about 2.2 years) ahead of `elapsed_`; a deadline
//   beyond that is parked in the top level and re-placed when its slot comes
//   up, so it never fires early. A timer lives in the slot of the highest
//   6-bit group in which its tick differs from `elapsed_`. Arming is one
//   list append and one bit set; cancelling is one unlink and, when the slot
//   empties, one bit clear. Finding the next expiry is a rotate and a count of
//   trailing zeros per level. When a higher-level slot comes due its timers
//   cascade to lower levels; each timer cascades at most five times.
//
//   Why a wheel rather than a binary heap: a heap is O(log n) per arm and per
//   cancel and moves entries around in a separately allocated array; the
//   `timer_churn` workload (arm, then cancel at once) and a million parked
//   sleepers are exactly the cases where the wheel's O(1) and intrusive nodes
//   (no allocation: the node is inside the sleeping coroutine's frame) win.
//
// Precision
//   Deadlines are kept in nanoseconds relative to the wheel's origin and are
//   rounded once, up, to the 1 ms tick that decides their slot, so no timer
//   fires before its deadline. Timers that come due in the same tick fire in
//   deadline order; timers with equal deadlines fire in the order they were
//   armed (entries of equal tick always share one slot list, in arm order,
//   and the per-slot sort is stable).
//
// Thread-safety: none; owned by one scheduler (task_header.hpp, rule 5).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "weft/detail/task_header.hpp"

namespace weft::detail {

struct TimerEntry : Waiter {
    static constexpr std::uint16_t kNotArmed = 0xFFFF;
    static constexpr std::uint16_t kDueSlot = 0xFFFE;

    std::int64_t deadline_ns = 0;  // relative to the wheel's origin
    std::uint16_t slot = kNotArmed;
    [[nodiscard]] bool armed() const noexcept { return slot != kNotArmed; }
};

class TimerWheel {
public:
    static constexpr unsigned kLevelBits = 6;
    static constexpr unsigned kLevels = 6;
    static constexpr unsigned kSlots = 1U << kLevelBits;
    static constexpr std::int64_t kTickNs = 1'000'000;
    static constexpr std::uint64_t kMaxSpan = (std::uint64_t{1} << (kLevelBits * kLevels)) - 1;

    static std::uint64_t tick_of(std::int64_t deadline_ns) noexcept {
        if (deadline_ns <= 0) {
            return 0;
        }
        return static_cast<std::uint64_t>((deadline_ns + kTickNs - 1) / kTickNs);
    }

    // Readable from any thread (diagnostics: Runtime::armed_timers on a pool).
    [[nodiscard]] std::size_t size() const noexcept { return size_.load(std::memory_order_relaxed); }
    [[nodiscard]] std::uint64_t elapsed() const noexcept { return elapsed_; }

    void insert(TimerEntry* e) noexcept {
        size_.store(size_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);  // one writer
        const std::uint64_t tick = tick_of(e->deadline_ns);
        if (tick <= elapsed_) {
            due_.push_back(e);
            e->slot = TimerEntry::kDueSlot;
            return;
        }
        place(e, tick);
    }

    void remove(TimerEntry* e) noexcept {
        if (!e->armed()) {
            return;
        }
        e->unlink();
        if (e->slot != TimerEntry::kDueSlot) {
            const unsigned level = e->slot / kSlots;
            const unsigned slot = e->slot % kSlots;
            if (slots_[level][slot].empty()) {
                occupied_[level] &= ~(std::uint64_t{1} << slot);
            }
        }
        e->slot = TimerEntry::kNotArmed;
        size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
    }

    // The earliest tick at which advance() has work, if any timer is armed.
    [[nodiscard]] bool next_tick(std::uint64_t& out) const noexcept {
        if (!due_.empty()) {
            out = elapsed_;
            return true;
        }
        Expiry x;
        if (!next_expiration(x)) {
            return false;
        }
        out = x.tick;
        return true;
    }

    // Fires, in order, every timer whose tick is <= now_tick: each is removed
    // from the wheel (no longer armed) and passed to fire(TimerEntry*).
    template <class Fire>
    void advance(std::uint64_t now_tick, Fire&& fire) {
        if (!due_.empty()) {
            drain(due_, fire);
        }
        Expiry x;
        while (next_expiration(x) && x.tick <= now_tick) {
            ListHead& list = slots_[x.level][x.slot];
            occupied_[x.level] &= ~(std::uint64_t{1} << x.slot);
            elapsed_ = x.tick;
            drain(list, fire);
        }
        if (now_tick > elapsed_) {
            elapsed_ = now_tick;
        }
    }

private:
    struct Expiry {
        unsigned level;
        unsigned slot;
        std::uint64_t tick;
    };

    void place(TimerEntry* e, std::uint64_t tick) noexcept {
        std::uint64_t t = tick;
        if (t - elapsed_ > kMaxSpan) {
            t = elapsed_ + kMaxSpan;  // parked at the top; re-placed when its slot is due
        }
        const std::uint64_t masked = (elapsed_ ^ t) | (kSlots - 1);
        const unsigned significant = 63U - static_cast<unsigned>(std::countl_zero(masked));
        // A deadline up to kMaxSpan ahead can still differ from elapsed_ above
        // the top level's bits (it lies in the top level's next rotation).
        const unsigned level = std::min(significant / kLevelBits, kLevels - 1);
        const unsigned slot = static_cast<unsigned>(t >> (level * kLevelBits)) & (kSlots - 1);
        slots_[level][slot].push_back(e);
        occupied_[level] |= std::uint64_t{1} << slot;
        e->slot = static_cast<std::uint16_t>(level * kSlots + slot);
    }

    bool next_expiration(Expiry& out) const noexcept {
        for (unsigned level = 0; level < kLevels; ++level) {
            const std::uint64_t occ = occupied_[level];
            if (occ == 0) {
                continue;
            }
            const unsigned shift = level * kLevelBits;
            const unsigned pos = static_cast<unsigned>(elapsed_ >> shift) & (kSlots - 1);
            const unsigned off = static_cast<unsigned>(std::countr_zero(std::rotr(occ, static_cast<int>(pos))));
            const unsigned slot = (pos + off) & (kSlots - 1);
            const std::uint64_t slot_span = std::uint64_t{1} << shift;
            const std::uint64_t level_span = slot_span << kLevelBits;
            std::uint64_t tick = (elapsed_ & ~(level_span - 1)) + slot * slot_span;
            if (tick <= elapsed_) {
                tick += level_span;  // the slot's next rotation (level 0 never holds tick == elapsed_)
            }
            out = Expiry{level, slot, tick};
            return true;
        }
        return false;
    }

    // Takes every entry of `list`: the due ones are fired in deadline order,
    // the others (cascading from a higher level) are placed again.
    template <class Fire>
    void drain(ListHead& list, Fire& fire) {
        batch_.clear();
        while (!list.empty()) {
            auto* e = static_cast<TimerEntry*>(list.pop_front());
            const std::uint64_t tick = tick_of(e->deadline_ns);
            if (tick <= elapsed_) {
                e->slot = TimerEntry::kNotArmed;
                size_.store(size_.load(std::memory_order_relaxed) - 1, std::memory_order_relaxed);
                batch_.push_back(e);
                continue;
            }
            place(e, tick);
        }
        const auto by_deadline = [](const TimerEntry* a, const TimerEntry* b) {
            return a->deadline_ns < b->deadline_ns;
        };
        if (!std::is_sorted(batch_.begin(), batch_.end(), by_deadline)) {
            std::stable_sort(batch_.begin(), batch_.end(), by_deadline);
        }
        for (TimerEntry* e : batch_) {
            fire(e);
        }
        batch_.clear();
    }

    std::uint64_t elapsed_ = 0;
    std::atomic<std::size_t> size_{0};  // written by the owning thread only
    std::uint64_t occupied_[kLevels] = {};
    ListHead slots_[kLevels][kSlots];
    ListHead due_;
    std::vector<TimerEntry*> batch_;
};

}  // namespace weft::detail
