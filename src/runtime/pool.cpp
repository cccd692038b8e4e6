// The pool runtime's shared parts; see weft/detail/pool.hpp for the design
// and its rules. The worker's own loop is in worker.cpp.
#include "weft/detail/pool.hpp"

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "weft/detail/blocking_pool.hpp"
#include "weft/detail/task_promise.hpp"
#include "weft/detail/thread_life.hpp"

namespace weft::detail {

namespace {
// The fixed stripe locks of task_header.hpp rule 6, each on its own line.
struct alignas(64) Stripe {
    std::mutex mu;
};
constexpr std::size_t kStripes = 64;
Stripe g_stripes[kStripes];
}  // namespace

std::mutex& task_lock(const void* task) noexcept {
    const auto a = reinterpret_cast<std::uintptr_t>(task);
    return g_stripes[(a >> 6) % kStripes].mu;
}

Pool::Pool(std::size_t workers, SchedulerConfig cfg) : paused_(cfg.paused_clock) {
    // Rule 6: the user's handler is called by one worker at a time.
    auto user = std::move(cfg.on_unhandled_exception);
    cfg.on_unhandled_exception = [this, user](std::exception_ptr e) {
        std::lock_guard<std::mutex> lock(handler_mu_);
        if (user) {
            user(std::move(e));
        } else {
            print_unhandled(e);
        }
    };
    const Scheduler::clock::time_point origin = Scheduler::clock::now();
    workers_.reserve(workers);
    for (std::size_t i = 0; i < workers; ++i) {
        auto w = std::make_unique<Worker>();
        w->sched = std::make_unique<Scheduler>(cfg);
        w->sched->attach_pool(this, i, origin);
        workers_.push_back(std::move(w));
    }
}

Pool::~Pool() {
    // The blocking pool's jobs report to the workers' schedulers: it goes
    // first (it waits for running jobs).
    blocking_.reset();
    destroy_unstarted(*workers_[0]->sched);  // spawned by jobs after the last block_on
}

BlockingPool& Pool::blocking_pool() {
    std::lock_guard<std::mutex> lock(blocking_mu_);
    if (!blocking_) {
        // The limit is the runtime's, shared by all workers.
        blocking_ =
            std::make_unique<BlockingPool>(workers_[0]->sched->max_blocking_threads(), std::chrono::seconds(10));
    }
    return *blocking_;
}

std::size_t Pool::armed_timers() const noexcept {
    std::size_t n = 0;
    for (const auto& w : workers_) {
        n += w->sched->armed_timers();
    }
    return n;
}

void Pool::run(TaskHeader* root) {
    root_ = root;
    stop_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    done_phase1_ = 0;
    idle_count_ = 0;
    idle_approx_.store(0, std::memory_order_relaxed);
    root->prefix()->set(FramePrefix::kShared);
    {
        std::lock_guard<SpinLock> lock(inject_mu_);
        inject_.push_back(root);
        inject_approx_.store(inject_.size() - inject_head_, std::memory_order_release);
    }
    std::size_t started = 0;
    try {
        for (; started < workers_.size(); ++started) {
            if (testing::fail_worker_start_at.load(std::memory_order_relaxed) == static_cast<int>(started)) {
                throw std::system_error(EAGAIN, std::generic_category(), "std::thread (test hook)");
            }
            workers_[started]->thread = std::thread([this, started] { worker_main(started); });
        }
    } catch (const std::system_error& e) {
        const std::string what = "weft::Runtime: could not start worker thread " + std::to_string(started + 1) +
                                 " of " + std::to_string(workers_.size()) + ": " + e.what();
        stop(std::make_exception_ptr(std::system_error(e.code(), what)));
        // Workers already started see the stop and wind down; the last of
        // phase 1 cannot be reached by the missing ones, so count them done.
        {
            std::lock_guard<std::mutex> lock(mu_);
            done_phase1_ += workers_.size() - started;
            barrier_cv_.notify_all();
        }
        for (std::size_t i = 0; i < started; ++i) {
            workers_[i]->thread.join();
        }
        if (started == 0) {
            // Nobody ran the cleanup (worker 0 does it): do it here.
            tls_context = Context{workers_[0]->sched.get(), nullptr};
            destroy_unstarted(*workers_[0]->sched);
            tls_context = Context{};
        }
        root_ = nullptr;
        std::rethrow_exception(error_);
    }
    for (auto& w : workers_) {
        w->thread.join();
    }
    root_ = nullptr;
    if (error_) {
        std::rethrow_exception(error_);
    }
}

void Pool::worker_main(std::size_t i) {
    Scheduler& s = *workers_[i]->sched;
    (void)this_thread_life();  // a runtime thread always has one (ChanCore::home_turn)
    tls_context = Context{&s, nullptr};
    s.run_worker();  // until stop (rule 5); destroys the tasks it owns
    {
        std::unique_lock<std::mutex> lock(mu_);
        ++done_phase1_;
        barrier_cv_.notify_all();
        if (i == 0) {
            barrier_cv_.wait(lock, [&] { return done_phase1_ >= workers_.size(); });
        }
    }
    if (i == 0) {
        destroy_unstarted(s);
    }
    tls_context = Context{};
}

void Pool::destroy_unstarted(Scheduler& on) {
    (void)on;
    // Destructors of these frames may spawn (into this worker's queue):
    // repeat until every queue is empty.
    for (;;) {
        TaskHeader* t = pop_inject();
        for (std::size_t i = 0; t == nullptr && i < workers_.size(); ++i) {
            LocalQueue& q = workers_[i]->queue;
            std::lock_guard<SpinLock> lock(q.mu);
            if (q.len != 0) {
                t = q.ring[q.head];
                q.head = (q.head + 1) % kLocalCapacity;
                --q.len;
                q.approx.store(q.len, std::memory_order_relaxed);
            }
        }
        if (t == nullptr) {
            return;
        }
        destroy_unstarted_task(t);
    }
}

void Pool::destroy_unstarted_task(TaskHeader* t) noexcept {
    FramePrefix* p = t->prefix();
    {
        std::lock_guard<std::mutex> lock(task_lock(t->prefix()));
        p->set(FramePrefix::kCancelled);
        // Nobody can wait on it: every task that could has been destroyed.
        t->join_waiter = nullptr;
    }
    t->handle().destroy();  // the memory stays while a handle refers to it
}

void Pool::stop(std::exception_ptr e) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        if (e && !error_) {
            error_ = std::move(e);
        }
    }
    stop_.store(true, std::memory_order_release);
    for (auto& w : workers_) {
        w->sched->notify();
    }
}

