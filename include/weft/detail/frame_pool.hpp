// Per-thread recycling allocator for coroutine frames.
//
// Every weft coroutine (Task, join/select branches) allocates its frame here.
// Frames are sized in 16-byte classes up to kMaxPooled bytes (larger ones go
// to ::operator new). A freed frame goes onto its class's free list of the
// freeing thread and is handed out again by the next allocation of that
// class, so steady-state spawning costs a pointer pop instead of a malloc.
// When a class's list is empty, frames are carved from chunks that the pool
// maps itself: 64 KiB first, doubling to 2 MiB, each populated by the mmap
// call (no page fault per page; frame_pool.cpp says why not huge pages).
// Compared with malloc this saves the per-block header (8-16 bytes a task)
// and the page faults of a burst of a million tasks, which dominate spawn
// costs.
//
// Memory policy: chunks are never returned to the system; frames freed after
// a burst stay on the free lists for the next burst (as most malloc
// implementations keep their heap). A thread's chunks stay mapped after the
// thread exits, so that a frame freed later, anywhere, is still valid memory;
// its free lists and unused chunk space go to a global list of orphans, and
// the next thread that needs its first chunk takes one over whole (a pool
// runtime's workers end with every block_on; the next block_on's workers
// reuse their memory instead of mapping more).
//
// With WEFT_NO_FRAME_POOL defined (the sanitizer builds define it) every
// frame goes straight to ::operator new/delete so that ASan sees each one.
//
// Thread-safety: each thread touches only its own pool; a frame may be freed
// on another thread than the one that allocated it (it then joins the freeing
// thread's free list).
#pragma once

#include <cstddef>
#include <new>

namespace weft::detail {

class FramePool {
public:
    static constexpr std::size_t kGranule = 16;
    static constexpr std::size_t kMaxPooled = 1024;
    static constexpr std::size_t kClasses = kMaxPooled / kGranule;

    // What a pool owns; handed over whole to the next thread (memory policy).
    struct Node {
        Node* next;
    };
    struct State {
        Node* free[kClasses] = {};
        char* bump = nullptr;
        char* end = nullptr;
        std::size_t next_chunk = 0;
    };

    FramePool() = default;
    FramePool(const FramePool&) = delete;
    FramePool& operator=(const FramePool&) = delete;
    // Trivial, so that the thread-local pool is reached without a TLS
    // wrapper call: the hand-over at thread exit is done by a separate
    // thread-local guard that only refill() touches.
    ~FramePool() = default;

    // Hands this pool's state to the orphans (at its thread's exit).
    void orphan() noexcept;

    static constexpr std::size_t rounded(std::size_t n) noexcept { return (n + kGranule - 1) & ~(kGranule - 1); }

    void* allocate(std::size_t n) {
        n = rounded(n);
        if (n > kMaxPooled) {
            return ::operator new(n);
        }
        Node*& head = state_.free[n / kGranule - 1];
        if (head != nullptr) {
            Node* p = head;
            head = p->next;
            return p;
        }
        if (static_cast<std::size_t>(state_.end - state_.bump) < n) {
            refill();
            return allocate(n);  // the adopted state may have a free frame of this class
        }
        void* p = state_.bump;
        state_.bump += n;
        return p;
    }

    void deallocate(void* p, std::size_t n) noexcept {
        n = rounded(n);
        if (n > kMaxPooled) {
            ::operator delete(p);
            return;
        }
        Node*& head = state_.free[n / kGranule - 1];
        head = ::new (p) Node{head};
    }

private:
    void refill();  // maps the next chunk (or adopts an orphan); throws std::bad_alloc
    bool adopt_orphan() noexcept;

    State state_;
};

#ifdef WEFT_NO_FRAME_POOL
inline void* frame_allocate(std::size_t n) {
    return ::operator new(n);
}
inline void frame_deallocate(void* p, std::size_t) noexcept {
    ::operator delete(p);
}
#else
inline thread_local FramePool tls_frame_pool;
inline void* frame_allocate(std::size_t n) {
    return tls_frame_pool.allocate(n);
}
inline void frame_deallocate(void* p, std::size_t n) noexcept {
    tls_frame_pool.deallocate(p, n);
}
#endif

}  // namespace weft::detail
