// A spin lock for the pool's short critical sections (a few pointer moves):
// taking a contended std::mutex costs a futex system call and often a
// context switch, while the holder is about to let go within nanoseconds.
// Test-and-test-and-set with a pause, and a yield to the OS after a while so
// that a holder preempted mid-section gets its CPU back. BasicLockable (use it
// with std::lock_guard). Not recursive.
#pragma once

#include <atomic>
#include <thread>

namespace weft::detail {

class SpinLock {
public:
    void lock() noexcept {
        for (unsigned spins = 0;; ++spins) {
            // acquire: the section sees the previous holder's writes.
            if (!locked_.exchange(true, std::memory_order_acquire)) {
                return;
            }
            while (locked_.load(std::memory_order_relaxed)) {
                if (++spins < 64) {
                    __builtin_ia32_pause();
                } else {
                    std::this_thread::yield();
                }
            }
        }
    }
    // release: the next holder sees this section's writes.
    void unlock() noexcept { locked_.store(false, std::memory_order_release); }

private:
    std::atomic<bool> locked_{false};
};

}  // namespace weft::detail
