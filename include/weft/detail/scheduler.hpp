// The current-thread scheduler: run queue, task registry, timers, clock.
//
// Pieces and ownership (see task_header.hpp for the numbered rules)
//   handoff_     the hand-off slot (rule 7): the one task woken while the run
//                queue was empty, ahead of the queue's later entries.
//   run_queue_   tasks with work to do, FIFO. A task is in it at most once
//                (kScheduled); it is taken out before it runs, so wakes during
//                its turn queue it again at the back.
//   tasks_       every spawned task whose frame is alive and not completed:
//                what shutdown() cancels.
//   timers_      the timing wheel; its entries live in sleeping frames.
//   inbox_       waiters woken from other threads (wake_remote), moved to
//                their tasks' ready lists by the runtime thread; guarded by
//                remote_mu_, with remote_cv_ to wake a parked runtime. A
//                waiter without a task is a callback (a channel's poke,
//                posted through the RemoteEndpoint) and runs as it is
//                drained, between task turns.
//   unhandled_   exceptions of detached tasks, reported between turns so that
//                a throwing on_unhandled_exception handler surfaces from
//                block_on instead of from inside a coroutine's final step.
//
// A task's turn: if it never ran, resume its root frame; otherwise take the
// waiters woken so far (its ready list) and resume each in wake order. A
// waiter woken during the turn waits for the task's next turn, which is what
// makes yield_now() fair. Every 61 turns the timers are polled so that busy
// tasks cannot starve sleeping ones.
//
// Clock: real (steady_clock) or paused (virtual: when nothing can run, time
// jumps to the next timer's tick).
//
// Idle: with nothing to run, the runtime fires due timers; otherwise it parks
// on remote_cv_ (or, once a socket exists, in epoll_wait: reactor.hpp) until
// the next timer or a remote wake. Sockets are polled without waiting every
// 61 turns, with the timers, and whenever the run queue empties. With no timer armed and
// no wait that another thread could complete (external waits, e.g. a channel
// receive), nothing can ever wake the main task: block_on reports a deadlock.
#pragma once

#include <time.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <vector>

#include "weft/detail/deadline_clock.hpp"
#include "weft/detail/task_header.hpp"
#include "weft/detail/timer_wheel.hpp"

namespace weft::detail {

class BlockingPool;
class Pool;
class Reactor;
class Scheduler;

// A runtime's address for other threads that may outlive it: a channel keeps
// one (counted) to post "this channel has values for your receiver" from any
// thread, even after the runtime is gone (the post is then dropped). The
// scheduler clears `owner` under `mu` before it dies.
struct RemoteEndpoint {
    std::mutex mu;
    Scheduler* owner = nullptr;  // guarded by mu
    std::atomic<std::size_t> refs{1};

    void retain() noexcept {
        // relaxed: a new reference is made from an existing one.
        refs.fetch_add(1, std::memory_order_relaxed);
    }
    void release() noexcept {
        // acq_rel: the last owner sees every other owner's writes before deleting.
        if (refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
            delete this;
        }
    }
    // Hands `w` (a callback waiter without a task) to the owner's inbox;
    // false when the runtime is gone. Thread-safe.
    bool post(Waiter* w);
};

// A waiter that remembers its scheduler, so that other threads can wake it
// (channels, oneshot, JoinHandle on a pool runtime).
struct RemoteWaiter : Waiter {
    Scheduler* sched = nullptr;

    void arm(std::coroutine_handle<> h) noexcept {
        task = current_task();
        set_handle(h);
        sched = current_scheduler();
    }
    // Wakes this waiter from any thread: directly on its scheduler's thread,
    // through its remote inbox from elsewhere. A caller off that thread holds
    // the lock of the primitive the waiter is registered with (see
    // Scheduler::wake_remote).
    inline void wake_from_anywhere();
    // Undoes a wake that was delivered but not yet run (the awaiter is being
    // destroyed on its scheduler's thread).
    inline void cancel_delivered_wake() noexcept;
};

struct SchedulerConfig {
    bool paused_clock = false;
    std::function<void(std::exception_ptr)> on_unhandled_exception;
    std::size_t max_blocking_threads = 64;
};

class Scheduler {
public:
    using clock = std::chrono::steady_clock;

    explicit Scheduler(SchedulerConfig cfg);
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;
    ~Scheduler();

