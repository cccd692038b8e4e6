// The multi-thread runtime: a pool of workers behind the same API.
//
// Design
//   A pool runtime (`Runtime::Options::worker_threads = n`, n >= 1) has n
//   workers. Each worker is a full current-thread Scheduler (run queue,
//   timing wheel, reactor, remote inbox, frame allocator) on its own thread,
//   plus a stealable queue of tasks that have not started yet. A task is
//   spawned into its spawner's queue; any worker may take it from there
//   (the owner from the front, idle workers steal half from the front); the
//   worker that runs its first turn becomes its owner and runs every later
//   turn (pool rule 1). So everything a running task touches on its own
//   worker — its timers, its run-queue link, its waiters' ready lists — keeps
//   the current-thread runtime's single-threaded code (no atomics, no locks
//   on those paths), and the only cross-thread costs are where two tasks on
//   different workers meet: a JoinHandle, abort, a channel, a oneshot.
//
//   Compared with Tokio and Go, which move a woken task to whichever worker
//   is free: weft moves work only before it starts. Spawning is where load
//   appears (fan-out, accept loops, the scaling workload), and a started task
//   stays warm in its worker's cache with its timers in that worker's wheel.
//   The price: started tasks of one busy worker cannot be helped by an idle
//   one (the cooperative budget bounds how long one task holds its worker).
//
// Pieces
//   LocalQueue  per worker, a bounded ring (kLocalCapacity) of unstarted
//               tasks under a spin lock (spin_lock.hpp): the owner pushes at the back, everyone
//               takes from the front. When it is full, half of it moves to
//               the inject queue (as Tokio's local run queue overflows).
//   inject_     the shared queue: the main task, overflow, and tasks spawned
//               outside the workers (by spawn_blocking jobs). A worker takes
//               a batch from it (its share, at most half a local queue) into
//               its own queue, so that a spawner's overflow costs one lock per
//               batch, not per task.
//   spawn_local tasks skip the queues: adopted (pinned) by the spawning
//               worker at once (Scheduler::add_local_task).
//   idle_       workers that are parked or about to park (pool mutex);
//               spawns wake one when any is idle (no lost wakeup: rule 3).
//   virtual_ns_ the paused clock, one for the pool (rule 4).
//
// Rules (cited as "pool rule N")
//   1. A task's owner is fixed at its first turn (TaskHeader::owner, the
//      worker's index, then FramePrefix::kPinned); it is touched only there from then on
//      (task_header.hpp, rule 5). Wakes from other workers go through the
//      owner's inbox; abort goes through its abort list.
//   2. Cross-worker task steps (completion, JoinHandle await and release,
//      abort) follow task_header.hpp rule 6: atomic flags whose old values
//      settle completion, frame end and release; the task's stripe lock only
//      for a JoinHandle that must wait and for abort (and for a completion
//      that finds either).
//   3. No lost wakeup: a worker counts itself idle (seq_cst), then looks for
//      work once more, then parks; a spawner queues its task, then (seq_cst
//      fence) reads the idle count and notifies an idle worker. A notify is
//      sticky (Scheduler::notified_) until the worker's next park.
//   4. Paused clock: time jumps only when every worker is idle, no inbox has
//      entries, no queue has tasks and no blocking job runs: the last worker
//      to go idle moves the pool's virtual time to the earliest timer of any
//      worker and notifies every worker, which then fire their due timers.
//      With no timer and no wait that another thread can end, the same
//      worker reports the deadlock (block_on throws std::logic_error).
//   5. Shutdown (the main task finished, a handler threw, a deadlock): every
//      worker stops after its current turn and destroys the tasks it owns;
//      when all have, worker 0 destroys the tasks that never started; then
//      the threads end and block_on returns. Nothing is left running.
//   6. on_unhandled_exception is called by one worker at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "weft/detail/scheduler.hpp"
#include "weft/detail/spin_lock.hpp"
#include "weft/detail/task_header.hpp"

namespace weft::detail {

class Pool {
public:
    static constexpr std::size_t kLocalCapacity = 256;
    static constexpr std::size_t kMaxWorkers = 1024;

    // Builds the workers' schedulers; threads start in run().
    Pool(std::size_t workers, SchedulerConfig cfg);
    Pool(const Pool&) = delete;
    Pool& operator=(const Pool&) = delete;
    ~Pool();

