// weft::JoinHandle<T>: the owner's view of a spawned task.
#pragma once

#include <coroutine>
#include <mutex>
#include <stdexcept>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/task_promise.hpp"
#include "weft/error.hpp"

namespace weft {

namespace detail {

// Drops a JoinHandle's claim on a task (task_header.hpp, rules 1, 2 and 6).
// A finished task's frame is already gone (or going, on another worker); its
// memory, with the result, goes with whichever of the two is last. A running
// task is detached: it frees itself when it completes.
template <class T>
void release_task(FramePrefix* p) {
    std::uint16_t before = 0;
    std::exception_ptr unobserved;
    if (p->shared()) {
        // Rule 6: the error is read while this handle's kHandleAlive still
        // holds the memory, and counts only if the clear below finds the
        // task completed (else the completion reports it).
        std::uint16_t seen = p->load();
        for (;;) {
            unobserved = nullptr;
            if ((seen & (FramePrefix::kCompleted | FramePrefix::kErrorObserved)) == FramePrefix::kCompleted) {
                unobserved = p->error;  // immutable once kCompleted is set
            }
            if (p->exchange_flags(seen, static_cast<std::uint16_t>(seen & ~FramePrefix::kHandleAlive))) {
                break;
            }
        }
        before = seen;
    } else {
        before = p->clear(FramePrefix::kHandleAlive);
        if ((before & FramePrefix::kCompleted) != 0 && p->error && (before & FramePrefix::kErrorObserved) == 0) {
            unobserved = p->error;
        }
    }
    if ((before & FramePrefix::kFrameGone) != 0) {
        free_task_memory<T>(p);
    }
    if (unobserved) {
        report_detached_error(std::move(unobserved));
    }
}

template <class T>
T take_join_result(std::coroutine_handle<TaskPromise<T>> h) {
    FramePrefix* p = FramePrefix::of(h.address());
    p->set(FramePrefix::kResultTaken);
    if (p->has(FramePrefix::kCancelled)) {
        throw Cancelled();
    }
    return take_result<T>(p);  // the frame is gone already; the result waited in the slot
}

template <class T>
class JoinHandleAwaiter {
public:
    explicit JoinHandleAwaiter(std::coroutine_handle<TaskPromise<T>> h) noexcept : h_(h) {}
    JoinHandleAwaiter(const JoinHandleAwaiter&) = delete;
    JoinHandleAwaiter& operator=(const JoinHandleAwaiter&) = delete;
    ~JoinHandleAwaiter() {
        if (yield_) {
            waiter_.unlink();  // cancelled while yielding for the budget
        }
        if (registered_) {
            unregister();
        }
    }

    bool await_ready() {
        if (!h_) {
            throw std::logic_error(
                "co_await JoinHandle: the handle is empty (moved-from); await the handle that "
                "spawn_task returned");
        }
        const std::uint16_t flags = FramePrefix::of(h_.address())->load();
        if ((flags & FramePrefix::kResultTaken) != 0) {
            throw std::logic_error(
                "co_await JoinHandle: the task's result was already taken by an earlier co_await; "
                "a JoinHandle yields its result once");
        }
        if ((flags & FramePrefix::kFinished) == 0) {
            return false;
        }
        if (budget_spent()) {
            yield_ = true;  // coop budget (task_header.hpp): yield once, then take the result
            return false;
        }
        spend_budget();
        return true;
    }
    bool await_suspend(std::coroutine_handle<> caller) {
        if (yield_) {
            waiter_.task = current_task();
            waiter_.set_handle(caller);
            current_scheduler()->wake(&waiter_);
            return true;
        }
        FramePrefix* p = FramePrefix::of(h_.address());
        std::unique_lock<std::mutex> lock;
        if (p->shared()) {
            // Pool (task_header.hpp rule 6): registration and completion
            // agree under the stripe lock.
            lock = std::unique_lock<std::mutex>(task_lock(p));
            if (p->has(FramePrefix::kFinished)) {
                return false;  // finished meanwhile: take the result now
            }
        }
        TaskHeader& t = h_.promise();
        if (t.join_waiter != nullptr) {
            throw std::logic_error(
                "co_await JoinHandle: the handle is already being awaited elsewhere; only one "
                "coroutine may await a JoinHandle at a time");
        }
        waiter_.arm(caller);
        t.join_waiter = &waiter_;
        if (lock.owns_lock() && (p->set(FramePrefix::kJoinWaiting) & FramePrefix::kFinished) != 0) {
            // Finished between the check and the flag, without seeing the
            // flag (so without the lock): nobody will wake this waiter.
            t.join_waiter = nullptr;
            p->clear(FramePrefix::kJoinWaiting);
            return false;
        }
        registered_ = true;
        return true;
    }
    T await_resume() {
        registered_ = false;
        yield_ = false;
        return take_join_result(h_);
    }

private:
    void unregister() noexcept {
        FramePrefix* p = FramePrefix::of(h_.address());
        if (!p->shared()) {
            if ((p->load() & FramePrefix::kFinished) == 0) {
                h_.promise().join_waiter = nullptr;
            }
            waiter_.unlink();
            return;
        }
        std::lock_guard<std::mutex> lock(task_lock(p));
        if (h_.promise().join_waiter == &waiter_) {
            h_.promise().join_waiter = nullptr;  // still waiting: withdraw
            p->clear(FramePrefix::kJoinWaiting);
        } else {
            waiter_.cancel_delivered_wake();  // woken (maybe through this worker's inbox) but not resumed
        }
    }