void Pool::spawn(Scheduler& from, TaskHeader* t) {
    t->prefix()->set(FramePrefix::kShared);
    LocalQueue& q = workers_[from.index()]->queue;
    {
        std::lock_guard<SpinLock> lock(q.mu);
        if (q.len == kLocalCapacity) {
            // Overflow: the older half goes to the inject queue.
            std::lock_guard<SpinLock> ilock(inject_mu_);
            for (std::size_t k = 0; k < kLocalCapacity / 2; ++k) {
                inject_.push_back(q.ring[q.head]);
                q.head = (q.head + 1) % kLocalCapacity;
            }
            q.len -= kLocalCapacity / 2;
            inject_approx_.store(inject_.size() - inject_head_, std::memory_order_release);
        }
        q.ring[(q.head + q.len) % kLocalCapacity] = t;
        ++q.len;
        q.approx.store(q.len, std::memory_order_release);
    }
    // Rule 3: the task is queued; now look for an idle worker.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (idle_approx_.load(std::memory_order_relaxed) != 0) {
        notify_one_idle();
    }
}

void Pool::inject(TaskHeader* t) {
    t->prefix()->set(FramePrefix::kShared);
    {
        std::lock_guard<SpinLock> lock(inject_mu_);
        inject_.push_back(t);
        inject_approx_.store(inject_.size() - inject_head_, std::memory_order_release);
    }
    std::atomic_thread_fence(std::memory_order_seq_cst);  // rule 3, as spawn()
    if (idle_approx_.load(std::memory_order_relaxed) != 0) {
        notify_one_idle();
    }
}

