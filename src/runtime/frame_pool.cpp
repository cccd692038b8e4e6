// Chunk mapping for the frame pool; see weft/detail/frame_pool.hpp.
#include "weft/detail/frame_pool.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include "weft/detail/page_source.hpp"

namespace weft::detail {

namespace {
constexpr std::size_t kFirstChunk = std::size_t{64} << 10;

// Pools of threads that ended (see the memory policy in frame_pool.hpp).
std::mutex g_orphans_mu;
std::vector<FramePool::State>& orphans() {
    static auto* v = new std::vector<FramePool::State>;  // never destroyed: threads may end after main
    return *v;
}
}  // namespace

void FramePool::orphan() noexcept {
    if (state_.bump == nullptr && state_.next_chunk == 0) {
        return;  // never allocated
    }
    std::lock_guard<std::mutex> lock(g_orphans_mu);
    orphans().push_back(state_);
    state_ = State{};
}

namespace {
// Registered on a thread's first refill: at the thread's exit, its pool
// becomes an orphan (the pool itself stays trivially destructible).
struct OrphanAtExit {
    FramePool* pool = nullptr;
    ~OrphanAtExit() {
        if (pool != nullptr) {
            pool->orphan();
        }
    }
};
thread_local OrphanAtExit tls_orphan_at_exit;
}  // namespace

bool FramePool::adopt_orphan() noexcept {
    std::lock_guard<std::mutex> lock(g_orphans_mu);
    if (orphans().empty()) {
        return false;
    }
    state_ = orphans().back();
    orphans().pop_back();
    return true;
}

void FramePool::refill() {
    tls_orphan_at_exit.pool = this;
    if (state_.next_chunk == 0 && adopt_orphan() && static_cast<std::size_t>(state_.end - state_.bump) >= kMaxPooled) {
        return;  // a fresh thread took over an ended thread's pool
    }
    const std::size_t size = state_.next_chunk == 0 ? kFirstChunk : state_.next_chunk;
    state_.next_chunk = std::min(size * 2, kHugeChunk);
    void* p = map_chunk(size);  // page_source.cpp: populated, huge pages where they measure cheaper
    state_.bump = static_cast<char*>(p);
    state_.end = state_.bump + size;
}

}  // namespace weft::detail
