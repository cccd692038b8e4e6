// spawn_task and async_move: starting tasks and owning their captures.
#pragma once

#include <concepts>
#include <functional>
#include <type_traits>
#include <utility>

#include "weft/detail/scheduler.hpp"
#include "weft/join_handle.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

template <class F>
using task_of_t = std::invoke_result_t<std::decay_t<F>&>;

template <class F>
concept TaskFactory = std::invocable < std::decay_t<F>
& > &&is_task<task_of_t<F>>::value;

// The callable moves from the parameter (which lives as long as the frame)
// into a local of the body, so that its captures are destroyed when the task
// completes, as an async block's are: a Sender moved in closes its channel
// then, even while a JoinHandle keeps the finished frame.
template <class F, class T>
Task<T> own_and_run(F f) {
    F owned(std::move(f));
    co_return co_await std::invoke(owned);
}

template <class F>
Task<void> own_and_run_void(F f) {
    F owned(std::move(f));
    co_await std::invoke(owned);
}

}  // namespace detail

/// Starts `task` on the current runtime and returns at once; the task runs
/// concurrently with its spawner: on the spawner's thread, in FIFO order with
/// the other ready tasks (current-thread runtime), or on whichever worker
/// takes it first (pool runtime). Inside a `spawn_blocking` job it spawns
/// onto the job's runtime (the task starts on that runtime's next turn). The
/// returned handle joins or aborts it; dropping the handle detaches the task.
/// Throws std::logic_error (naming spawn_task) when called outside a runtime
/// (and outside a blocking job) or with an empty task. Thread-safe in the
/// sense above: call it from a runtime's task or from a blocking job.
template <class T>
JoinHandle<T> spawn_task(Task<T> task) {
    if (detail::tls_context.scheduler == nullptr && detail::tls_spawn_target != nullptr) {
        // Inside a spawn_blocking job: onto the job's runtime.
        auto h = detail::TaskAccess::release(task, "weft::spawn_task");
        detail::FramePrefix::of(h.address())->set(detail::FramePrefix::kHandleAlive);
        detail::tls_spawn_target->spawn_from_outside(&h.promise());
        return JoinHandle<T>(h);
    }
    detail::Scheduler& s = detail::require_scheduler("weft::spawn_task");
    auto h = detail::TaskAccess::release(task, "weft::spawn_task");
    detail::FramePrefix::of(h.address())->set(detail::FramePrefix::kHandleAlive);
    s.add_task(&h.promise());
    return JoinHandle<T>(h);
}

/// Starts `task` on the calling thread's worker and returns at once: the
/// task never runs on another thread (it is not stealable), so it shares that
/// thread with its spawner and with every other task spawned locally there —
/// for tasks that must run in a defined order with each other, or that share
/// a `Receiver`, a stream or another object that is not thread-safe. It is
/// queued behind the worker's ready tasks (FIFO), exactly as `spawn_task` on
/// a current-thread runtime, where the two are the same. The handle works as
/// `spawn_task`'s, from any thread. Throws std::logic_error (naming
/// spawn_local) when not called from a task on a runtime's thread (a
/// `spawn_blocking` job has no worker: use `spawn_task` there) or with an
/// empty task.
template <class T>
JoinHandle<T> spawn_local(Task<T> task) {
    detail::Scheduler& s = detail::require_scheduler("weft::spawn_local");
    auto h = detail::TaskAccess::release(task, "weft::spawn_local");
    detail::FramePrefix::of(h.address())->set(detail::FramePrefix::kHandleAlive);
    s.add_local_task(&h.promise());
    return JoinHandle<T>(h);
}

/// The `async move { ... }` block: takes ownership of `f`, a callable
/// returning `Task<T>` (typically a lambda with captures), and returns a lazy
/// Task that calls it and awaits the result. The callable, and so every
/// capture, lives until that task ends, so captures never dangle; moving a
/// `Sender` into it closes the channel when the task ends. Throws whatever
/// moving `f` throws.
template <class F>
requires detail::TaskFactory<F>
auto async_move(F&& f) -> detail::task_of_t<F> {
    using T = typename detail::task_of_t<F>::value_type;
    if constexpr (std::is_void_v<T>) {
        return detail::own_and_run_void<std::decay_t<F>>(std::forward<F>(f));
    } else {
        return detail::own_and_run<std::decay_t<F>, T>(std::forward<F>(f));
    }
}

/// Spawns the task that the callable `f` returns, keeping `f` (its
/// captures) alive until that task ends: `spawn_task([x] -> Task<int> {...})`
/// is safe. Otherwise as `spawn_task(Task<T>)`.
template <class F>
requires detail::TaskFactory<F>
auto spawn_task(F&& f) {
    if (detail::tls_spawn_target == nullptr) {
        detail::require_scheduler("weft::spawn_task");
    }
    return spawn_task(async_move(std::forward<F>(f)));
}

/// Spawns locally (see `spawn_local(Task<T>)`) the task that the callable
/// `f` returns, keeping `f` (its captures) alive until that task ends.
template <class F>
requires detail::TaskFactory<F>
auto spawn_local(F&& f) {
    detail::require_scheduler("weft::spawn_local");
    return spawn_local(async_move(std::forward<F>(f)));
}

}  // namespace weft
