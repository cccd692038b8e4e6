// Symmetric transfer without relying on the compiler's tail call.
//
// C++20 lets await_suspend return the handle to resume next, and compilers
// are meant to resume it with a tail call so that a chain of awaits runs in
// constant stack. g++ 12 emits that tail call only at some optimisation
// levels (not at -O1, not under AddressSanitizer), where a million nested
// awaits then overflow the stack. weft therefore transfers through a
// per-thread trampoline: an await point that would return handle `h` stores
// it with transfer_to(h) and suspends, which returns control to the
// run_from() loop below, and that loop resumes `h`. Every resume of a weft
// coroutine goes through run_from, so the stack depth is constant on every
// compiler and flag set, at the price of one loop iteration per transfer.
//
// Rule: transfer_to is called at most once per resume, as the last thing
// before a coroutine suspends; run_from loops may nest (a join starting its
// branches), and each consumes exactly the transfers made under it.
#pragma once

#include <coroutine>
#include <cstdint>

#include "weft/detail/task_header.hpp"

namespace weft::detail {

inline thread_local void* tls_next_resume = nullptr;

inline void transfer_to(std::coroutine_handle<> h) noexcept {
    tls_next_resume = h.address();
}

// Resumes `h`, then every coroutine the resumed ones transfer to, until one
// suspends without naming a successor.
inline void run_from(std::coroutine_handle<> h) {
    for (;;) {
        h.resume();
        void* next = tls_next_resume;
        if (next == nullptr) {
            return;
        }
        tls_next_resume = nullptr;
        h = std::coroutine_handle<>::from_address(next);
    }
}

inline void Waiter::resume_target(std::uintptr_t target) {
    if ((target & 1U) != 0) {
        auto* cb = reinterpret_cast<WakeCallback*>(target & ~std::uintptr_t{1});
        cb->fn(cb);
    } else {
        run_from(std::coroutine_handle<>::from_address(reinterpret_cast<void*>(target)));
    }
}

}  // namespace weft::detail