    [[nodiscard]] std::size_t size() const noexcept { return workers_.size(); }
    [[nodiscard]] Scheduler& worker(std::size_t i) noexcept { return *workers_[i]->sched; }
    [[nodiscard]] bool paused_clock() const noexcept { return paused_; }
    [[nodiscard]] std::size_t armed_timers() const noexcept;

    // Runs `root` (an unstarted main task with its handle held by the
    // caller) on the workers until it finishes and every task is destroyed.
    // Starts the threads and joins them. Throws what ended it otherwise: a
    // deadlock (std::logic_error), an on_unhandled_exception handler's
    // exception, a failed thread start (std::system_error).
    void run(TaskHeader* root);

    // ---- called by the workers
    // Queues a new task on worker `from`'s queue (pool rule 3).
    void spawn(Scheduler& from, TaskHeader* t);
    // Queues a task spawned outside the workers (a spawn_blocking job) on
    // the inject queue. Thread-safe.
    void inject(TaskHeader* t);
    // An unstarted task for worker `w`: its own queue, the inject queue,
    // then stolen from another worker. nullptr when none.
    TaskHeader* next_unstarted(Scheduler& w, bool inject_first);
    [[nodiscard]] bool stopping() const noexcept { return stop_.load(std::memory_order_acquire); }
    // True when an unstarted task waits in the inject queue or a worker's
    // ring (approximate counts, no lock). Any thread.
    bool any_queued() noexcept;
    [[nodiscard]] TaskHeader* root() const noexcept { return root_; }
    // Ends the run (rule 5); `e` (if any) is what run() throws.
    void stop(std::exception_ptr e = nullptr);
    [[nodiscard]] std::int64_t virtual_ns() const noexcept { return virtual_ns_.load(std::memory_order_acquire); }
    // Pool rule 3/4: `w` has nothing to do. Returns false when it must not
    // park (work appeared meanwhile); otherwise the caller parks, then calls
    // leave_idle.
    bool enter_idle(Scheduler& w);
    void leave_idle(Scheduler& w);
    // The shared spawn_blocking pool.
    BlockingPool& blocking_pool();

private:
    struct LocalQueue {
        SpinLock mu;
        TaskHeader* ring[kLocalCapacity] = {};
        std::size_t head = 0;                // guarded by mu
        std::size_t len = 0;                 // guarded by mu
        std::atomic<std::size_t> approx{0};  // len, readable without the lock
    };
    struct Worker {
        std::unique_ptr<Scheduler> sched;
        LocalQueue queue;
        std::thread thread;
        bool idle = false;  // guarded by mu_
    };

    void worker_main(std::size_t i);
    void notify_one_idle();
    // Rule 4, under mu_ with every worker idle.
    void decide_when_all_idle();
    void destroy_unstarted(Scheduler& on);
    static void destroy_unstarted_task(TaskHeader* t) noexcept;
    TaskHeader* pop_inject() noexcept;
    // An unstarted task from the inject queue for `w`, moving a batch more
    // into w's own queue.
    TaskHeader* take_inject(Scheduler& w) noexcept;
    TaskHeader* steal_into(Scheduler& thief) noexcept;

    bool paused_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::atomic<bool> stop_{false};
    TaskHeader* root_ = nullptr;
    std::atomic<std::int64_t> virtual_ns_{0};

    std::mutex mu_;  // idle set, error, the shutdown barrier
    std::condition_variable barrier_cv_;
    std::size_t idle_count_ = 0;               // guarded by mu_
    std::atomic<std::size_t> idle_approx_{0};  // idle_count_, readable without mu_
    std::size_t done_phase1_ = 0;              // guarded by mu_
    std::exception_ptr error_;                 // guarded by mu_

    SpinLock inject_mu_;
    std::vector<TaskHeader*> inject_;  // guarded by inject_mu_ (FIFO from inject_head_)
    std::size_t inject_head_ = 0;      // guarded by inject_mu_
    std::atomic<std::size_t> inject_approx_{0};

    std::mutex handler_mu_;  // rule 6
    std::mutex blocking_mu_;
    std::unique_ptr<BlockingPool> blocking_;
};

namespace testing {
// Test hook: when >= 0, starting the worker thread with this index fails
// with std::system_error (the failed-thread-start path). Not for users.
inline std::atomic<int> fail_worker_start_at{-1};
}  // namespace testing

}  // namespace weft::detail
