// Page source: the memory of the frame pool's chunks (frame_pool.cpp).
#pragma once

#include <cstddef>

namespace weft::detail {

// The largest chunk, and the size of a transparent huge page on x86-64.
inline constexpr std::size_t kHugeChunk = std::size_t{2} << 20;

// Maps `size` bytes of fresh, populated, writable memory that is never
// returned (the frame pool keeps its chunks). Chunks of kHugeChunk bytes are
// 2 MiB-aligned and backed by huge pages while that measures cheaper than
// 4 KiB pages (see page_source.cpp). Throws std::bad_alloc. Thread-safe.
void* map_chunk(std::size_t size);

}  // namespace weft::detail
