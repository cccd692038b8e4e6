// A pool worker's loop: the current-thread scheduler's turns, plus taking
// unstarted tasks, parking when idle and the cross-thread task steps (abort,
// completion). Design and rules: weft/detail/pool.hpp.
#include <algorithm>
#include <chrono>

#include "run_turn.hpp"
#include "weft/detail/pool.hpp"
#include "weft/detail/reactor.hpp"
#include "weft/detail/scheduler.hpp"
#include "weft/detail/task_promise.hpp"

namespace weft::detail {

namespace {
constexpr unsigned kTurnsBetweenChecks = 61;
// Adoption (pool rule 1): a worker takes an unstarted task when it has
// nothing to run, while it owns fewer than kMinOwned live tasks, and
// otherwise once every kChecksBetweenAdoptions checks (so that spawned tasks
// are never starved). Taking them lazily keeps them stealable: a worker that
// starts late, or runs out of work, still finds tasks to take.
constexpr std::size_t kMinOwned = 4;
constexpr unsigned kChecksBetweenAdoptions = 61;
// How long an idle worker watches for work before it parks. Two tasks that
// trade messages from two workers (nothing moves a started task) hand each
// message over within a microsecond or two while the receiving worker is
// awake, but a park and the wake that ends it cost ~45 us on the 2-core
// development VM: ping_pong mt took 45 us per round trip instead of 33 ns in
// the ~2% of runs whose two tasks started on different workers. Go's and
// Tokio's idle workers also look for work a while before they sleep.
constexpr auto kSpinBeforePark = std::chrono::microseconds(20);

// A spin-wait hint to the CPU (and to a hypervisor that watches for them).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    asm volatile("yield");
#endif
}
}  // namespace

void Scheduler::adopt(TaskHeader* t) noexcept {
    ++owned_;
    t->owner = static_cast<std::uint16_t>(index_);
    // acq_rel (pool rule 1): an abort that sees kPinned also sees `owner`.
    const std::uint16_t before = t->prefix()->set(FramePrefix::kPinned);
    t->state |= TaskHeader::kSpawned;
    if ((before & FramePrefix::kAbortRequested) != 0) {
        t->state |= TaskHeader::kCancelRequested;  // aborted before it started
    }
    tasks_.push_back(static_cast<AllLink*>(t));
    schedule(t);
}

void Scheduler::notify() {
    std::lock_guard<std::mutex> lock(remote_mu_);
    notified_ = true;
    // release: the worker's loop sees the notify without the lock.
    inbox_pending_.store(true, std::memory_order_release);
    notify_parked_locked();
}

void Scheduler::post_abort(TaskHeader* t) {
    std::lock_guard<std::mutex> lock(remote_mu_);
    aborts_.push_back(t);
    aborts_pending_.store(true, std::memory_order_release);
    inbox_pending_.store(true, std::memory_order_release);
    notify_parked_locked();
}

void Scheduler::withdraw_abort(TaskHeader* t) noexcept {
    std::lock_guard<std::mutex> lock(remote_mu_);
    aborts_.erase(std::remove(aborts_.begin(), aborts_.end(), t), aborts_.end());
}

bool Scheduler::drain_aborts() {
    if (!aborts_pending_.load(std::memory_order_acquire)) {
        return false;
    }
    std::vector<TaskHeader*> taken;
    {
        std::lock_guard<std::mutex> lock(remote_mu_);
        taken.swap(aborts_);
        aborts_pending_.store(false, std::memory_order_relaxed);
    }
    // Alive: a task's completion withdraws its entry on this thread first.
    for (TaskHeader* t : taken) {
        request_cancel(t);
    }
    return !taken.empty();
}

bool Scheduler::next_timer_ns(std::int64_t& ns) const noexcept {
    std::uint64_t tick = 0;
    if (timers_.size() == 0 || !timers_.next_tick(tick)) {
        return false;
    }
    ns = static_cast<std::int64_t>(tick) * TimerWheel::kTickNs;
    return true;
}

bool Scheduler::has_remote_work() {
    std::lock_guard<std::mutex> lock(remote_mu_);
    return !inbox_.empty() || notified_ || !aborts_.empty();
}

bool Scheduler::has_blocking_jobs() {
    std::lock_guard<std::mutex> lock(remote_mu_);
    return blocking_jobs_ != 0;
}