    std::coroutine_handle<TaskPromise<T>> h_;
    RemoteWaiter waiter_;
    bool registered_ = false;
    bool yield_ = false;
};

}  // namespace detail

/// The handle `spawn_task` returns: the way to wait for a spawned task, get
/// its result and cancel it. `co_await handle` (lvalue or rvalue) completes
/// when the task has finished and yields its `T`, rethrows the exception the
/// task threw, or throws `weft::Cancelled` if the task was aborted or
/// destroyed by runtime shutdown; the result can be taken once (a second
/// `co_await` throws `std::logic_error`, as does awaiting a moved-from
/// handle). Cancel safety: an awaiter destroyed while waiting unregisters
/// itself; the task and its result are untouched and the handle can be awaited
/// again. Destroying the handle detaches the task: it keeps running, and an
/// exception it throws goes to `Runtime::Options::on_unhandled_exception`.
/// Move-only. Use it from one task at a time; on a pool runtime that task may
/// run on any worker (awaiting, aborting and dropping race safely with the
/// task's completion on another worker).
template <class T>
class [[nodiscard]] JoinHandle {
public:
    using handle_type = std::coroutine_handle<detail::TaskPromise<T>>;

    /// An empty handle (as if moved-from).
    JoinHandle() noexcept = default;
    explicit JoinHandle(handle_type h) noexcept : h_(h) {}
    JoinHandle(JoinHandle&& o) noexcept : h_(std::exchange(o.h_, {})) {}
    JoinHandle& operator=(JoinHandle&& o) noexcept {
        if (this != &o) {
            reset();
            h_ = std::exchange(o.h_, {});
        }
        return *this;
    }
    JoinHandle(const JoinHandle&) = delete;
    JoinHandle& operator=(const JoinHandle&) = delete;
    /// Detaches the task (see the class comment).
    ~JoinHandle() { reset(); }

    /// True when the handle refers to a task (it is not moved-from).
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }

    /// True once the task has completed (returned or thrown) or was cancelled.
    /// Never blocks. Throws std::logic_error on a moved-from handle.
    [[nodiscard]] bool is_finished() const {
        return prefix("JoinHandle::is_finished")->has(detail::FramePrefix::kFinished);
    }

    /// Cancels the task: it is destroyed at its current suspension point on
    /// its runtime's next turn (the destructors of its locals run), and an
    /// awaiter of this handle then gets `weft::Cancelled`. Does nothing if the
    /// task already finished. Returns at once. Throws std::logic_error on a
    /// moved-from handle or when called outside the task's runtime.
    void abort() {
        detail::FramePrefix* p = prefix("JoinHandle::abort");
        if (p->has(detail::FramePrefix::kFinished)) {
            return;
        }
        detail::require_scheduler("JoinHandle::abort").abort_task(&h_.promise());
    }

    /// Waits for the task; see the class comment.
    [[nodiscard]] detail::JoinHandleAwaiter<T> operator co_await() & noexcept {
        return detail::JoinHandleAwaiter<T>(h_);
    }
    [[nodiscard]] detail::JoinHandleAwaiter<T> operator co_await() && noexcept {
        return detail::JoinHandleAwaiter<T>(h_);
    }

private:
    detail::FramePrefix* prefix(const char* what) const {
        if (!h_) {
            throw std::logic_error(std::string(what) +
                                   ": the handle is empty (moved-from); use the handle that spawn_task "
                                   "returned");
        }
        return detail::FramePrefix::of(h_.address());
    }
    void reset() {
        if (h_) {
            auto h = std::exchange(h_, {});
            detail::release_task<T>(detail::FramePrefix::of(h.address()));
        }
    }

    handle_type h_;
};

}  // namespace weft
