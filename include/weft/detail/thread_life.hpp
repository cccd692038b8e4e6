// ThreadLife: names a thread and tells whether it still runs.
//
// A channel's home (chan_core.hpp) is a thread. Naming it by the address of a
// thread-local would be ambiguous: a thread that starts after another ended
// may get the same address, so a Receiver homed on a finished pool worker
// would work or throw in the next block_on depending on where the C library
// put the new thread's storage. Instead each thread that touches a channel
// gets one ThreadLife object (on first use), which
//   - is unique while anything refers to it (the thread itself, and each
//     channel homed there, holds one reference; the last one deletes it), and
//   - says, with `alive`, whether its thread has ended: the thread clears it
//     (release) as its thread-locals are destroyed, so a thread that reads it
//     false (acquire) also sees every write the ended thread made, such as
//     the values it left in a channel's home lane.
// A Receiver may then move to another thread once its home thread has ended
// (the next block_on of a pool runtime, whose workers are new threads).
#pragma once

#include <atomic>
#include <cstdint>

namespace weft::detail {

struct ThreadLife {
    std::atomic<bool> alive{true};
    std::atomic<std::uint32_t> refs{1};  // the thread's own

    void retain() noexcept { refs.fetch_add(1, std::memory_order_relaxed); }
    // acq_rel: the last release sees every use before it.
    void release() noexcept {
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }
    [[nodiscard]] bool ended() const noexcept { return !alive.load(std::memory_order_acquire); }
};

// This thread's ThreadLife once made (constant-initialised, so reading it is
// one thread-local load).
inline thread_local ThreadLife* tls_thread_life = nullptr;

// Makes this thread's ThreadLife and arranges for it to be marked ended at
// thread exit (thread_life.cpp).
ThreadLife* make_thread_life();

inline ThreadLife* this_thread_life() {
    ThreadLife* l = tls_thread_life;
    if (l == nullptr) [[unlikely]] {
        l = make_thread_life();
    }
    return l;
}

}  // namespace weft::detail
