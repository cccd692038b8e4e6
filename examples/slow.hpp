// The book's `slow`: blocks the whole thread for `ms` milliseconds, standing
// in for CPU-bound work that never gives control back to the runtime. Under
// `--paused-clock` (the tests) the blocking is skipped: what the listings
// show is the order of the lines, which stays the same.
#pragma once

#include <chrono>
#include <iostream>
#include <string_view>
#include <thread>

namespace example {

inline bool skip_blocking = false;

inline void slow(std::string_view name, int ms) {
    if (!skip_blocking) {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));
    }
    std::cout << "'" << name << "' ran for " << ms << "ms\n";
}

}  // namespace example
