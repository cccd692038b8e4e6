// ThreadLife (include/weft/detail/thread_life.hpp): one per thread, marked
// ended as the thread's thread-locals are destroyed.
#include "weft/detail/thread_life.hpp"

namespace weft::detail {

namespace {

thread_local bool tls_thread_exiting = false;

// Registered on first use only (a thread-local with a destructor costs a
// registration), so threads that never touch a channel pay nothing.
struct ThreadLifeGuard {
    ThreadLife* life = new ThreadLife();
    ThreadLifeGuard() = default;
    ThreadLifeGuard(const ThreadLifeGuard&) = delete;
    ThreadLifeGuard& operator=(const ThreadLifeGuard&) = delete;
    ~ThreadLifeGuard() {
        tls_thread_exiting = true;
        tls_thread_life = nullptr;
        life->alive.store(false, std::memory_order_release);
        life->release();
    }
};

// What a thread gets after its guard is gone (a channel touched by another
// thread-local's destructor): a life that has already ended, never freed, so
// any live thread may take such a channel over.
ThreadLife* ended_life() {
    static ThreadLife* const ended = [] {
        auto* l = new ThreadLife();  // never deleted: refs never reach zero
        l->refs.store(1U << 30U, std::memory_order_relaxed);
        l->alive.store(false, std::memory_order_relaxed);
        return l;
    }();
    return ended;
}

}  // namespace

ThreadLife* make_thread_life() {
    if (tls_thread_exiting) {
        tls_thread_life = ended_life();  // never null again on this thread (ChanCore::home_turn)
        return tls_thread_life;
    }
    thread_local ThreadLifeGuard guard;
    tls_thread_life = guard.life;
    return guard.life;
}

}  // namespace weft::detail
