// An unsynchronized FIFO of T stored in blocks of values: one allocation per
// block, not per value (kSlots values in a heap block, kChunkSlots in a
// block carved from a chunk).
//
// Layout. The queue keeps four cursors: rp_ and rend_ (the next value to
// read and where the head block's values end), wp_ and wend_ (the next slot
// to write and the end of the tail block). A push is a compare, a store and
// an increment; a pop the same on the other side; only a block boundary
// leaves the inline path. The queue is empty exactly when rp_ == wp_ (two
// cursors in different live blocks never meet: a block's slots start after
// its header). A block that stops being the tail records where its values
// end (`limit`, its last slot unless a splice cut it short), and a block
// that becomes the head records where they start (`first`).
//
// Where blocks come from. A queue holding few values takes its blocks from
// the heap. A queue with a long backlog — a producer far ahead of its
// consumer — carves them from 2 MiB chunks of the page source instead
// (page_source.hpp: populated in one system call, on a transparent huge page
// where the kernel has one at hand), because at tens of megabytes the cost of
// a backlog is the kernel's page faults, not the queue: a chunk costs one
// call instead of 512 faults, and it is cut into 32 blocks of ~64 KiB, so
// that it holds values to within 0.1% (8-byte values: 262,000 a chunk; the
// 64-value heap blocks spend 6% on headers). The queue carves from one
// chunk at a time (its arena), whatever else is appended in between, so at
// most one chunk per queue is partly used; each chunk counts its live blocks
// and goes back to the system when the last one is freed.
//
// Blocks are freed as the reader leaves them (one heap block is kept as a
// spare), and a queue that drains to empty reuses its last block from the
// start when the next push reaches its end, so a queue that oscillates
// around a few values never allocates. A drained queue whose last block is
// a chunk block keeps that chunk until release_if_drained() (the channel
// calls it when a receive finds nothing), so a queue that once held
// millions of values gives that memory back once drained.
// splice_back() moves a whole queue in O(1); a queue's chunk blocks may only
// be spliced into a queue that is used (and destroyed) on the same thread,
// as the channel's remote lane never has any (it is built without them).
//
// Under WEFT_NO_FRAME_POOL (the sanitizer builds) chunks come from the heap
// too, so that AddressSanitizer sees them.
//
// Thread-safety: none; the channel code decides who may touch which queue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include "weft/detail/page_source.hpp"

namespace weft::detail {

template <class T>
class BlockQueue {
public:
    static constexpr std::size_t kSlots = sizeof(T) <= 16 ? 64 : (sizeof(T) <= 64 ? 32 : 8);
    // Blocks queued from which new blocks are carved from chunks.
    static constexpr std::size_t kChunkBlocks = 64;
    // The same threshold in values.
    static constexpr std::size_t kChunkBacklog = kChunkBlocks * kSlots;

    // `chunks`: whether a long backlog may take its blocks from chunks.
    explicit BlockQueue(bool chunks = true) noexcept : chunks_(chunks) {}
    BlockQueue(const BlockQueue&) = delete;
    BlockQueue& operator=(const BlockQueue&) = delete;
    ~BlockQueue() {
        clear();
        if (spare_ != nullptr) {
            free_block(spare_);
        }
    }

    // How many values one 2 MiB chunk holds (its blocks' slots).
    static constexpr std::size_t values_per_chunk() noexcept { return kChunkSlots * kBlocksPerChunk; }

    [[nodiscard]] bool empty() const noexcept { return rp_ == wp_; }
    // The number of values queued: O(blocks), for tests and diagnostics.
    [[nodiscard]] std::size_t size() const noexcept {
        std::size_t n = 0;
        for (Block* b = head_; b != nullptr; b = b->next) {
            const T* from = b == head_ ? rp_ : b->first;
            const T* to = b == tail_ ? wp_ : (b == head_ ? rend_ : b->limit);
            n += static_cast<std::size_t>(to - from);
        }
        return n;
    }

    template <class U>
    [[gnu::always_inline]] void push(U&& v) {
        if (wp_ == wend_) [[unlikely]] {
            make_room();
        }
        ::new (static_cast<void*>(wp_)) T(std::forward<U>(v));
        ++wp_;
    }

    // Precondition: !empty().
    [[gnu::always_inline]] T pop() {
        if (rp_ == rend_) [[unlikely]] {
            next_block();
        }
        T* p = rp_;
        T v(std::move(*p));
        p->~T();
        ++rp_;
        return v;
    }

