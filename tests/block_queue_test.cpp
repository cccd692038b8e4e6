// The channels' value queue (include/weft/detail/block_queue.hpp): order,
// the switch from small blocks to 2 MiB chunks once the backlog is long,
// splicing, and destruction of whatever is left.
#include "weft/detail/block_queue.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <string>

using weft::detail::BlockQueue;

namespace {

// Counts live instances, so that a test sees every value destroyed once.
struct Counted {
    static inline int live = 0;
    std::uint64_t v;
    explicit Counted(std::uint64_t x) : v(x) { ++live; }
    Counted(Counted&& o) noexcept : v(o.v) { ++live; }
    Counted(const Counted&) = delete;
    Counted& operator=(const Counted&) = delete;
    Counted& operator=(Counted&&) = delete;
    ~Counted() { --live; }
};

long resident_kb() {
    long total = 0;
    long resident = 0;
    if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
        if (std::fscanf(f, "%ld %ld", &total, &resident) != 2) {
            resident = 0;
        }
        std::fclose(f);
    }
    return resident * 4;
}

#if defined(__SANITIZE_ADDRESS__)
#define WEFT_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define WEFT_TEST_ASAN 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define WEFT_TEST_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WEFT_TEST_TSAN 1
#endif
#endif
#ifdef WEFT_TEST_ASAN
constexpr long kShadowEighths = 9;
constexpr long kAllocatorKb = 1024;
#else
constexpr long kShadowEighths = 8;
constexpr long kAllocatorKb = 0;
#endif
// ThreadSanitizer's shadow is ~3 times the memory it watches, which leaves a
// resident-size bound nothing to tell apart; that build checks the layout
// and the order only.
#ifdef WEFT_TEST_TSAN
constexpr bool kResidentSizeMeaningful = false;
#else
constexpr bool kResidentSizeMeaningful = true;
#endif

}  // namespace

TEST(BlockQueue, a_backlog_past_the_chunk_threshold_comes_out_in_order) {
    BlockQueue<std::uint64_t> q;
    constexpr std::uint64_t n = 1'000'000;  // 8-byte values: small blocks, then four chunks
    static_assert(n > 4 * BlockQueue<std::uint64_t>::kChunkBacklog);
    for (std::uint64_t i = 0; i < n; ++i) {
        q.push(i);
    }
    EXPECT_EQ(q.size(), n);
    for (std::uint64_t i = 0; i < n; ++i) {
        ASSERT_EQ(q.pop(), i);
    }
    EXPECT_TRUE(q.empty());
    q.push(7);  // usable again after draining (a small block now)
    EXPECT_EQ(q.pop(), 7U);
}

// A chunk is nearly all values: its blocks are large, so their headers and
// the chunk's own take under 0.1% of it. A backlog of 8-byte values costs
// 8 bytes a value.
TEST(BlockQueue, a_chunk_is_filled_with_values_to_within_a_tenth_of_a_percent) {
    constexpr std::size_t per_chunk = BlockQueue<std::uint64_t>::values_per_chunk();
    EXPECT_GE(per_chunk * sizeof(std::uint64_t), weft::detail::kHugeChunk * 999 / 1000);
    EXPECT_LE(per_chunk * sizeof(std::uint64_t), weft::detail::kHugeChunk);
    BlockQueue<std::uint64_t> q;
    const long before = resident_kb();
    const std::uint64_t n = BlockQueue<std::uint64_t>::kChunkBacklog + 8 * per_chunk;  // heap blocks, then 8 chunks
    for (std::uint64_t i = 0; i < n; ++i) {
        q.push(i);
    }
    const long grown_kb = resident_kb() - before;
    // 8 chunks of 2 MiB and 64 small blocks (nine chunks with 6% of
    // headers), plus AddressSanitizer's shadow (a byte per eight) and its
    // allocator's own pages where it runs.
    if (kResidentSizeMeaningful) {
        EXPECT_LT(grown_kb, (8 * 2048 + 256) * kShadowEighths / 8 + kAllocatorKb);
    }
    for (std::uint64_t i = 0; i < n; ++i) {
        ASSERT_EQ(q.pop(), i);
    }
}