void Pool::notify_one_idle() {
    Scheduler* target = nullptr;
    {
        std::lock_guard<std::mutex> lock(mu_);
        for (auto& w : workers_) {
            if (w->idle) {
                w->idle = false;  // one notify each; it counts itself again if it parks
                --idle_count_;
                idle_approx_.store(idle_count_, std::memory_order_relaxed);
                target = w->sched.get();
                break;
            }
        }
    }
    if (target != nullptr) {
        target->notify();
    }
}

TaskHeader* Pool::pop_inject() noexcept {
    if (inject_approx_.load(std::memory_order_acquire) == 0) {
        return nullptr;
    }
    std::lock_guard<SpinLock> lock(inject_mu_);
    if (inject_head_ == inject_.size()) {
        return nullptr;
    }
    TaskHeader* t = inject_[inject_head_++];
    if (inject_head_ == inject_.size()) {
        inject_.clear();
        inject_head_ = 0;
    }
    inject_approx_.store(inject_.size() - inject_head_, std::memory_order_release);
    return t;
}

TaskHeader* Pool::take_inject(Scheduler& w) noexcept {
    if (inject_approx_.load(std::memory_order_acquire) == 0) {
        return nullptr;
    }
    // A batch, as Go's global run queue hands out: the worker's share of the
    // queue, at most half a local queue, so that a stream of overflow from a
    // spawning worker costs one lock per batch instead of one per task.
    // Only this thread pushes to its own queue, so the room read here can
    // only grow before the batch goes in.
    LocalQueue& mine = workers_[w.index()]->queue;
    const std::size_t room = kLocalCapacity - std::min(kLocalCapacity, mine.approx.load(std::memory_order_acquire));
    TaskHeader* batch[kLocalCapacity / 2];
    std::size_t got = 0;
    {
        std::lock_guard<SpinLock> lock(inject_mu_);
        const std::size_t avail = inject_.size() - inject_head_;
        if (avail == 0) {
            return nullptr;
        }
        const std::size_t share = std::max<std::size_t>(1, avail / workers_.size());
        const std::size_t take = std::min({share, kLocalCapacity / 2, room + 1});
        for (; got < take; ++got) {
            batch[got] = inject_[inject_head_++];
        }
        if (inject_head_ == inject_.size()) {
            inject_.clear();
            inject_head_ = 0;
        }
        inject_approx_.store(inject_.size() - inject_head_, std::memory_order_release);
    }
    if (got > 1) {
        std::lock_guard<SpinLock> lock(mine.mu);
        for (std::size_t i = 1; i < got; ++i) {
            mine.ring[(mine.head + mine.len) % kLocalCapacity] = batch[i];
            ++mine.len;
        }
        mine.approx.store(mine.len, std::memory_order_release);
    }
    return batch[0];
}

TaskHeader* Pool::steal_into(Scheduler& thief) noexcept {
    const std::size_t n = workers_.size();
    const std::size_t me = thief.index();
    for (std::size_t k = 1; k < n; ++k) {
        LocalQueue& v = workers_[(me + k) % n]->queue;
        if (v.approx.load(std::memory_order_acquire) == 0) {
            continue;
        }
        TaskHeader* batch[kLocalCapacity / 2];
        std::size_t got = 0;
        {
            std::lock_guard<SpinLock> lock(v.mu);
            const std::size_t take = (v.len + 1) / 2;  // half, rounded up
            for (; got < take; ++got) {
                batch[got] = v.ring[v.head];
                v.head = (v.head + 1) % kLocalCapacity;
            }
            v.len -= take;
            v.approx.store(v.len, std::memory_order_relaxed);
        }
        if (got == 0) {
            continue;
        }
        if (got > 1) {
            // The thief's own queue is empty here (it steals only after
            // finding it empty, and only its owner pushes to it), so the
            // batch, at most half a queue, always fits.
            LocalQueue& mine = workers_[me]->queue;
            std::lock_guard<SpinLock> lock(mine.mu);
            for (std::size_t i = 1; i < got; ++i) {
                mine.ring[(mine.head + mine.len) % kLocalCapacity] = batch[i];
                ++mine.len;
            }
            mine.approx.store(mine.len, std::memory_order_release);
        }
        return batch[0];
    }
    return nullptr;
}