    // Appends every value of `other`, in order; `other` becomes empty.
    void splice_back(BlockQueue& other) noexcept {
        if (other.empty()) {
            return;
        }
        if (empty()) {
            clear();  // frees the drained block: no empty block precedes the new values
            head_ = other.head_;
            rp_ = other.rp_;
            rend_ = other.rend_;
        } else {
            tail_->limit = wp_;  // the old tail may be cut short
            trim_tail();
            if (head_ == tail_) {
                rend_ = wp_;
            }
            other.head_->first = other.rp_;
            tail_->next = other.head_;
        }
        tail_ = other.tail_;
        wp_ = other.wp_;
        wend_ = other.wend_;
        blocks_ += other.blocks_;
        other.forget();
    }

    // Destroys every value and frees every block but the spare.
    void clear() noexcept {
        while (head_ != nullptr) {
            Block* b = head_;
            if constexpr (!std::is_trivially_destructible_v<T>) {
                T* from = rp_;
                T* to = b == tail_ ? wp_ : rend_;
                for (T* p = from; p != to; ++p) {
                    p->~T();
                }
            }
            head_ = b->next;
            if (head_ != nullptr) {
                rp_ = head_->first;
                rend_ = head_ == tail_ ? wend_ : head_->limit;
            }
            free_block(b);
        }
        forget();
    }

    // A drained queue lets go of its last block if that one is carved from
    // a chunk, so that the chunk can go back to the system.
    void release_if_drained() noexcept {
        if (empty() && head_ != nullptr && head_->in_chunk) {
            clear();
        }
    }

private:
    struct Block {
        Block* next = nullptr;
        T* first = nullptr;  // its first value, once it is the head
        T* limit = nullptr;  // the end of its values, once it is not the tail
        bool in_chunk = false;
        std::uint32_t capacity = 0;  // its slots (a chunk block's last carve may be shorter)
        T* slots() noexcept { return std::launder(reinterpret_cast<T*>(reinterpret_cast<char*>(this) + kHeader)); }
    };
    // At the start of every chunk: its live blocks and the room left.
    struct Chunk {
        std::size_t live = 0;
        char* bump = nullptr;
        char* end = nullptr;
    };
    // Where a block's values start: after its header, aligned for T.
    static constexpr std::size_t kHeader = (sizeof(Block) + alignof(T) - 1) / alignof(T) * alignof(T);
    static constexpr std::size_t kAlign = alignof(T) > alignof(Block) ? alignof(T) : alignof(Block);
    static constexpr std::size_t kBlockBytes = (kHeader + kSlots * sizeof(T) + kAlign - 1) / kAlign * kAlign;
    static constexpr std::size_t kChunkStart = (sizeof(Chunk) + kAlign - 1) / kAlign * kAlign;
    // A chunk is cut into kBlocksPerChunk blocks of kChunkBlockBytes: far
    // larger than a heap block, so that block headers cost nothing of the
    // chunk (a heap block's header is ~6% of its 64 values of 8 bytes) and
    // the reader and writer leave the inline path once per block.
    static constexpr std::size_t kBlocksPerChunk = 32;
    static constexpr std::size_t kChunkBlockBytes = (kHugeChunk - kChunkStart) / kBlocksPerChunk / kAlign * kAlign;
    static constexpr std::size_t kChunkSlots = kChunkBlockBytes > kHeader ? (kChunkBlockBytes - kHeader) / sizeof(T)
                                                                          : 0;
    static constexpr bool kChunksFit = kChunkSlots >= kSlots && kAlign <= 4096;

    // The number of values a block holds.
    static std::size_t capacity(const Block* b) noexcept { return b->capacity; }

    void forget() noexcept {
        head_ = tail_ = nullptr;
        rp_ = rend_ = wp_ = wend_ = nullptr;
        blocks_ = 0;
    }

    // The tail block is full (or there is none): start it over if the queue
    // is drained (then head_ == tail_), else append a block.
    [[gnu::noinline]] void make_room() {
        if (tail_ != nullptr && rp_ == wp_) {
            rp_ = wp_ = tail_->slots();
            rend_ = wend_ = wp_ + capacity(tail_);
            return;
        }
        Block* b = new_block();
        b->next = nullptr;
        b->first = b->slots();
        if (tail_ == nullptr) {
            head_ = b;
            rp_ = b->first;
            rend_ = rp_ + capacity(b);
        } else {
            tail_->limit = wp_;  // full; rend_ already says so if it is the head
            tail_->next = b;
        }
        tail_ = b;
        wp_ = b->first;
        wend_ = wp_ + capacity(b);
        ++blocks_;
    }

