// Promise of weft::Task<T>: the frame prefix allocation, the final step that
// either hands control back to the awaiting coroutine (symmetric transfer) or
// completes a spawned task, and the result slot.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
#include <mutex>
#include <new>
#include <optional>
#include <stdexcept>
#include <utility>

#include "weft/detail/branch_sink.hpp"
#include "weft/detail/frame_pool.hpp"
#include "weft/detail/resume.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_header.hpp"

namespace weft {
template <class T>
class Task;
}

namespace weft::detail {

class TaskPromiseBase : public TaskHeader {
public:
    TaskPromiseBase() = default;
    TaskPromiseBase(const TaskPromiseBase&) = delete;
    TaskPromiseBase& operator=(const TaskPromiseBase&) = delete;

    struct FinalAwaiter {
        [[nodiscard]] bool await_ready() const noexcept { return false; }
        template <class P>
        void await_suspend(std::coroutine_handle<P> h) noexcept {
            TaskHeader& t = h.promise();
            if ((t.state & TaskHeader::kSpawned) != 0) {
                current_scheduler()->on_task_complete(&t);  // may destroy the frame (rule 2)
            } else if ((t.state & TaskHeader::kBranchChild) != 0) {
                auto* slot = static_cast<BranchSlot*>(t.continuation);
                FramePrefix* p = t.prefix();
                if (std::coroutine_handle<> next =
                        slot->sink->branch_done(slot->index, p->failed() ? &p->error_slot() : nullptr)) {
                    transfer_to(next);
                }
            } else if (t.continuation != nullptr) {
                transfer_to(std::coroutine_handle<>::from_address(t.continuation));  // resume.hpp
            }
        }
        void await_resume() const noexcept {}
    };

    std::suspend_always initial_suspend() const noexcept { return {}; }
    FinalAwaiter final_suspend() const noexcept { return {}; }
    // A Task<void>'s exception (Task<T> has its own: the value may be alive).
    void unhandled_exception() noexcept { prefix()->error_slot() = std::current_exception(); }

protected:
    // [result slot | FramePrefix | frame] in one allocation (rule 1); the
    // slot starts out holding a null exception_ptr (rule 7).
    static void* allocate_with_slot(std::size_t n, std::size_t slot) {
        const std::size_t total = slot + sizeof(FramePrefix) + n;
        char* base = static_cast<char*>(frame_allocate(total));
        auto* p = ::new (base + slot) FramePrefix{};
        p->size = static_cast<std::uint32_t>(total);
        p->slot = static_cast<std::uint16_t>(slot);
        ::new (static_cast<void*>(&p->error_slot())) std::exception_ptr();
        return p->frame();
    }
};

// Rethrows the task's exception, if any, marking it observed.
inline void rethrow_task_error(FramePrefix* p) {
    if (p->failed()) {
        p->set(FramePrefix::kErrorObserved);
        std::rethrow_exception(p->error_slot());
    }
}

// Marks the frame gone; true when a JoinHandle still holds the memory (it
// frees it then). On a pool the read-modify-write's old value decides against
// a handle's release on another worker (rule 6).
inline bool frame_gone_keeps_memory(FramePrefix* p) noexcept {
    const std::uint16_t f = p->load();
    if ((f & (FramePrefix::kHandleAlive | FramePrefix::kShared)) == 0) {
        return false;  // an awaited task (the common case): nobody else holds the memory
    }
    if ((f & FramePrefix::kShared) != 0) {
        return (p->set(FramePrefix::kFrameGone) & FramePrefix::kHandleAlive) != 0;
    }
    p->set(FramePrefix::kFrameGone);  // current-thread runtime: the handle frees it
    return true;
}

// Bytes in front of the prefix: room for the value (at the allocation's
// 16-byte aligned start) and the exception_ptr (the last 8 bytes, possibly
// sharing the value's bytes: rule 7), sized so that the frame after the
// 8-byte prefix is 16-byte aligned.
template <class T>
constexpr std::size_t slot_bytes() noexcept {
    constexpr std::size_t e = FramePrefix::kErrorBytes;
    if constexpr (std::is_void_v<T>) {
        return e;
    } else {
        static_assert(alignof(T) <= 16, "weft::Task<T>: T may be aligned to at most 16 bytes");
        const std::size_t value = sizeof(T) > e ? sizeof(T) : e;
        return ((value + sizeof(FramePrefix) + 15) & ~std::size_t{15}) - sizeof(FramePrefix);
    }
}
static_assert(slot_bytes<void>() + sizeof(FramePrefix) == 16);
static_assert(slot_bytes<std::uint64_t>() + sizeof(FramePrefix) == 16);
static_assert(slot_bytes<char[16]>() + sizeof(FramePrefix) == 32);

template <class T>
T* result_slot(FramePrefix* p) noexcept {
    return std::launder(reinterpret_cast<T*>(reinterpret_cast<char*>(p) - slot_bytes<T>()));
}

// Frees a task's allocation (rule 1), destroying a value nobody took or the
// exception_ptr (rule 7).
template <class T>
void free_task_memory(FramePrefix* p) noexcept {
    bool value_alive = false;
    if constexpr (!std::is_void_v<T>) {
        value_alive = p->has(FramePrefix::kHasValue);
        if (value_alive) {
            result_slot<T>(p)->~T();
        }
    }
    if (!value_alive) {
        p->error_slot().~exception_ptr();
    }
    void* base = p->base();
    const std::size_t size = p->size;
    p->~FramePrefix();
    frame_deallocate(base, size);
}

// Takes the finished task's result out of its slot (rethrows its exception).
template <class T>
T take_result(FramePrefix* p) {
    rethrow_task_error(p);
    if constexpr (!std::is_void_v<T>) {
        T* v = result_slot<T>(p);
        T out(std::move(*v));
        v->~T();
        ::new (static_cast<void*>(&p->error_slot())) std::exception_ptr();  // rule 7
        p->clear(FramePrefix::kHasValue);
        return out;
    }
}

// Every Task frame's promise derives from TaskPromiseBase with the header at
// offset 0 and the same alignment, so the frame of any task can be found from
// its header alone (checked in get_return_object).
inline std::coroutine_handle<> TaskHeader::handle() const noexcept {
    auto* base = static_cast<TaskPromiseBase*>(const_cast<TaskHeader*>(this));
    return std::coroutine_handle<TaskPromiseBase>::from_promise(*base);
}

template <class T>
class TaskPromise final : public TaskPromiseBase {
public:
    Task<T> get_return_object() noexcept;

