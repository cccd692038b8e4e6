// Page source: the memory of the frame pool's chunks (frame_pool.cpp) and of
// the big blocks of a channel with a long backlog (block_queue.hpp).
#pragma once

#include <cstddef>

namespace weft::detail {

// The largest chunk, and the size of a transparent huge page on x86-64.
inline constexpr std::size_t kHugeChunk = std::size_t{2} << 20;

// Maps `size` bytes of fresh, populated, writable memory (the frame pool
// keeps its chunks for good). Chunks of kHugeChunk bytes are
// 2 MiB-aligned and backed by huge pages while that measures cheaper than
// 4 KiB pages (see page_source.cpp). Throws std::bad_alloc. Thread-safe.
void* map_chunk(std::size_t size);

// Returns a chunk of `size` bytes from map_chunk to the system (the channel
// blocks do; the frame pool never does). Thread-safe.
void unmap_chunk(void* p, std::size_t size) noexcept;

}  // namespace weft::detail