    // ---- clock
    [[nodiscard]] clock::time_point now() const noexcept {
        return paused_ ? origin_ + std::chrono::nanoseconds(virtual_ns_) : real_now();
    }
    // steady_clock::now() without the library hop: on Linux steady_clock is
    // CLOCK_MONOTONIC, read here straight from the vDSO.
    static clock::time_point real_now() noexcept {
        timespec ts{};
        ::clock_gettime(CLOCK_MONOTONIC, &ts);
        return clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
    }
    // Where a deadline (`sleep(d)`, `timeout`) starts: now(), or on the real
    // clock an estimate that is never behind it (deadline_clock.hpp).
    [[nodiscard]] clock::time_point deadline_base() noexcept {
        if (paused_) {
            return origin_ + std::chrono::nanoseconds(virtual_ns_);
        }
        return clock::time_point(std::chrono::nanoseconds(deadline_clock_.now_ns()));
    }
    [[nodiscard]] std::int64_t to_wheel_ns(clock::time_point t) const noexcept {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(t - origin_).count();
    }
    [[nodiscard]] bool paused_clock() const noexcept { return paused_; }

    // ---- timers
    void arm(TimerEntry* e) noexcept { timers_.insert(e); }
    // True when a timer with this deadline would fire at once: its tick was
    // already processed (for the paused clock: it is not after virtual now).
    [[nodiscard]] bool expired(std::int64_t deadline_ns) const noexcept {
        return TimerWheel::tick_of(deadline_ns) <= timers_.elapsed() || (paused_ && deadline_ns <= virtual_ns_);
    }
    void disarm(TimerEntry* e) noexcept { timers_.remove(e); }
    [[nodiscard]] std::size_t armed_timers() const noexcept { return timers_.size(); }

    // ---- tasks
    // Queues `w` on its task's ready list and the task on the run queue; or,
    // when the run queue is empty and the task not queued, puts both in the
    // hand-off slot (rule 7). Out of line: inlined into every channel send
    // it was no faster (ping_pong 31.9 against 31.7 ns in alternating runs)
    // and its branches moved the senders' code layout.
    [[gnu::noinline]] void wake(Waiter* w) noexcept { wake_known(w, w->task, w->target()); }
    // wake() with the waiter's task and target() passed in: a caller that
    // kept copies of them (a channel's registration) saves the wake from
    // loading them out of the waiter, which was written a moment ago.
    [[gnu::noinline]] void wake_known(Waiter* w, TaskHeader* t, std::uintptr_t target) noexcept {
        if ((t->state & TaskHeader::kDying) != 0 || shutting_down_) {
            return;  // rule 4
        }
        queue_woken(t, w, target);
    }
    // wake() for a waiter of the task that is running now (yield_now): that
    // task is not dying and the scheduler is not shutting down (both only
    // destroy tasks, they never run one), so neither needs checking. Always
    // the run queue, behind the slot's task (rule 7): a yielding task is
    // never alone, so a slot here would save nothing and cost its check.
    void wake_running(Waiter* w) noexcept {
        TaskHeader* t = w->task;
        spill_handoff();
        t->ready.push_back(w);
        if ((t->state & TaskHeader::kScheduled) == 0) {
            t->state |= TaskHeader::kScheduled;
            run_queue_.push_back(static_cast<RunLink*>(t));
        }
    }
    void schedule(TaskHeader* t) noexcept {
        if ((t->state & TaskHeader::kScheduled) == 0 && !shutting_down_) {
            spill_handoff();
            t->state |= TaskHeader::kScheduled;
            run_queue_.push_back(static_cast<RunLink*>(t));
        }
    }
    // True when a task has a turn to take (the hand-off slot or the run queue).
    [[nodiscard]] bool has_turns() const noexcept { return handoff_task_ != nullptr || !run_queue_.empty(); }
    // Registers a freshly spawned root task and queues its first turn.
    void add_task(TaskHeader* t) {
        if (pool_ != nullptr) {
            add_task_to_pool(t);
            return;
        }
        t->state |= TaskHeader::kSpawned;
        tasks_.push_back(static_cast<AllLink*>(t));
        schedule(t);
    }
    // spawn_local: registers `t` with this scheduler and queues its first
    // turn here; on a pool the task is pinned to this worker at once (never
    // stolen), its flags shared because its handle may travel.
    void add_local_task(TaskHeader* t) {
        if (pool_ != nullptr) {
            add_local_task_to_pool(t);
            return;
        }
        add_task(t);
    }
    // Called from a spawned task's final suspension (rule 2).
    void on_task_complete(TaskHeader* t) noexcept;
    void request_cancel(TaskHeader* t) noexcept {
        t->state |= TaskHeader::kCancelRequested;
        schedule(t);
    }
    // JoinHandle::abort from any thread (pool.hpp for the pool's protocol).
    void abort_task(TaskHeader* t);
    // spawn_task on a thread outside the runtime (a spawn_blocking job):
    // the task is queued for this runtime (its inbox; a pool's inject queue)
    // and starts on its next turn. Thread-safe. A task still queued when the
    // runtime shuts down is destroyed unstarted.
    void spawn_from_outside(TaskHeader* t);
    void report_unhandled(std::exception_ptr e) { unhandled_.push_back(std::move(e)); }

