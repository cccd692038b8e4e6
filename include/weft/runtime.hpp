// weft::Runtime and block_on: where tasks run.
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <memory>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "weft/detail/pool.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/join_handle.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

/// An executor of tasks with its timers and clock, its I/O reactor (created
/// with its first socket) and its blocking pool (started by the first
/// `spawn_blocking`). `Runtime()` is a current-thread runtime: every task
/// runs on the thread that calls `block_on`, one at a time, in a
/// deterministic FIFO order. With `Options::worker_threads = n` (1 to 1,024)
/// it is a pool runtime: `block_on` starts n worker threads, runs the main
/// task and every spawned task on them (a task runs on the worker that
/// started it; idle workers steal tasks that have not started yet), and joins
/// the threads before it returns; the calling thread only waits. A Runtime is
/// not thread-safe: use it from one thread; `block_on` may be called again
/// after it returns.
class Runtime {
public:
    /// How to build a runtime: `Runtime(Runtime::Options{.worker_threads = 0,
    /// .paused_clock = true})`. Every member has a default; g++ 12 still warns
    /// (-Wmissing-field-initializers) when a designated initializer omits one.
    struct Options {
        /// 0 (the default): run every task on the thread that calls
        /// `block_on`. 1 to 1,024: a pool of that many worker threads that
        /// share the tasks (work stealing; see docs/runtime.md). More than
        /// 1,024: the constructor throws std::invalid_argument.
        std::size_t worker_threads = 0;
        /// Virtual time: whenever no task can run, the clock jumps to the next
        /// timer, so a program that sleeps 10 s finishes at once with the same
        /// output. `weft::now()` reads the virtual clock.
        bool paused_clock = false;
        /// Receives every exception that escapes a task nobody will join (its
        /// JoinHandle was destroyed), on the runtime's thread (on a pool, on
        /// a worker, one call at a time), between task turns. The default
        /// prints the exception's what() to stderr and lets the runtime go
        /// on. If the handler throws, `block_on` ends (after shutting down
        /// every task) with that exception.
        std::function<void(std::exception_ptr)> on_unhandled_exception;
        /// The most threads `spawn_blocking` may use at once (at least 1);
        /// more jobs wait in its queue. Threads start on demand and exit
        /// after 10 s idle.
        std::size_t max_blocking_threads = 64;
    };

    /// A current-thread runtime with the real clock.
    Runtime() : Runtime(Options{}) {}
    /// A runtime built from `options`; throws std::invalid_argument for
    /// `worker_threads` above 1,024 (naming the limit) and for
    /// `max_blocking_threads == 0`. Starts no thread: a pool runtime's
    /// workers run during `block_on`.
    explicit Runtime(Options options);
    Runtime(const Runtime&) = delete;
    Runtime& operator=(const Runtime&) = delete;

    /// Runs `task` as the main task until it completes, running every task
    /// it spawns meanwhile, and returns its value (rethrows its exception).
    /// When it returns, every task still pending is destroyed at its
    /// suspension point (the destructors of its locals run): tasks are
    /// terminated when the runtime shuts down. Throws std::logic_error for an
    /// empty task, when called from inside a running runtime (which it would
    /// block), and when every task is stuck waiting with no timer armed
    /// (a deadlock). Blocks the calling thread. On a pool runtime the main
    /// task runs on a worker (the calling thread waits), and a worker thread
    /// that fails to start makes it throw std::system_error naming the
    /// worker, after every started worker stopped: nothing is left running.
    template <class T>
    T block_on(Task<T> task);

    /// Calls `f` (a callable returning `Task<T>`, such as a lambda with
    /// captures) and runs the task as above; `f` is kept alive until the task
    /// ends, so captures never dangle.
    template <class F>
    requires detail::TaskFactory<F>
    auto block_on(F&& f) {
        std::decay_t<F> fn(std::forward<F>(f));
        return block_on(std::invoke(fn));
    }

    /// Destroys every task still pending, waits for the `spawn_blocking`
    /// jobs that are running (queued ones are discarded) and joins the
    /// blocking pool's threads. A job that never returns blocks this.
    ~Runtime();

    /// Timers armed right now (diagnostics: after block_on returns this is 0).
    /// Never throws; callable from any thread. On a pool runtime it sums every
    /// worker's count, reading counters the workers write on each timer they
    /// arm or cancel: fine for checks and logs, costly in a hot loop that runs
    /// on several workers at once (each call pulls the others' cache lines).
    [[nodiscard]] std::size_t armed_timers() const noexcept {
        return pool_ ? pool_->armed_timers() : sched_->armed_timers();
    }
    /// True when this runtime uses the paused (virtual) clock.
    [[nodiscard]] bool paused_clock() const noexcept { return pool_ ? pool_->paused_clock() : sched_->paused_clock(); }
    /// The number of worker threads (0 for a current-thread runtime).
    [[nodiscard]] std::size_t worker_threads() const noexcept { return pool_ ? pool_->size() : 0; }

private:
    struct ShutdownOnExit {
        detail::Scheduler& s;
        ~ShutdownOnExit() { s.shutdown(); }
    };

    template <class T>
    T block_on_pool(Task<T> task);

    std::unique_ptr<detail::Scheduler> sched_;  // current-thread runtime
    std::unique_ptr<detail::Pool> pool_;        // pool runtime
};

template <class T>
T Runtime::block_on_pool(Task<T> task) {
    if (detail::current_scheduler() != nullptr) {
        detail::throw_nested_block_on("weft::block_on");  // a worker would wait for itself
    }
    auto h = detail::TaskAccess::release(task, "weft::block_on");
    detail::FramePrefix::of(h.address())->set(detail::FramePrefix::kHandleAlive);
    JoinHandle<T> main(h);  // owns the main task from here on
    pool_->run(&h.promise());
    return detail::take_join_result(h);
}

template <class T>
T Runtime::block_on(Task<T> task) {
    if (pool_) {
        return block_on_pool(std::move(task));
    }
    detail::EnterGuard enter(*sched_, "weft::block_on");
    auto h = detail::TaskAccess::release(task, "weft::block_on");
    detail::FramePrefix::of(h.address())->set(detail::FramePrefix::kHandleAlive);
    JoinHandle<T> main(h);  // owns the main task from here on
    {
        ShutdownOnExit shutdown_on_exit{*sched_};
        sched_->add_task(&h.promise());
        sched_->run(&h.promise());
    }
    return detail::take_join_result(h);
}

/// Runs `task` on a fresh current-thread runtime (`Runtime().block_on(task)`):
/// returns its value or rethrows its exception; every task still pending
/// when it completes is destroyed. See `Runtime::block_on`.
template <class T>
T block_on(Task<T> task) {
    Runtime rt;
    return rt.block_on(std::move(task));
}

/// Calls `f` and runs the task it returns on a fresh current-thread runtime,
/// keeping `f` alive until the task ends. See `Runtime::block_on`.
template <class F>
requires detail::TaskFactory<F>
auto block_on(F&& f) {
    Runtime rt;
    return rt.block_on(std::forward<F>(f));
}

}  // namespace weft
