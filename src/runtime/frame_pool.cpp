// Chunk mapping for the frame pool; see weft/detail/frame_pool.hpp.
#include "weft/detail/frame_pool.hpp"

#include <sys/mman.h>

#include <algorithm>

namespace weft::detail {

namespace {
constexpr std::size_t kFirstChunk = std::size_t{64} << 10;
constexpr std::size_t kHugeChunk = std::size_t{2} << 20;
}  // namespace

void FramePool::refill() {
    const std::size_t size = next_chunk_ == 0 ? kFirstChunk : next_chunk_;
    next_chunk_ = std::min(size * 2, kHugeChunk);
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        throw std::bad_alloc();
    }
    if (size == kHugeChunk) {
        // Best effort: one huge-page fault instead of 512 small ones. (Populating
        // the chunk up front as well was measured: no faster on average, and it
        // made the slow outliers of a busy host slower still.)
        (void)::madvise(p, size, MADV_HUGEPAGE);
    }
    bump_ = static_cast<char*>(p);
    end_ = bump_ + size;
}

}  // namespace weft::detail
