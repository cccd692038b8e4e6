// An unsynchronized FIFO of T stored in blocks: one allocation per block,
// not per value.
//
// Two block sizes. A queue holding few values uses small blocks (kSlots
// values, from the heap). A queue with a long backlog — a producer far ahead
// of its consumer — appends 2 MiB chunks from the page source instead
// (page_source.hpp: populated in one system call, on a transparent huge page
// where the kernel has one at hand), because at tens of megabytes the cost of
// a backlog is the kernel's page faults, not the queue: with 8-byte values a
// chunk holds 262,000 of them and costs one call instead of 512 faults.
//
// Blocks are freed as they drain (one small block is kept as a spare, so a
// queue that oscillates around a few values never allocates; a drained chunk
// goes back to the system at once), so a queue that once held millions of
// values gives that memory back once drained. splice_back() moves a whole
// queue in O(1).
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
    // Backlog (values queued) from which new blocks are chunks.
    static constexpr std::size_t kChunkBacklog = 64 * kSlots;

    BlockQueue() noexcept = default;
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
        std::size_t cap = 0;    // values it holds
        std::size_t bytes = 0;  // a chunk's size; 0 for a small block
        T* slot(std::size_t i) noexcept {
            return std::launder(reinterpret_cast<T*>(reinterpret_cast<char*>(this) + kHeader) + i);
        }
    };
    // Where the values start: after the header, aligned for T.
    static constexpr std::size_t kHeader = (sizeof(Block) + alignof(T) - 1) / alignof(T) * alignof(T);
    static constexpr std::size_t kAlign = alignof(T) > alignof(Block) ? alignof(T) : alignof(Block);
    static constexpr std::size_t kSmallBytes = kHeader + kSlots * sizeof(T);
    static constexpr bool kChunks = kHeader + 4 * kSlots * sizeof(T) <= kHugeChunk && kAlign <= 4096;

    // The head block has no values left: freed (a small one kept as the
    // spare) if values follow in another block, it is full or it is a chunk;
    // else (the only block, a small one) reused from the start.
    [[gnu::noinline]] void head_drained() noexcept {
        Block* b = head_;
        if (b->end == b->cap || b != tail_ || b->bytes != 0) {
            release_head();
        } else {
            b->begin = b->end = 0;  // the only block, drained: reuse it from the start
        }
    }

    [[gnu::noinline]] void append_block() {
        Block* b = nullptr;
        if (kChunks && size_ >= kChunkBacklog) {
            b = new_chunk();
        } else if (spare_ != nullptr) {
            b = std::exchange(spare_, nullptr);
        } else {
            b = ::new (::operator new (kSmallBytes, std::align_val_t{kAlign})) Block;
            b->cap = kSlots;
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

    static Block* new_chunk() {
#ifdef WEFT_NO_FRAME_POOL
        void* mem = ::operator new (kHugeChunk, std::align_val_t{kAlign});
#else
        void* mem = map_chunk(kHugeChunk);
#endif
        Block* b = ::new (mem) Block;
        b->cap = (kHugeChunk - kHeader) / sizeof(T);
        b->bytes = kHugeChunk;
        return b;
    }

    static void free_block(Block* b) noexcept {
        const std::size_t bytes = b->bytes;
        b->~Block();
        if (bytes == 0) {
            ::operator delete (static_cast<void*>(b), std::align_val_t{kAlign});
            return;
        }
#ifdef WEFT_NO_FRAME_POOL
        ::operator delete (static_cast<void*>(b), std::align_val_t{kAlign});
#else
        unmap_chunk(b, bytes);
#endif
    }

    void release_head() noexcept {
        Block* b = head_;
        head_ = b->next;
        if (head_ == nullptr) {
            tail_ = nullptr;
        }
        if (spare_ == nullptr && b->bytes == 0) {
            spare_ = b;
        } else {
            free_block(b);
        }
    }

    Block* head_ = nullptr;
    Block* tail_ = nullptr;
    Block* spare_ = nullptr;  // a small block only
    std::size_t size_ = 0;
};

}  // namespace weft::detail
