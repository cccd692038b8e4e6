// An unsynchronized FIFO of T stored in blocks of kSlots values: one
// allocation per block, not per value. Blocks are freed as they drain (one
// empty block is kept as a spare, so a queue that oscillates around a few
// values never allocates), so a queue that once held millions of values gives
// that memory back once drained. splice_back() moves a whole queue in O(1).
//
// Thread-safety: none; the channel code decides who may touch which queue.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <utility>

namespace weft::detail {

template <class T>
class BlockQueue {
public:
    static constexpr std::size_t kSlots = sizeof(T) <= 16 ? 64 : (sizeof(T) <= 64 ? 32 : 8);

    BlockQueue() noexcept = default;
    BlockQueue(const BlockQueue&) = delete;
    BlockQueue& operator=(const BlockQueue&) = delete;
    ~BlockQueue() {
        clear();
        delete spare_;
    }

    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }
    [[nodiscard]] std::size_t size() const noexcept { return size_; }

    template <class U>
    [[gnu::always_inline]] void push(U&& v) {
        if (tail_ == nullptr || tail_->end == kSlots) [[unlikely]] {
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
            delete b;
        }
        tail_ = nullptr;
        size_ = 0;
    }

private:
    // The head block has no values left: freed (one kept as the spare) if
    // values follow in another block or it is full, else reused from the
    // start.
    [[gnu::noinline]] void head_drained() noexcept {
        Block* b = head_;
        if (b->end == kSlots || b != tail_) {
            release_head();
        } else {
            b->begin = b->end = 0;  // the only block, drained: reuse it from the start
        }
    }

    struct Block {
        Block* next = nullptr;
        std::size_t begin = 0;
        std::size_t end = 0;
        alignas(T) unsigned char storage[kSlots * sizeof(T)];
        T* slot(std::size_t i) noexcept { return std::launder(reinterpret_cast<T*>(storage + i * sizeof(T))); }
    };

    [[gnu::noinline]] void append_block() {
        Block* b = spare_ != nullptr ? std::exchange(spare_, nullptr) : new Block;
        b->next = nullptr;
        b->begin = b->end = 0;
        if (tail_ == nullptr) {
            head_ = b;
        } else {
            tail_->next = b;
        }
        tail_ = b;
    }

    void release_head() noexcept {
        Block* b = head_;
        head_ = b->next;
        if (head_ == nullptr) {
            tail_ = nullptr;
        }
        if (spare_ == nullptr) {
            spare_ = b;
        } else {
            delete b;
        }
    }

    Block* head_ = nullptr;
    Block* tail_ = nullptr;
    Block* spare_ = nullptr;
    std::size_t size_ = 0;
};

}  // namespace weft::detail