    // ---- wakes from other threads
    // Queues `w` to be woken on the runtime's thread and wakes a parked
    // runtime. Thread-safe. The caller must keep `w` registered (under the
    // lock of the primitive it waits on) until this returns, so that the
    // waiter's cancellation can find it here (cancel_remote).
    void wake_remote(Waiter* w);
    // This runtime's endpoint (see RemoteEndpoint); not counted for the caller.
    [[nodiscard]] RemoteEndpoint* endpoint() const noexcept { return endpoint_; }
    // Runtime thread: takes `w` out of the inbox if it is there.
    void cancel_remote(Waiter* w) noexcept;
    // Runtime thread: a task now waits on something another thread may
    // complete (or stopped waiting); such waits make idling park instead of
    // reporting a deadlock.
    void add_external_wait() noexcept { ++external_waits_; }
    void remove_external_wait() noexcept { --external_waits_; }

    // Runs until `root` has finished. Throws std::logic_error on a deadlock.
    void run(TaskHeader* root);
    // Cancels (destroys) every task still alive; leaves the scheduler reusable.
    void shutdown() noexcept;

    [[nodiscard]] std::size_t live_tasks() const noexcept;

    // ---- pool runtime (pool.hpp): this scheduler is one of its workers
    void attach_pool(Pool* pool, std::size_t index, clock::time_point origin) noexcept {
        pool_ = pool;
        index_ = index;
        origin_ = origin;
    }
    [[nodiscard]] Pool* pool() const noexcept { return pool_; }
    [[nodiscard]] std::size_t index() const noexcept { return index_; }
    // The worker's loop: runs tasks until the pool stops.
    void run_worker();
    // Takes an unstarted task as this worker's own (its first turn runs here).
    void adopt(TaskHeader* t) noexcept;
    // Any thread: ends this worker's park (sticky until it next parks).
    void notify();
    // Pool, abort: queues "cancel t" for this worker (caller holds t's stripe
    // lock, so t is alive until this worker takes the entry).
    void post_abort(TaskHeader* t);
    // Pool, this worker, under t's stripe lock: drops t's queued abort.
    void withdraw_abort(TaskHeader* t) noexcept;
    // Pool idle protocol (pool.hpp): what this worker waits for.
    [[nodiscard]] bool next_timer_ns(std::int64_t& ns) const noexcept;
    [[nodiscard]] std::size_t external_waits() const noexcept { return external_waits_; }
    // True when its inbox has entries or a notify is pending (any thread).
    [[nodiscard]] bool has_remote_work();
    [[nodiscard]] bool has_blocking_jobs();
    [[nodiscard]] std::size_t max_blocking_threads() const noexcept { return max_blocking_threads_; }

    // ---- I/O
    // The runtime's epoll reactor, created on first use (reactor.hpp).
    Reactor& reactor();

    // ---- blocking work
    // The pool of spawn_blocking threads, started on first use; destroyed
    // (running jobs awaited, threads joined) with the scheduler.
    BlockingPool& blocking_pool();
    // A blocking job was queued / finished or was discarded (any thread).
    // While jobs are outstanding the paused clock does not jump: the runtime
    // waits for them as it would with the real clock.
    void blocking_job_started();
    void blocking_job_finished();

private:
    void run_turn(TaskHeader* t);
    // Runs the hand-off slot's turn (rule 7).
    void run_handoff_turn();
    // wake() past its checks: `w` (of task `t`) to the slot or the queues.
    void queue_woken(TaskHeader* t, Waiter* w, std::uintptr_t target) noexcept {
        if (run_queue_.empty()) {  // else the slot is empty too (rule 7)
            if (handoff_task_ == nullptr && (t->state & TaskHeader::kScheduled) == 0) {
                t->state |= TaskHeader::kScheduled;
                handoff_task_ = t;
                handoff_target_ = target;
                handoff_.push_only(w);  // empty while handoff_task_ is null
                return;
            }
            spill_handoff();
        }
        t->ready.push_back(w);
        if ((t->state & TaskHeader::kScheduled) == 0) {
            t->state |= TaskHeader::kScheduled;
            run_queue_.push_back(static_cast<RunLink*>(t));
        }
    }
    // Rule 7: before anything else joins the run queue, the slot's task (and
    // its waiter) move to the queue, so that the slot stays its logical tail.
    void spill_handoff() noexcept {
        if (handoff_task_ != nullptr) [[unlikely]] {
            TaskHeader* t = handoff_task_;
            handoff_task_ = nullptr;
            if (!handoff_.empty()) {
                t->ready.push_back(handoff_.pop_front());
            }
            run_queue_.push_back(static_cast<RunLink*>(t));
        }
    }
    // The slot's task is completing or being destroyed: empties the slot.
    void drop_handoff(const TaskHeader* t) noexcept {
        if (handoff_task_ == t) {
            handoff_task_ = nullptr;
            handoff_.clear();
        }
    }
    void prefetch_after_next(const Link* t) const noexcept;
    void cancel(TaskHeader* t) noexcept;
    // A pool task completed (kCompleted) or is cancelled (kCancelled).
    void finish_shared(TaskHeader* t, std::uint16_t how) noexcept;
    void add_task_to_pool(TaskHeader* t);
    void add_local_task_to_pool(TaskHeader* t);
    void clear_notified();
    // Destroys the tasks spawned from outside that never started.
    void destroy_outside_spawns() noexcept;
    bool poll_timers(bool idle);
    void flush_unhandled();
    bool drain_remote();
    // Paused clock: blocks while blocking jobs are outstanding and no remote
    // wake came; false when there were none.
    bool wait_for_blocking_jobs();
    // Wakes the parked runtime thread (caller holds remote_mu_).
    void notify_parked_locked() noexcept;
    // park() once a reactor exists: epoll_wait until `deadline` (if any).
    void park_in_epoll(const clock::time_point* deadline);
    // Blocks until a remote wake or `deadline` (if any).
    void park(const clock::time_point* deadline);
    // The pool worker's idle step: parks until work, a timer or a stop.
    void idle_in_pool();
    // Pool: watches for work for a few microseconds before parking; true
    // when some came.
    bool spin_for_work(Pool& pool) noexcept;
    void run_turns_in_pool(unsigned& turns);
    bool drain_aborts();