TaskHeader* Pool::next_unstarted(Scheduler& w, bool inject_first) {
    if (inject_first) {
        if (TaskHeader* t = take_inject(w)) {
            return t;
        }
    }
    LocalQueue& q = workers_[w.index()]->queue;
    if (q.approx.load(std::memory_order_acquire) != 0) {
        std::lock_guard<SpinLock> lock(q.mu);
        if (q.len != 0) {
            TaskHeader* t = q.ring[q.head];
            q.head = (q.head + 1) % kLocalCapacity;
            --q.len;
            q.approx.store(q.len, std::memory_order_relaxed);
            return t;
        }
    }
    if (TaskHeader* t = take_inject(w)) {
        return t;
    }
    return steal_into(w);
}

bool Pool::any_queued() noexcept {
    if (inject_approx_.load(std::memory_order_acquire) != 0) {
        return true;
    }
    for (auto& w : workers_) {
        if (w->queue.approx.load(std::memory_order_acquire) != 0) {
            return true;
        }
    }
    return false;
}

bool Pool::enter_idle(Scheduler& w) {
    {
        std::lock_guard<std::mutex> lock(mu_);
        Worker& me = *workers_[w.index()];
        if (!me.idle) {
            me.idle = true;
            ++idle_count_;
            idle_approx_.store(idle_count_, std::memory_order_relaxed);
        }
        if (idle_count_ == workers_.size()) {
            decide_when_all_idle();
        }
    }
    // Rule 3: counted idle (the mutex and this fence order it before the
    // look below); a spawn after this look notifies us.
    std::atomic_thread_fence(std::memory_order_seq_cst);
    if (stopping() || any_queued() || w.has_remote_work()) {
        leave_idle(w);
        return false;
    }
    return true;
}

void Pool::leave_idle(Scheduler& w) {
    std::lock_guard<std::mutex> lock(mu_);
    Worker& me = *workers_[w.index()];
    if (me.idle) {
        me.idle = false;
        --idle_count_;
        idle_approx_.store(idle_count_, std::memory_order_relaxed);
    }
}

void Pool::decide_when_all_idle() {
    if (stopping() || any_queued()) {
        return;
    }
    bool timers = false;
    bool external = false;
    std::int64_t earliest = 0;
    for (auto& wp : workers_) {
        Scheduler& s = *wp->sched;
        // An idle worker's wheel and counters change only on its own thread,
        // which is parked or about to park; has_remote_work locks its inbox.
        if (s.has_remote_work() || s.has_blocking_jobs()) {
            return;  // it will wake (a finished job notifies it)
        }
    }
    for (auto& wp : workers_) {
        Scheduler& s = *wp->sched;
        std::int64_t ns = 0;
        if (s.next_timer_ns(ns)) {
            earliest = timers ? std::min(earliest, ns) : ns;
            timers = true;
        }
        external = external || s.external_waits() != 0;
    }
    if (timers) {
        if (paused_) {
            if (earliest > virtual_ns_.load(std::memory_order_relaxed)) {
                virtual_ns_.store(earliest, std::memory_order_release);
            }
            for (auto& wp : workers_) {
                wp->sched->notify();  // each fires its due timers
            }
        }
        return;  // real clock: each parks until its own next timer
    }
    if (external) {
        return;  // only another thread (or I/O) can wake a task now
    }
    const bool root_done = root_ == nullptr || root_->prefix()->has(FramePrefix::kFinished);
    if (root_done) {
        return;
    }
    if (!error_) {
        error_ = std::make_exception_ptr(std::logic_error(
            "weft::block_on: deadlock: the main task is waiting, but no task can run on any worker, no timer "
            "is armed and no other thread can wake a task, so nothing can ever wake it"));
    }
    stop_.store(true, std::memory_order_release);
    for (auto& wp : workers_) {
        wp->sched->notify();
    }
}

}  // namespace weft::detail
