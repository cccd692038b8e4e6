// spawn_blocking: blocking work on threads of its own.
#pragma once

#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>

#include "weft/detail/blocking_pool.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/join_handle.hpp"
#include "weft/oneshot.hpp"
#include "weft/spawn.hpp"
#include "weft/task.hpp"

namespace weft {

namespace detail {

// What a blocking job produced: its value (std::monostate for void) or its
// exception.
template <class R>
using BlockingOutcome = std::variant<std::conditional_t<std::is_void_v<R>, std::monostate, R>, std::exception_ptr>;

template <class F, class R>
class BlockingCall final : public BlockingJob {
public:
    BlockingCall(Scheduler& s, F f, OneshotSender<BlockingOutcome<R>> tx)
        : sched_(&s), f_(std::move(f)), tx_(std::move(tx)) {
        sched_->blocking_job_started();
    }
    BlockingCall(const BlockingCall&) = delete;
    BlockingCall& operator=(const BlockingCall&) = delete;
    // Run or discarded: the runtime stops waiting for this job (the result,
    // if any, was sent first). The scheduler outlives its pool (pool rule 1).
    ~BlockingCall() override {
        tx_ = OneshotSender<BlockingOutcome<R>>(nullptr);
        sched_->blocking_job_finished();
    }

    void run() noexcept override {
        if (tx_.is_closed()) {
            return;  // aborted before it started: nobody wants the result
        }
        std::exception_ptr error;
        // spawn_task inside the job spawns onto this job's runtime.
        struct SpawnTarget {
            explicit SpawnTarget(Scheduler* s) noexcept { tls_spawn_target = s; }
            SpawnTarget(const SpawnTarget&) = delete;
            SpawnTarget& operator=(const SpawnTarget&) = delete;
            ~SpawnTarget() { tls_spawn_target = nullptr; }
        } target(sched_);
        try {
            if constexpr (std::is_void_v<R>) {
                std::invoke(f_);
                (void)tx_.send(BlockingOutcome<R>(std::in_place_index<0>));
            } else {
                (void)tx_.send(BlockingOutcome<R>(std::in_place_index<0>, std::invoke(f_)));
            }
            return;
        } catch (...) {
            error = std::current_exception();
        }
        // Sent after the handler ended, so that this thread has dropped every
        // reference to the exception object before the channel's lock hands
        // it over (the last owner, on the runtime's thread, frees it).
        if (tx_.valid()) {
            (void)tx_.send(BlockingOutcome<R>(std::in_place_index<1>, std::move(error)));
        }
    }

private:
    Scheduler* sched_;
    F f_;
    OneshotSender<BlockingOutcome<R>> tx_;
};

template <class R>
Task<R> await_blocking(OneshotReceiver<BlockingOutcome<R>> rx) {
    std::optional<BlockingOutcome<R>> out = co_await rx;
    if (!out) {
        throw std::runtime_error(
            "weft::spawn_blocking: the job was discarded before it ran (its runtime was destroyed)");
    }
    if (out->index() == 1) {
        std::rethrow_exception(std::get<1>(*out));
    }
    if constexpr (!std::is_void_v<R>) {
        co_return std::move(std::get<0>(*out));
    }
}

}  // namespace detail

/// Runs `f()` (a callable that may block: file reads, a blocking library,
/// CPU-heavy work) on the runtime's blocking pool, a set of threads separate
/// from the runtime's own, and returns at once a `JoinHandle` for its result:
/// `co_await` it for the value, or the exception `f` threw. The pool has at
/// most `Runtime::Options::max_blocking_threads` threads (64 by default); jobs
/// beyond that wait in a FIFO queue. `abort()` on the handle discards a job
/// that has not started; a job already running cannot be interrupted (it
/// runs to the end and its result is dropped). Destroying the runtime waits
/// for running jobs. Throws std::logic_error outside a runtime and
/// std::system_error when no pool thread can be started. `f` is moved to
/// the pool thread: it must not refer to locals that may die first.
template <class F>
requires std::invocable < std::decay_t<F>
& > [[nodiscard]] auto spawn_blocking(F&& f) -> JoinHandle<std::invoke_result_t<std::decay_t<F>&>> {
    using R = std::invoke_result_t<std::decay_t<F>&>;
    detail::Scheduler& s = detail::require_scheduler("weft::spawn_blocking");
    auto [tx, rx] = oneshot<detail::BlockingOutcome<R>>();
    Task<R> waiter = detail::await_blocking<R>(std::move(rx));
    s.blocking_pool().submit(
        std::make_unique<detail::BlockingCall<std::decay_t<F>, R>>(s, std::forward<F>(f), std::move(tx)));
    return spawn_task(std::move(waiter));
}

}  // namespace weft
