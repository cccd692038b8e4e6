// Per-thread recycling allocator for coroutine frames.
//
// Every weft coroutine (Task, join/select branches) allocates its frame here.
// Frames are sized in 16-byte classes up to kMaxPooled bytes; a freed frame
// goes onto its class's free list of the freeing thread and is handed out
// again by the next allocation of that class, so steady-state spawning costs
// a pointer pop instead of a malloc. Each thread caches at most
// kMaxCachedBytes; beyond that frames go back to the system allocator, and a
// thread's cache is returned when the thread exits.
//
// With WEFT_NO_FRAME_POOL defined (the sanitizer builds define it) every
// frame goes straight to ::operator new/delete so that ASan sees each one.
//
// Thread-safety: each thread touches only its own cache; a frame may be freed
// on another thread than the one that allocated it (it then joins the freeing
// thread's cache).
#pragma once

#include <cstddef>
#include <new>

namespace weft::detail {

class FramePool {
public:
    static constexpr std::size_t kGranule = 16;
    static constexpr std::size_t kMaxPooled = 1024;
    static constexpr std::size_t kClasses = kMaxPooled / kGranule;
    static constexpr std::size_t kMaxCachedBytes = std::size_t{32} << 20;

    FramePool() = default;
    FramePool(const FramePool&) = delete;
    FramePool& operator=(const FramePool&) = delete;
    ~FramePool() {
        for (auto& head : free_) {
            while (head != nullptr) {
                Node* n = head;
                head = n->next;
                ::operator delete(n);
            }
        }
    }

    static constexpr std::size_t rounded(std::size_t n) noexcept {
        return (n + kGranule - 1) & ~(kGranule - 1);
    }

    void* allocate(std::size_t n) {
        n = rounded(n);
        if (n <= kMaxPooled) {
            Node*& head = free_[n / kGranule - 1];
            if (head != nullptr) {
                Node* p = head;
                head = p->next;
                cached_ -= n;
                return p;
            }
        }
        return ::operator new(n);
    }

    void deallocate(void* p, std::size_t n) noexcept {
        n = rounded(n);
        if (n <= kMaxPooled && cached_ + n <= kMaxCachedBytes) {
            Node*& head = free_[n / kGranule - 1];
            head = ::new (p) Node{head};
            cached_ += n;
            return;
        }
        ::operator delete(p);
    }

private:
    struct Node {
        Node* next;
    };
    Node* free_[kClasses] = {};
    std::size_t cached_ = 0;
};

#ifdef WEFT_NO_FRAME_POOL
inline void* frame_allocate(std::size_t n) { return ::operator new(n); }
inline void frame_deallocate(void* p, std::size_t) noexcept { ::operator delete(p); }
#else
inline thread_local FramePool tls_frame_pool;
inline void* frame_allocate(std::size_t n) { return tls_frame_pool.allocate(n); }
inline void frame_deallocate(void* p, std::size_t n) noexcept { tls_frame_pool.deallocate(p, n); }
#endif

}  // namespace weft::detail
