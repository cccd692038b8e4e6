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
                if (std::coroutine_handle<> next = slot->sink->branch_done(slot->index, t.prefix()->error)) {
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
    void unhandled_exception() noexcept { prefix()->error = std::current_exception(); }

protected:
    // [result slot | FramePrefix | frame] in one allocation (rule 1).
    static void* allocate_with_slot(std::size_t n, std::size_t slot) {
        const std::size_t total = slot + sizeof(FramePrefix) + n;
        char* base = static_cast<char*>(frame_allocate(total));
        auto* p = ::new (base + slot) FramePrefix{};
        p->size = static_cast<std::uint32_t>(total);
        p->slot = static_cast<std::uint16_t>(slot);
        return p->frame();
    }
};

// Rethrows the task's exception, if any, marking it observed.
inline void rethrow_task_error(FramePrefix* p) {
    if (p->error) {
        p->set(FramePrefix::kErrorObserved);
        std::rethrow_exception(p->error);
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

template <class T>
constexpr std::size_t slot_bytes() noexcept {
    if constexpr (std::is_void_v<T>) {
        return 0;
    } else {
        static_assert(alignof(T) <= 16, "weft::Task<T>: T may be aligned to at most 16 bytes");
        return (sizeof(T) + 15) & ~std::size_t{15};
    }
}

template <class T>
T* result_slot(FramePrefix* p) noexcept {
    return std::launder(reinterpret_cast<T*>(reinterpret_cast<char*>(p) - slot_bytes<T>()));
}

// Frees a task's allocation (rule 1), destroying a value nobody took.
template <class T>
void free_task_memory(FramePrefix* p) noexcept {
    if constexpr (!std::is_void_v<T>) {
        if (p->has(FramePrefix::kHasValue)) {
            result_slot<T>(p)->~T();
        }
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

    void return_value(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>) {
        ::new (static_cast<void*>(result_slot<T>(prefix()))) T(v);
        prefix()->set(FramePrefix::kHasValue);
    }
    void return_value(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) {
        ::new (static_cast<void*>(result_slot<T>(prefix()))) T(std::move(v));
        prefix()->set(FramePrefix::kHasValue);
    }

    T take() { return take_result<T>(prefix()); }

    static void* operator new(std::size_t n) { return allocate_with_slot(n, slot_bytes<T>()); }
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

    static void* operator new(std::size_t n) { return allocate_with_slot(n, 0); }
    static void operator delete(void* frame, std::size_t) noexcept {
        FramePrefix* p = FramePrefix::of(frame);
        if (frame_gone_keeps_memory(p)) {
            return;  // the JoinHandle frees it (rules 1 and 6)
        }
        free_task_memory<void>(p);
    }
};

}  // namespace weft::detail
