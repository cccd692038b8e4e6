// An unsynchronized FIFO of T stored in blocks of kSlots values: one
// allocation per block, not per value.
//
// Where blocks come from. A queue holding few values takes its blocks from
// the heap. A queue with a long backlog — a producer far ahead of its
// consumer — carves them from 2 MiB chunks of the page source instead
// (page_source.hpp: populated in one system call, on a transparent huge page
// where the kernel has one at hand), because at tens of megabytes the cost of
// a backlog is the kernel's page faults, not the queue: a chunk holds ~3,800
// blocks and costs one call instead of 512 faults. The queue carves from one
// chunk at a time (its arena), whatever else is appended in between, so at
// most one chunk per queue is partly used; each chunk counts its live blocks
// and goes back to the system when the last one is freed.
//
// Blocks are freed as they drain (one heap block is kept as a spare, so a
// queue that oscillates around a few values never allocates), so a queue
// that once held millions of values gives that memory back once drained.
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
#include <utility>

#include "weft/detail/page_source.hpp"

namespace weft::detail {

template <class T>
class BlockQueue {
public:
    static constexpr std::size_t kSlots = sizeof(T) <= 16 ? 64 : (sizeof(T) <= 64 ? 32 : 8);
    // Backlog (values queued) from which new blocks are carved from chunks.
    static constexpr std::size_t kChunkBacklog = 64 * kSlots;

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

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    template <class U>
    [[gnu::always_inline]] void push(U&& v) {
        if (tail_ == nullptr || tail_->end == tail_->cap) [[unlikely]] {
            append_block();
        }
        ::new (static_cast<void*>(tail_->slot(tail_->end))) T(std::forward<U>(v));
        ++tail_->end;
        ++size_;
    }

    // Precondition: !empty().
    [[gnu::always_inline]] T pop() {
        Block* b = head_;
        T* p = b->slot(b->begin);
        T v(std::move(*p));
        p->~T();
        ++b->begin;
        --size_;
        if (b->begin == b->end) [[unlikely]] {
            head_drained();
        }
        return v;
    }

    // Appends every value of `other`, in order; `other` becomes empty.
    void splice_back(BlockQueue& other) noexcept {
        if (other.head_ == nullptr) {
            return;
        }
        if (size_ == 0 && head_ != nullptr) {
            release_head();  // a drained block kept for reuse must not precede the new values
        }
        if (tail_ == nullptr) {
            head_ = other.head_;
        } else {
            tail_->next = other.head_;
        }
        tail_ = other.tail_;
        size_ += other.size_;
        other.head_ = other.tail_ = nullptr;
        other.size_ = 0;
    }

    void clear() noexcept {
        while (head_ != nullptr) {
            Block* b = head_;
            for (std::size_t i = b->begin; i < b->end; ++i) {
                b->slot(i)->~T();
            }
            head_ = b->next;
            free_block(b);
        }
        tail_ = nullptr;
        size_ = 0;
    }

private:
    struct Block {
        Block* next = nullptr;
        std::size_t begin = 0;
        std::size_t end = 0;
        std::size_t cap = kSlots;  // values it holds
        bool in_chunk = false;
        T* slot(std::size_t i) noexcept {
            return std::launder(reinterpret_cast<T*>(reinterpret_cast<char*>(this) + kHeader) + i);
        }
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
    static constexpr bool kChunksFit = kChunkStart + 64 * kBlockBytes <= kHugeChunk && kAlign <= 4096;

    // The head block has no values left: freed (a heap one kept as the
    // spare) if values follow in another block, it is full or it is a chunk
    // block (so that a drained chunk goes back); else (the only block, from
    // the heap) reused from the start.
    [[gnu::noinline]] void head_drained() noexcept {
        Block* b = head_;
        if (b->end == kSlots || b != tail_ || b->in_chunk) {
            release_head();
        } else {
            b->begin = b->end = 0;  // the only block, drained: reuse it from the start
        }
    }

    [[gnu::noinline]] void append_block() {
        Block* b = nullptr;
        if (kChunksFit && chunks_ && size_ >= kChunkBacklog) {
            b = carve_block();
        } else if (spare_ != nullptr) {
            b = std::exchange(spare_, nullptr);
        } else {
            b = ::new (::operator new (kBlockBytes, std::align_val_t{kAlign})) Block;
        }
        b->next = nullptr;
        b->begin = b->end = 0;
        if (tail_ == nullptr) {
            head_ = b;
        } else {
            tail_->next = b;
        }
        tail_ = b;
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
        Block* b = ::new (static_cast<void*>(arena_->bump)) Block;
        arena_->bump += kBlockBytes;
        ++arena_->live;
        b->in_chunk = true;
        return b;
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

    void release_head() noexcept {
        Block* b = head_;
        head_ = b->next;
        if (head_ == nullptr) {
            tail_ = nullptr;
        }
        if (spare_ == nullptr && !b->in_chunk) {
            spare_ = b;
        } else {
            free_block(b);
        }
    }

    Block* head_ = nullptr;
    Block* tail_ = nullptr;
    Block* spare_ = nullptr;  // a heap block only
    Chunk* arena_ = nullptr;  // the chunk new chunk blocks are carved from
    std::size_t size_ = 0;
    bool chunks_;
};

}  // namespace weft::detail