    // The reader reached the end of the head block, and values follow.
    [[gnu::noinline]] void next_block() noexcept {
        Block* b = head_;
        head_ = b->next;
        rp_ = head_->first;
        rend_ = head_ == tail_ ? wend_ : head_->limit;
        --blocks_;
        if (spare_ == nullptr && !b->in_chunk) {
            spare_ = b;
        } else {
            free_block(b);
        }
    }

    Block* new_block() {
        if (kChunksFit && chunks_ && blocks_ >= kChunkBlocks) {
            return carve_block();
        }
        if (spare_ != nullptr) {
            return std::exchange(spare_, nullptr);
        }
        Block* b = ::new (::operator new (kBlockBytes, std::align_val_t{kAlign})) Block;
        b->capacity = kSlots;
        return b;
    }

    // A block from the arena chunk; a fresh chunk when it is full (the old
    // one lives on until its last block is freed).
    Block* carve_block() {
        if (arena_ == nullptr || arena_->end - arena_->bump < static_cast<std::ptrdiff_t>(kBlockBytes)) {
#ifdef WEFT_NO_FRAME_POOL
            void* mem = ::operator new (kHugeChunk, std::align_val_t{kHugeChunk});
#else
            void* mem = map_chunk(kHugeChunk);  // 2 MiB-aligned
#endif
            arena_ = ::new (mem) Chunk;
            arena_->bump = static_cast<char*>(mem) + kChunkStart;
            arena_->end = static_cast<char*>(mem) + kHugeChunk;
        }
        // A full-size block, or what is left of the chunk (at least a heap
        // block's worth) after a splice gave some back (trim_tail).
        const auto room = static_cast<std::size_t>(arena_->end - arena_->bump);
        const std::size_t bytes = room < kChunkBlockBytes ? room / kAlign * kAlign : kChunkBlockBytes;
        Block* b = ::new (static_cast<void*>(arena_->bump)) Block;
        arena_->bump += bytes;
        ++arena_->live;
        b->in_chunk = true;
        b->capacity = static_cast<std::uint32_t>((bytes - kHeader) / sizeof(T));
        return b;
    }

    // The tail block was cut short by a splice: if it is the arena's latest
    // block, the room after its values goes back to the arena, so that
    // splices into a long backlog (a home lane into which remote values are
    // spliced again and again) cost memory for the values only, not a
    // 64 KiB block each.
    void trim_tail() noexcept {
        if (!tail_->in_chunk || arena_ == nullptr) {
            return;
        }
        // Its carve ends at most a slot and an alignment past its last slot;
        // a block carved after it would have moved the bump a block further.
        char* const slots_end = reinterpret_cast<char*>(tail_->slots() + tail_->capacity);
        if (chunk_of(tail_) != arena_ || arena_->bump < slots_end ||
            arena_->bump - slots_end >= static_cast<std::ptrdiff_t>(sizeof(T) + kAlign)) {
            return;
        }
        const auto used = reinterpret_cast<std::uintptr_t>(wp_);
        arena_->bump = reinterpret_cast<char*>((used + kAlign - 1) / kAlign * kAlign);
        tail_->capacity = static_cast<std::uint32_t>(wp_ - tail_->slots());
    }

    static Chunk* chunk_of(Block* b) noexcept {
        return reinterpret_cast<Chunk*>(reinterpret_cast<std::uintptr_t>(b) & ~(std::uintptr_t{kHugeChunk} - 1));
    }

    void free_block(Block* b) noexcept {
        const bool in_chunk = b->in_chunk;
        Chunk* c = in_chunk ? chunk_of(b) : nullptr;
        b->~Block();
        if (!in_chunk) {
            ::operator delete (static_cast<void*>(b), std::align_val_t{kAlign});
            return;
        }
        if (--c->live != 0) {
            return;
        }
        if (c == arena_) {
            arena_ = nullptr;  // drained with room left: a new backlog maps a new one
        }
        c->~Chunk();
#ifdef WEFT_NO_FRAME_POOL
        ::operator delete (static_cast<void*>(c), std::align_val_t{kHugeChunk});
#else
        unmap_chunk(c, kHugeChunk);
#endif
    }

    T* rp_ = nullptr;    // reader: the next value
    T* rend_ = nullptr;  // reader: the end of the head block's values
    T* wp_ = nullptr;    // writer: the next free slot
    T* wend_ = nullptr;  // writer: the end of the tail block
    Block* head_ = nullptr;
    Block* tail_ = nullptr;
    Block* spare_ = nullptr;  // a heap block only
    Chunk* arena_ = nullptr;  // the chunk new chunk blocks are carved from
    std::size_t blocks_ = 0;  // blocks in the queue
    bool chunks_;
};

}  // namespace weft::detail
