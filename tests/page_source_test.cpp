// The frame pool's page source (src/runtime/page_source.cpp): chunks are
// writable, populated, and the huge ones 2 MiB-aligned whichever page size
// the measurement picks.
#include "weft/detail/page_source.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

using weft::detail::kHugeChunk;
using weft::detail::map_chunk;

TEST(PageSource, small_chunks_are_writable) {
    for (std::size_t size = std::size_t{64} << 10; size < kHugeChunk; size *= 2) {
        auto* p = static_cast<unsigned char*>(map_chunk(size));
        ASSERT_NE(p, nullptr);
        std::memset(p, 0xab, size);
        EXPECT_EQ(p[0], 0xab);
        EXPECT_EQ(p[size - 1], 0xab);
    }
}

TEST(PageSource, huge_chunks_are_aligned_and_writable_on_either_page_size) {
    (void)map_chunk(std::size_t{64} << 10);  // a small-page cost to compare with
    for (int i = 0; i < 80; ++i) {           // past kSkipAfterSlow, so both paths run if huge pages are slow here
        auto* p = static_cast<unsigned char*>(map_chunk(kHugeChunk));
        ASSERT_NE(p, nullptr);
        EXPECT_EQ(reinterpret_cast<std::uintptr_t>(p) % kHugeChunk, 0U);
        p[0] = 1;
        p[kHugeChunk - 1] = 2;
        EXPECT_EQ(p[0] + p[kHugeChunk - 1], 3);
    }
}