TEST(BlockQueue, pushes_and_pops_interleaved_around_the_threshold_keep_order) {
    BlockQueue<std::string> q;
    std::uint64_t next_in = 0;
    std::uint64_t next_out = 0;
    // Grow past the threshold, shrink below it, grow again: blocks of both
    // kinds are appended and drained in between.
    for (int round = 0; round < 3; ++round) {
        for (int i = 0; i < 20'000; ++i) {
            q.push(std::to_string(next_in++));
        }
        for (int i = 0; i < 15'000; ++i) {
            ASSERT_EQ(q.pop(), std::to_string(next_out++));
        }
    }
    while (!q.empty()) {
        ASSERT_EQ(q.pop(), std::to_string(next_out++));
    }
    EXPECT_EQ(next_out, next_in);
}

TEST(BlockQueue, splice_back_moves_chunks_and_small_blocks_in_order) {
    BlockQueue<std::uint64_t> a;
    BlockQueue<std::uint64_t> b;
    for (std::uint64_t i = 0; i < 10; ++i) {
        a.push(i);
    }
    for (std::uint64_t i = 10; i < 300'010; ++i) {
        b.push(i);  // b has chunks
    }
    a.splice_back(b);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(a.size(), 300'010U);
    for (std::uint64_t i = 0; i < 300'010; ++i) {
        ASSERT_EQ(a.pop(), i);
    }
    b.push(1);  // the emptied queue works on its own again
    EXPECT_EQ(b.pop(), 1U);
}

TEST(BlockQueue, values_left_in_chunks_are_destroyed_with_the_queue_or_by_clear) {
    {
        BlockQueue<Counted> q;
        for (std::uint64_t i = 0; i < 200'000; ++i) {
            q.push(Counted(i));
        }
        EXPECT_EQ(Counted::live, 200'000);
        for (std::uint64_t i = 0; i < 1'000; ++i) {
            EXPECT_EQ(q.pop().v, i);
        }
        EXPECT_EQ(Counted::live, 199'000);
        q.clear();
        EXPECT_EQ(Counted::live, 0);
        for (std::uint64_t i = 0; i < 100'000; ++i) {
            q.push(Counted(i));
        }
    }
    EXPECT_EQ(Counted::live, 0);  // the destructor destroyed the rest
}

// A channel's home lane with a long backlog, into which the remote lane is
// spliced again and again (a producer on another thread): chunk blocks keep
// being carved from one chunk, so memory grows with the values, not with the
// number of splices.
TEST(BlockQueue, splices_into_a_long_backlog_do_not_cost_a_chunk_each) {
    BlockQueue<std::uint64_t> local;
    BlockQueue<std::uint64_t> remote(false);  // heap blocks only, as a channel's remote lane
    for (std::uint64_t i = 0; i < 100'000; ++i) {
        local.push(i);
    }
    const long before = resident_kb();
    std::uint64_t next = 100'000;
    for (int round = 0; round < 200; ++round) {
        for (int i = 0; i < 5'000; ++i) {  // a remote backlog past the chunk threshold
            remote.push(next++);
        }
        local.splice_back(remote);
        for (int i = 0; i < 10; ++i) {
            local.push(next++);
        }
    }
    // 1,002,000 more values (8 MB); a chunk per splice would be 400 MB.
    EXPECT_LT(resident_kb() - before, 64 * 1024);
    for (std::uint64_t i = 0; i < next; ++i) {
        ASSERT_EQ(local.pop(), i);
    }
}

// Many small splices into a long backlog (the home lane of a channel fed
// from two threads): each splice cuts the tail short, and a chunk block cut
// short gives the rest of its 64 KiB back to the arena, so memory follows
// the values (and the remote lane's small blocks), not 64 KiB per splice.
TEST(BlockQueue, many_small_splices_into_a_backlog_cost_memory_for_the_values_only) {
    BlockQueue<std::uint64_t> local;
    BlockQueue<std::uint64_t> remote(false);
    std::uint64_t next = 0;
    while (next < 2 * BlockQueue<std::uint64_t>::kChunkBacklog) {
        local.push(next++);  // past the threshold: chunk blocks from here on
    }
    const long before = resident_kb();
    for (int round = 0; round < 2'000; ++round) {
        remote.push(next++);
        local.splice_back(remote);
        for (int i = 0; i < 100; ++i) {  // past the spliced block's room: a chunk block
            local.push(next++);
        }
    }
    // 202,000 values and 2,000 remote blocks: ~3 MB; a 64 KiB block per
    // splice would be 128 MB.
    EXPECT_LT(resident_kb() - before, 24 * 1024);
    for (std::uint64_t i = 0; i < next; ++i) {
        ASSERT_EQ(local.pop(), i);
    }
    EXPECT_TRUE(local.empty());
}

// A queue that drains to empty and fills again starts its block over instead
// of allocating: order and size stay right across many such rounds, with
// the block boundary crossed at every offset.
TEST(BlockQueue, drained_queue_reuses_its_block_and_keeps_order) {
    using Q = BlockQueue<std::uint64_t>;
    Q q;
    std::uint64_t next_in = 0;
    std::uint64_t next_out = 0;
    for (std::size_t round = 1; round <= 3 * Q::kSlots; ++round) {
        for (std::size_t i = 0; i < round % (Q::kSlots + 3); ++i) {
            q.push(next_in++);
        }
        EXPECT_EQ(q.size(), next_in - next_out);
        while (!q.empty()) {
            ASSERT_EQ(q.pop(), next_out++);
        }
        EXPECT_EQ(q.size(), 0U);
    }
    EXPECT_EQ(next_out, next_in);
}

// splice_back into a queue whose tail block is only partly filled (its
// values end before the block does) and into a drained queue that still
// holds a block: the reader skips the unfilled rest and the drained block.
TEST(BlockQueue, splice_after_a_partial_tail_and_into_a_drained_queue) {
    using Q = BlockQueue<std::string>;
    Q local;
    Q remote(false);
    std::uint64_t next_in = 0;
    std::uint64_t next_out = 0;
    for (int round = 0; round < 50; ++round) {
        for (int i = 0; i < round % 7; ++i) {
            local.push(std::to_string(next_in++));
        }
        for (int i = 0; i < (round * 13) % 150; ++i) {
            remote.push(std::to_string(next_in++));
        }
        local.splice_back(remote);
        EXPECT_TRUE(remote.empty());
        EXPECT_EQ(local.size(), next_in - next_out);
        for (int i = 0; i < round % 5 && !local.empty(); ++i) {
            ASSERT_EQ(local.pop(), std::to_string(next_out++));
        }
        if (round % 10 == 9) {
            while (!local.empty()) {
                ASSERT_EQ(local.pop(), std::to_string(next_out++));
            }
        }
    }
    while (!local.empty()) {
        ASSERT_EQ(local.pop(), std::to_string(next_out++));
    }
    EXPECT_EQ(next_out, next_in);
}

// A drained backlog keeps its last chunk block (and so its chunk) until
// release_if_drained, which gives the chunk back; the queue works after.
TEST(BlockQueue, release_if_drained_gives_the_last_chunk_back) {
    const long before = resident_kb();
    BlockQueue<std::uint64_t> q;
    constexpr std::uint64_t n = 2'000'000;  // 16 MB, in chunks
    for (std::uint64_t i = 0; i < n; ++i) {
        q.push(i);
    }
    for (std::uint64_t i = 0; i < n; ++i) {
        ASSERT_EQ(q.pop(), i);
    }
    q.release_if_drained();
#ifndef WEFT_NO_FRAME_POOL
    EXPECT_LT(resident_kb() - before, 1024);  // every chunk unmapped
#else
    (void)before;  // sanitizer builds: chunks come from the heap, which keeps freed memory
#endif
    q.push(3);
    q.release_if_drained();  // not drained: nothing happens
    EXPECT_EQ(q.pop(), 3U);
}