void Scheduler::abort_task(TaskHeader* t) {
    FramePrefix* p = t->prefix();
    if (!p->shared()) {
        if ((p->load() & FramePrefix::kFinished) == 0) {
            request_cancel(t);
        }
        return;
    }
    // Pool (rule 2): under the stripe lock the task cannot complete, so an
    // entry queued for its owner names a live task.
    std::lock_guard<std::mutex> lock(task_lock(t->prefix()));
    const std::uint16_t before = p->set(FramePrefix::kAbortRequested);
    if ((before & (FramePrefix::kFinished | FramePrefix::kAbortRequested)) != 0) {
        return;  // finished, or already asked
    }
    if ((before & FramePrefix::kPinned) != 0) {
        if (pool_ == nullptr || t->owner == index_) {
            request_cancel(t);
        } else {
            pool_->worker(t->owner).post_abort(t);
        }
    }
    // Not started yet: the worker that adopts it sees kAbortRequested.
}

void Scheduler::run_turns_in_pool(unsigned& turns) {
    for (;;) {
        if (!run_queue_.empty()) {
            Link* t = run_queue_.front();
            prefetch_after_next(t);
            run_queue_.pop_front();
            run_turn(TaskHeader::from_run(t));
        } else if (handoff_task_ != nullptr) {  // rule 7: only while the run queue is empty
            run_handoff_turn();
        } else {
            break;
        }
        if (!unhandled_.empty()) {
            flush_unhandled();  // a throwing handler ends the run (caught by run_worker)
        }
        if (++turns >= kTurnsBetweenChecks || pool_->stopping()) {
            return;
        }
    }
}

void Scheduler::run_worker() {
    Pool& pool = *pool_;
    unsigned turns = 0;
    try {
        while (!pool.stopping()) {
            if (paused_) {
                virtual_ns_ = std::max(virtual_ns_, pool.virtual_ns());  // pool rule 4
            }
            run_turns_in_pool(turns);
            if (pool.stopping()) {
                break;
            }
            // Between bursts of turns (or with nothing queued): timers,
            // remote wakes, sockets, one unstarted task.
            const bool busy = has_turns();
            turns = 0;
            poll_timers(false);
            drain_remote();
            drain_aborts();
            if (reactor_) {
                reactor_->poll(*this, 0);
            }
            if (!busy || owned_ < kMinOwned || ++checks_since_adoption_ >= kChecksBetweenAdoptions) {
                if (TaskHeader* t = pool.next_unstarted(*this, busy)) {
                    adopt(t);
                    checks_since_adoption_ = 0;
                }
            }
            if (has_turns()) {
                continue;
            }
            idle_in_pool();
        }
    } catch (...) {
        pool.stop(std::current_exception());
    }
    shutdown();  // pool rule 5: the tasks this worker owns
}

bool Scheduler::spin_for_work(Pool& pool) noexcept {
    const clock::time_point until = real_now() + kSpinBeforePark;
    for (unsigned i = 1;; ++i) {
        // acquire: pair with the release stores of wake_remote, post_abort
        // and the pool's queues; what they published is then visible.
        if (inbox_pending_.load(std::memory_order_acquire) || aborts_pending_.load(std::memory_order_acquire) ||
            pool.stopping() || pool.any_queued()) {
            return true;
        }
        if (i % 64 == 0 && real_now() >= until) {
            return false;
        }
        cpu_relax();
    }
}

void Scheduler::idle_in_pool() {
    Pool& pool = *pool_;
    // Only while a task here waits on something another thread completes (a
    // channel, a oneshot, a join): a worker with nothing of the kind has no
    // message to expect, and spinning took CPU from the busy one (sleepers
    // mt 240 -> 330 ns/op).
    if (external_waits_ != 0 && spin_for_work(pool)) {
        return;  // the worker's loop takes it
    }
    if (paused_) {
        std::unique_lock<std::mutex> lock(remote_mu_);
        if (blocking_jobs_ != 0) {
            // The paused clock waits for blocking jobs (a finished job notifies).
            lock.unlock();
            park(nullptr);
            clear_notified();
            return;
        }
    }
    std::int64_t next_ns = 0;
    const bool has_timer = next_timer_ns(next_ns);
    if (!pool.enter_idle(*this)) {
        clear_notified();  // consumed: the loop looks for work next
        return;
    }
    if (has_timer && !paused_) {
        const clock::time_point deadline = origin_ + std::chrono::nanoseconds(next_ns);
        park(&deadline);
    } else {
        park(nullptr);  // paused: the last idle worker moves time and notifies
    }
    clear_notified();
    pool.leave_idle(*this);
}

void Scheduler::clear_notified() {
    std::lock_guard<std::mutex> lock(remote_mu_);
    notified_ = false;
}

}  // namespace weft::detail
