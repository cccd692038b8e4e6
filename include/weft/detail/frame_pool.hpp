// Per-thread recycling allocator for coroutine frames.
//
// Every weft coroutine (Task, join/select branches) allocates its frame here.
// Frames are sized in 16-byte classes up to kMaxPooled bytes (larger ones go
// to ::operator new). A freed frame goes onto its class's free list of the
// freeing thread and is handed out again by the next allocation of that
// class, so steady-state spawning costs a pointer pop instead of a malloc.
// When a class's list is empty, frames are carved from chunks that the pool
// maps itself: 64 KiB first, doubling to 2 MiB, and the 2 MiB chunks ask for
// transparent huge pages (one page fault each instead of 512). Compared with
// malloc this saves the per-block header (8-16 bytes a task) and most of the
// page faults of a burst of a million tasks, which dominate spawn costs.
//
// Memory policy: chunks are never returned to the system; frames freed after
// a burst stay on the free lists for the next burst (as most malloc
// implementations keep their heap). A thread's chunks stay mapped after the
// thread exits, so that a frame freed later, anywhere, is still valid memory.
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

    FramePool() = default;
    FramePool(const FramePool&) = delete;
    FramePool& operator=(const FramePool&) = delete;
    ~FramePool() = default;  // chunks stay mapped (see the memory policy)

    static constexpr std::size_t rounded(std::size_t n) noexcept { return (n + kGranule - 1) & ~(kGranule - 1); }

    void* allocate(std::size_t n) {
        n = rounded(n);
        if (n > kMaxPooled) {
            return ::operator new(n);
        }
        Node*& head = free_[n / kGranule - 1];
        if (head != nullptr) {
            Node* p = head;
            head = p->next;
            return p;
        }
        if (static_cast<std::size_t>(end_ - bump_) < n) {
            refill();
        }
        void* p = bump_;
        bump_ += n;
        return p;
    }

    void deallocate(void* p, std::size_t n) noexcept {
        n = rounded(n);
        if (n > kMaxPooled) {
            ::operator delete(p);
            return;
        }
        Node*& head = free_[n / kGranule - 1];
        head = ::new (p) Node{head};
    }

private:
    struct Node {
        Node* next;
    };

    void refill();  // maps the next chunk; throws std::bad_alloc

    Node* free_[kClasses] = {};
    char* bump_ = nullptr;
    char* end_ = nullptr;
    std::size_t next_chunk_ = 0;
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
