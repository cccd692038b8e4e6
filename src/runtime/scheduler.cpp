// The current-thread scheduler's loop; see weft/detail/scheduler.hpp for the
// design and weft/detail/task_header.hpp for the rules cited here.
#include "weft/detail/scheduler.hpp"

#include <cstdio>
#include <stdexcept>
#include <string>
#include <thread>

#include "run_turn.hpp"
#include "weft/detail/blocking_pool.hpp"
#include "weft/detail/frame_pool.hpp"
#include "weft/detail/pool.hpp"
#include "weft/detail/reactor.hpp"
#include "weft/detail/resume.hpp"
#include "weft/detail/task_promise.hpp"
#include "weft/detail/thread_life.hpp"

namespace weft::detail {

namespace {
constexpr unsigned kTurnsBetweenTimerPolls = 61;
}

void throw_outside_runtime(const char* what) {
    throw std::logic_error(std::string(what) +
                           ": called outside a weft runtime; call it from a task that runs under "
                           "weft::block_on or Runtime::block_on");
}

void throw_nested_block_on(const char* what) {
    throw std::logic_error(std::string(what) +
                           ": called from inside a running weft runtime (or one of its worker threads), which "
                           "would block it; co_await the task (or spawn_task it) instead");
}

EnterGuard::EnterGuard(Scheduler& s, const char* what) {
    if (tls_context.scheduler != nullptr) {
        throw_nested_block_on(what);
    }
    (void)this_thread_life();  // a runtime thread always has one (ChanCore::home_turn)
    tls_context = Context{&s, nullptr};
}

Scheduler::Scheduler(SchedulerConfig cfg)
    : paused_(cfg.paused_clock),
      origin_(clock::now()),
      on_unhandled_(std::move(cfg.on_unhandled_exception)),
      max_blocking_threads_(cfg.max_blocking_threads),
      endpoint_(new RemoteEndpoint) {
    endpoint_->owner = this;
}

Scheduler::~Scheduler() {
    shutdown();
    blocking_.reset();         // waits for running jobs (pool rule 1) while the inbox still exists
    destroy_outside_spawns();  // spawned by jobs after the last block_on
    {
        std::lock_guard<std::mutex> lock(endpoint_->mu);
        endpoint_->owner = nullptr;  // no more posts
    }
    endpoint_->release();
    // Pokes already queued run now, so that they release the channels they
    // hold; every task is gone, so they wake nobody (and no other entry can
    // be left: a waiter's cancellation takes it out of the inbox).
    std::vector<Waiter*> left;
    {
        std::lock_guard<std::mutex> lock(remote_mu_);
        left.swap(inbox_);
    }
    for (Waiter* w : left) {
        if (w->task == nullptr) {
            w->resume();
        }
    }
}

bool RemoteEndpoint::post(Waiter* w) {
    std::lock_guard<std::mutex> lock(mu);
    if (owner == nullptr) {
        return false;
    }
    owner->wake_remote(w);  // the owner clears `owner` under mu before it dies
    return true;
}

Reactor& Scheduler::reactor() {
    if (!reactor_) {
        auto r = std::make_unique<Reactor>();
        std::lock_guard<std::mutex> lock(remote_mu_);  // wakers read reactor_ under the lock
        reactor_ = std::move(r);
    }
    return *reactor_;
}

BlockingPool& Scheduler::blocking_pool() {
    if (pool_ != nullptr) {
        return pool_->blocking_pool();  // one per runtime, shared by the workers
    }
    if (!blocking_) {
        blocking_ = std::make_unique<BlockingPool>(max_blocking_threads_, std::chrono::seconds(10));
    }
    return *blocking_;
}

std::size_t Scheduler::live_tasks() const noexcept {
    std::size_t n = 0;
    for (const Link* l = tasks_.front(); !tasks_.is_end(l); l = l->next) {
        ++n;
    }
    return n;
}

void Scheduler::spawn_from_outside(TaskHeader* t) {
    // Shared: its JoinHandle lives on another thread (task_header.hpp rule 6).
    t->prefix()->set(FramePrefix::kShared);
    if (pool_ != nullptr) {
        pool_->inject(t);
        return;
    }
    std::lock_guard<std::mutex> lock(remote_mu_);
    outside_spawns_.push_back(t);
    // release: drain_remote's acquire load sees the push.
    inbox_pending_.store(true, std::memory_order_release);
    notify_parked_locked();
}

void Scheduler::destroy_outside_spawns() noexcept {
    std::vector<TaskHeader*> left;
    {
        std::lock_guard<std::mutex> lock(remote_mu_);
        left.swap(outside_spawns_);
    }
    for (TaskHeader* t : left) {
        FramePrefix* p = t->prefix();
        {
            std::lock_guard<std::mutex> lock(task_lock(p));
            p->set(FramePrefix::kCancelled);  // never started: nobody waits on it yet
        }
        t->handle().destroy();
    }
}

void Scheduler::add_task_to_pool(TaskHeader* t) {
    pool_->spawn(*this, t);  // any worker may start it (pool.hpp)
}

void Scheduler::add_local_task_to_pool(TaskHeader* t) {
    t->prefix()->set(FramePrefix::kShared);  // its handle may be awaited or aborted on any worker
    adopt(t);                                // pinned here before anyone else can see it
}

void Scheduler::finish_shared(TaskHeader* t, std::uint16_t how) noexcept {
    FramePrefix* p = t->prefix();
    const std::uint16_t before = p->set(how);  // task_header.hpp rule 6
    if ((before & (FramePrefix::kJoinWaiting | FramePrefix::kAbortRequested)) != 0) {
        std::lock_guard<std::mutex> lock(task_lock(p));
        if (Waiter* jw = std::exchange(t->join_waiter, nullptr)) {
            if (jw->task != t) {
                static_cast<RemoteWaiter*>(jw)->wake_from_anywhere();  // under the lock: its awaiter may be leaving
            }
        }
        if ((before & FramePrefix::kAbortRequested) != 0) {
            withdraw_abort(t);  // an entry queued for this worker would name a dead task
        }
    }
    const bool report = how == FramePrefix::kCompleted && (before & FramePrefix::kHandleAlive) == 0 && p->error;
    if (report) {
        unhandled_.push_back(p->error);  // detached: nobody will ever see it
    }
    if (pool_ != nullptr) {
        --owned_;
    }
    if (pool_ != nullptr && t == pool_->root()) {
        pool_->stop();  // pool rule 5
    }
    t->handle().destroy();  // rule 2; the memory goes with whichever of frame and handle is last (rule 6)
}

void Scheduler::on_task_complete(TaskHeader* t) noexcept {
    drop_handoff(t);
    static_cast<RunLink*>(t)->unlink();
    static_cast<AllLink*>(t)->unlink();
    t->ready.clear();
    FramePrefix* p = t->prefix();
    if (p->shared()) {
        finish_shared(t, FramePrefix::kCompleted);
        return;
    }
    p->set(FramePrefix::kCompleted);
    if (Waiter* jw = t->join_waiter) {
        t->join_waiter = nullptr;
        wake(jw);
    }
    if (!p->has(FramePrefix::kHandleAlive) && p->error) {
        unhandled_.push_back(p->error);  // detached: nobody will ever see it
    }
    // The frame goes now (rule 2); with a handle alive, its memory and result
    // stay for the handle (rule 1).
    t->handle().destroy();
}

void Scheduler::cancel(TaskHeader* t) noexcept {
    t->state |= TaskHeader::kDying;  // rule 4
    drop_handoff(t);
    static_cast<RunLink*>(t)->unlink();
    static_cast<AllLink*>(t)->unlink();
    t->ready.clear();
    FramePrefix* p = t->prefix();
    if (p->shared()) {
        finish_shared(t, FramePrefix::kCancelled);
        return;
    }
    p->set(FramePrefix::kCancelled);
    Waiter* jw = t->join_waiter;
    t->join_waiter = nullptr;
    const bool wake_joiner = jw != nullptr && jw->task != t;
    t->handle().destroy();  // rule 2; the memory stays while a handle refers to it (rule 1)
    if (wake_joiner) {
        wake(jw);
    }
}

void Scheduler::wake_remote(Waiter* w) {
    std::lock_guard<std::mutex> lock(remote_mu_);
    inbox_.push_back(w);
    // release: the runtime thread's acquire load in drain_remote sees the push.
    inbox_pending_.store(true, std::memory_order_release);
    notify_parked_locked();
}

void Scheduler::notify_parked_locked() noexcept {
    // Under remote_mu_: the scheduler outlives this call.
    if (parked_in_epoll_) {
        reactor_->notify();
    } else {
        remote_cv_.notify_one();
    }
}

void Scheduler::cancel_remote(Waiter* w) noexcept {
    std::lock_guard<std::mutex> lock(remote_mu_);
    for (auto it = inbox_.begin(); it != inbox_.end(); ++it) {
        if (*it == w) {
            inbox_.erase(it);
            return;
        }
    }
}

bool Scheduler::drain_remote() {
    // acquire: pairs with the release store in wake_remote.
    if (!inbox_pending_.load(std::memory_order_acquire)) {
        return false;
    }
    std::vector<TaskHeader*> spawns;
    {
        std::lock_guard<std::mutex> lock(remote_mu_);
        inbox_drain_.swap(inbox_);
        spawns.swap(outside_spawns_);
        inbox_pending_.store(false, std::memory_order_relaxed);  // under the lock
    }
    for (TaskHeader* t : spawns) {
        // Spawned by a blocking job (current-thread runtime): owned here.
        const std::uint16_t before = t->prefix()->set(FramePrefix::kPinned);
        add_task(t);
        if ((before & FramePrefix::kAbortRequested) != 0) {
            t->state |= TaskHeader::kCancelRequested;
        }
    }
    const bool any = !inbox_drain_.empty() || !spawns.empty();
    for (Waiter* w : inbox_drain_) {
        if (w->task == nullptr) {
            w->resume();  // a callback posted through the endpoint (a channel poke)
        } else {
            wake(w);
        }
    }
    inbox_drain_.clear();
    return any;
}

void Scheduler::blocking_job_started() {
    std::lock_guard<std::mutex> lock(remote_mu_);
    ++blocking_jobs_;
}

void Scheduler::blocking_job_finished() {
    std::lock_guard<std::mutex> lock(remote_mu_);
    --blocking_jobs_;
    if (pool_ != nullptr) {
        notified_ = true;  // a pool worker's park waits for this (pool rule 4)
    }
    notify_parked_locked();
}

bool Scheduler::wait_for_blocking_jobs() {
    std::unique_lock<std::mutex> lock(remote_mu_);
    if (blocking_jobs_ == 0) {
        return false;
    }
    if (reactor_) {
        lock.unlock();
        park(nullptr);  // a finished job notifies the eventfd; I/O is served meanwhile
        return true;
    }
    remote_cv_.wait(lock, [&] { return !inbox_.empty() || !outside_spawns_.empty() || blocking_jobs_ == 0; });
    return true;
}

void Scheduler::park(const clock::time_point* deadline) {
    if (reactor_) {
        park_in_epoll(deadline);
        return;
    }
    std::unique_lock<std::mutex> lock(remote_mu_);
    auto woken = [&] { return !inbox_.empty() || notified_ || !aborts_.empty() || !outside_spawns_.empty(); };
    if (deadline != nullptr) {
        remote_cv_.wait_until(lock, *deadline, woken);
    } else {
        remote_cv_.wait(lock, woken);
    }
}

void Scheduler::park_in_epoll(const clock::time_point* deadline) {
    int timeout_ms = -1;
    if (deadline != nullptr) {
        const auto left = *deadline - real_now();
        // Rounded up, so that the timer is due when epoll_wait returns.
        timeout_ms =
            static_cast<int>(std::max<std::int64_t>(0, std::chrono::ceil<std::chrono::milliseconds>(left).count()));
    }
    {
        std::lock_guard<std::mutex> lock(remote_mu_);
        if (!inbox_.empty() || notified_ || !aborts_.empty() || !outside_spawns_.empty()) {
            return;
        }
        parked_in_epoll_ = true;  // from here on, wakers write the eventfd (no lost wakeup)
    }
    reactor_->poll(*this, timeout_ms);
    std::lock_guard<std::mutex> lock(remote_mu_);
    parked_in_epoll_ = false;
}

bool Scheduler::poll_timers(bool idle) {
    if (timers_.size() == 0) {
        return false;
    }
    std::uint64_t now_tick = 0;
    if (paused_) {
        std::uint64_t next = 0;
        if (idle && timers_.next_tick(next)) {
            const auto next_ns = static_cast<std::int64_t>(next) * TimerWheel::kTickNs;
            if (next_ns > virtual_ns_) {
                virtual_ns_ = next_ns;  // the paused clock jumps to the next timer
            }
        }
        now_tick = static_cast<std::uint64_t>(virtual_ns_ / TimerWheel::kTickNs);
    } else {
        auto elapsed = [&] { return std::max<std::int64_t>(0, to_wheel_ns(clock::now())); };
        now_tick = static_cast<std::uint64_t>(elapsed() / TimerWheel::kTickNs);
        std::uint64_t next = 0;
        if (idle && timers_.next_tick(next) && next > now_tick) {
            const clock::time_point deadline =
                origin_ + std::chrono::nanoseconds(static_cast<std::int64_t>(next) * TimerWheel::kTickNs);
            park(&deadline);  // a remote wake ends the wait early
            now_tick = static_cast<std::uint64_t>(elapsed() / TimerWheel::kTickNs);
        }
    }
    bool fired = false;
    timers_.advance(now_tick, [&](TimerEntry* e) {
        fired = true;
        wake(e);
    });
    return fired;
}

void Scheduler::flush_unhandled() {
    while (!unhandled_.empty()) {
        std::exception_ptr e = std::move(unhandled_.front());
        unhandled_.erase(unhandled_.begin());
        if (on_unhandled_) {
            on_unhandled_(e);  // may throw: that ends block_on with it
        } else {
            print_unhandled(e);
        }
    }
}

void Scheduler::run(TaskHeader* root) {
    FramePrefix* rp = root->prefix();
    unsigned turns = 0;
    // After each turn: unhandled errors, the root's end (true), and every
    // 61 turns timers, remote wakes and sockets.
    auto after_turn = [&]() {
        if (!unhandled_.empty()) {
            flush_unhandled();
        }
        if ((rp->load() & FramePrefix::kFinished) != 0) {
            return true;
        }
        if (++turns == kTurnsBetweenTimerPolls) {
            turns = 0;
            poll_timers(false);
            drain_remote();
            if (reactor_) {
                reactor_->poll(*this, 0);
            }
        }
        return false;
    };
    for (;;) {
        while (!run_queue_.empty()) {
            Link* t = run_queue_.front();
            prefetch_after_next(t);
            run_queue_.pop_front();
            run_turn(TaskHeader::from_run(t));
            if (after_turn()) {
                return;
            }
        }
        if (handoff_task_ != nullptr) {  // rule 7: only while the run queue is empty
            run_handoff_turn();
            if (after_turn()) {
                return;
            }
            continue;
        }
        if ((rp->load() & FramePrefix::kFinished) != 0) {
            return;
        }
        if (drain_remote()) {
            continue;
        }
        if (reactor_ && reactor_->poll(*this, 0)) {
            continue;  // sockets became ready
        }
        if (paused_ && wait_for_blocking_jobs()) {
            continue;  // the paused clock waits for blocking jobs instead of jumping
        }
        if (timers_.size() != 0) {
            poll_timers(true);
            drain_remote();
        } else if (external_waits_ != 0) {
            park(nullptr);  // only another thread can wake a task now
            drain_remote();
        } else {
            throw std::logic_error(
                "weft::block_on: deadlock: the main task is waiting, but no task can run, no timer is "
                "armed and no other thread can wake a task, so nothing can ever wake it");
        }
    }
}

void Scheduler::shutdown() noexcept {
    shutting_down_ = true;
    handoff_task_ = nullptr;
    handoff_.clear();
    run_queue_.clear();
    destroy_outside_spawns();  // queued by blocking jobs, never started
    while (!tasks_.empty()) {
        cancel(TaskHeader::from_all(tasks_.front()));
    }
    run_queue_.clear();
    shutting_down_ = false;
    // Failures reported while tasks were torn down still reach the handler.
    for (auto& e : unhandled_) {
        try {
            if (on_unhandled_) {
                on_unhandled_(e);
            } else {
                print_unhandled(e);
            }
        } catch (...) {  // NOLINT(bugprone-empty-catch): shutdown cannot fail
        }
    }
    unhandled_.clear();
}

void print_unhandled(const std::exception_ptr& e) noexcept {
    try {
        std::rethrow_exception(e);
    } catch (const std::exception& ex) {
        std::fprintf(stderr, "weft: unhandled exception in a detached task: %s\n", ex.what());
    } catch (...) {
        std::fprintf(stderr, "weft: unhandled exception of a non-std type in a detached task\n");
    }
}

void report_detached_error(std::exception_ptr e) {
    if (Scheduler* s = current_scheduler()) {
        s->report_unhandled(std::move(e));
    } else {
        print_unhandled(e);
    }
}

}  // namespace weft::detail