    void return_value(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>) { store(v); }
    void return_value(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) { store(std::move(v)); }
    // The exception, thrown by the body or by a local's destructor after
    // co_return stored the value (which it then replaces: rule 7).
    void unhandled_exception() noexcept {
        FramePrefix* p = prefix();
        if (p->has(FramePrefix::kHasValue)) {
            result_slot<T>(p)->~T();
            ::new (static_cast<void*>(&p->error_slot())) std::exception_ptr(std::current_exception());
            p->clear(FramePrefix::kHasValue);
            return;
        }
        p->error_slot() = std::current_exception();
    }

    T take() { return take_result<T>(prefix()); }

    static void* operator new(std::size_t n) { return allocate_with_slot(n, slot_bytes<T>()); }

private:
    // Replaces the slot's null exception_ptr by the value (rule 7); if the
    // value's constructor throws, the slot gets its null exception_ptr back
    // and unhandled_exception() stores the exception there.
    template <class U>
    void store(U&& v) {
        FramePrefix* p = prefix();
        std::exception_ptr* e = &p->error_slot();
        e->~exception_ptr();
        try {
            ::new (static_cast<void*>(result_slot<T>(p))) T(std::forward<U>(v));
        } catch (...) {
            ::new (static_cast<void*>(e)) std::exception_ptr();
            throw;
        }
        p->set(FramePrefix::kHasValue);
    }

public:
    static void operator delete(void* frame, std::size_t) noexcept {
        FramePrefix* p = FramePrefix::of(frame);
        if (frame_gone_keeps_memory(p)) {
            return;  // the JoinHandle frees it (rules 1 and 6)
        }
        free_task_memory<T>(p);
    }
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
public:
    Task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() { take_result<void>(prefix()); }

    static void* operator new(std::size_t n) { return allocate_with_slot(n, slot_bytes<void>()); }
    static void operator delete(void* frame, std::size_t) noexcept {
        FramePrefix* p = FramePrefix::of(frame);
        if (frame_gone_keeps_memory(p)) {
            return;  // the JoinHandle frees it (rules 1 and 6)
        }
        free_task_memory<void>(p);
    }
};

}  // namespace weft::detail
