// Promise of weft::Task<T>: the frame prefix allocation, the final step that
// either hands control back to the awaiting coroutine (symmetric transfer) or
// completes a spawned task, and the result slot.
#pragma once

#include <coroutine>
#include <cstddef>
#include <exception>
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
                if (std::coroutine_handle<> next = slot->sink->branch_done(slot->index, t.error)) {
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
    void unhandled_exception() noexcept { error = std::current_exception(); }

    // The frame is preceded by a FramePrefix (rule 1).
    static void* operator new(std::size_t n) {
        const std::size_t total = n + sizeof(FramePrefix);
        auto* p = ::new (frame_allocate(total)) FramePrefix{};
        p->size = static_cast<std::uint32_t>(total);
        return p->frame();
    }
    static void operator delete(void* frame, std::size_t) noexcept {
        FramePrefix* p = FramePrefix::of(frame);
        if ((p->flags & FramePrefix::kHandleAlive) != 0) {
            p->flags |= FramePrefix::kFrameGone;  // the JoinHandle frees it (rule 1)
            return;
        }
        free_frame_memory(p);
    }

    void rethrow_if_error() {
        if (error) {
            state |= kErrorObserved;
            std::rethrow_exception(error);
        }
    }
};

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
    TaskPromise() noexcept {}  // NOLINT(modernize-use-equals-default): value_ stays unconstructed
    ~TaskPromise() {
        if ((state & kHasValue) != 0) {
            value_.~T();
        }
    }

    Task<T> get_return_object() noexcept;

    void return_value(const T& v) noexcept(std::is_nothrow_copy_constructible_v<T>) {
        ::new (static_cast<void*>(&value_)) T(v);
        state = static_cast<std::uint8_t>(state | kHasValue);
    }
    void return_value(T&& v) noexcept(std::is_nothrow_move_constructible_v<T>) {
        ::new (static_cast<void*>(&value_)) T(std::move(v));
        state = static_cast<std::uint8_t>(state | kHasValue);
    }

    T take() {
        rethrow_if_error();
        return std::move(value_);
    }

private:
    union {
        T value_;
    };
};

template <>
class TaskPromise<void> final : public TaskPromiseBase {
public:
    Task<void> get_return_object() noexcept;
    void return_void() noexcept {}
    void take() { rethrow_if_error(); }
};

}  // namespace weft::detail
