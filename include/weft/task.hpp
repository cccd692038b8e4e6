// weft::Task<T>: the lazy coroutine type every weft program is made of.
#pragma once

#include <cassert>
#include <coroutine>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

#include "weft/detail/resume.hpp"
#include "weft/detail/task_promise.hpp"

namespace weft {

namespace detail {
struct TaskAccess;
template <class T>
class TaskAwaiter;
}  // namespace detail

/// A lazy coroutine producing a `T` (or nothing, for `Task<void>`). Nothing
/// runs until the task is awaited (`co_await task`, on an lvalue or an
/// rvalue), spawned with `spawn_task`, or passed to `block_on`; it then runs
/// once, on the awaiting task, and `co_await` yields its value or rethrows its
/// exception. Awaiting uses symmetric transfer, so arbitrarily deep chains of
/// awaits do not grow the stack (on every compiler and optimisation level). Move-only; destroying a task that never ran
/// frees it without running it. Awaiting a moved-from or already-awaited task
/// throws `std::logic_error`. Cancel safety: if the awaiting coroutine is
/// destroyed while the task runs (a lost `select`, an aborted task, runtime
/// shutdown), the task is destroyed at its suspension point and cannot be
/// awaited again. Not thread-safe: a task runs on one runtime thread at a time.
template <class T = void>
class [[nodiscard]] Task {
public:
    using promise_type = detail::TaskPromise<T>;
    using value_type = T;
    using handle_type = std::coroutine_handle<promise_type>;

    /// An empty task (as if moved-from).
    Task() noexcept = default;
    Task(Task&& other) noexcept : h_(std::exchange(other.h_, {})) {}
    Task& operator=(Task&& other) noexcept {
        if (this != &other) {
            reset();
            h_ = std::exchange(other.h_, {});
        }
        return *this;
    }
    Task(const Task&) = delete;
    Task& operator=(const Task&) = delete;
    ~Task() { reset(); }

    /// True when the task holds a coroutine that has not been consumed.
    [[nodiscard]] bool valid() const noexcept { return static_cast<bool>(h_); }
    explicit operator bool() const noexcept { return valid(); }

    /// Runs the task on the awaiting coroutine and yields its result.
    [[nodiscard]] detail::TaskAwaiter<T> operator co_await() & noexcept;
    [[nodiscard]] detail::TaskAwaiter<T> operator co_await() && noexcept;

private:
    friend class detail::TaskPromise<T>;
    friend struct detail::TaskAccess;
    friend class detail::TaskAwaiter<T>;

    explicit Task(handle_type h) noexcept : h_(h) {}
    void reset() noexcept {
        if (h_) {
            std::exchange(h_, {}).destroy();
        }
    }

    handle_type h_;
};

namespace detail {

template <class X>
struct is_task : std::false_type {};
template <class T>
struct is_task<Task<T>> : std::true_type {};

struct TaskAccess {
    // The coroutine of `t`; throws std::logic_error naming `what` when the
    // task is empty.
    template <class T>
    static typename Task<T>::handle_type handle(Task<T>& t, const char* what) {
        if (!t.h_) {
            throw std::logic_error(std::string(what) +
                                   ": the Task is empty (moved-from, or already awaited or spawned); "
                                   "a Task runs once: create a new one by calling the coroutine again");
        }
        return t.h_;
    }
    // Takes the coroutine out of `t` (see handle()).
    template <class T>
    static typename Task<T>::handle_type release(Task<T>& t, const char* what) {
        handle(t, what);
        return std::exchange(t.h_, {});
    }
    // Destroys `t`'s coroutine, finished or not; `t` becomes empty.
    template <class T>
    static void reset(Task<T>& t) noexcept {
        t.reset();
    }
    // The finished task's result (rethrows its exception); `t` becomes empty.
    template <class T>
    static T take(Task<T>& t) {
        struct Reset {
            Task<T>* t;
            ~Reset() { t->reset(); }
        } reset{&t};
        return t.h_.promise().take();
    }
};

template <class T>
class TaskAwaiter {
public:
    explicit TaskAwaiter(Task<T>& t) noexcept : task_(&t) {}
    TaskAwaiter(const TaskAwaiter&) = delete;
    TaskAwaiter& operator=(const TaskAwaiter&) = delete;
    ~TaskAwaiter() {
        if (started_ && task_->h_) {
            task_->reset();  // cancelled while the task was running: destroy it there
        }
    }

    bool await_ready() const {
        if (!task_->h_) {
            throw std::logic_error(
                "co_await Task: the Task is empty (moved-from, or already awaited or spawned); a Task runs "
                "once: create a new one by calling the coroutine again");
        }
        return false;
    }
    void await_suspend(std::coroutine_handle<> caller) noexcept {
        task_->h_.promise().continuation = caller.address();
        started_ = true;
        detail::transfer_to(task_->h_);
    }
    T await_resume() {
        started_ = false;
        struct Release {
            Task<T>* t;
            ~Release() { t->reset(); }
        } release{task_};
        return task_->h_.promise().take();
    }

private:
    Task<T>* task_;
    bool started_ = false;
};

template <class T>
Task<T> TaskPromise<T>::get_return_object() noexcept {
    auto h = std::coroutine_handle<TaskPromise<T>>::from_promise(*this);
    assert(h.address() == handle().address() && "TaskHeader::handle() must find this frame");
    return Task<T>(h);
}

inline Task<void> TaskPromise<void>::get_return_object() noexcept {
    auto h = std::coroutine_handle<TaskPromise<void>>::from_promise(*this);
    assert(h.address() == handle().address() && "TaskHeader::handle() must find this frame");
    return Task<void>(h);
}

}  // namespace detail

template <class T>
detail::TaskAwaiter<T> Task<T>::operator co_await() & noexcept {
    return detail::TaskAwaiter<T>(*this);
}
template <class T>
detail::TaskAwaiter<T> Task<T>::operator co_await() && noexcept {
    return detail::TaskAwaiter<T>(*this);
}

}  // namespace weft