    bool paused_;
    bool shutting_down_ = false;
    clock::time_point origin_;
    DeadlineClock deadline_clock_;
    std::int64_t virtual_ns_ = 0;
    std::function<void(std::exception_ptr)> on_unhandled_;
    ListHead run_queue_;
    // The hand-off slot (rule 7): a task woken while the run queue was empty
    // and its woken waiter, kept out of the run queue and the task's ready
    // list. Non-null only while run_queue_ is empty.
    TaskHeader* handoff_task_ = nullptr;
    ListHead handoff_;
    // The slot's waiter's target(), valid while handoff_ holds it: the
    // hand-off turn resumes it without first loading the waiter.
    std::uintptr_t handoff_target_ = 0;
    ListHead tasks_;
    TimerWheel timers_;
    std::vector<std::exception_ptr> unhandled_;
    std::size_t external_waits_ = 0;

    std::mutex remote_mu_;
    std::condition_variable remote_cv_;
    std::vector<Waiter*> inbox_;        // guarded by remote_mu_
    std::vector<Waiter*> inbox_drain_;  // runtime thread only
    std::atomic<bool> inbox_pending_{false};
    std::size_t blocking_jobs_ = 0;  // guarded by remote_mu_

    std::size_t max_blocking_threads_;
    RemoteEndpoint* endpoint_;
    std::unique_ptr<Reactor> reactor_;
    bool parked_in_epoll_ = false;             // guarded by remote_mu_: wakes go through the eventfd
    bool notified_ = false;                    // guarded by remote_mu_: a pool notify() not yet seen
    std::vector<TaskHeader*> aborts_;          // guarded by remote_mu_ (post_abort)
    std::vector<TaskHeader*> outside_spawns_;  // guarded by remote_mu_ (spawn_from_outside)
    std::atomic<bool> aborts_pending_{false};
    Pool* pool_ = nullptr;
    std::size_t index_ = 0;
    std::size_t owned_ = 0;               // pool: live tasks this worker adopted
    unsigned checks_since_adoption_ = 0;  // pool: see worker.cpp
    std::unique_ptr<BlockingPool> blocking_;
};

inline void RemoteWaiter::wake_from_anywhere() {
    if (sched == current_scheduler()) {
        sched->wake(this);
    } else {
        sched->wake_remote(this);
    }
}
inline void RemoteWaiter::cancel_delivered_wake() noexcept {
    sched->cancel_remote(this);
    unlink();
}

// Prints an exception nobody joined to stderr (the default handler).
void print_unhandled(const std::exception_ptr& e) noexcept;

// Hands a detached task's exception to the running scheduler, or prints it
// when no runtime runs on this thread.
void report_detached_error(std::exception_ptr e);

// Throws the std::logic_error of a block_on called inside a running runtime.
[[noreturn]] void throw_nested_block_on(const char* what);

// Makes `s` the current scheduler of this thread for its lifetime. Throws
// std::logic_error naming `what` if a runtime already runs on this thread.
class EnterGuard {
public:
    EnterGuard(Scheduler& s, const char* what);
    EnterGuard(const EnterGuard&) = delete;
    EnterGuard& operator=(const EnterGuard&) = delete;
    ~EnterGuard() { tls_context = Context{}; }
};

}  // namespace weft::detail
