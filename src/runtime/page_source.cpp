// Page source (page_source.hpp): how the frame pool gets its memory.
//
// A million spawned tasks need ~150 MB of fresh frames, and providing those
// pages is most of what `spawn_join` measures. Two ways, both populated up
// front (one system call for the whole chunk instead of a fault per page):
//   - 4 KiB pages (MAP_POPULATE): steady, ~0.8 ms per 2 MiB on the 2-core
//     development VM;
//   - a transparent huge page (2 MiB-aligned, MADV_HUGEPAGE, then
//     MADV_POPULATE_WRITE): ~0.2 ms per 2 MiB when the kernel (and, in a
//     virtual machine, the host) has one at hand, but 4-6 ms when it has to
//     assemble one — after other processes churned memory, every chunk of a
//     run can cost that (spawn_join 260-275 ns against 81-108 ns with small
//     pages, measured alternately after the same memory-hungry programs).
// So the choice is measured rather than fixed: every chunk's populate is
// timed, small-page chunks keep a running cost per KiB, and a huge chunk that
// costs more than small pages would have makes the next kSkipAfterSlow huge
// chunks use small pages; then huge pages are tried again. Timing costs two
// clock reads per chunk (a chunk holds thousands of frames).
#include "weft/detail/page_source.hpp"

#include <sys/mman.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <new>

namespace weft::detail {

namespace {

constexpr std::uint32_t kSkipAfterSlow = 64;  // huge chunks (128 MiB) on small pages after a slow one

// Running cost of populating small pages, ns per KiB (0: none measured yet).
std::atomic<std::uint32_t> g_small_ns_per_kib{0};
// Huge chunks still to map with small pages.
std::atomic<std::uint32_t> g_huge_skip{0};

void* map_small(std::size_t size) {
    void* p = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
    if (p == MAP_FAILED) {
        throw std::bad_alloc();
    }
    return p;
}

// A 2 MiB-aligned chunk of kHugeChunk bytes (map twice the size, unmap the
// ends), marked for a huge page when `huge`, then populated. On a kernel
// without MADV_POPULATE_WRITE (before Linux 5.14) pages come at first touch.
void* map_aligned(bool huge) {
    void* raw = ::mmap(nullptr, 2 * kHugeChunk, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        throw std::bad_alloc();
    }
    const auto start = reinterpret_cast<std::uintptr_t>(raw);
    const std::uintptr_t aligned = (start + kHugeChunk - 1) & ~(std::uintptr_t{kHugeChunk} - 1);
    if (aligned > start) {
        ::munmap(raw, aligned - start);
    }
    const std::uintptr_t end = start + 2 * kHugeChunk;
    if (end > aligned + kHugeChunk) {
        ::munmap(reinterpret_cast<void*>(aligned + kHugeChunk), end - (aligned + kHugeChunk));
    }
    void* p = reinterpret_cast<void*>(aligned);
    if (huge) {
        (void)::madvise(p, kHugeChunk, MADV_HUGEPAGE);
    }
#ifdef MADV_POPULATE_WRITE
    (void)::madvise(p, kHugeChunk, MADV_POPULATE_WRITE);
#endif
    return p;
}

std::uint64_t ns_since(std::chrono::steady_clock::time_point t0) {
    return static_cast<std::uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count());
}

bool take_skip() {
    std::uint32_t n = g_huge_skip.load(std::memory_order_relaxed);
    while (n != 0) {
        if (g_huge_skip.compare_exchange_weak(n, n - 1, std::memory_order_relaxed)) {
            return true;
        }
    }
    return false;
}

}  // namespace

void* map_chunk(std::size_t size) {
    const std::uint32_t small_cost = g_small_ns_per_kib.load(std::memory_order_relaxed);
    const auto t0 = std::chrono::steady_clock::now();
    if (size == kHugeChunk) {
        const bool huge = small_cost != 0 && !take_skip();
        void* p = map_aligned(huge);
        const std::uint64_t ns = ns_since(t0);
        if (huge && ns > std::uint64_t{small_cost} * (kHugeChunk >> 10U)) {
            g_huge_skip.store(kSkipAfterSlow, std::memory_order_relaxed);  // slower than small pages
        }
        return p;
    }
    void* p = map_small(size);
    const auto per_kib = static_cast<std::uint32_t>(ns_since(t0) / (size >> 10U));
    // A running average (1/4 new) that races harmlessly between threads.
    const std::uint32_t blended = small_cost == 0 ? per_kib : (3 * small_cost + per_kib) / 4;
    g_small_ns_per_kib.store(blended == 0 ? 1 : blended, std::memory_order_relaxed);
    return p;
}

void unmap_chunk(void* p, std::size_t size) noexcept {
    (void)::munmap(p, size);
}

}  // namespace weft::detail
